"""Catalog upload routes: the Partner API's (`/v1`) and the operators' manual ones (`/admin/v1`).

An upload's body is the file itself, so these routes read it themselves,
as a stream, into a temporary file of at most 20 MiB: the runtime's 1 MiB
body limit (`limits.BodyLimit`) lets exactly these requests through
unread, and FastAPI resolves the token dependency before the handler
reads a byte, so an unauthenticated request is refused before its body
is read. The handler answers 202 with the `processing` record; the file is
processed in the background (`processor`).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from starlette.types import Scope

from hubops.runtime import auth, cursors
from hubops.runtime.api_models import ErrorBody
from hubops.runtime.catalog import records
from hubops.runtime.catalog.errorfile import error_csv
from hubops.runtime.catalog.models import Mode, Source, Upload, UploadPage
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE, MAX_FILE_BYTES
from hubops.runtime.catalog.processor import UploadProcessor
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.errors import (
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from hubops.runtime.lookups import store_exists, tenant_id_or_404
from hubops.runtime.openapi import errors
from hubops.runtime.partner.auth import Caller, CatalogRead, CatalogWrite
from hubops.runtime.partner.stores import visible_store

STREAMED = (
    re.compile(r"^/v1/stores/[^/]+/catalog/uploads/?$"),
    re.compile(r"^/admin/v1/tenants/[^/]+/stores/[^/]+/catalog/uploads/?$"),
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
    """The request body in a temporary file; 413 as soon as it passes 20 MiB."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise _too_large()
    fd, name = tempfile.mkstemp(prefix="hubops-upload-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb", buffering=WRITE_CHUNK) as out:
            async for chunk in request.stream():
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


async def accept_upload(
    request: Request,
    engine: Engine,
    tenant_id: int,
    store: str,
    source: Source,
    mode: Mode,
    file_name: str | None,
    prefix: str,
) -> Upload:
    """Spool the body, record the upload and hand it to the processor."""
    kind = _content_type(request)
    path = await spool(request)
    try:
        job, row = await asyncio.to_thread(
            records.create, engine, tenant_id, store, source, clean_file_name(file_name), kind, mode
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    processor_of(request).submit(job, path, lambda _outcome: path.unlink(missing_ok=True))
    return records.shown(row, prefix)


def _errors_response(engine: Engine, row: Any) -> StreamingResponse:
    if not row.error_count:
        raise NotFound("this upload has no error file: it had no errors")
    name = f"{row.file_name or row.id}.errors.csv".replace('"', "")
    return StreamingResponse(
        error_csv(engine, row.seq),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# A file's own limits, in place of the shared 1 MiB / JSON-only descriptions.
_FILE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The file is over 20 MiB (`payload_too_large`)."},
    415: {
        "model": ErrorBody,
        "description": "The file was not sent as text/csv or application/json in UTF-8 "
        "(`unsupported_media_type`).",
    },
}
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The error file."}
}
_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The catalog file (at most 20 MiB and 100,000 rows).",
        "content": {
            CSV_TYPE: {"schema": {"type": "string"}},
            JSON_TYPE: {"schema": {"$ref": "#/components/schemas/Catalog"}},
        },
    }
}
ModeQuery = Annotated[
    Mode, Query(description="replace: the file is the whole catalog; update: listed skus only.")
]
FileNameHeader = Annotated[str | None, Header(alias="Upload-Filename")]
LimitQuery = Annotated[int, Query(ge=1, le=200)]

# --- Partner API ------------------------------------------------------------------------------

partner_router = APIRouter(tags=["catalog"], responses=errors(401, 403, 429))


def _visible_store(engine: Engine, caller: Caller, store: str) -> None:
    with reading(engine) as conn:
        visible_store(conn, caller, store)


def _visible_upload(engine: Engine, caller: Caller, upload_id: str) -> Any:
    with reading(engine) as conn:
        row = records.find(conn, caller.tenant_id, upload_id)
    if row is None or not caller.may_see(row.store):
        raise NotFound("no such upload for this token")
    return row


@partner_router.post(
    "/v1/stores/{store}/catalog/uploads",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Upload,
    responses={**errors(404, 422), **_FILE_ERRORS},
    openapi_extra=_FILE_BODY,
    operation_id="uploadCatalogFile",
)
async def upload_catalog_file(
    store: str,
    request: Request,
    runtime: RuntimeDep,
    caller: CatalogWrite,
    mode: ModeQuery = "replace",
    upload_filename: FileNameHeader = None,
) -> Upload:
    """Upload a catalog file (CSV or JSON); 202 with the upload, processed in the background."""
    await asyncio.to_thread(_visible_store, runtime.engine, caller, store)
    return await accept_upload(
        request,
        runtime.engine,
        caller.tenant_id,
        store,
        "api",
        mode,
        upload_filename,
        records.PARTNER_PREFIX,
    )


