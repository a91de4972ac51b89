"""Processing one catalog file: parse as a stream, write in chunks, finish in one step.

Runs in a worker thread (see `processor`), never on the event loop. Each
chunk of rows is one short transaction that also moves the upload's
heartbeat, so other tenants' writes interleave with a 100,000-row file and
a runtime that died mid-file is recognised by a stale heartbeat.

* `update`: every chunk's good rows are applied at once; bad rows are only
  reported. The outcome is `succeeded`, `partial` (some rows applied, some
  problems) or `failed` (nothing applied).
* `replace`: good rows are staged under the upload's own generation; at the
  end, with no problem at all, one transaction switches the store to it
  (`succeeded`), otherwise nothing changes (`failed`). Either way the rows
  nobody reads any more are then deleted in chunks.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from hubops.runtime.catalog import items, uploads
from hubops.runtime.catalog.models import Status, Upload
from hubops.runtime.catalog.parse import FileProblem, Problem, Row, rows
from hubops.runtime.catalog.uploads import Counts, UploadJob
from hubops.runtime.db import writing
from hubops.runtime.partner.models import CatalogItem

log = logging.getLogger("hubops.catalog")

CHUNK_ROWS = 1_000
# A pause between chunks hands the interpreter to the request threads and the event loop,
# which a tight parsing loop would otherwise hold for its whole switch interval.
YIELD_SECONDS = 0.002
STOPPED = (
    "the runtime stopped before it finished this file; nothing more was applied, "
    "upload the file again"
)


class Stopped(Exception):
    """The runtime is shutting down: end the upload as failed between two chunks."""


@dataclass
class _State:
    job: UploadJob
    counts: Counts = field(default_factory=Counts)
    seen: dict[str, int] = field(default_factory=dict)  # sku -> line of its first row
    good: list[CatalogItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    staged: int = 0

    def take(self, row: Row) -> None:
        self.counts.rows += 1
        problems = list(row.problems)
        if row.item is not None:
            first = self.seen.get(row.item.sku)
            if first is not None:
                problems.append(
                    Problem(
                        row.line,
                        row.item.sku,
                        "sku",
                        f"the sku appears more than once in the file (first on line {first}); "
                        "keep one row per sku",
                    )
                )
            else:
                self.seen[row.item.sku] = row.line
        if problems:
            self.counts.rejected += 1
            self.problems += problems
        elif row.item is not None:
            self.good.append(row.item)


def _flush(engine: Engine, state: _State) -> None:
    job = state.job
    now = datetime.now(UTC)
    with writing(engine) as conn:
        if job.mode == "update":
            items.upsert(conn, job.tenant_id, job.store, state.good)
            state.counts.accepted += len(state.good)
        elif not state.counts.rejected:  # a replace stages only while it can still succeed
            items.stage(conn, job.tenant_id, job.store, job.seq, state.staged, state.good)
            state.staged += len(state.good)
        uploads.add_problems(conn, job.seq, state.problems)
        state.counts.error_count += len(state.problems)
        uploads.progress(conn, job.seq, state.counts, now)
    state.good, state.problems = [], []


def _outcome(state: _State) -> Status:
    if state.job.mode == "replace":
        return "failed" if state.counts.error_count else "succeeded"
    if not state.counts.error_count:
        return "succeeded"
    return "partial" if state.counts.accepted else "failed"


def process(engine: Engine, job: UploadJob, path: Path, stop: threading.Event) -> Upload:
    """Process the file at `path` to its outcome; the record says what happened."""
    state = _State(job)
    try:
        with path.open("rb") as raw:
            for row in rows(raw, job.content_type):
                state.take(row)
                if len(state.good) + len(state.problems) >= CHUNK_ROWS:
                    _flush(engine, state)
                    if stop.is_set():
                        raise Stopped
                    time.sleep(YIELD_SECONDS)
    except FileProblem as exc:
        state.problems.append(exc.problem)
    except Stopped:
        state.problems.append(Problem(None, "", "", STOPPED))
    except OSError as exc:
        log.error("upload %s: cannot read its file (%s)", job.id, type(exc).__name__)
        state.problems.append(Problem(None, "", "", "the runtime could not read the file"))
    return finish(engine, state)


def finish(engine: Engine, state: _State) -> Upload:
    _flush(engine, state)
    job = state.job
    status = _outcome(state)
    with writing(engine) as conn:
        old = None
        if job.mode == "replace" and status == "succeeded":
            old = items.switch_generation(conn, job.tenant_id, job.store, job.seq)
            state.counts.accepted = state.staged
        upload = uploads.finish(conn, job, status, state.counts, datetime.now(UTC))
    if job.mode == "replace":
        purge(engine, job.tenant_id, job.store, job.seq if old is None else old)
    return upload


def purge(engine: Engine, tenant_id: int, store: str, generation: int) -> None:
    """Delete a generation that is no longer read, a chunk per transaction."""
    while True:
        with writing(engine) as conn:
            if items.current_generation(conn, tenant_id, store) == generation:
                return  # never the live catalog
            if items.purge_chunk(conn, tenant_id, store, generation) < items.PURGE_CHUNK:
                return
        time.sleep(YIELD_SECONDS)


def abort(engine: Engine, job: UploadJob, message: str = STOPPED) -> Upload | None:
    """End an upload that cannot go on (its runtime died, or processing hit a bug) as failed,
    or `partial` when an update already applied rows. None if it had already ended."""
    with writing(engine) as conn:
        counts = uploads.counts_if_processing(conn, job.seq)
        if counts is None:
            return None
        uploads.add_problems(conn, job.seq, [Problem(None, "", "", message)])
        counts.error_count += 1
        status: Status = "partial" if job.mode == "update" and counts.accepted else "failed"
        upload = uploads.finish(conn, job, status, counts, datetime.now(UTC))
    if job.mode == "replace":
        purge(engine, job.tenant_id, job.store, job.seq)
    return upload
