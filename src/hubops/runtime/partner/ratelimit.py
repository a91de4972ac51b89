"""A rate limit per API token, kept in the database so that every replica shares it.

Several `hubops serve` processes behind a load balancer are one service, so
a token's allowance must not multiply with the number of replicas: the
state lives in the `rate_limits` table, one row per token, and a counted
request costs at most one short statement, a busy token's far fewer (see
`Limiter`). Buckets in each process's memory alone would let N replicas
grant N times the limit; a shared cache would be one more service to run.

Every answer to a counted request says where its token stands
(`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, from the
IETF draft "RateLimit header fields for HTTP"): `take` returns a `Quota`,
authentication leaves it in the request's state, and `QuotaHeaders`
writes it into whatever response the request ends with, errors included.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
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


HOLD_SECONDS = 1.0


class TokenGone(Exception):
    """The token's row was removed since the caller read it: there is nothing to count."""


@dataclass
class _Hand:
    """Requests this process claimed from a token's shared allowance and has not spent yet."""

    left: int
    until: float  # time.monotonic() after which the rest is given up
    tat: float  # the shared TAT right after the claim


class Limiter:
    """`take(token_id)` counts a request against the token's allowance and says where it
    stands; every replica on the database shares the allowance.

    The generic cell rate algorithm keeps one number per token, the theoretical arrival
    time (TAT): each request moves it on by 1/rate from max(TAT, now), and requests are
    let through while that keeps it at most `burst`/rate ahead of now. A claim is one
    upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on SQLite and PostgreSQL
    alike), which the database serializes per token, so two replicas can neither both
    spend the last request nor lose each other's counts; every SET expression reads the
    row as it was, so `granted` and `tat` agree.

    To spare a busy token a write per request, a claim takes up to `chunk` requests at
    once (a tenth of the burst, at most HOLD_SECONDS' worth of the rate; 1 for a small
    burst), spent from this process's hand for HOLD_SECONDS and then given up. A claim
    that cannot have the chunk takes one request, so the last requests of a burst are
    still granted one by one. Requests in a hand count as spent in the database: the
    replicas together never exceed the limit; a hand given up unspent only makes a
    token's allowance smaller for that moment.
    """

    def __init__(self, engine: Engine, limit: RateLimit) -> None:
        self.engine = engine
        self.limit = limit
        self.chunk = max(1, min(limit.burst // 10, int(limit.per_second * HOLD_SECONDS)))
        self._upsert = _insert_for(engine.dialect.name)
        self._hands: dict[int, _Hand] = {}
        self._lock = threading.Lock()
        self._claiming: dict[int, threading.Lock] = {}

    def in_hand(self, token_id: int) -> Quota | None:
        """A request spent from this process's hand (no I/O), or None: `take` must claim."""
        with self._lock:
            hand = self._hands.get(token_id)
            if hand is not None and hand.left > 0 and time.monotonic() < hand.until:
                hand.left -= 1
                return self._quota(hand.tat, time.time(), 0, hand.left)
        return None

    def take(self, token_id: int) -> Quota:
        spent = self.in_hand(token_id)
        if spent is not None:
            return spent
        # One claim per token at a time in this process: when a hand runs out under
        # load, every waiting request would otherwise claim a chunk of its own, each a
        # write that queues on SQLite's writer (a stall of all of them once a second).
        with self._claim_lock(token_id):
            spent = self.in_hand(token_id)  # the claim the wait was for
            return spent if spent is not None else self._claim_now(token_id)

    def _claim_lock(self, token_id: int) -> threading.Lock:
        with self._lock:
            return self._claiming.setdefault(token_id, threading.Lock())

    def _claim_now(self, token_id: int) -> Quota:
        interval = 1.0 / self.limit.per_second
        try:
            with writing(self.engine) as conn:
                # Read the clock once the write lock is held: a request that queued behind
                # others must not count as arriving before the ones that went first.
                now = time.time()
                tat, granted = conn.execute(self._claim(token_id, now, interval)).one()
        except IntegrityError:  # the foreign key: an apply removed the token meanwhile
            raise TokenGone(token_id) from None
        tat, granted = float(tat), int(granted)
        if granted == 0:
            # Turned away only while the token is ahead of now, so the wait is positive.
            wait = tat - now + interval - self.limit.burst * interval
            return self._quota(tat, now, wait, 0)
        with self._lock:
            self._hands[token_id] = _Hand(granted - 1, time.monotonic() + HOLD_SECONDS, tat)
            if len(self._hands) > 10_000:
                self._forget_spent()
        return self._quota(tat, now, 0, granted - 1)

    def _quota(self, tat: float, now: float, wait: float, in_hand: int) -> Quota:
        interval = 1.0 / self.limit.per_second
        ahead = max(0.0, tat - now)  # how far the token has spent into the future
        shared = math.floor(self.limit.burst - ahead / interval + 1e-9)
        return Quota(
            limit=self.limit.burst,
            remaining=min(self.limit.burst, max(0, shared + in_hand)),
            reset=math.ceil(ahead),
            wait=wait,
        )

    def _forget_spent(self) -> None:
        now = time.monotonic()
        for key in [k for k, hand in self._hands.items() if hand.until <= now]:
            del self._hands[key]
            self._claiming.pop(key, None)

    def _claim(self, token_id: int, now: float, interval: float) -> Any:
        """The one statement of a claim: `chunk` requests if they fit, else one, else none."""
        capacity = self.limit.burst * interval
        start = case((rate_limits.c.tat > now, rate_limits.c.tat), else_=now)
        granted = case(
            (start + self.chunk * interval - now <= capacity, self.chunk),
            (start + interval - now <= capacity, 1),
            else_=0,
        )
        return (
            self._upsert(rate_limits)
            .values(token_id=token_id, tat=now + self.chunk * interval, granted=self.chunk)
            .on_conflict_do_update(
                index_elements=[rate_limits.c.token_id],
                set_={"tat": start + granted * interval, "granted": granted},
            )
            .returning(rate_limits.c.tat, rate_limits.c.granted)
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
