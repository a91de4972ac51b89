"""Catalog upload routes: the Partner API's (`/v1`) and the operators' manual ones (`/admin/v1`).

Thin: the body is received by `receive.accept_upload` (streamed, at most
20 MiB), the records are `uploads`, and the error file is `errorfile`. The
handler answers 202 with the `processing` record; the file is processed in
the background (`processor`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from hubops.runtime import auth, cursors
from hubops.runtime.api_models import ErrorBody
from hubops.runtime.catalog import receive, uploads
from hubops.runtime.catalog.errorfile import error_csv
from hubops.runtime.catalog.models import Upload, UploadPage
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE
from hubops.runtime.catalog.receive import FileOptions
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.errors import (
    NotFound,
)
from hubops.runtime.lookups import tenant_store_or_404
from hubops.runtime.openapi import errors, listing
from hubops.runtime.partner import auth as partner_auth
from hubops.runtime.partner.auth import Caller, CatalogRead, CatalogWrite
from hubops.runtime.partner.stores import visible_store


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
# What both upload routes (the partners' and the operators') answer alike.
_UPLOAD_ROUTE: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": Upload,
    "openapi_extra": _FILE_BODY,
}

# --- Partner API ------------------------------------------------------------------------------

partner_router = partner_auth.partner_router("catalog")


def _visible_store(engine: Engine, caller: Caller, store: str) -> None:
    with reading(engine) as conn:
        visible_store(conn, caller, store)


@partner_router.post(
    "/v1/stores/{store}/catalog/uploads",
    responses={**errors(404, 422), **_FILE_ERRORS},
    operation_id="uploadCatalogFile",
    **_UPLOAD_ROUTE,
)
async def upload_catalog_file(
    store: str,
    request: Request,
    runtime: RuntimeDep,
    caller: CatalogWrite,
    options: FileOptions,
) -> Upload:
    """Upload a catalog file (CSV or JSON); 202 with the upload, processed in the background."""
    await asyncio.to_thread(_visible_store, runtime.engine, caller, store)
    into = receive.Into(caller.tenant_id, store, "api", uploads.PARTNER_PREFIX)
    return await receive.accept_upload(request, runtime.engine, into, options)


@partner_router.get(
    "/v1/stores/{store}/catalog/uploads", **listing(UploadPage, "listCatalogUploads", 404, 422)
)
def list_catalog_uploads(
    store: str,
    runtime: RuntimeDep,
    caller: CatalogRead,
    paging: cursors.UploadPaging,
) -> UploadPage:
    """The store's upload history, newest first."""
    _visible_store(runtime.engine, caller, store)
    keyset = cursors.number_keyset("upl", paging.cursor)
    prefix = uploads.PARTNER_PREFIX
    return uploads.history(runtime.engine, caller.tenant_id, store, keyset, paging.limit, prefix)


@partner_router.get(
    "/v1/catalog/uploads/{upload_id}",
    response_model=Upload,
    responses=errors(404),
    operation_id="getCatalogUpload",
)
def get_catalog_upload(upload_id: str, runtime: RuntimeDep, caller: CatalogRead) -> Upload:
    """One upload: its status and counts."""
    return uploads.shown(uploads.visible(runtime.engine, caller, upload_id))


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
    return _errors_response(runtime.engine, uploads.visible(runtime.engine, caller, upload_id))


# --- admin API: operators upload by hand ----------------------------------------------------

admin_router = auth.admin_router("catalog")
_ADMIN_ERRORS = errors(400, 404, 422)


def _tenant_store(engine: Engine, tenant: str, store: str) -> int:
    with reading(engine) as conn:
        return tenant_store_or_404(conn, tenant, store)


@admin_router.post(
    "/tenants/{tenant}/stores/{store}/catalog/uploads",
    responses={**_ADMIN_ERRORS, **_FILE_ERRORS},
    operation_id="uploadCatalogFileManually",
    **_UPLOAD_ROUTE,
)
async def upload_catalog_file_manually(
    tenant: str, store: str, request: Request, runtime: RuntimeDep, options: FileOptions
) -> Upload:
    """An operator's manual upload (source `manual`); same body and answer as the Partner API's."""
    tenant_id = await asyncio.to_thread(_tenant_store, runtime.engine, tenant, store)
    into = receive.Into(tenant_id, store, "manual", uploads.admin_prefix(tenant))
    return await receive.accept_upload(request, runtime.engine, into, options)


@admin_router.get(
    "/tenants/{tenant}/stores/{store}/catalog/uploads",
    **listing(UploadPage, "listStoreCatalogUploads", 404, 422),
)
def list_catalog_uploads_admin(
    tenant: str,
    store: str,
    runtime: RuntimeDep,
    paging: cursors.UploadPaging,
) -> UploadPage:
    """The store's upload history from every source, newest first."""
    tenant_id = _tenant_store(runtime.engine, tenant, store)
    keyset = cursors.number_keyset("upl", paging.cursor)
    prefix = uploads.admin_prefix(tenant)
    return uploads.history(runtime.engine, tenant_id, store, keyset, paging.limit, prefix)


@admin_router.get(
    "/tenants/{tenant}/catalog/uploads/{upload_id}",
    response_model=Upload,
    responses=_ADMIN_ERRORS,
    operation_id="getTenantCatalogUpload",
)
def get_catalog_upload_admin(tenant: str, upload_id: str, runtime: RuntimeDep) -> Upload:
    """One upload of the tenant."""
    row = uploads.of_tenant(runtime.engine, tenant, upload_id)
    return uploads.shown(row, uploads.admin_prefix(tenant))


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
    return _errors_response(runtime.engine, uploads.of_tenant(runtime.engine, tenant, upload_id))
