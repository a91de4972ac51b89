"""Admin routes for order webhooks: the delivery log and redelivery of a message."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
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
from hubops.runtime.webhooks import deliveries as outbox_deliveries

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
    tenant_id, applied = _tenant_id(runtime, tenant, name)
    if not applied:
        raise NotFound("the tenant has no such webhook")
    if not outbox_deliveries.redeliver(runtime.engine, tenant_id, name, message_id, utc.now()):
        raise NotFound("the webhook was never sent that message")
    return Redelivery(messageId=message_id, status="queued")