@partner_router.get(
    "/v1/stores/{store}/catalog/uploads",
    response_model=UploadPage,
    responses=errors(400, 404, 422),
    operation_id="listCatalogUploads",
)
def list_catalog_uploads(
    store: str,
    runtime: RuntimeDep,
    caller: CatalogRead,
    limit: LimitQuery = 50,
    cursor: str | None = None,
) -> UploadPage:
    """The store's upload history, newest first."""
    _visible_store(runtime.engine, caller, store)
    keyset = cursors.number_keyset("upl", cursor)
    prefix = records.PARTNER_PREFIX
    return records.history(runtime.engine, caller.tenant_id, store, keyset, limit, prefix)


@partner_router.get(
    "/v1/catalog/uploads/{upload_id}",
    response_model=Upload,
    responses=errors(404),
    operation_id="getCatalogUpload",
)
def get_catalog_upload(upload_id: str, runtime: RuntimeDep, caller: CatalogRead) -> Upload:
    """One upload: its status and counts."""
    return records.shown(_visible_upload(runtime.engine, caller, upload_id))


@partner_router.get(
    "/v1/catalog/uploads/{upload_id}/errors",
    response_class=StreamingResponse,
    responses={**errors(404), **_CSV_RESPONSE},
    operation_id="getCatalogUploadErrors",
)
def get_catalog_upload_errors(
    upload_id: str, runtime: RuntimeDep, caller: CatalogRead
) -> StreamingResponse:
    """The upload's error file (`line,sku,field,error`); 404 when it had no errors."""
    return _errors_response(runtime.engine, _visible_upload(runtime.engine, caller, upload_id))


# --- admin API: operators upload by hand ----------------------------------------------------

admin_router = auth.admin_router("catalog")
_ADMIN_ERRORS = errors(400, 404, 422)


def _tenant_store(engine: Engine, tenant: str, store: str | None) -> int:
    with reading(engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        if store is not None and not store_exists(conn, tenant_id, store):
            raise NotFound("the tenant has no such store")
    return tenant_id


def _admin_upload(engine: Engine, tenant: str, upload_id: str) -> Any:
    tenant_id = _tenant_store(engine, tenant, None)
    with reading(engine) as conn:
        row = records.find(conn, tenant_id, upload_id)
    if row is None:
        raise NotFound("the tenant has no such upload")
    return row


@admin_router.post(
    "/tenants/{tenant}/stores/{store}/catalog/uploads",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Upload,
    responses={**_ADMIN_ERRORS, **_FILE_ERRORS},
    openapi_extra=_FILE_BODY,
    operation_id="uploadCatalogFileManually",
)
async def upload_catalog_file_manually(
    tenant: str,
    store: str,
    request: Request,
    runtime: RuntimeDep,
    mode: ModeQuery = "replace",
    upload_filename: FileNameHeader = None,
) -> Upload:
    """An operator's manual upload (source `manual`); same body and answer as the Partner API's."""
    tenant_id = await asyncio.to_thread(_tenant_store, runtime.engine, tenant, store)
    return await accept_upload(
        request,
        runtime.engine,
        tenant_id,
        store,
        "manual",
        mode,
        upload_filename,
        records.admin_prefix(tenant),
    )


@admin_router.get(
    "/tenants/{tenant}/stores/{store}/catalog/uploads",
    response_model=UploadPage,
    responses=_ADMIN_ERRORS,
    operation_id="listStoreCatalogUploads",
)
def list_catalog_uploads_admin(
    tenant: str,
    store: str,
    runtime: RuntimeDep,
    limit: LimitQuery = 50,
    cursor: str | None = None,
) -> UploadPage:
    """The store's upload history from every source, newest first."""
    tenant_id = _tenant_store(runtime.engine, tenant, store)
    keyset = cursors.number_keyset("upl", cursor)
    prefix = records.admin_prefix(tenant)
    return records.history(runtime.engine, tenant_id, store, keyset, limit, prefix)


@admin_router.get(
    "/tenants/{tenant}/catalog/uploads/{upload_id}",
    response_model=Upload,
    responses=_ADMIN_ERRORS,
    operation_id="getTenantCatalogUpload",
)
def get_catalog_upload_admin(tenant: str, upload_id: str, runtime: RuntimeDep) -> Upload:
    """One upload of the tenant."""
    row = _admin_upload(runtime.engine, tenant, upload_id)
    return records.shown(row, records.admin_prefix(tenant))


@admin_router.get(
    "/tenants/{tenant}/catalog/uploads/{upload_id}/errors",
    response_class=StreamingResponse,
    responses={**_ADMIN_ERRORS, **_CSV_RESPONSE},
    operation_id="getTenantCatalogUploadErrors",
)
def get_catalog_upload_errors_admin(
    tenant: str, upload_id: str, runtime: RuntimeDep
) -> StreamingResponse:
    """The upload's error file; 404 when it had no errors."""
    return _errors_response(runtime.engine, _admin_upload(runtime.engine, tenant, upload_id))
