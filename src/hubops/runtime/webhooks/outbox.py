"""Queueing an event for every matching webhook, inside the transaction that caused it.

Writing the outbox rows in the same transaction as the change (an order's
status, a finished catalog upload, a retailer connection) is what makes
delivery exactly as durable as the change: an event is never lost after
its change committed, and never sent for one that rolled back. Which
webhooks match is decided now, from the webhooks as applied at this moment
(enabled, subscribed to the event type and, for an event about a store,
covering that store; an event about no store goes to every subscriber). A
webhook tied to an Integration (`integration`) covers that integration's
stores unless it names fewer, and only while the integration is enabled:
for an event about a store, on that store; otherwise on any of its stores.

Deliveries that share an ordering key reach one webhook in the order they
were queued: an order's events use the order id, other events a key of
their own (`upload:<id>`, `connection:<retailer>`).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from hubops.manifest.models import EVENT_TYPES, ORDER_EVENTS
from hubops.runtime.tables import resources, webhook_deliveries, webhook_messages
from hubops.utc import format_utc, now

MESSAGE_ID_PREFIX = "msg_"
MESSAGE_ID_HEX = 32


def new_message_id() -> str:
    return MESSAGE_ID_PREFIX + secrets.token_hex(MESSAGE_ID_HEX // 2)


def is_message_id(text: str) -> bool:
    """Whether `text` has the shape `new_message_id` gives (not whether it exists)."""
    tail = text.removeprefix(MESSAGE_ID_PREFIX)
    return (
        text.startswith(MESSAGE_ID_PREFIX)
        and len(tail) == MESSAGE_ID_HEX
        and all(c in "0123456789abcdef" for c in tail)
    )


def message_body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The Standard Webhooks body `{"type", "timestamp", "data"}`, compact, as it is signed."""
    payload = {"type": event_type, "timestamp": format_utc(at), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def matching_webhooks(
    conn: Connection, tenant_id: int, event_type: str, store: str | None
) -> list[str]:
    rows = conn.execute(
        select(resources.c.address, resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.kind == "webhook"
        )
    ).all()
    tied: dict[str, set[str]] | None = None
    names = []
    for row in rows:
        body: dict[str, Any] = row.body
        if not body.get("enabled") or event_type not in body.get("events", []):
            continue
        stores = body.get("stores")
        if body.get("integration") is not None:
            if tied is None:
                tied = enabled_integration_stores(conn, tenant_id)
            active = tied.get(str(body["integration"]), set())
            stores = sorted(active & set(stores)) if stores is not None else sorted(active)
            if not stores:
                continue
        if store is None or stores is None or store in stores:
            names.append(row.address.removeprefix("webhook/"))
    return sorted(names)


def enabled_integration_stores(conn: Connection, tenant_id: int) -> dict[str, set[str]]:
    """Integration name -> the stores on which it is applied and enabled now."""
    rows = conn.execute(
        select(resources.c.address, resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.kind == "integration"
        )
    )
    active: dict[str, set[str]] = {}
    for row in rows:
        name, _, store = row.address.removeprefix("integration/").rpartition("@")
        if row.body.get("enabled"):
            active.setdefault(name, set()).add(store)
    return active


def enqueue_event(
    conn: Connection,
    tenant_id: int,
    event_type: str,
    data: dict[str, Any],
    *,
    store: str | None,
    ordering_key: str,
    order_id: str | None = None,
    at: datetime | None = None,
) -> str | None:
    """Record an event for delivery; returns its message id (None if nothing listens).

    `data` is JSON-ready (money as decimal strings): it becomes the body's `data`.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    at = at or now()
    hooks = matching_webhooks(conn, tenant_id, event_type, store)
    if not hooks:
        return None
    message_id = new_message_id()
    conn.execute(
        insert(webhook_messages).values(
            id=message_id,
            body=message_body(event_type, data, at),
            tenant_id=tenant_id,
            event_type=event_type,
            order_id=order_id,
            created_at=at,
        )
    )
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "message_id": message_id,
                "tenant_id": tenant_id,
                "webhook": name,
                "ordering_key": ordering_key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "updated_at": at,
            }
            for name in hooks
        ],
    )
    return message_id


def enqueue(
    conn: Connection,
    tenant_id: int,
    event_type: str,
    order: dict[str, Any],
    at: datetime | None = None,
) -> str | None:
    """An order event: `order` as the Partner API shows it, with its "id" and "store"."""
    if event_type not in ORDER_EVENTS:
        raise ValueError(f"{event_type} is not an order event")
    order_id = str(order["id"])
    return enqueue_event(
        conn,
        tenant_id,
        event_type,
        order,
        store=str(order["store"]),
        ordering_key=order_id,
        order_id=order_id,
        at=at,
    )
