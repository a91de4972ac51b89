"""Who is calling the Partner API: a tenant's ApiToken, checked on every request.

The bearer token is read by `runtime.auth.bearer_token`, as for the admin
API. Order of checks, cheapest and least revealing first: the `hub_` form and
checksum offline (a malformed token never costs a database lookup), then
the row found by the token's SHA-256 (the runtime never holds the value),
expiry, the per-token rate limit, and the route's scope. Nothing about a
token is cached: each request reads the applied row, so an apply that
removes, narrows or expires a token takes effect on the next request.
Last use is recorded at most once a minute per token and process, so
reads do not turn into writes.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine, Row, select, update
from sqlalchemy.exc import SQLAlchemyError

from hubops.runtime.auth import PARTNER, PartnerBearer, bearer_token
from hubops.runtime.context import RuntimeDep
from hubops.runtime.crypto import token_hash
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import InsufficientScope, RateLimited
from hubops.runtime.openapi import errors
from hubops.runtime.partner.ratelimit import QUOTA_STATE, Limiter, RateLimit
from hubops.runtime.tables import api_tokens
from hubops.tokens import token_problem

log = logging.getLogger("hubops.runtime.partner")

LAST_USE_EVERY_SECONDS = 60.0


class LastUse:
    """Remembers when each token's last use was written, to write again only when stale."""

    def __init__(self, every_seconds: float = LAST_USE_EVERY_SECONDS) -> None:
        self.every = every_seconds
        self._written: dict[str, float] = {}  # by token hash: SQLite may reuse a deleted id
        self._lock = threading.Lock()

    def due(self, digest: str) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._written.get(digest)
            if last is not None and now - last < self.every:
                return False
            self._written[digest] = now
            return True

    def record(self, engine: Engine, token_id: int, digest: str, at: datetime) -> None:
        if not self.due(digest):
            return
        try:
            with writing(engine) as conn:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at)
                )
        except SQLAlchemyError as exc:  # bookkeeping must never fail the partner's request
            log.warning("could not record a token's last use: %s", type(exc).__name__)


@dataclass
class PartnerState:
    """Per-process state of the Partner API, kept on `app.state.partner`."""

    limiter: Limiter
    last_use: LastUse = field(default_factory=LastUse)

    @classmethod
    def create(cls, engine: Engine, rate_limit: RateLimit | None = None) -> PartnerState:
        return cls(limiter=Limiter(engine, rate_limit or RateLimit.from_env()))


@dataclass(frozen=True)
class Caller:
    token_id: int
    tenant_id: int
    scopes: frozenset[str]
    stores: tuple[str, ...] | None  # None: every store of the tenant

    def may_see(self, store: str) -> bool:
        return self.stores is None or store in self.stores


def _token_from(request: Request) -> str:
    token = bearer_token(request, PARTNER)
    problem = token_problem(token)
    if problem is not None:
        raise PARTNER.refused(f"the API token is malformed: {problem}")
    return token


def known_token(request: Request, engine: Engine, now: datetime) -> tuple[str, Row[Any]]:
    """The sent token's hash and applied row; 401 when it is missing, malformed, unknown or
    expired. Also what `early_auth` checks before a body is read."""
    digest = token_hash(_token_from(request))
    with reading(engine) as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash.encode(), digest.encode()):
        raise PARTNER.refused("the API token is not known to this runtime")
    if row.expires_at is not None and row.expires_at <= now:
        raise PARTNER.refused("the API token has expired; rotate it or move its expiresAt")
    return digest, row


def authenticate(request: Request, runtime: RuntimeDep, _docs: PartnerBearer) -> Caller:
    """The calling token, or 401/429; scopes are checked by `require_scope`."""
    now = datetime.now(UTC)
    digest, row = known_token(request, runtime.engine, now)
    state: PartnerState = request.app.state.partner
    quota = state.limiter.take(row.id)
    setattr(request.state, QUOTA_STATE, quota)  # QuotaHeaders puts it on the answer
    if quota.wait > 0:
        raise RateLimited(quota.wait)
    state.last_use.record(runtime.engine, row.id, digest, now)
    return Caller(
        token_id=row.id,
        tenant_id=row.tenant_id,
        scopes=frozenset(row.scopes),
        stores=None if row.stores is None else tuple(row.stores),
    )


def require_scope(scope: str) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if scope not in caller.scopes:
            raise InsufficientScope(scope)
        return caller

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check


def partner_router(tag: str, prefix: str = "") -> APIRouter:
    """A router of Partner API routes: each needs a token (401), a scope (403), and is
    rate limited (429)."""
    return APIRouter(prefix=prefix, tags=[tag], responses=errors(401, 403, 429))


OrdersRead = Annotated[Caller, Depends(require_scope("orders:read"))]
OrdersWrite = Annotated[Caller, Depends(require_scope("orders:write"))]
CatalogRead = Annotated[Caller, Depends(require_scope("catalog:read"))]
CatalogWrite = Annotated[Caller, Depends(require_scope("catalog:write"))]
PromotionsRead = Annotated[Caller, Depends(require_scope("promotions:read"))]
PromotionsWrite = Annotated[Caller, Depends(require_scope("promotions:write"))]
