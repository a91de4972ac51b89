"""What an operator asks of one webhook: send a test event, replay its messages since a time.

Plain functions over the engine, shared by the admin routes and the
console: each names the tenant and webhook as the operator does, and raises
`TenantNotFound` / `NotFound` (404 at the edge) when either is not applied.
Both only queue deliveries; the worker sends them like any other, signed,
retried and recorded in the delivery log.

A replay re-queues the webhook's own deliveries (each message keeps its
webhook-id, and its place in its ordering key), `REPLAY_BATCH` rows per
transaction, so replaying 100,000 messages never holds one long
transaction. Deliveries still pending are left alone: they are on their way,
and re-queuing one in flight could send it twice at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, Engine, insert, select, update

from hubops.manifest.models import TEST_EVENT
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.tables import resources, webhook_deliveries, webhook_messages
from hubops.runtime.webhooks.outbox import message_body, new_message_id

REPLAY_BATCH = 1000
ReplayScope = Literal["failed", "all"]


def applied_webhook(conn: Connection, tenant: str, webhook: str) -> int:
    """The tenant's id, when it holds `webhook`; a 404 error saying which is missing."""
    tenant_id = tenant_id_or_404(conn, tenant)
    found = conn.execute(
        select(resources.c.address).where(
            resources.c.tenant_id == tenant_id, resources.c.address == f"webhook/{webhook}"
        )
    ).first()
    if found is None:
        raise NotFound("the tenant has no such webhook")
    return tenant_id


def send_test_event(engine: Engine, tenant: str, webhook: str, now: datetime) -> str:
    """Queue a `webhook.test` event for `webhook` alone, due now; its message id."""
    message_id = new_message_id()
    with writing(engine) as conn:
        tenant_id = applied_webhook(conn, tenant, webhook)
        conn.execute(
            insert(webhook_messages).values(
                id=message_id,
                body=message_body(TEST_EVENT, {"tenant": tenant, "webhook": webhook}, now),
                tenant_id=tenant_id,
                event_type=TEST_EVENT,
                order_id=None,
                created_at=now,
            )
        )
        conn.execute(
            insert(webhook_deliveries).values(
                message_id=message_id,
                tenant_id=tenant_id,
                webhook=webhook,
                ordering_key=f"test:{message_id}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                updated_at=now,
            )
        )
    return message_id


def replay(
    engine: Engine, tenant: str, webhook: str, since: datetime, only: ReplayScope, now: datetime
) -> int:
    """Queue again every message the webhook was sent that was created at or after `since`
    (only those whose delivery finally failed, or all of them); how many were queued."""
    with reading(engine) as conn:
        tenant_id = applied_webhook(conn, tenant, webhook)
    statuses = ["failed"] if only == "failed" else ["failed", "succeeded"]
    after, count = 0, 0
    while True:
        with reading(engine) as conn:
            ids = list(
                conn.execute(
                    select(webhook_deliveries.c.id)
                    .join(
                        webhook_messages, webhook_messages.c.id == webhook_deliveries.c.message_id
                    )
                    .where(
                        webhook_deliveries.c.tenant_id == tenant_id,
                        webhook_deliveries.c.webhook == webhook,
                        webhook_deliveries.c.status.in_(statuses),
                        webhook_deliveries.c.id > after,
                        webhook_messages.c.created_at >= since,
                    )
                    .order_by(webhook_deliveries.c.id)
                    .limit(REPLAY_BATCH)
                ).scalars()
            )
        if not ids:
            return count
        with writing(engine) as conn:
            queued = conn.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id.in_(ids),
                    webhook_deliveries.c.status.in_(statuses),
                )
                .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
            )
        count += queued.rowcount
        after = ids[-1]
