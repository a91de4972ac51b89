"""Promotions: discounts on one catalog item of one store, and how they are kept and listed.

A promotion refers to a store the token may act for and a sku that store's
catalog holds at creation time; a store the token may not see is refused
with the same message as a store that does not exist. The routes are
`promotion_routes`.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, delete, insert, select

from hubops import utc
from hubops.runtime.catalog.items import sku_exists
from hubops.runtime.cursors import TimeKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound, Unprocessable
from hubops.runtime.partner.auth import Caller
from hubops.runtime.partner.models import Promotion, PromotionIn, PromotionPage
from hubops.runtime.partner.stores import usable_store
from hubops.runtime.rows import from_row, to_row
from hubops.runtime.tables import promotions


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"body.{field}: {message}", {"problems": [{"field": f"body.{field}", "message": message}]}
    )


def create_promotion(engine: Engine, caller: Caller, body: PromotionIn) -> Promotion:
    if body.startsAt is not None and body.endsAt is not None and body.startsAt >= body.endsAt:
        raise _invalid("endsAt", "must be after startsAt")
    with writing(engine) as conn:
        if not usable_store(conn, caller, body.store):
            raise _invalid("store", f'no store "{body.store}" for this token')
        if not sku_exists(conn, caller.tenant_id, body.store, body.sku):
            raise _invalid("sku", f'the catalog of store "{body.store}" has no sku "{body.sku}"')
        promotion = Promotion(
            id="promo_" + secrets.token_hex(12),
            name=body.name,
            store=body.store,
            sku=body.sku,
            discountPercent=body.discountPercent,
            startsAt=body.startsAt,  # UtcDatetime: already UTC, whatever offset was sent
            endsAt=body.endsAt,
            createdAt=utc.now(),
        )
        conn.execute(insert(promotions).values(tenant_id=caller.tenant_id, **to_row(promotion)))
    return promotion


def list_promotions(
    engine: Engine, caller: Caller, store: str | None, limit: int, keyset: TimeKeyset
) -> PromotionPage:
    """The tenant's promotions in the token's stores, newest first, a page at a time."""
    query = select(promotions).where(promotions.c.tenant_id == caller.tenant_id)
    if caller.stores is not None:
        query = query.where(promotions.c.store.in_(caller.stores))
    if store is not None:
        query = query.where(promotions.c.store == store)
    with reading(engine) as conn:
        rows, next_cursor = keyset.page(
            conn, query, promotions.c.created_at, promotions.c.id, limit
        )
    return PromotionPage(items=[from_row(Promotion, row) for row in rows], nextCursor=next_cursor)


def delete_promotion(engine: Engine, caller: Caller, promotion_id: str) -> None:
    """Remove a promotion; another tenant's or store's promotion is 404."""
    with writing(engine) as conn:
        row = conn.execute(
            select(promotions.c.store).where(
                promotions.c.id == promotion_id, promotions.c.tenant_id == caller.tenant_id
            )
        ).first()
        if row is None or not caller.may_see(row.store):
            raise NotFound("no such promotion for this token")
        conn.execute(delete(promotions).where(promotions.c.id == promotion_id))
