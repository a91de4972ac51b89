"""Who is calling the Partner API: a tenant's ApiToken, checked on every request.

The bearer token is read by `runtime.auth.bearer_token`, as for the admin
API. Order of checks, cheapest and least revealing first: the `hub_` form and
checksum offline (a malformed token never costs a database lookup), then
the row found by the token's SHA-256 (the runtime never holds the value),
expiry, the per-token rate limit, and the route's scope. The row is kept
per process for at most a second (`runtime.token_cache`, which says what
that means for an apply), so a busy token costs no query and no thread
hop: `authenticate` is async and goes to a worker thread only for a row
not in the cache, a rate-limit claim or a last-use write. Last use is
recorded at most once a minute per token and process, so reads do not
turn into writes.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.security.base import SecurityBase
from sqlalchemy import Engine, update
from sqlalchemy.exc import SQLAlchemyError

from hubops.runtime.auth import PARTNER, bearer_token
from hubops.runtime.context import Runtime, runtime_of
from hubops.runtime.crypto import token_hash
from hubops.runtime.db import writing
from hubops.runtime.errors import InsufficientScope, RateLimited
from hubops.runtime.openapi import errors
from hubops.runtime.partner.ratelimit import QUOTA_STATE, Limiter, Quota, RateLimit, TokenGone
from hubops.runtime.tables import api_tokens
from hubops.runtime.token_cache import TokenRow
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

    def write(self, engine: Engine, token_id: int, at: datetime) -> None:
        """Record the use (called when `due`): a short write in a worker thread."""
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


def _checked(token: TokenRow | None, digest: str, now: datetime) -> TokenRow:
    if token is None or not hmac.compare_digest(token.token_hash.encode(), digest.encode()):
        raise PARTNER.refused("the API token is not known to this runtime")
    if token.expires_at is not None and token.expires_at <= now:
        raise PARTNER.refused("the API token has expired; rotate it or move its expiresAt")
    return token


def known_token(request: Request, runtime: Runtime, now: datetime) -> tuple[str, TokenRow]:
    """The sent token's hash and applied row; 401 when it is missing, malformed, unknown or
    expired. Also what `early_auth` checks before a body is read (in a worker thread)."""
    digest = token_hash(_token_from(request))
    token = runtime.tokens.cached(digest) or runtime.tokens.load(runtime.engine, digest)
    return digest, _checked(token, digest, now)


async def authenticate(request: Request) -> Caller:
    """The calling token, or 401/429; scopes are checked by `PartnerAccess`.

    Async, with no I/O for a token whose row is cached and whose rate-limit claim
    still has requests in hand; anything else runs in one worker-thread call.
    """
    now = datetime.now(UTC)
    digest = token_hash(_token_from(request))
    runtime = runtime_of(request)
    state: PartnerState = request.app.state.partner
    cached = runtime.tokens.cached(digest)
    if cached is not None:
        token = _checked(cached, digest, now)
        in_hand = state.limiter.in_hand(token.id)
        if in_hand is None:
            in_hand = await anyio.to_thread.run_sync(_take, runtime, state, token, digest)
        quota = in_hand
    else:
        token, quota = await anyio.to_thread.run_sync(_load_and_take, runtime, state, digest, now)
    setattr(request.state, QUOTA_STATE, quota)  # QuotaHeaders puts it on the answer
    if quota.wait > 0:
        raise RateLimited(quota.wait)
    if state.last_use.due(digest):
        await anyio.to_thread.run_sync(state.last_use.write, runtime.engine, token.id, now)
    return Caller(
        token_id=token.id, tenant_id=token.tenant_id, scopes=token.scopes, stores=token.stores
    )


def _load_and_take(
    runtime: Runtime, state: PartnerState, digest: str, now: datetime
) -> tuple[TokenRow, Quota]:
    token = _checked(runtime.tokens.load(runtime.engine, digest), digest, now)
    return token, _take(runtime, state, token, digest)


def _take(runtime: Runtime, state: PartnerState, token: TokenRow, digest: str) -> Quota:
    """The rate-limit claim; a token removed since its row was read is unknown (401)."""
    try:
        return state.limiter.take(token.id)
    except TokenGone:
        runtime.tokens.forget(digest)
        raise PARTNER.refused("the API token is not known to this runtime") from None


class PartnerAccess(SecurityBase):
    """What a Partner API route depends on: the calling token, holding `scope` (else 403).

    One dependency where there were three (the bearer scheme, `authenticate`, the
    scope check): FastAPI's cost of solving a dependency is more than that of
    checking a cached token, and `GET /v1/orders` paid it on every request. Being a
    `SecurityBase` with the Partner realm's scheme and name, it is also what puts
    `partnerToken` into the OpenAPI document, as `Security(PARTNER.scheme)` did.
    """

    def __init__(self, scope: str) -> None:
        self.model = PARTNER.scheme.model
        self.scheme_name = PARTNER.scheme.scheme_name
        self.scope = scope

    async def __call__(self, request: Request) -> Caller:
        caller = await authenticate(request)
        if self.scope not in caller.scopes:
            raise InsufficientScope(self.scope)
        return caller


def partner_router(tag: str, prefix: str = "") -> APIRouter:
    """A router of Partner API routes: each needs a token (401), a scope (403), and is
    rate limited (429)."""
    return APIRouter(prefix=prefix, tags=[tag], responses=errors(401, 403, 429))


OrdersRead = Annotated[Caller, Depends(PartnerAccess("orders:read"))]
OrdersWrite = Annotated[Caller, Depends(PartnerAccess("orders:write"))]
CatalogRead = Annotated[Caller, Depends(PartnerAccess("catalog:read"))]
CatalogWrite = Annotated[Caller, Depends(PartnerAccess("catalog:write"))]
PromotionsRead = Annotated[Caller, Depends(PartnerAccess("promotions:read"))]
PromotionsWrite = Annotated[Caller, Depends(PartnerAccess("promotions:write"))]
