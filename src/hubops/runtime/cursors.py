"""Opaque keyset cursors for every list response (`{"items", "nextCursor"}`).

A keyset rather than an offset keeps paging stable while rows are
inserted: the next page starts strictly after the last row seen, so no row
is shown twice or skipped when newer ones arrive. Cursors are opaque to
clients (base64 of a tagged position), and one the runtime did not issue
is a 400, not a crash or a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from hubops.runtime.errors import BadRequest
from hubops.utc import parse_utc


def _pack(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unpack(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _foreign() -> BadRequest:
    return BadRequest(
        "cursor is not one this runtime returned; pass nextCursor back unchanged",
        {"parameter": "cursor"},
    )


def encode(created_at: datetime, row_id: str) -> str:
    """Position after a row ordered by (created_at, id)."""
    return _pack(f"{created_at.isoformat()}|{row_id}")


def decode(cursor: str) -> tuple[datetime, str]:
    text = _unpack(cursor) or ""
    stamp, sep, row_id = text.partition("|")
    try:
        at = parse_utc(stamp)  # a forged cursor may name a time outside the calendar in UTC
    except ValueError:
        raise _foreign() from None
    if not (sep and row_id):
        raise _foreign()
    return at, row_id


def encode_number(tag: str, number: int) -> str:
    """Position after a row ordered by an integer (a revision, an id), tagged by list."""
    return _pack(f"{tag}:{number}")


def decode_number(tag: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    prefix, _, number = (_unpack(cursor) or "").partition(":")
    if prefix != tag or not (number.isascii() and number.isdigit() and len(number) <= 18):
        raise _foreign()
    return int(number)
