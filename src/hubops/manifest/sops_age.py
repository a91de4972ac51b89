"""Decrypting age-only sops files in-process, with exactly the result of `sops --decrypt`.

Starting the sops binary costs about 40 ms a file, nearly all of `validate`
over a thousand tenants. This module reads sops' YAML file format (as sops
3.9 to 3.11 write and read it) itself:

* The data key (32 bytes) is age-encrypted once per recipient, ASCII-armored,
  in `sops.age[].enc`; the first entry an identity opens gives it.
* Each value is `ENC[AES256_GCM,data:,iv:,tag:,type:]`: AES-256-GCM under the
  data key with a 32-byte IV and, as additional data, the value's path of
  mapping keys, each followed by ":" (list items share their list's path).
  `type` (str, int, float or bool here; time, comment and bytes are left to
  the binary) says how the plaintext reads back; an empty string stays an
  empty string, null stays null.
* Values under a key matching the file's one rule (`unencrypted_suffix`,
  `_unencrypted` by default; `encrypted_suffix`, `unencrypted_regex`,
  `encrypted_regex`) stay in clear, typed as sops' YAML parser types them.
* The MAC is SHA-512 over every value's canonical bytes in document order
  (with `mac_only_encrypted`: a fixed prefix, then only the encrypted values),
  in uppercase hex, stored encrypted like a str value whose additional data
  is `lastmodified` in RFC 3339.
* Comments are encrypted too, but enter neither the MAC nor the output.

`decrypt_file` answers with the decrypted tree (what `json.loads` makes of
`sops --decrypt --output-type json`), a `Refused` when sops would refuse for
a reason this module decides exactly as sops does (no age key at all; a value
or the MAC failing authentication; a MAC that does not match), or None:
"ask the binary". None is the answer to every input, metadata field, value
type, key setup and failure not covered above, including a key that opens
none of the file's entries. Plaintext exists only in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyrage
import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hubops.manifest.age_keys import AgeKeys
from hubops.manifest.yamlio import CoreLoader

Reason = Literal["no-key", "integrity"]


@dataclass(frozen=True)
class Refused:
    """sops would refuse this file for `reason`."""

    reason: Reason


class _AskSops(Exception):
    """Something this module does not cover: the binary decides."""


class _Integrity(Exception):
    """A value or the MAC failed authentication."""


_STR, _INT, _FLOAT, _BOOL, _NULL, _MAP, _SEQ = (
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_ENC = re.compile(rf"ENC\[AES256_GCM,data:({_B64}),iv:({_B64}),tag:({_B64}),type:([a-z]+)\]")
# A comment sops may open as something other than a comment changes the MAC or the output.
_ENC_COMMENT = re.compile(r"#ENC\[AES256_GCM,")
_HARMLESS_COMMENT = re.compile(
    rf"#ENC\[AES256_GCM,data:{_B64},iv:{_B64},tag:{_B64},type:comment\]\r?$", re.MULTILINE
)
_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----\n"
_ARMOR_END = "-----END AGE ENCRYPTED FILE-----\n"
_GO_INT = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi
_GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True}
_GO_BOOL |= {"0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
# Plain scalars sops' YAML parser (go-yaml v3) types as this module does.
_YAML_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_YAML_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_YAML_BOOL["FALSE"] = False
_YAML_NULL = {"", "~", "null", "Null", "NULL"}
# Plain scalars go-yaml v3 looks up before anything else, and the characters its
# number parsers accept after a digit, a sign or a dot (strconv, base prefixes, "_").
_YAML_WORDS = {*_YAML_BOOL, *_YAML_NULL, "<<"} | {
    f"{sign}.{word}"
    for sign in ("", "+", "-")
    for word in ("inf", "Inf", "INF", "nan", "NaN", "NAN")
}
_YAML_NUMBER = set("0123456789abcdefABCDEFxXoObB+-._")
_INT64 = range(-(2**63), 2**63)
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|([+-])(\d\d):(\d\d))")
_MAC_ONLY_ENCRYPTED = hashlib.sha256(b"sops").digest()  # sops' fixed MAC prefix
_RULES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
# Present only when empty: other key types, key groups, comment-based rules.
_MUST_BE_EMPTY = (
    *("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "key_groups"),
    *("unencrypted_comment_regex", "encrypted_comment_regex"),
)
# A regular expression that means the same to Go's RE2 as to Python's re.
_PORTABLE_REGEX = re.compile(
    r"(?:[A-Za-z0-9_\-:/ ^$|().*+?]|\\[.\-_/$^|()\[\]*+?:]"
    r"|\[\^?(?:[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9_.:/ ]|\\[.\-\]\[^])+\])*"
)


def _ask() -> _AskSops:
    return _AskSops()


def _plain_string(text: str) -> bool:
    """True when a plain (unquoted) scalar is surely a string to go-yaml v3, sops' parser."""
    if text in _YAML_WORDS:
        return False
    if text[0] in "+-.0123456789":  # it tries timestamps, then numbers of many forms
        return not re.match(r"[0-9]{4}-", text) and not set(text) <= _YAML_NUMBER
    return True


