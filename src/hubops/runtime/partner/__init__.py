"""The Partner API (`/v1`): what partners call with a tenant's ApiToken.

One layout for every resource: `<resource>.py` holds its rules and its SQL
(functions over an engine and the calling token, answering the wire models
of `models.py`), and `<resource>_routes.py` its thin FastAPI routes:
`orders` and `order_routes`, `promotions` and `promotion_routes`, `catalog`
and `catalog_routes`; catalog files are `runtime.catalog.uploads` and
`upload_routes`. `auth` says who is calling, `stores` which stores a token
may act for, `ratelimit` how fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

    from hubops.runtime.partner.ratelimit import RateLimit


def install(app: FastAPI, engine: Engine, rate_limit: RateLimit | None = None) -> None:
    """Mount the routes and the Partner API's state (rate limiter, last-use bookkeeping).

    The routes are imported here, not with the package: the catalog's processing shares
    `partner.models`, and importing that must not build the whole Partner API (the CLI's
    embedded runtime has none).
    """
    from hubops.runtime.partner import catalog_routes, order_routes, promotion_routes
    from hubops.runtime.partner.auth import PartnerState
    from hubops.runtime.partner.ratelimit import QuotaHeaders

    app.state.partner = PartnerState.create(engine, rate_limit)
    app.add_middleware(QuotaHeaders)
    app.include_router(order_routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(promotion_routes.router)
