"""Request and response bodies of the Partner API, as OpenAPI shows them.

Money is a decimal string on the wire and `Decimal` in code: a JSON number
is refused (422) because a float cannot hold 9.10 exactly. Times are
timezone-aware UTC; ids are opaque strings.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from hubops.fields import RetailerId
from hubops.utc import UtcDatetime


class OrderStatus(StrEnum):
    """One named schema, so generated clients get one enum for orders, filters and changes."""

    RECEIVED = "RECEIVED"
    ACCEPTED = "ACCEPTED"
    PREPARING = "PREPARING"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


Money = Annotated[
    StrictStr,
    Field(
        pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$",
        description='A non-negative decimal amount as a string, e.g. "9.50" (never a number).',
        examples=["9.50"],
    ),
]
Total = Annotated[
    StrictStr,
    Field(
        pattern=r"^(0|[1-9][0-9]{0,23})(\.[0-9]{1,4})?$",
        description="The sum of quantity x unitPrice over the items, as a decimal string.",
        examples=["19.00"],
    ),
]
Sku = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
StoreId = Annotated[StrictStr, Field(min_length=1, max_length=200, examples=["acme-001"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderItem(_In):
    sku: Sku
    name: Name
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    unitPrice: Money


class OrderIn(_In):
    """A simulated customer order (admin API)."""

    store: StoreId
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=500)]
    retailer: RetailerId | None = Field(
        default=None,
        description="The retailer ordering; it needs an approved connection (else 409).",
    )


class Order(BaseModel):
    id: str
    store: str
    status: OrderStatus
    items: list[OrderItem]
    total: Total
    createdAt: datetime
    updatedAt: datetime
    retailer: str | None = None


class OrderPage(BaseModel):
    items: list[Order]
    nextCursor: str | None


class StatusIn(_In):
    status: OrderStatus


class CatalogItem(_In):
    sku: Sku
    name: Name
    price: Money
    available: StrictBool


class Catalog(_In):
    items: Annotated[list[CatalogItem], Field(max_length=10_000)]


class CatalogOut(BaseModel):
    """A store's catalog as read: up to 100,000 items when it came from a catalog file."""

    items: list[CatalogItem]


class PromotionIn(_In):
    name: Name
    store: StoreId
    sku: Sku
    discountPercent: Annotated[StrictInt, Field(ge=1, le=100)]
    startsAt: UtcDatetime | None = None
    endsAt: UtcDatetime | None = None


class Promotion(BaseModel):
    id: str
    name: str
    store: str
    sku: str
    discountPercent: int
    startsAt: datetime | None
    endsAt: datetime | None
    createdAt: datetime


class PromotionPage(BaseModel):
    items: list[Promotion]
    nextCursor: str | None
