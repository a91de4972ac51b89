"""Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`.

During a secret rotation the runtime signs with every active secret,
space-separated, so a receiver that still has the old secret (or already
the new one) verifies the message either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature(message_id: str, timestamp: int, body: bytes, key: bytes) -> str:
    signed = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(message_id: str, timestamp: int, body: bytes, keys: Iterable[bytes]) -> str:
    return " ".join(signature(message_id, timestamp, body, key) for key in keys)
