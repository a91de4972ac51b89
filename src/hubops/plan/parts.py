"""A change set too large for one request, as parts the runtime applies as one unit.

The runtime refuses request bodies over `MAX_BODY_BYTES` (the contract's
1 MiB). A tenant with thousands of stores needs a bigger change set, so the
client sends it in parts that each fit: every part names one upload id, its
index and the number of parts; the runtime keeps the parts and, when the
last one arrives, applies all their changes in one transaction with one
revision claim (see docs/state-api.md). Splitting never cuts a change: a
single change over the limit cannot be sent, and `oversized` finds those so
`validate` and `plan` can say so before anything is applied.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
# Room left in each part for the envelope (baseRevision, part, digest, commit).
ENVELOPE_BYTES = 8 * 1024
PART_BUDGET = MAX_BODY_BYTES - ENVELOPE_BYTES
MAX_PARTS = 256


class ChangeSetTooLarge(ValueError):
    """A change set that cannot be sent at all; the message names the address and the limit."""


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent for a change set or part (compact JSON, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def limit_text() -> str:
    return f"{MAX_BODY_BYTES // (1024 * 1024)} MiB"


def oversized(changes: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """(address, bytes) of every change too big to travel even in a part of its own."""
    out = []
    for change in changes:
        size = len(encode(change))
        if size > PART_BUDGET:
            out.append((str(change.get("address", "?")), size))
    return out


def oversized_bodies(state: dict[str, dict[str, Any]]) -> list[tuple[str, int]]:
    """(address, bytes) of each resource whose create alone would not fit a request."""
    return oversized({"address": a, "action": "create", "body": b} for a, b in state.items())


def _pack(items: list[tuple[Any, int]], budget: int) -> list[list[Any]]:
    """Greedy, order-keeping packing of (item, size) into lists of at most `budget` bytes."""
    packs: list[list[Any]] = [[]]
    used = 0
    for item, size in items:
        if packs[-1] and used + size + 1 > budget:
            packs.append([])
            used = 0
        packs[-1].append(item)
        used += size + 1  # the comma between items
    return packs


def split(payload: dict[str, Any], upload: str | None = None) -> list[dict[str, Any]]:
    """`payload` itself when it fits one request, else its parts, in the order to send them.

    Changes keep their order across parts. `appliedFingerprints` may be spread over
    several parts (the runtime merges them); `secretsDigest`, `configDigest` and `commit`
    travel in the last part. Raises ChangeSetTooLarge when a single change does not fit a part.
    """
    if len(encode(payload)) <= MAX_BODY_BYTES:
        return [payload]
    too_big = oversized(payload["changes"])
    if too_big:
        address, size = too_big[0]
        raise ChangeSetTooLarge(
            f"the change to {address} alone is {size:,} bytes, more than one request to the "
            f"runtime may carry (its limit is {limit_text()}), and a resource is never split"
        )
    upload = upload or secrets.token_urlsafe(24)
    items: list[tuple[Any, int]] = [(("c", c), len(encode(c))) for c in payload["changes"]]
    fingerprints = payload.get("appliedFingerprints") or {}
    items += [(("f", kv), len(encode(dict([kv])))) for kv in fingerprints.items()]
    packs = _pack(items, PART_BUDGET)
    if len(packs) > MAX_PARTS:
        raise ChangeSetTooLarge(
            f"the change set needs {len(packs)} requests of at most {limit_text()}, more than "
            f"the {MAX_PARTS} the runtime accepts for one change set"
        )
    parts = []
    for index, pack in enumerate(packs):
        part: dict[str, Any] = {
            "baseRevision": payload["baseRevision"],
            "changes": [c for tag, c in pack if tag == "c"],
            "part": {"upload": upload, "index": index, "count": len(packs)},
        }
        part_fps = dict(kv for tag, kv in pack if tag == "f")
        if part_fps or ("appliedFingerprints" in payload and index == len(packs) - 1):
            part["appliedFingerprints"] = part_fps
        parts.append(part)
    for key in ("secretsDigest", "configDigest", "commit"):
        if key in payload:
            parts[-1][key] = payload[key]
    return parts