def _key(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
        raise _ask()
    if not node.style and not _plain_string(node.value):
        raise _ask()
    return str(node.value)


def _pairs(node: yaml.MappingNode) -> list[tuple[str, yaml.Node]]:
    pairs = [(_key(key), value) for key, value in node.value]
    if len({key for key, _ in pairs}) != len(pairs):
        raise _ask()  # sops keeps both; PyYAML would not
    return pairs


def _metadata_value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {key: _metadata_value(value) for key, value in _pairs(node)}
    if isinstance(node, yaml.SequenceNode):
        return [_metadata_value(item) for item in node.value]
    if node.tag == _STR:
        return node.value
    if node.tag == _BOOL and node.value in _YAML_BOOL:
        return _YAML_BOOL[node.value]
    if node.tag == _NULL:
        return None
    raise _ask()


def _b64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise _ask() from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise _ask()
    return raw


def _go_float_text(value: float) -> str:
    """strconv.FormatFloat(value, 'f', -1, 64): shortest round-trip digits, no exponent."""
    return format(Decimal(repr(value)).normalize(), "f")


def _json_float(value: float) -> float | int:
    """What json.loads makes of Go's encoding of a float64 (integral ones print as integers)."""
    if (value == 0 or 1e-6 <= abs(value) < 1e21) and value.is_integer():
        return int(Decimal(repr(value)))
    return value


def _float(text: str) -> tuple[float | int, bytes]:
    """A decimal float as Go's strconv.ParseFloat reads it (none that over- or underflow)."""
    value = float(text)
    if not math.isfinite(value) or (value == 0 and re.search("[1-9]", re.split("[eE]", text)[0])):
        raise _ask()
    return _json_float(value), _go_float_text(value).encode()


def _typed(plain: bytes, kind: str) -> tuple[Any, bytes]:
    """A decrypted value as sops reads it back: (output value, bytes the MAC covers)."""
    text = plain.decode("utf-8")  # Go would replace invalid UTF-8 its own way
    if kind == "str":
        return text, plain
    if kind == "int" and _GO_INT.fullmatch(text) and int(text) in _INT64:
        number = int(text)
        return number, str(number).encode()
    if kind == "float" and _GO_FLOAT.fullmatch(text):
        return _float(text)
    if kind == "bool" and text in _GO_BOOL:
        return _GO_BOOL[text], b"True" if _GO_BOOL[text] else b"False"
    # A time, a comment as a value, bytes (on which sops 3.11 crashes), or a plaintext
    # sops cannot parse: the binary says what that means.
    raise _ask()


def _clear(node: yaml.ScalarNode) -> tuple[Any, bytes]:
    """A value sops leaves in clear, typed as go-yaml v3 types it."""
    text = str(node.value)
    if node.tag == _STR and (node.style or _plain_string(text)):
        return text, text.encode()
    if node.style:  # quoted or block, yet tagged as something else
        raise _ask()
    if node.tag == _INT and _YAML_INT.fullmatch(text) and int(text) in _INT64:
        return int(text), str(int(text)).encode()
    if node.tag == _FLOAT and _GO_FLOAT.fullmatch(text):  # go-yaml's own float syntax
        return _float(text)
    if node.tag == _BOOL and text in _YAML_BOOL:
        return _YAML_BOOL[text], b"True" if _YAML_BOOL[text] else b"False"
    raise _ask()


@dataclass(frozen=True)
class _Metadata:
    entries: tuple[str, ...]  # the armored data key, once per age recipient
    mac: str
    mac_aad: bytes
    rule: str
    rule_value: str
    mac_only_encrypted: bool

    def encrypted(self, path: tuple[str, ...]) -> bool:
        """sops' shouldBeEncrypted for a value at `path` (comment rules are not read here)."""
        if self.rule.endswith("regex"):
            if any("\n" in key for key in path):
                raise _ask()  # "$" differs between RE2 and Python just there
            hit = any(re.search(self.rule_value, key) for key in path)
        else:
            hit = any(key.endswith(self.rule_value) for key in path)
        return hit if self.rule.startswith("encrypted") else not hit


def _mac_aad(lastmodified: object) -> bytes:
    """`lastmodified` parsed and printed again as Go's time.RFC3339 does."""
    match = _RFC3339.fullmatch(lastmodified) if isinstance(lastmodified, str) else None
    if match is None:
        raise _ask()
    stamp, _, zone, sign, hours, minutes = match.groups()
    try:
        datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise _ask() from None
    if zone != "Z" and (int(hours) > 23 or int(minutes) > 59):
        raise _ask()
    offset = "Z" if zone == "Z" or hours == minutes == "00" else f"{sign}{hours}:{minutes}"
    return f"{stamp}{offset}".encode()


def _metadata(meta: Any) -> _Metadata:
    known = {"age", "lastmodified", "mac", "version", "mac_only_encrypted", *_RULES}
    if not isinstance(meta, dict) or not set(meta) <= known | set(_MUST_BE_EMPTY):
        raise _ask()
    if any(meta.get(name) not in (None, "", []) for name in _MUST_BE_EMPTY):
        raise _ask()
    entries = meta.get("age")
    if not isinstance(entries, list) or not entries:
        raise _ask()
    armored = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"recipient", "enc"}:
            raise _ask()
        if not all(isinstance(entry[name], str) for name in entry):
            raise _ask()
        armored.append(entry["enc"])
    rules = [(name, meta[name]) for name in _RULES if meta.get(name) not in (None, "")]
    if len(rules) > 1 or not all(isinstance(value, str) for _, value in rules):
        raise _ask()
    rule, value = rules[0] if rules else ("unencrypted_suffix", "_unencrypted")
    if rule.endswith("regex") and ("(?" in value or not _PORTABLE_REGEX.fullmatch(value)):
        raise _ask()
    mac, version, only = meta.get("mac"), meta.get("version"), meta.get("mac_only_encrypted")
    if (
        not isinstance(mac, str)
        or not isinstance(version, str | None)
        or only
        not in (
            None,
            True,
            False,
        )
    ):
        raise _ask()
    try:
        re.compile(value)
    except re.error:
        raise _ask() from None
    return _Metadata(
        tuple(armored), mac, _mac_aad(meta.get("lastmodified")), rule, value, bool(only)
    )


