"""Fingerprints: how planner and runtime compare secrets without either showing them.

A fingerprint is an HMAC of the value under a per-tenant key derived from
the runtime's fingerprint key, which only admin-token holders can fetch.
Plan files carry fingerprints (so `apply PLANFILE` can check that the
secrets did not change), never that key, so a leaked plan file does not
let anyone test guesses of a weak partner password offline. The secret's
address is mixed in so the same value in two places cannot be linked.

In normalized state a secret appears as the marker `{"$sensitive": FP}`,
which the diff compares like any leaf and renderers show as
`(sensitive value)`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

SENSITIVE = "$sensitive"
PREFIX = "hmac-sha256:"


def tenant_key(fingerprint_key: bytes, tenant: str) -> bytes:
    return hmac.new(fingerprint_key, f"tenant:{tenant}".encode(), hashlib.sha256).digest()


def fingerprint(key: bytes, secret_address: str, value: str) -> str:
    """`key` is `tenant_key(...)`; `secret_address` is e.g. `token/orders#value`."""
    mac = hmac.new(key, f"{secret_address}\0{value}".encode(), hashlib.sha256)
    return PREFIX + mac.hexdigest()[:32]


def marker(fp: str) -> dict[str, str]:
    return {SENSITIVE: fp}


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and SENSITIVE in value
