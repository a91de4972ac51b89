"""Admin routes for webhooks: the delivery log, redelivery, test events and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from hubops import utc
from hubops.runtime import cursors
from hubops.runtime.auth import admin_router
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.errors import NotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.openapi import errors, listing
from hubops.runtime.rows import from_row
from hubops.runtime.tables import resources
from hubops.runtime.webhooks import actions
from hubops.runtime.webhooks import deliveries as outbox_deliveries
from hubops.utc import UtcDatetime

router = admin_router("webhooks")


class DeliveryAttempt(BaseModel):
    messageId: str
    eventType: str
    orderId: str | None  # None for events that are not about an order
    attemptedAt: datetime
    statusCode: int | None
    latencyMs: int | None
    error: str | None
    responseExcerpt: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryAttempt]
    nextCursor: str | None


class Redelivery(BaseModel):
    messageId: str
    status: str


class TestEvent(BaseModel):
    messageId: str


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: UtcDatetime
    only: Literal["failed", "all"] = "failed"


class ReplayQueued(BaseModel):
    count: int


def _tenant_id(runtime: RuntimeDep, tenant: str, webhook: str) -> tuple[int, bool]:
    """(tenant id, whether the webhook is currently applied)."""
    with reading(runtime.engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        exists = conn.execute(
            select(resources.c.address).where(
                resources.c.tenant_id == tenant_id,
                resources.c.address == f"webhook/{webhook}",
            )
        ).first()
    return tenant_id, exists is not None


@router.get(
    "/tenants/{tenant}/webhooks/{name}/deliveries",
    **listing(DeliveryPage, "listDeliveries", 404),
)
def deliveries(
    tenant: str,
    name: str,
    runtime: RuntimeDep,
    paging: cursors.AdminPaging,
) -> DeliveryPage:
    """Every delivery attempt to the webhook, newest first."""
    tenant_id, applied = _tenant_id(runtime, tenant, name)
    keyset = cursors.number_keyset("att", paging.cursor)
    rows, next_cursor = outbox_deliveries.attempt_log(
        runtime.engine, tenant_id, name, keyset, paging.limit
    )
    if not rows and not applied:
        raise NotFound("the tenant has no such webhook")
    items = [from_row(DeliveryAttempt, row) for row in rows]
    return DeliveryPage(items=items, nextCursor=next_cursor)


@router.post(
    "/tenants/{tenant}/webhooks/{name}/deliveries/{message_id}/redeliver",
    status_code=202,
    response_model=Redelivery,
    responses=errors(404),
    operation_id="redeliverMessage",
)
def redeliver(tenant: str, name: str, message_id: str, runtime: RuntimeDep) -> Redelivery:
    """Send a message to the webhook again, with the same webhook-id."""
    with reading(runtime.engine) as conn:
        tenant_id = actions.applied_webhook(conn, tenant, name)
    if not outbox_deliveries.redeliver(runtime.engine, tenant_id, name, message_id, utc.now()):
        raise NotFound("the webhook was never sent that message")
    return Redelivery(messageId=message_id, status="queued")


@router.post(
    "/tenants/{tenant}/webhooks/{name}/test",
    status_code=202,
    response_model=TestEvent,
    responses=errors(404),
    operation_id="sendTestEvent",
)
def send_test(tenant: str, name: str, runtime: RuntimeDep) -> TestEvent:
    """Send a signed `webhook.test` event to the webhook now, whatever its `events` list."""
    message_id = actions.send_test_event(runtime.engine, tenant, name, utc.now())
    return TestEvent(messageId=message_id)


@router.post(
    "/tenants/{tenant}/webhooks/{name}/replay",
    status_code=202,
    response_model=ReplayQueued,
    responses=errors(400, 404),
    operation_id="replayMessages",
)
def replay(tenant: str, name: str, body: ReplayIn, runtime: RuntimeDep) -> ReplayQueued:
    """Send again every message created since `since` (only the failed ones, or all),
    each with its own webhook-id."""
    count = actions.replay(runtime.engine, tenant, name, body.since, body.only, utc.now())
    return ReplayQueued(count=count)
