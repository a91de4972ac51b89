"""Queueing an order event for every matching webhook, inside the order's own transaction.

Writing the outbox rows in the same transaction as the order change is what
makes delivery exactly as durable as the order: an event is never lost
after its order committed, and never sent for a change that rolled back.
Which webhooks match is decided now, from the webhooks as applied at this
moment (enabled, subscribed to the event, covering the order's store).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from hubops.runtime.tables import resources, webhook_deliveries, webhook_messages

EVENT_TYPES = ("order.created", "order.status_changed", "order.cancelled")


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def matching_webhooks(conn: Connection, tenant_id: int, event_type: str, store: str) -> list[str]:
    rows = conn.execute(
        select(resources.c.address, resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.kind == "webhook"
        )
    )
    names = []
    for row in rows:
        body: dict[str, Any] = row.body
        stores = body.get("stores")
        if (
            body.get("enabled")
            and event_type in body.get("events", [])
            and (stores is None or store in stores)
        ):
            names.append(row.address.removeprefix("webhook/"))
    return sorted(names)


def enqueue(
    conn: Connection,
    tenant_id: int,
    event_type: str,
    order: dict[str, Any],
    at: datetime | None = None,
) -> str | None:
    """Record an order event for delivery; returns its message id (None if nothing listens).

    `order` is the order as the Partner API shows it (JSON-ready: money as
    decimal strings); it must carry "id" and "store".
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    at = at or datetime.now(UTC)
    hooks = matching_webhooks(conn, tenant_id, event_type, str(order["store"]))
    if not hooks:
        return None
    message_id = new_message_id()
    body = json.dumps(
        {"type": event_type, "timestamp": _timestamp(at), "data": order},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    conn.execute(
        insert(webhook_messages).values(
            id=message_id,
            tenant_id=tenant_id,
            event_type=event_type,
            order_id=str(order["id"]),
            body=body,
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
                "order_id": str(order["id"]),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "updated_at": at,
            }
            for name in hooks
        ],
    )
    return message_id
