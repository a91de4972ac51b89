"""Keyset paging for every list response (`{"items", "nextCursor"}`): the one home of it.

A keyset rather than an offset keeps paging stable while rows are
inserted: the next page starts strictly after the last row seen, so no row
is shown twice or skipped when newer ones arrive. Every list is newest
first, by one of two keys:

* `TimeKeyset`: (created_at, id), for rows whose ids are random (orders,
  promotions);
* `NumberKeyset`: an increasing integer (a revision, a sequence, an id),
  tagged by list so a cursor of one list is refused by another (audit
  records, catalog uploads, retailer connections, delivery attempts).

A route takes `limit` and `cursor` as one of the `…Paging` parameters
below (or as `PartnerLimit` and `PartnerCursor` beside its filters), decodes
the cursor first (`time_keyset`, `number_keyset`), so a foreign one is a
400 before anything is read; the data function then reads one page with
`page`, which also makes the next cursor. Cursors are opaque
to clients (base64 of a tagged position).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Connection, Select, and_, or_
from sqlalchemy.engine import Row

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


Page = tuple[list[Row[Any]], str | None]  # the rows, and the cursor of the next page if any


def _rows(conn: Connection, query: Select[Any], limit: int) -> tuple[list[Row[Any]], bool]:
    rows = list(conn.execute(query.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class TimeKeyset:
    """Newest first by (created_at, id); continues after `after`, the last row seen."""

    after: tuple[datetime, str] | None

    def page(
        self,
        conn: Connection,
        query: Select[Any],
        created: ColumnElement[datetime],
        ident: ColumnElement[str],
        limit: int,
    ) -> Page:
        if self.after is not None:
            at, last_id = self.after
            query = query.where(or_(created < at, and_(created == at, ident < last_id)))
        rows, more = _rows(conn, query.order_by(created.desc(), ident.desc()), limit)
        if not more:
            return rows, None
        return rows, encode(rows[-1]._mapping[created], rows[-1]._mapping[ident])


def time_keyset(cursor: str | None) -> TimeKeyset:
    return TimeKeyset(None if cursor is None else decode(cursor))


@dataclass(frozen=True)
class NumberKeyset:
    """Newest first by an increasing integer; continues below `before`."""

    tag: str
    before: int | None

    def page(
        self, conn: Connection, query: Select[Any], key: ColumnElement[int], limit: int
    ) -> Page:
        if self.before is not None:
            query = query.where(key < self.before)
        rows, more = _rows(conn, query.order_by(key.desc()), limit)
        if not more:
            return rows, None
        return rows, encode_number(self.tag, rows[-1]._mapping[key])


def number_keyset(tag: str, cursor: str | None) -> NumberKeyset:
    return NumberKeyset(tag, decode_number(tag, cursor))


# --- the query parameters of a list -----------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What a list request asks for: at most `limit` items, after `cursor` (as sent)."""

    limit: int
    cursor: str | None


async def _admin(
    limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None
) -> Asked:
    return Asked(limit, cursor)


async def _uploads(
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None
) -> Asked:
    return Asked(limit, cursor)


# Partner API lists: up to 100 a page. `GET /v1/orders` takes these beside its filters,
# in one dependency of its own: a dependency less to solve on every request.
PartnerLimit = Annotated[int, Query(ge=1, le=100)]
PartnerCursor = Annotated[
    str | None, Query(alias="cursor", description="nextCursor of the previous page.")
]
PARTNER_PAGE = 50


async def _partner(limit: PartnerLimit = PARTNER_PAGE, after: PartnerCursor = None) -> Asked:
    return Asked(limit, after)


AdminPaging = Annotated[Asked, Depends(_admin)]  # admin lists: up to 500 a page
UploadPaging = Annotated[Asked, Depends(_uploads)]  # catalog upload histories: up to 200
PartnerPaging = Annotated[Asked, Depends(_partner)]  # Partner API lists: up to 100
