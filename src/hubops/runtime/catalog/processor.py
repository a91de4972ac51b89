"""Catalog files in the background: asyncio tasks in the runtime, database work in threads.

A route (or the SFTP server) hands over a file on disk and returns at
once; the upload is processed by a task of the runtime's event loop, its
parsing and writing in a worker thread (`process`). At most `PARALLEL`
files are processed at a time per process, so a burst of uploads cannot
take every thread. On shutdown, running uploads stop between two chunks
and end as failed; an upload whose runtime was killed is ended the same way
by the next sweep (its heartbeat is older than the lease), so no record
stays `processing` for ever. Uploads are not resumed: the file lived on the
stopped replica's disk.

The embedded runtime (`--runtime PATH`) has no lifespan: its tasks run on
the CLI's own event loop, which `hubops catalog upload` keeps running while
it polls for the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from hubops.runtime.catalog import process, uploads
from hubops.runtime.catalog.models import Upload
from hubops.runtime.catalog.uploads import UploadJob
from hubops.runtime.settings import RuntimeConfigError

log = logging.getLogger("hubops.catalog")

PARALLEL = 2
LEASE_ENV = "HUBOPS_CATALOG_UPLOAD_LEASE_SECONDS"
DEFAULT_LEASE = 60.0
INTERNAL = "the runtime hit an internal error while processing this file; upload it again"

Done = Callable[[Upload | None], None]


def lease_seconds(raw: str | None = None) -> float:
    text = raw if raw is not None else os.environ.get(LEASE_ENV, str(DEFAULT_LEASE))
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value <= 0:
        raise RuntimeConfigError(
            f"{LEASE_ENV} must be a positive number of seconds (default {DEFAULT_LEASE:g})"
        )
    return value


class UploadProcessor:
    def __init__(self, engine: Engine, lease: float) -> None:
        self.engine = engine
        self.lease = lease
        self.stop = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._sweeper: asyncio.Task[None] | None = None

    def submit(self, job: UploadJob, path: Path, done: Done) -> None:
        """Process `path` for `job`; `done` runs (in a thread) with the outcome afterwards."""
        task = asyncio.get_running_loop().create_task(self._run(job, path, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: UploadJob, path: Path, done: Done) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(PARALLEL)
        outcome: Upload | None = None
        async with self._slots:
            try:
                outcome = await asyncio.to_thread(
                    process.process, self.engine, job, path, self.stop
                )
            except Exception as exc:
                log.error("upload %s failed: %s", job.id, type(exc).__name__)
                with contextlib.suppress(Exception):
                    outcome = await asyncio.to_thread(process.abort, self.engine, job, INTERNAL)
            finally:
                try:
                    await asyncio.to_thread(done, outcome)
                except Exception as exc:
                    log.error("upload %s: after processing: %s", job.id, type(exc).__name__)

    def sweep(self) -> int:
        """End uploads whose runtime stopped mid-file; how many there were."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.lease)
        ended = 0
        for job in uploads.stale(self.engine, cutoff):
            if process.abort(self.engine, job) is not None:
                ended += 1
                log.warning("upload %s: its runtime stopped mid-file; marked failed", job.id)
        return ended

    async def start(self) -> None:
        await asyncio.to_thread(self.sweep)
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 2)
            try:
                await asyncio.to_thread(self.sweep)
            except Exception as exc:  # the database may be away for a moment
                log.warning("upload sweep failed: %s", type(exc).__name__)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop running uploads between chunks (they end as failed) and wait for them."""
        self.stop.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def idle(self) -> None:
        """Wait until every submitted upload has finished (tests, the embedded CLI)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
