"""Opaque keyset cursors: the (createdAt, id) of the last item a page showed.

A keyset rather than an offset keeps paging stable while rows are
inserted: the next page starts strictly after the last row seen, so no
row is shown twice or skipped when newer ones arrive.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from hubops.runtime.errors import BadRequest


def encode(created_at: datetime, row_id: str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, sep, row_id = text.partition("|")
        at = datetime.fromisoformat(stamp)
        if sep and row_id and at.tzinfo is not None:
            return at, row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest(
        "cursor is not one this runtime returned; pass nextCursor back unchanged",
        {"parameter": "cursor"},
    )
