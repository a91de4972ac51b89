"""`/v1/promotions`: thin routes over `promotions.py`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response, status

from hubops.runtime import answers, cursors
from hubops.runtime.context import RuntimeDep, runtime_of
from hubops.runtime.openapi import errors, listing
from hubops.runtime.partner import promotions
from hubops.runtime.partner.auth import PromotionsRead, PromotionsWrite, partner_router
from hubops.runtime.partner.models import Promotion, PromotionIn, PromotionPage

router = partner_router("promotions", "/v1/promotions")


@router.get("", **listing(PromotionPage, "listPromotions"))
def list_promotions(
    request: Request,
    caller: PromotionsRead,
    paging: cursors.PartnerPaging,
    store: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The tenant's promotions in the token's stores, newest first."""
    runtime = runtime_of(request)  # not `RuntimeDep`: a dependency less on a hot list
    keyset = cursors.time_keyset(paging.cursor)
    page = promotions.list_promotions(runtime.engine, caller, store, paging.limit, keyset)
    return answers.json(page)  # built from validated rows: not validated again


@router.post(
    "",
    response_model=Promotion,
    status_code=status.HTTP_201_CREATED,
    operation_id="createPromotion",
)
def post_promotion(body: PromotionIn, runtime: RuntimeDep, caller: PromotionsWrite) -> Promotion:
    """Create a promotion for a store and sku the token may act for."""
    return promotions.create_promotion(runtime.engine, caller, body)


@router.delete(
    "/{promotion_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(404),
    operation_id="deletePromotion",
)
def delete_promotion(promotion_id: str, runtime: RuntimeDep, caller: PromotionsWrite) -> Response:
    """Remove a promotion; another tenant's or store's promotion is 404."""
    promotions.delete_promotion(runtime.engine, caller, promotion_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
