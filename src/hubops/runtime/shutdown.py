"""Graceful shutdown: one grace period, from the SIGTERM to the last delivery handed back.

On SIGTERM uvicorn stops accepting connections and lets requests under way
finish; then the lifespan stops the webhook worker and the catalog uploads,
each given what is left of `HUBOPS_SHUTDOWN_GRACE` (default 10 s), counted
from the signal. The process then exits 0: a SIGTERM answered in full is a
clean stop, not a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

import uvicorn

from hubops.runtime.settings import RuntimeConfigError

GRACE_ENV = "HUBOPS_SHUTDOWN_GRACE"
DEFAULT_GRACE = 10.0


def grace_seconds(raw: str | None = None) -> float:
    text = raw if raw is not None else os.environ.get(GRACE_ENV, "")
    try:
        value = float(text) if text.strip() else DEFAULT_GRACE
    except ValueError:
        value = -1.0
    if value < 0:
        raise RuntimeConfigError(
            f"{GRACE_ENV} must be a non-negative number of seconds (default {DEFAULT_GRACE:g})"
        )
    return value


@dataclass
class Shutdown:
    """When the stop began, so every part shares one grace period."""

    grace: float = DEFAULT_GRACE
    started: float | None = None

    def begin(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def remaining(self) -> float:
        """Seconds of the grace period left (all of it when no signal was seen)."""
        self.begin()
        assert self.started is not None
        return max(0.0, self.started + self.grace - time.monotonic())


class GracefulServer(uvicorn.Server):
    """uvicorn's server, starting the grace period at the signal and exiting 0 after it.

    uvicorn re-raises a handled SIGTERM or SIGINT once it has shut down, so
    that the process ends as killed by it; after a complete graceful stop we
    return normally instead (exit status 0).
    """

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self._shutdown = shutdown

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._shutdown.begin()
        super().handle_exit(sig, frame)
