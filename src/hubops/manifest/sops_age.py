"""Decrypting age-only sops files in-process, with exactly the result of `sops --decrypt`.

Starting the sops binary costs about 40 ms a file, nearly all of `validate`
over a thousand tenants. This module reads sops' YAML file format itself,
as sops 3.11 writes and reads it (how each scalar is typed, hashed and
printed is in `sops_scalars`):

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
* Comments are encrypted too, but enter neither the MAC nor the output (one
  inside a list is stored as a list item of type comment: left to the binary).

`decrypt_file` answers with the decrypted tree (what `json.loads` makes of
`sops --decrypt --output-type json`), a `Refused` when sops would refuse for
a reason this module decides exactly as sops does (no age key at all; a value
or the MAC failing authentication; a MAC that does not match), or None:
"ask the binary". None is the answer to every input, metadata field, value
type, key setup and failure not covered above, including a key that opens
none of the file's entries. Plaintext exists only in memory.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyrage
import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hubops.manifest.age_keys import AgeKeys
from hubops.manifest.sops_scalars import (
    BOOL,
    MAP,
    NULL,
    SEQ,
    STR,
    YAML_BOOL,
    YAML_NULL,
    AskSops,
    b64,
    clear_value,
    decrypted_value,
    plain_string,
)
from hubops.manifest.yamlio import CoreLoader

Reason = Literal["no-key", "integrity"]


@dataclass(frozen=True)
class Refused:
    """sops would refuse this file for `reason`."""

    reason: Reason


class _Integrity(Exception):
    """A value or the MAC failed authentication."""


_B64 = r"[A-Za-z0-9+/]+={0,2}"
_ENC = re.compile(rf"ENC\[AES256_GCM,data:({_B64}),iv:({_B64}),tag:({_B64}),type:([a-z]+)\]")
# A comment sops may open as something other than a comment changes the MAC or the output.
_ENC_COMMENT = re.compile(r"#ENC\[AES256_GCM,")
_HARMLESS_COMMENT = re.compile(
    rf"#ENC\[AES256_GCM,data:{_B64},iv:{_B64},tag:{_B64},type:comment\]\r?$", re.MULTILINE
)
_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----\n"
_ARMOR_END = "-----END AGE ENCRYPTED FILE-----\n"
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


def _key(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
        raise AskSops
    if not node.style and not plain_string(node.value):
        raise AskSops
    return str(node.value)


def _pairs(node: yaml.MappingNode) -> list[tuple[str, yaml.Node]]:
    pairs = [(_key(key), value) for key, value in node.value]
    if len({key for key, _ in pairs}) != len(pairs):
        raise AskSops  # sops keeps both; PyYAML would not
    return pairs


def _metadata_value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {key: _metadata_value(value) for key, value in _pairs(node)}
    if isinstance(node, yaml.SequenceNode):
        return [_metadata_value(item) for item in node.value]
    if node.tag == STR:
        return node.value
    if node.tag == BOOL and node.value in YAML_BOOL:
        return YAML_BOOL[node.value]
    if node.tag == NULL:
        return None
    raise AskSops


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
                raise AskSops  # "$" differs between RE2 and Python just there
            hit = any(re.search(self.rule_value, key) for key in path)
        else:
            hit = any(key.endswith(self.rule_value) for key in path)
        return hit if self.rule.startswith("encrypted") else not hit


def _mac_aad(lastmodified: object) -> bytes:
    """`lastmodified` parsed and printed again as Go's time.RFC3339 does."""
    match = _RFC3339.fullmatch(lastmodified) if isinstance(lastmodified, str) else None
    if match is None:
        raise AskSops
    stamp, _, zone, sign, hours, minutes = match.groups()
    try:
        datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise AskSops from None
    if zone != "Z" and (int(hours) > 23 or int(minutes) > 59):
        raise AskSops
    offset = "Z" if zone == "Z" or hours == minutes == "00" else f"{sign}{hours}:{minutes}"
    return f"{stamp}{offset}".encode()


