"""A token bucket per API token, in this process's memory.

In memory because the limit protects this process, and a shared store
would put a write on every request; with several runtime processes each
enforces its own share. Buckets are created lazily and dropped when full
and idle, so memory follows the number of active tokens.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

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


class Limiter:
    """`take(key)` returns 0 when a request may go ahead, else the seconds to wait."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: object) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * self.limit.per_second)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.limit.per_second
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 10_000:
                self._forget_full(now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        refill = self.limit.burst / self.limit.per_second
        for key in [k for k, (_, at) in self._buckets.items() if now - at > refill]:
            del self._buckets[key]
