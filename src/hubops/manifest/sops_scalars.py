"""How sops reads, hashes and prints one scalar, for in-process decryption (`sops_age`).

sops is written in Go: a decrypted value is parsed with Go's strconv, a value
left in clear is typed by go-yaml v3, the MAC covers each value's canonical
bytes (strconv's shortest formatting, "True"/"False"), and the output is Go's
encoding/json, which prints an integral float as an integer. Each function
returns (what `json.loads` makes of sops' output, the bytes the MAC covers),
and raises AskSops for anything whose meaning to Go is not certain here, so
the sops binary decides it.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from decimal import Decimal
from typing import Any

import yaml


class AskSops(Exception):
    """Something in-process decryption does not cover: the sops binary decides."""


STR, INT, FLOAT, BOOL, NULL, MAP, SEQ = (
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
YAML_NULL = {"", "~", "null", "Null", "NULL"}

_GO_INT = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi
_GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_BOOL = dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True) | dict.fromkeys(
    ("0", "f", "F", "FALSE", "false", "False"), False
)  # strconv.ParseBool
# Plain scalars sops' YAML parser (go-yaml v3) types as this module does.
_YAML_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
YAML_BOOL = dict.fromkeys(("true", "True", "TRUE"), True) | dict.fromkeys(
    ("false", "False", "FALSE"), False
)
# Plain scalars go-yaml v3 looks up before anything else, and the characters its
# number parsers accept after a digit, a sign or a dot (strconv, base prefixes, "_").
_YAML_WORDS = {*YAML_BOOL, *YAML_NULL, "<<"} | {
    f"{sign}.{word}"
    for sign in ("", "+", "-")
    for word in ("inf", "Inf", "INF", "nan", "NaN", "NAN")
}
_YAML_NUMBER = set("0123456789abcdefABCDEFxXoObB+-._")
_INT64 = range(-(2**63), 2**63)


def plain_string(text: str) -> bool:
    """True when a plain (unquoted) scalar is surely a string to go-yaml v3, sops' parser."""
    if text in _YAML_WORDS:
        return False
    if text[0] in "+-.0123456789":  # it tries timestamps, then numbers of many forms
        return not re.match(r"[0-9]{4}-", text) and not set(text) <= _YAML_NUMBER
    return True


def b64(text: str) -> bytes:
    """Strict, canonical base64 only (Go's decoder is laxer in ways not worth following)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise AskSops from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise AskSops
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
        raise AskSops
    return _json_float(value), _go_float_text(value).encode()


def decrypted_value(plain: bytes, kind: str) -> tuple[Any, bytes]:
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
    raise AskSops


def clear_value(node: yaml.ScalarNode) -> tuple[Any, bytes]:
    """A value sops leaves in clear, typed as go-yaml v3 types it."""
    text = str(node.value)
    if node.tag == STR and (node.style or plain_string(text)):
        return text, text.encode()
    if node.style:  # quoted or block, yet tagged as something else
        raise AskSops
    if node.tag == INT and _YAML_INT.fullmatch(text) and int(text) in _INT64:
        return int(text), str(int(text)).encode()
    if node.tag == FLOAT and _GO_FLOAT.fullmatch(text):  # go-yaml's own float syntax
        return _float(text)
    if node.tag == BOOL and text in YAML_BOOL:
        return YAML_BOOL[text], b"True" if YAML_BOOL[text] else b"False"
    raise AskSops
