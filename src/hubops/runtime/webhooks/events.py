"""Every event type a webhook can receive, as a model of its whole body, and its JSON Schema.

A body is the Standard Webhooks envelope `{"type", "timestamp", "data"}`;
`data` is what the Partner or admin API shows of the object the event is
about (an order, a catalog upload, a retailer connection), or the small
records below for the webhook events. `hubops schema` writes one schema per
type to `schemas/events/<type>.schema.json`; a test keeps them in sync with
these models, and the delivery tests validate every body they receive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hubops.manifest.models import EVENT_TYPES, TEST_EVENT
from hubops.runtime.catalog.models import Upload
from hubops.runtime.connections import RetailerConnection
from hubops.runtime.partner.models import Order
from hubops.schemas import DIALECT, SchemaGenerator


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: datetime = Field(description="When the event happened (UTC, ISO 8601).")


class OrderCreated(_Event):
    """A customer placed an order; `data` is the order as `GET /v1/orders/{id}` shows it."""

    type: Literal["order.created"]
    data: Order


class OrderStatusChanged(_Event):
    """An order moved to another status (`data.status`)."""

    type: Literal["order.status_changed"]
    data: Order


class OrderCancelled(_Event):
    """An order was cancelled."""

    type: Literal["order.cancelled"]
    data: Order


class CatalogUploadFinished(_Event):
    """A catalog file was processed; `data` is the upload record."""

    type: Literal["catalog.upload_finished"]
    data: Upload


class ConnectionRequested(_Event):
    """A retailer asked to connect; `data` is the connection request."""

    type: Literal["connection.requested"]
    data: RetailerConnection


class ConnectionApproved(_Event):
    """The brand approved a retailer's connection."""

    type: Literal["connection.approved"]
    data: RetailerConnection


class ConnectionRejected(_Event):
    """The brand rejected a retailer's connection."""

    type: Literal["connection.rejected"]
    data: RetailerConnection


class WebhookTestData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str
    webhook: str


class WebhookTest(_Event):
    """Sent on request (`hubops webhook test`), whatever the webhook's `events` list."""

    type: Literal["webhook.test"]
    data: WebhookTestData


class WebhookDisabledData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str
    webhook: str = Field(description="The webhook the runtime switched off.")
    reason: str
    failingSince: datetime | None = Field(description="Its first failure after its last success.")


class WebhookDisabled(_Event):
    """The runtime switched off another webhook of the tenant after it failed too long."""

    type: Literal["webhook.disabled"]
    data: WebhookDisabledData


EVENT_MODELS: dict[str, type[_Event]] = {
    "order.created": OrderCreated,
    "order.status_changed": OrderStatusChanged,
    "order.cancelled": OrderCancelled,
    "catalog.upload_finished": CatalogUploadFinished,
    "connection.requested": ConnectionRequested,
    "connection.approved": ConnectionApproved,
    "connection.rejected": ConnectionRejected,
    "webhook.test": WebhookTest,
    "webhook.disabled": WebhookDisabled,
}
assert set(EVENT_MODELS) == {*EVENT_TYPES, TEST_EVENT}, "an event type without a model"


def schema_file(event_type: str) -> str:
    return f"{event_type}.schema.json"


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name (in `schemas/events/`) -> the JSON Schema of that event type's body."""
    out = {}
    for event_type, model in EVENT_MODELS.items():
        schema = model.model_json_schema(mode="serialization", schema_generator=SchemaGenerator)
        out[schema_file(event_type)] = {
            "$schema": DIALECT,
            "$id": f"events/{schema_file(event_type)}",
            **schema,
            "title": event_type,
        }
    return out
