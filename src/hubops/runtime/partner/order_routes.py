"""`/v1/orders`: thin routes over `orders.py`; the 60-day window is decided here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response

from hubops.runtime import answers, cursors
from hubops.runtime.context import RuntimeDep, runtime_of
from hubops.runtime.errors import BadRequest
from hubops.runtime.openapi import errors, header_refs, listing
from hubops.runtime.partner import orders
from hubops.runtime.partner.auth import OrdersRead, OrdersWrite, partner_router
from hubops.runtime.partner.models import Order, OrderPage, OrderStatus, StatusIn
from hubops.utc import UtcDatetime

WINDOW = timedelta(days=60)
# A client computing "60 days ago" a moment before the server does is still inside.
GRACE = timedelta(minutes=1)

router = partner_router("orders", "/v1/orders")


async def _listing(
    since: Annotated[
        UtcDatetime | None,
        Query(alias="from", description="ISO 8601 with timezone; default: 60 days ago."),
    ] = None,
    until: Annotated[
        UtcDatetime | None, Query(alias="to", description="ISO 8601 with timezone; default: now.")
    ] = None,
    store: Annotated[str | None, Query(max_length=200)] = None,
    status: OrderStatus | None = None,
    limit: cursors.PartnerLimit = cursors.PARTNER_PAGE,
    after: cursors.PartnerCursor = None,
) -> tuple[orders.OrderFilter, cursors.Asked]:
    """The filter and the page asked for, read in one dependency (`cursors.PartnerLimit`)."""
    return orders.OrderFilter(since, until, store, status), cursors.Asked(limit, after)


@router.get("", **listing(OrderPage, "listOrders"))
def list_orders(
    request: Request,
    caller: OrdersRead,
    listed: Annotated[tuple[orders.OrderFilter, cursors.Asked], Depends(_listing)],
) -> Response:
    """Orders of the last 60 days, newest first, in pages that stay stable as orders arrive."""
    # The runtime from the request, not `RuntimeDep`: the Partner API's hottest route
    # pays FastAPI for two dependencies (caller, listing), not three.
    runtime = runtime_of(request)
    asked, paging = listed
    now = datetime.now(UTC)
    start = now - WINDOW
    since, until = asked.since or start, asked.until
    if since < start - GRACE or (until is not None and until < start - GRACE):
        raise BadRequest(
            "orders are kept for listing over a window of 60 days; "
            "ask for times within the last 60 days",
            {"parameter": "from" if since < start - GRACE else "to", "windowDays": 60},
        )
    if until is not None and until < since:
        raise BadRequest("to is before from", {"parameter": "to"})
    window = replace(asked, since=max(since, start))
    keyset = cursors.time_keyset(paging.cursor)
    page = orders.list_orders(runtime.engine, caller, window, paging.limit, keyset)
    return answers.raw_json(page)


@router.get("/{order_id}", response_model=Order, responses=errors(404), operation_id="getOrder")
def get_order(order_id: str, runtime: RuntimeDep, caller: OrdersRead) -> Response:
    """One order of the token's tenant and stores; any other id is 404."""
    return answers.json(orders.get_order(runtime.engine, caller, order_id))


@router.post(
    "/{order_id}/status",
    response_model=Order,
    responses={**errors(404, 409), 200: {"headers": header_refs("Idempotent-Replayed")}},
    operation_id="changeOrderStatus",
)
def change_status(
    order_id: str,
    body: StatusIn,
    runtime: RuntimeDep,
    caller: OrdersWrite,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="Retrying with the same key and body returns the first response "
            "and emits no second event. Keys are scoped to the token, kept 24 hours.",
        ),
    ] = None,
) -> Response:
    """Move the order along its state machine and emit its webhook event."""
    order, replayed = orders.change_status(
        runtime.engine, caller, order_id, body.status, idempotency_key
    )
    answer = answers.json(order)  # the model is built here: FastAPI need not check it again
    if replayed:
        answer.headers["Idempotent-Replayed"] = "true"
    return answer