def _metadata(meta: Any) -> _Metadata:
    known = {"age", "lastmodified", "mac", "version", "mac_only_encrypted", *_RULES}
    if not isinstance(meta, dict) or not set(meta) <= known | set(_MUST_BE_EMPTY):
        raise AskSops
    if any(meta.get(name) not in (None, "", []) for name in _MUST_BE_EMPTY):
        raise AskSops
    entries = meta.get("age")
    if not isinstance(entries, list) or not entries:
        raise AskSops
    armored = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"recipient", "enc"}:
            raise AskSops
        if not all(isinstance(entry[name], str) for name in entry):
            raise AskSops
        armored.append(entry["enc"])
    rules = [(name, meta[name]) for name in _RULES if meta.get(name) not in (None, "")]
    if len(rules) > 1 or not all(isinstance(value, str) for _, value in rules):
        raise AskSops
    rule, value = rules[0] if rules else ("unencrypted_suffix", "_unencrypted")
    if rule.endswith("regex") and ("(?" in value or not _PORTABLE_REGEX.fullmatch(value)):
        raise AskSops
    if rule.endswith("regex"):
        try:
            re.compile(value)
        except re.error:
            raise AskSops from None
    mac, version, only = meta.get("mac"), meta.get("version"), meta.get("mac_only_encrypted")
    flags_ok = isinstance(version, str | None) and only in (None, True, False)
    if not isinstance(mac, str) or not flags_ok:
        raise AskSops
    return _Metadata(
        tuple(armored), mac, _mac_aad(meta.get("lastmodified")), rule, value, bool(only)
    )


def _dearmor(text: str) -> bytes:
    """The age file inside sops' armor, accepted only in the canonical form age writes."""
    if not (text.startswith(_ARMOR_BEGIN) and text.endswith(_ARMOR_END)):
        raise AskSops
    lines = text[len(_ARMOR_BEGIN) : -len(_ARMOR_END)].split("\n")
    if len(lines) < 2 or lines[-1] != "" or not all(len(line) == 64 for line in lines[:-2]):
        raise AskSops
    if not 0 < len(lines[-2]) < 64:
        raise AskSops
    return b64("".join(lines[:-1]))


def _data_key(meta: _Metadata, keys: AgeKeys) -> bytes:
    for armored in meta.entries:
        try:
            key = bytes(pyrage.decrypt(_dearmor(armored), list(keys.identities)))
        except pyrage.DecryptError as exc:
            if str(exc) == "No matching keys found":
                continue
            raise AskSops from None
        if len(key) != 32:
            raise AskSops
        return key
    raise AskSops  # no identity opens it: sops' reason depends on more than is read here


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
            raise AskSops
        data, iv, tag = (b64(match.group(n)) for n in (1, 2, 3))
        if len(iv) != 32 or len(tag) != 16:
            raise AskSops
        try:
            plain = self.cipher.decrypt(iv, data + tag, aad)
        except InvalidTag:
            raise _Integrity from None
        return decrypted_value(plain, match.group(4))

    def value(self, node: yaml.Node, path: tuple[str, ...]) -> Any:
        if id(node) in self.seen:
            raise AskSops  # an alias: sops copies the node, and so would this, but rarely
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode) and node.tag == MAP:
            return {key: self.value(child, (*path, key)) for key, child in _pairs(node)}
        if isinstance(node, yaml.SequenceNode) and node.tag == SEQ:
            return [self.value(child, path) for child in node.value]
        if not isinstance(node, yaml.ScalarNode):
            raise AskSops
        if node.tag == NULL:
            if node.style or node.value not in YAML_NULL:
                raise AskSops
            return None
        encrypted = self.meta.encrypted(path)
        if not encrypted:
            result, covered = clear_value(node)
        elif node.tag != STR:
            raise AskSops
        elif node.value == "":
            result, covered = "", b""
        else:
            result, covered = self.open(node.value, (":".join(path) + ":").encode())
        if encrypted or not self.meta.mac_only_encrypted:
            self.mac.update(covered)
        return result


def _decrypt(text: str, keys: AgeKeys) -> dict[str, Any] | Refused:
    if len(_ENC_COMMENT.findall(text)) != len(_HARMLESS_COMMENT.findall(text)):
        raise AskSops
    root = yaml.compose(text, Loader=CoreLoader)
    if not isinstance(root, yaml.MappingNode) or root.tag != MAP:
        raise AskSops
    pairs = _pairs(root)
    meta_nodes = [node for key, node in pairs if key == "sops"]
    if len(meta_nodes) != 1:
        raise AskSops
    meta = _metadata(_metadata_value(meta_nodes[0]))
    if not keys.identities:
        if keys.ssh:
            raise AskSops  # sops would try the SSH keys and say something else
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
        raise AskSops
    if stored != walk.mac.hexdigest().upper():
        return Refused("integrity")
    return tree


def decrypt_file(path: Path, keys: AgeKeys) -> dict[str, Any] | Refused | None:
    """The file decrypted, or why sops would refuse it, or None to ask the sops binary."""
    try:
        return _decrypt(path.read_bytes().decode("utf-8"), keys)
    except (AskSops, OSError, UnicodeError, yaml.YAMLError, RecursionError):
        return None
