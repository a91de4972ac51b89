"""Orders: creation, listing, reading and status changes, each one transaction.

Every change that partners can observe as an event writes the event to the
webhook outbox (`webhooks.outbox.enqueue`) inside the transaction that
changes the order, so an event exists exactly when its change committed.
A status change with an Idempotency-Key stores its first response in that
same transaction: a retry finds it and returns it without a second change
or event. "Now" is read after the write transaction has begun, so on
SQLite (one writer at a time) creation times follow commit order and a
reader paging by (createdAt, id) cannot miss a row that commits later
with an earlier time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from hubops.runtime.connections import check_order_retailer
from hubops.runtime.cursors import TimeKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import (
    IdempotencyKeyReused,
    IllegalTransition,
    NotFound,
    Unprocessable,
)
from hubops.runtime.lookups import store_exists
from hubops.runtime.partner.auth import Caller
from hubops.runtime.partner.models import Order, OrderIn, OrderItem, OrderStatus
from hubops.runtime.rows import from_row, from_stored_row, stored_columns, to_row
from hubops.runtime.tables import idempotency_keys, orders
from hubops.runtime.webhooks.outbox import enqueue

NEXT: dict[str, tuple[str, ...]] = {
    "RECEIVED": ("ACCEPTED", "CANCELLED"),
    "ACCEPTED": ("PREPARING", "CANCELLED"),
    "PREPARING": ("READY_FOR_PICKUP", "CANCELLED"),
    "READY_FOR_PICKUP": ("PICKED_UP", "CANCELLED"),
    "PICKED_UP": ("DELIVERED", "CANCELLED"),
    "DELIVERED": (),
    "CANCELLED": (),
}
IDEMPOTENCY_KEEP = timedelta(hours=24)


def new_order_id() -> str:
    return "ord_" + secrets.token_hex(12)


def order_total(items: list[OrderItem]) -> str:
    """Exact sum, shown with as many decimals as the most precise price (at least two)."""
    total = sum((Decimal(item.unitPrice) * item.quantity for item in items), Decimal(0))
    places = max([2, *(len(item.unitPrice.partition(".")[2]) for item in items)])
    return str(total.quantize(Decimal(1).scaleb(-places)))


def create_order(engine: Engine, tenant_id: int, body: OrderIn) -> Order:
    """A new RECEIVED order of an existing store, with its order.created event queued."""
    return create_orders(engine, tenant_id, [body])[0]


def create_orders(engine: Engine, tenant_id: int, bodies: list[OrderIn]) -> list[Order]:
    """New RECEIVED orders in one transaction (all or none), each with its order.created
    event queued: one order from the admin API, or many at once (the benchmark's seed)."""
    with writing(engine) as conn:
        for store in dict.fromkeys(body.store for body in bodies):
            if not store_exists(conn, tenant_id, store):
                raise Unprocessable(
                    f'the tenant has no store "{store}"; orders need an applied store',
                    {"field": "body.store"},
                )
        for retailer in dict.fromkeys(body.retailer for body in bodies):
            if retailer is not None:
                check_order_retailer(conn, tenant_id, retailer)
        made = []
        for body in bodies:
            now = datetime.now(UTC)
            order = Order(
                id=new_order_id(),
                store=body.store,
                status="RECEIVED",
                items=body.items,
                total=order_total(body.items),
                createdAt=now,
                updatedAt=now,
                retailer=body.retailer,
            )
            made.append(order)
            enqueue(conn, tenant_id, "order.created", order.model_dump(mode="json"), now)
        conn.execute(insert(orders), [{"tenant_id": tenant_id, **to_row(o)} for o in made])
        return made


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows: created in [since, until], of a store, in a status."""

    since: datetime | None
    until: datetime | None
    store: str | None
    status: OrderStatus | None


def list_orders(
    engine: Engine, caller: Caller, asked: OrderFilter, limit: int, keyset: TimeKeyset
) -> dict[str, Any]:
    """Newest first, a page at a time: an `OrderPage` as plain values in its field order,
    for `answers.raw_json` (building 50 models to serialize them cost more than the query)."""
    query = select(*_PAGE_COLUMNS).where(orders.c.tenant_id == caller.tenant_id)
    if asked.since is not None:
        query = query.where(orders.c.created_at >= asked.since)
    if asked.until is not None:
        query = query.where(orders.c.created_at <= asked.until)
    if caller.stores is not None:
        query = query.where(orders.c.store.in_(caller.stores))
    if asked.store is not None:
        query = query.where(orders.c.store == asked.store)
    if asked.status is not None:
        query = query.where(orders.c.status == asked.status)
    with reading(engine) as conn:
        rows, next_cursor = keyset.page(conn, query, orders.c.created_at, orders.c.id, limit)
    return {"items": [_page_item(row) for row in rows], "nextCursor": next_cursor}


_PAGE_COLUMNS = stored_columns(Order, orders)
_FIELDS = tuple(Order.model_fields)
_ITEM_FIELDS = tuple(OrderItem.model_fields)


def _page_item(row: Row[Any]) -> dict[str, Any]:
    """An order as stored (selected as `_PAGE_COLUMNS`, `Order`'s fields in order), as the
    values `Order` would serialize (items in field order: PostgreSQL's JSON may hand keys
    back in another order)."""
    values = dict(zip(_FIELDS, row, strict=True))
    values["items"] = [{name: item[name] for name in _ITEM_FIELDS} for item in values["items"]]
    return values


def _stored(row: Row[Any]) -> Order:
    """An order as stored: written from a validated `Order`, so read back without checks."""
    items = [OrderItem.model_construct(**item) for item in row.items]
    return from_stored_row(Order, row, items=items, status=OrderStatus(row.status))


def _visible_row(conn: Connection, caller: Caller, order_id: str) -> Row[Any]:
    row = conn.execute(
        select(orders).where(orders.c.id == order_id, orders.c.tenant_id == caller.tenant_id)
    ).first()
    if row is None or not caller.may_see(row.store):
        raise NotFound("no such order for this token")
    return row


def get_order(engine: Engine, caller: Caller, order_id: str) -> Order:
    with reading(engine) as conn:
        return _stored(_visible_row(conn, caller, order_id))


def change_status(
    engine: Engine, caller: Caller, order_id: str, status: OrderStatus, key: str | None
) -> tuple[Order, bool]:
    """The order after the change, and whether this was a replay of an earlier request."""
    try:
        return _change_status(engine, caller, order_id, status, key)
    except IntegrityError:  # a concurrent request with the same key won (PostgreSQL)
        return _change_status(engine, caller, order_id, status, key)


def _request_hash(order_id: str, status: str) -> str:
    return hashlib.sha256(f"POST /v1/orders/{order_id}/status\n{status}".encode()).hexdigest()


def _change_status(
    engine: Engine, caller: Caller, order_id: str, status: OrderStatus, key: str | None
) -> tuple[Order, bool]:
    digest = _request_hash(order_id, status)
    with writing(engine) as conn:
        now = datetime.now(UTC)
        if key is not None:
            replay = _replay(conn, caller, key, digest, now)
            if replay is not None:
                return replay, True
        row = _visible_row(conn, caller, order_id)
        allowed = NEXT[row.status]
        if status not in allowed:
            shown = ", ".join(allowed) if allowed else f"none: {row.status} is final"
            raise IllegalTransition(
                f"order {order_id} is {row.status} and cannot become {status}; "
                f"allowed next states: {shown}",
                {"status": row.status, "requested": status, "allowed": list(allowed)},
            )
        conn.execute(
            update(orders).where(orders.c.id == order_id).values(status=status, updated_at=now)
        )
        order = from_row(Order, row).model_copy(update={"status": status, "updatedAt": now})
        event = "order.cancelled" if status == "CANCELLED" else "order.status_changed"
        shown_order = order.model_dump(mode="json")
        enqueue(conn, caller.tenant_id, event, shown_order, now)
        if key is not None:
            conn.execute(
                insert(idempotency_keys).values(
                    token_id=caller.token_id,
                    key=key,
                    request_hash=digest,
                    response=shown_order,
                    created_at=now,
                )
            )
        return order, False


def _replay(conn: Connection, caller: Caller, key: str, digest: str, now: datetime) -> Order | None:
    conn.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.token_id == caller.token_id,
            idempotency_keys.c.created_at < now - IDEMPOTENCY_KEEP,
        )
    )
    found = conn.execute(
        select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
            idempotency_keys.c.token_id == caller.token_id, idempotency_keys.c.key == key
        )
    ).first()
    if found is None:
        return None
    if found.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request; "
            "use a new key for a new request",
            {"header": "Idempotency-Key"},
        )
    order = Order.model_validate(found.response)
    if not caller.may_see(order.store):
        raise NotFound("no such order for this token")
    return order
