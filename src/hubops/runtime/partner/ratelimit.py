"""A rate limit per API token, kept in the database so that every replica shares it.

Several `hubops serve` processes behind a load balancer are one service, so
a token's allowance must not multiply with the number of replicas: the
state lives in the `rate_limits` table, one row per token, and each counted
request costs exactly one short statement (see `Limiter`). A cheaper scheme
(buckets in each process's memory) would let N replicas grant N times the
limit; a shared cache would be one more service to run.

Every answer to a counted request says where its token stands
(`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, from the
IETF draft "RateLimit header fields for HTTP"): `take` returns a `Quota`,
authentication leaves it in the request's state, and `QuotaHeaders`
writes it into whatever response the request ends with, errors included.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case
from sqlalchemy.dialects import postgresql, sqlite
from starlette.types import Message, Receive, Scope, Send

from hubops.runtime.db import writing
from hubops.runtime.middleware import HttpMiddleware
from hubops.runtime.settings import RuntimeConfigError
from hubops.runtime.tables import rate_limits

RATE_LIMIT_ENV = "HUBOPS_RATE_LIMIT"
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100


@dataclass(frozen=True)
class RateLimit:
    per_second: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    @classmethod
    def from_env(cls) -> RateLimit:
        """`HUBOPS_RATE_LIMIT=requests_per_second,burst`, e.g. `50,100`; unset = the default."""
        raw = os.environ.get(RATE_LIMIT_ENV, "").strip()
        if not raw:
            return cls()
        rate, _, burst = raw.partition(",")
        try:
            limit = cls(float(rate), int(burst) if burst.strip() else max(1, int(float(rate))))
        except ValueError:
            limit = cls(0, 0)
        if limit.per_second <= 0 or limit.burst < 1:
            raise RuntimeConfigError(
                f"{RATE_LIMIT_ENV} must be `requests_per_second,burst` with positive numbers, "
                "e.g. 50,100"
            )
        return limit


@dataclass(frozen=True)
class Quota:
    """A token's bucket after one request: what the RateLimit-* headers say."""

    limit: int  # the bucket's size: requests allowed in a burst
    remaining: int  # whole requests left now
    reset: int  # seconds until the bucket is full again
    wait: float  # 0 when the request may go ahead, else seconds until it may

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class Limiter:
    """`take(token_id)` counts a request against the token's allowance and says where it
    stands, in one statement that every replica on the database shares.

    The generic cell rate algorithm keeps one number per token, the theoretical arrival
    time (TAT): each request moves it on by 1/rate from max(TAT, now), and a request is
    let through when that puts it at most `burst`/rate ahead of now. That is one
    upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on SQLite and
    PostgreSQL alike), which the database serializes per token, so two replicas can
    neither both spend the last request nor lose each other's counts. Every SET
    expression reads the row as it was, so `allowed` and `tat` agree.
    """

    def __init__(self, engine: Engine, limit: RateLimit) -> None:
        self.engine = engine
        self.limit = limit
        self._upsert = _insert_for(engine.dialect.name)

    def take(self, token_id: int) -> Quota:
        interval = 1.0 / self.limit.per_second
        capacity = self.limit.burst * interval
        with writing(self.engine) as conn:
            # Read the clock once the write lock is held: a request that queued behind
            # others must not count as arriving before the ones that went first.
            now = time.time()
            tat, allowed = conn.execute(self._statement(token_id, now, interval)).one()
        ahead = max(0.0, float(tat) - now)  # how far the token has spent into the future
        # Turned away only while the token is ahead of now, so the wait is positive.
        wait = 0.0 if allowed else ahead + interval - capacity
        return Quota(
            limit=self.limit.burst,
            remaining=max(0, math.floor(self.limit.burst - ahead / interval + 1e-9)),
            reset=math.ceil(ahead),
            wait=wait,
        )

    def _statement(self, token_id: int, now: float, interval: float) -> Any:
        capacity = self.limit.burst * interval
        start = case((rate_limits.c.tat > now, rate_limits.c.tat), else_=now)
        ok = start + interval - now <= capacity
        return (
            self._upsert(rate_limits)
            .values(token_id=token_id, tat=now + interval, allowed=True)
            .on_conflict_do_update(
                index_elements=[rate_limits.c.token_id],
                set_={
                    "tat": case((ok, start + interval), else_=rate_limits.c.tat),
                    "allowed": ok,
                },
            )
            .returning(rate_limits.c.tat, rate_limits.c.allowed)
        )


def _insert_for(dialect: str) -> Any:
    """The dialect's INSERT that knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RuntimeConfigError(f"rate limits need SQLite or PostgreSQL, not {dialect}")


QUOTA_STATE = "rate_limit_quota"


class QuotaHeaders(HttpMiddleware):
    """Adds the RateLimit-* headers of the request's Quota, if it was counted, to its answer."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            quota = scope.get("state", {}).get(QUOTA_STATE)
            if message["type"] == "http.response.start" and isinstance(quota, Quota):
                extra = [(k.lower().encode(), v.encode()) for k, v in quota.headers().items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, sending)
