"""Recording finished attempts in batches: one transaction for all that end close together.

Under a steady stream of events every delivery used to end in a transaction
of its own (and a thread hop to run it): at a few hundred deliveries a
second that was a large share of the worker's time and, on SQLite, of its
one writer. Attempts that end within `DELAY` of one another are now written
together by `deliveries.finish_many`, and each attempt's task waits until its
batch is written, so an attempt counts as recorded only when it is. The cost
is at most `DELAY` before the next event of the same order becomes due.

A batch that fails to write fails every attempt in it; their leases end on
their own and the deliveries are sent again (with the same webhook-id).
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import Engine

from hubops.runtime.webhooks.deliveries import Finished, finish_many


class Finisher:
    DELAY = 0.01
    MOST = 200  # a batch this big is written at once

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._waiting: list[tuple[Finished, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def record(self, item: Finished) -> None:
        """Queue the attempt for the next batch and wait until that batch is written."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((item, done))
        if len(self._waiting) >= self.MOST:
            self._write_now()
        elif self._timer is None:
            self._timer = loop.call_later(self.DELAY, self._write_now)
        # Shielded: a task cancelled while it waits (shutdown) still has its attempt written.
        await asyncio.shield(done)

    def _write_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.create_task(self._write(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _write(self, batch: list[tuple[Finished, asyncio.Future[None]]]) -> None:
        try:
            await asyncio.to_thread(finish_many, self._engine, [item for item, _ in batch])
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def drain(self) -> None:
        """Write what is waiting now, and wait for every batch under way."""
        self._write_now()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._writing, return_exceptions=True)
