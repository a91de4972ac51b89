"""The two secret formats hubops mints and checks offline.

API tokens are `hub_` + 40 random base62 characters + a 6-character base62
CRC32 of those 40. The fixed prefix lets secret scanners find leaked tokens;
the checksum lets `validate` (and the runtime, before any database lookup)
reject a mistyped or truncated token without knowing any real one.

Webhook signing secrets follow Standard Webhooks: `whsec_` + base64 of
24 to 64 random bytes; the decoded bytes are the HMAC key.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_PREFIX = "hub_"
TOKEN_BODY_LEN = 40
TOKEN_CHECKSUM_LEN = 6
TOKEN_LEN = len(TOKEN_PREFIX) + TOKEN_BODY_LEN + TOKEN_CHECKSUM_LEN

WHSEC_PREFIX = "whsec_"
WHSEC_MIN_BYTES = 24
WHSEC_MAX_BYTES = 64


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits)).rjust(width, BASE62[0])


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), TOKEN_CHECKSUM_LEN)


def new_token() -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(TOKEN_BODY_LEN))
    return f"{TOKEN_PREFIX}{body}{checksum(body)}"


def token_problem(value: str) -> str | None:
    """Why `value` is not a well-formed hub_ token, or None. Never echoes the value."""
    if not value.startswith(TOKEN_PREFIX):
        return f'it does not start with "{TOKEN_PREFIX}"'
    if len(value) != TOKEN_LEN:
        return f"it has {len(value)} characters instead of {TOKEN_LEN}"
    rest = value[len(TOKEN_PREFIX) :]
    if any(ch not in BASE62 for ch in rest):
        return "it contains characters other than letters and digits after the prefix"
    body, check = rest[:TOKEN_BODY_LEN], rest[TOKEN_BODY_LEN:]
    if checksum(body) != check:
        return "its checksum does not match (mistyped or truncated?)"
    return None


def new_webhook_secret(num_bytes: int = 32) -> str:
    return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode("ascii")


def webhook_secret_key(value: str) -> bytes:
    """The HMAC key of a whsec_ secret; raises ValueError (without the value) if malformed."""
    problem = webhook_secret_problem(value)
    if problem:
        raise ValueError(f"malformed webhook secret: {problem}")
    return _decode_whsec(value)


def _decode_whsec(value: str) -> bytes:
    encoded = value[len(WHSEC_PREFIX) :]
    encoded += "=" * (-len(encoded) % 4)
    return base64.b64decode(encoded, validate=True)


def webhook_secret_problem(value: str) -> str | None:
    """Why `value` is not a Standard Webhooks secret, or None. Never echoes the value."""
    if not value.startswith(WHSEC_PREFIX):
        return f'it does not start with "{WHSEC_PREFIX}"'
    try:
        key = _decode_whsec(value)
    except (binascii.Error, ValueError):
        return f'the part after "{WHSEC_PREFIX}" is not valid base64'
    if not WHSEC_MIN_BYTES <= len(key) <= WHSEC_MAX_BYTES:
        return (
            f"it decodes to {len(key)} bytes; a signing secret has "
            f"{WHSEC_MIN_BYTES} to {WHSEC_MAX_BYTES} random bytes"
        )
    return None