def _dearmor(text: str) -> bytes:
    """The age file inside sops' armor, accepted only in the canonical form age writes."""
    if not (text.startswith(_ARMOR_BEGIN) and text.endswith(_ARMOR_END)):
        raise _ask()
    lines = text[len(_ARMOR_BEGIN) : -len(_ARMOR_END)].split("\n")
    if len(lines) < 2 or lines[-1] != "" or not all(len(line) == 64 for line in lines[:-2]):
        raise _ask()
    if not 0 < len(lines[-2]) < 64:
        raise _ask()
    return _b64("".join(lines[:-1]))


def _data_key(meta: _Metadata, keys: AgeKeys) -> bytes:
    for armored in meta.entries:
        try:
            key = bytes(pyrage.decrypt(_dearmor(armored), list(keys.identities)))
        except pyrage.DecryptError as exc:
            if str(exc) == "No matching keys found":
                continue
            raise _ask() from None
        if len(key) != 32:
            raise _ask()
        return key
    raise _ask()  # no identity opens it: sops' reason depends on more than is read here


class _Walk:
    """One pass over the values in document order, as sops walks them: decrypt and hash."""

    def __init__(self, meta: _Metadata, data_key: bytes) -> None:
        self.meta = meta
        self.cipher = AESGCM(data_key)
        self.mac = hashlib.sha512(_MAC_ONLY_ENCRYPTED if meta.mac_only_encrypted else b"")
        self.seen: set[int] = set()

    def open(self, value: str, aad: bytes) -> tuple[Any, bytes]:
        match = _ENC.fullmatch(value)
        if match is None:
            raise _ask()
        data, iv, tag = (_b64(match.group(n)) for n in (1, 2, 3))
        if len(iv) != 32 or len(tag) != 16:
            raise _ask()
        try:
            plain = self.cipher.decrypt(iv, data + tag, aad)
        except InvalidTag:
            raise _Integrity from None
        return _typed(plain, match.group(4))

    def value(self, node: yaml.Node, path: tuple[str, ...]) -> Any:
        if id(node) in self.seen:
            raise _ask()  # an alias: sops copies the node, and so would this, but rarely
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return {key: self.value(child, (*path, key)) for key, child in _pairs(node)}
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.value(child, path) for child in node.value]
        if not isinstance(node, yaml.ScalarNode):
            raise _ask()
        if node.tag == _NULL:
            if node.style or node.value not in _YAML_NULL:
                raise _ask()
            return None
        encrypted = self.meta.encrypted(path)
        if not encrypted:
            result, covered = _clear(node)
        elif node.tag != _STR:
            raise _ask()
        elif node.value == "":
            result, covered = "", b""
        else:
            result, covered = self.open(node.value, (":".join(path) + ":").encode())
        if encrypted or not self.meta.mac_only_encrypted:
            self.mac.update(covered)
        return result


