"""Receiving a catalog file over HTTP: the body streamed to disk, recorded, handed on.

An upload's body is the file itself, so its routes read it themselves, as
a stream, into a temporary file of at most 20 MiB: the runtime's 1 MiB body
limit (`limits.BodyLimit`) lets exactly these requests through unread
(`streams_body`), and FastAPI resolves the token dependency before the
handler reads a byte, so an unauthenticated request is refused before its
body is read. `accept_upload` records the upload as `processing` and hands
the file to the processor (`processor`), which deletes it when done.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Engine
from starlette.types import Scope

from hubops.runtime.catalog import uploads
from hubops.runtime.catalog.models import Mode, Source, Upload
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE, MAX_FILE_BYTES
from hubops.runtime.catalog.processor import UploadProcessor
from hubops.runtime.catalog.uploads import NewUpload
from hubops.runtime.errors import PayloadTooLarge, RequestTimeout, UnsupportedMediaType

STREAMED = (
    re.compile(r"^/v1/stores/[^/]+/catalog/uploads/?$"),
    re.compile(r"^/admin/v1/tenants/[^/]+/stores/[^/]+/catalog/uploads/?$"),
    re.compile(r"^/console/tenants/[^/]+/uploads/?$"),  # a form; bounded by the console
)
WRITE_CHUNK = 256 * 1024


def streams_body(scope: Scope) -> bool:
    """Requests whose body the route reads itself (with the 20 MiB file limit)."""
    return scope.get("method") == "POST" and any(p.match(scope.get("path", "")) for p in STREAMED)


def _content_type(request: Request) -> str:
    raw = request.headers.get("content-type", "")
    kind, _, params = raw.partition(";")
    kind = kind.strip().lower()
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
    if kind not in (CSV_TYPE, JSON_TYPE) or (
        charset is not None and charset.group(1).lower() not in ("utf-8", "utf8")
    ):
        raise UnsupportedMediaType(
            "a catalog file is sent with Content-Type text/csv or application/json (UTF-8)",
            {"header": "Content-Type", "allowed": [CSV_TYPE, JSON_TYPE]},
        )
    return kind


def clean_file_name(raw: str | None) -> str | None:
    """The file's own name from Upload-Filename: no folders, no control characters."""
    if raw is None:
        return None
    name = re.split(r"[/\\]", raw)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:255]
    return name or None


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"a catalog file is at most {MAX_FILE_BYTES} bytes (20 MiB); split it into several "
        "files and upload them with mode=update",
        {"maxBytes": MAX_FILE_BYTES},
    )


async def spool(request: Request) -> Path:
    """The request body in a temporary file; 413 as soon as it passes 20 MiB, 408 when the
    sender pauses for longer than HUBOPS_BODY_TIMEOUT between two chunks."""
    timeout = request.app.state.runtime.settings.body_timeout
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise _too_large()
    fd, name = tempfile.mkstemp(prefix="hubops-upload-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb", buffering=WRITE_CHUNK) as out:
            chunks = aiter(request.stream())
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise RequestTimeout(timeout) from None
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise _too_large()
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def processor_of(request: Request) -> UploadProcessor:
    found: UploadProcessor = request.app.state.catalog_uploads
    return found


ModeQuery = Annotated[
    Mode, Query(description="replace: the file is the whole catalog; update: listed skus only.")
]
FileNameHeader = Annotated[str | None, Header(alias="Upload-Filename")]


@dataclass(frozen=True)
class Options:
    """How the sender asks a file to be taken: its mode, and its own name."""

    mode: Mode
    file_name: str | None


async def _file_options(
    mode: ModeQuery = "replace", upload_filename: FileNameHeader = None
) -> Options:
    return Options(mode, upload_filename)


# A route's parameters `mode` (query) and `Upload-Filename` (header), as one dependency.
FileOptions = Annotated[Options, Depends(_file_options)]


@dataclass(frozen=True)
class Into:
    """Where a received file goes: a tenant's store, sent how, and where its record is shown."""

    tenant_id: int
    store: str
    source: Source
    prefix: str  # uploads.PARTNER_PREFIX or uploads.admin_prefix(tenant)


async def accept_upload(
    request: Request, engine: Engine, into: Into, options: FileOptions
) -> Upload:
    """Spool the body, record the upload and hand it to the processor."""
    kind = _content_type(request)
    path = await spool(request)
    return await hand_over(request, engine, into, path, kind, options)


async def hand_over(
    request: Request, engine: Engine, into: Into, path: Path, kind: str, options: FileOptions
) -> Upload:
    """Record a spooled file as `processing` and hand it to the processor, which deletes it."""
    name = clean_file_name(options.file_name)
    upload = NewUpload(into.tenant_id, into.store, into.source, name, kind, options.mode)
    try:
        job, row = await asyncio.to_thread(uploads.create, engine, upload)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    processor_of(request).submit(job, path, lambda _outcome: path.unlink(missing_ok=True))
    return uploads.shown(row, into.prefix)
