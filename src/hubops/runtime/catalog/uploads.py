"""Upload records in the database: create, read, page, progress and finish.

Every write is a short transaction of its own; `finish` also queues the
`catalog.upload_finished` event in the transaction that ends the upload, so
the event exists exactly when the outcome does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.engine import Row as DbRow

from hubops import utc
from hubops.runtime.catalog.models import Mode, Source, Status, Upload, UploadPage
from hubops.runtime.catalog.parse import Problem
from hubops.runtime.cursors import NumberKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.partner.auth import Caller
from hubops.runtime.rows import from_row
from hubops.runtime.tables import catalog_upload_errors, catalog_uploads
from hubops.runtime.webhooks.outbox import enqueue_event

PARTNER_PREFIX = "/v1/catalog/uploads"
ERRORS_PAGE = 2_000


def admin_prefix(tenant: str) -> str:
    return f"/admin/v1/tenants/{tenant}/catalog/uploads"


@dataclass(frozen=True)
class NewUpload:
    """A file received for a store: from where, under what name, of which type, how to apply."""

    tenant_id: int
    store: str
    source: Source
    file_name: str | None
    content_type: str
    mode: Mode


@dataclass(frozen=True)
class UploadJob(NewUpload):
    """What processing needs to know about an upload: what it is, and its record's keys."""

    seq: int
    id: str


def _job(row: DbRow[Any]) -> UploadJob:
    return UploadJob(**{f.name: row._mapping[f.name] for f in fields(UploadJob)})


def new_upload_id() -> str:
    return "upl_" + secrets.token_hex(12)


def create(engine: Engine, upload: NewUpload) -> tuple[UploadJob, DbRow[Any]]:
    """A new `processing` record; the job to process and the row to show."""
    now = utc.now()
    upload_id = new_upload_id()
    with writing(engine) as conn:
        result = conn.execute(
            insert(catalog_uploads).values(
                id=upload_id,
                status="processing",
                received_at=now,
                heartbeat_at=now,
                **asdict(upload),
                **asdict(Counts()),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        row = conn.execute(select(catalog_uploads).where(catalog_uploads.c.seq == key[0])).one()
    return _job(row), row


def shown(row: DbRow[Any], prefix: str = PARTNER_PREFIX) -> Upload:
    return from_row(Upload, row, errorFile=f"{prefix}/{row.id}/errors" if row.error_count else None)


def find(conn: Connection, tenant_id: int, upload_id: str) -> DbRow[Any] | None:
    return conn.execute(
        select(catalog_uploads).where(
            catalog_uploads.c.id == upload_id, catalog_uploads.c.tenant_id == tenant_id
        )
    ).first()


def visible(engine: Engine, caller: Caller, upload_id: str) -> DbRow[Any]:
    """An upload of the caller's tenant in a store the token may see; 404 otherwise."""
    with reading(engine) as conn:
        row = find(conn, caller.tenant_id, upload_id)
    if row is None or not caller.may_see(row.store):
        raise NotFound("no such upload for this token")
    return row


def of_tenant(engine: Engine, tenant: str, upload_id: str) -> DbRow[Any]:
    """An upload of the tenant named `tenant` (operators see every store's); 404 otherwise."""
    with reading(engine) as conn:
        row = find(conn, tenant_id_or_404(conn, tenant), upload_id)
    if row is None:
        raise NotFound("the tenant has no such upload")
    return row


def history(
    engine: Engine, tenant_id: int, store: str, keyset: NumberKeyset, limit: int, prefix: str
) -> UploadPage:
    """The store's uploads, newest first, a page at a time."""
    query = select(catalog_uploads).where(
        catalog_uploads.c.tenant_id == tenant_id, catalog_uploads.c.store == store
    )
    with reading(engine) as conn:
        rows, next_cursor = keyset.page(conn, query, catalog_uploads.c.seq, limit)
    return UploadPage(items=[shown(r, prefix) for r in rows], nextCursor=next_cursor)


def add_problems(conn: Connection, seq: int, problems: Sequence[Problem]) -> None:
    if problems:
        conn.execute(
            insert(catalog_upload_errors),
            [
                {
                    "upload_seq": seq,
                    "line": p.line,
                    "sku": p.sku[:64],
                    "field": p.field[:64],
                    "error": p.error[:500],
                }
                for p in problems
            ],
        )


@dataclass
class Counts:
    """What an upload has read so far (rows, accepted, rejected, lines in its error file),
    under the names of its columns."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    error_count: int = 0


def progress(conn: Connection, seq: int, counts: Counts, now: datetime) -> None:
    conn.execute(
        update(catalog_uploads)
        .where(catalog_uploads.c.seq == seq)
        .values(heartbeat_at=now, **asdict(counts))
    )


def finish(
    conn: Connection, job: UploadJob, status: Status, counts: Counts, now: datetime
) -> Upload:
    """Write the outcome and queue `catalog.upload_finished` with the record as data."""
    conn.execute(
        update(catalog_uploads)
        .where(catalog_uploads.c.seq == job.seq)
        .values(status=status, finished_at=now, heartbeat_at=now, **asdict(counts))
    )
    row = conn.execute(select(catalog_uploads).where(catalog_uploads.c.seq == job.seq)).one()
    upload = shown(row)
    enqueue_event(
        conn,
        job.tenant_id,
        "catalog.upload_finished",
        upload.model_dump(mode="json"),
        store=job.store,
        ordering_key=f"upload:{job.id}",
        at=now,
    )
    return upload


def counts_if_processing(conn: Connection, seq: int) -> Counts | None:
    row = conn.execute(
        select(catalog_uploads).where(
            catalog_uploads.c.seq == seq, catalog_uploads.c.status == "processing"
        )
    ).first()
    if row is None:
        return None
    return Counts(row.rows, row.accepted, row.rejected, row.error_count)


def stale(engine: Engine, cutoff: datetime) -> list[UploadJob]:
    """Uploads still `processing` whose last heartbeat is older than `cutoff`."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(catalog_uploads).where(
                catalog_uploads.c.status == "processing",
                catalog_uploads.c.heartbeat_at < cutoff,
            )
        ).all()
    return [_job(r) for r in rows]


def error_lines(engine: Engine, seq: int) -> Iterator[tuple[int | None, str, str, str]]:
    """Every problem of an upload in file order, read a page per transaction."""
    after = 0
    while True:
        with reading(engine) as conn:
            page = conn.execute(
                select(catalog_upload_errors)
                .where(
                    catalog_upload_errors.c.upload_seq == seq, catalog_upload_errors.c.id > after
                )
                .order_by(catalog_upload_errors.c.id)
                .limit(ERRORS_PAGE)
            ).all()
        for row in page:
            yield row.line, row.sku, row.field, row.error
        if len(page) < ERRORS_PAGE:
            return
        after = page[-1].id
