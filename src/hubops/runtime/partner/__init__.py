"""The Partner API (`/v1`): what partners call with a tenant's ApiToken."""

from __future__ import annotations

from fastapi import FastAPI

from hubops.runtime.partner import catalog, order_routes, promotions
from hubops.runtime.partner.auth import PartnerState
from hubops.runtime.partner.ratelimit import QuotaHeaders, RateLimit


def install(app: FastAPI, rate_limit: RateLimit | None = None) -> None:
    """Mount the routes and the per-process state (rate limiter, last-use bookkeeping)."""
    app.state.partner = PartnerState.create(rate_limit)
    app.add_middleware(QuotaHeaders)
    app.include_router(order_routes.router)
    app.include_router(catalog.router)
    app.include_router(promotions.router)