def _decrypt(text: str, keys: AgeKeys) -> dict[str, Any] | Refused:
    if len(_ENC_COMMENT.findall(text)) != len(_HARMLESS_COMMENT.findall(text)):
        raise _ask()
    root = yaml.compose(text, Loader=CoreLoader)
    if not isinstance(root, yaml.MappingNode) or root.tag != _MAP:
        raise _ask()
    pairs = _pairs(root)
    meta_nodes = [node for key, node in pairs if key == "sops"]
    if len(meta_nodes) != 1:
        raise _ask()
    meta = _metadata(_metadata_value(meta_nodes[0]))
    if not keys.identities:
        if keys.ssh:
            raise _ask()  # sops would try the SSH keys and say something else
        return Refused("no-key")
    walk = _Walk(meta, _data_key(meta, keys))
    try:
        tree = {key: walk.value(node, (key,)) for key, node in pairs if key != "sops"}
        if meta.mac == "":
            return Refused("integrity")
        stored, _ = walk.open(meta.mac, meta.mac_aad)
    except _Integrity:
        return Refused("integrity")
    if not isinstance(stored, str):
        raise _ask()
    if stored != walk.mac.hexdigest().upper():
        return Refused("integrity")
    return tree


def decrypt_file(path: Path, keys: AgeKeys) -> dict[str, Any] | Refused | None:
    """The file decrypted, or why sops would refuse it, or None to ask the sops binary."""
    try:
        return _decrypt(path.read_bytes().decode("utf-8"), keys)
    except (_AskSops, OSError, UnicodeError, yaml.YAMLError, RecursionError):
        return None
