"""`/v1/promotions`: discounts on one catalog item of one store.

A promotion refers to a store the token may act for and a sku that store's
catalog holds at creation time; a store the token may not see is refused
with the same message as a store that does not exist.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.engine import Row

from hubops.runtime import cursors
from hubops.runtime.catalog.items import sku_exists
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound, Unprocessable
from hubops.runtime.openapi import errors
from hubops.runtime.partner.auth import Caller, PromotionsRead, PromotionsWrite
from hubops.runtime.partner.models import Promotion, PromotionIn, PromotionPage
from hubops.runtime.partner.stores import usable_store
from hubops.runtime.tables import promotions

router = APIRouter(prefix="/v1/promotions", tags=["promotions"], responses=errors(401, 403, 429))


def _promotion(row: Row[Any]) -> Promotion:
    return Promotion(
        id=row.id,
        name=row.name,
        store=row.store,
        sku=row.sku,
        discountPercent=row.discount_percent,
        startsAt=row.starts_at,
        endsAt=row.ends_at,
        createdAt=row.created_at,
    )


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
            createdAt=datetime.now(UTC),
        )
        conn.execute(
            insert(promotions).values(
                id=promotion.id,
                tenant_id=caller.tenant_id,
                name=promotion.name,
                store=promotion.store,
                sku=promotion.sku,
                discount_percent=promotion.discountPercent,
                starts_at=promotion.startsAt,
                ends_at=promotion.endsAt,
                created_at=promotion.createdAt,
            )
        )
    return promotion


@router.get("", response_model=PromotionPage, responses=errors(400), operation_id="listPromotions")
def list_promotions(
    runtime: RuntimeDep,
    caller: PromotionsRead,
    store: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[
        str | None, Query(alias="cursor", description="nextCursor of the previous page.")
    ] = None,
) -> PromotionPage:
    """The tenant's promotions in the token's stores, newest first."""
    query = select(promotions).where(promotions.c.tenant_id == caller.tenant_id)
    if caller.stores is not None:
        query = query.where(promotions.c.store.in_(caller.stores))
    if store is not None:
        query = query.where(promotions.c.store == store)
    keyset = cursors.time_keyset(after)
    with reading(runtime.engine) as conn:
        rows, next_cursor = keyset.page(
            conn, query, promotions.c.created_at, promotions.c.id, limit
        )
    return PromotionPage(items=[_promotion(row) for row in rows], nextCursor=next_cursor)


@router.post(
    "",
    response_model=Promotion,
    status_code=status.HTTP_201_CREATED,
    operation_id="createPromotion",
)
def post_promotion(body: PromotionIn, runtime: RuntimeDep, caller: PromotionsWrite) -> Promotion:
    """Create a promotion for a store and sku the token may act for."""
    return create_promotion(runtime.engine, caller, body)


@router.delete(
    "/{promotion_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(404),
    operation_id="deletePromotion",
)
def delete_promotion(promotion_id: str, runtime: RuntimeDep, caller: PromotionsWrite) -> Response:
    """Remove a promotion; another tenant's or store's promotion is 404."""
    with writing(runtime.engine) as conn:
        row = conn.execute(
            select(promotions.c.store).where(
                promotions.c.id == promotion_id, promotions.c.tenant_id == caller.tenant_id
            )
        ).first()
        if row is None or not caller.may_see(row.store):
            raise NotFound("no such promotion for this token")
        conn.execute(delete(promotions).where(promotions.c.id == promotion_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
