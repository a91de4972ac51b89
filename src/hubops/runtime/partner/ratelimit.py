"""A token bucket per API token, in this process's memory.

In memory because the limit protects this process, and a shared store
would put a write on every request; with several runtime processes each
enforces its own share. Buckets are created lazily and dropped when full
and idle, so memory follows the number of active tokens.

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

from starlette.types import Message, Receive, Scope, Send

from hubops.runtime.middleware import HttpMiddleware
from hubops.runtime.settings import RuntimeConfigError

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
    """`take(key)` counts a request against the key's bucket and says where it stands."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: object) -> Quota:
        now = time.monotonic()
        burst, rate = float(self.limit.burst), self.limit.per_second
        with self._lock:
            tokens, at = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
            if wait == 0.0:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 10_000:
                self._forget_full(now)
        return Quota(
            limit=self.limit.burst,
            remaining=max(0, math.floor(tokens)),
            reset=math.ceil((burst - tokens) / rate),
            wait=wait,
        )

    def _forget_full(self, now: float) -> None:
        refill = self.limit.burst / self.limit.per_second
        for key in [k for k, (_, at) in self._buckets.items() if now - at > refill]:
            del self._buckets[key]


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
