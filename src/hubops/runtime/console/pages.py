"""The console's pages (GET) and buttons (POST): thin, each one read of `views` or one call
into an existing runtime function (manual catalog upload, a fresh invitation). The webhook
page and its buttons live in `webhook_pages`."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from hubops import utc
from hubops.runtime import connections, cursors
from hubops.runtime.catalog import receive, uploads
from hubops.runtime.catalog.errorfile import error_csv
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE, MAX_FILE_BYTES
from hubops.runtime.console import invitations, users, views
from hubops.runtime.console.access import NotShown, TenantDep, ViewerDep, check_post
from hubops.runtime.console.render import PREFIX, page
from hubops.runtime.context import RuntimeDep
from hubops.runtime.errors import NotFound

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LOG_LIMIT = 100
Field = Annotated[str, Form()]
OptionalField = Annotated[str | None, Form()]
# The form's own fields besides the file; a body past this is refused before it is read.
FORM_OVERHEAD = 64 * 1024


def _back(path: str, note: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?note={note}", status_code=303)


def _note(request: Request) -> str | None:
    notes = {
        "uploaded": "The file was received; it is processed in the background.",
        "invited": "A fresh invitation is on its way; the old link no longer works.",
    }
    return notes.get(request.query_params.get("note", ""))


@router.get("", response_class=HTMLResponse)
def tenants_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    rows = views.tenant_rows(runtime.engine, viewer.session.tenant_id)
    return page(request, "tenants.html", viewer=viewer, rows=rows)


@router.get("/tenants/{tenant}", response_class=HTMLResponse)
def tenant_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    partners = request.app.state.console_partners
    shown = views.tenant_page(runtime.engine, access.name, partners, utc.now())
    if shown is None:
        raise NotShown()
    return page(request, "tenant.html", viewer=viewer, access=access, t=shown)


@router.get("/tenants/{tenant}/uploads", response_class=HTMLResponse)
def uploads_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    return page(
        request,
        "uploads.html",
        viewer=viewer,
        access=access,
        rows=views.upload_history(runtime.engine, access.tenant_id),
        stores=views.stores(runtime.engine, access.tenant_id),
        note=_note(request),
        error=None,
    )


@router.get("/tenants/{tenant}/uploads/{upload_id}/errors")
def upload_errors(
    upload_id: str, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    try:
        row = uploads.of_tenant(runtime.engine, access.name, upload_id)
    except NotFound:
        raise NotShown() from None
    if not row.error_count:
        raise NotShown()
    return StreamingResponse(
        error_csv(runtime.engine, row.seq),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{row.id}.errors.csv"'},
    )


async def _spool(file: UploadFile) -> Path:
    fd, name = tempfile.mkstemp(prefix="hubops-upload-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await file.read(receive.WRITE_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise ValueError("too large")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.post("/tenants/{tenant}/uploads", response_class=HTMLResponse)
async def upload(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    """A manual upload (source `manual`), through the same processing as the Partner API's."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FILE_BYTES + FORM_OVERHEAD:
        return await _upload_refused(request, runtime, viewer, access, "at most 20 MiB")
    async with request.form(max_files=1, max_fields=10) as form:
        csrf = form.get("csrf")
        check_post(viewer, access, csrf if isinstance(csrf, str) else None)
        file, store, mode = form.get("file"), form.get("store"), form.get("mode")
        stores = await asyncio.to_thread(views.stores, runtime.engine, access.tenant_id)
        if (
            not isinstance(file, UploadFile)
            or store not in stores
            or mode
            not in (
                "replace",
                "update",
            )
        ):
            return await _upload_refused(
                request, runtime, viewer, access, "choose a store, a mode and a file"
            )
        name = (file.filename or "").lower()
        kind = JSON_TYPE if name.endswith(".json") else CSV_TYPE
        try:
            path = await _spool(file)
        except ValueError:
            return await _upload_refused(request, runtime, viewer, access, "at most 20 MiB")
    into = receive.Into(access.tenant_id, str(store), "manual", uploads.admin_prefix(access.name))
    options = receive.Options("update" if mode == "update" else "replace", file.filename)
    await receive.hand_over(request, runtime.engine, into, path, kind, options)
    return _back(f"{PREFIX}/tenants/{access.name}/uploads", "uploaded")


async def _upload_refused(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep, why: str
) -> Response:
    rows = await asyncio.to_thread(views.upload_history, runtime.engine, access.tenant_id)
    stores = await asyncio.to_thread(views.stores, runtime.engine, access.tenant_id)
    return page(
        request,
        "uploads.html",
        422,
        viewer=viewer,
        access=access,
        rows=rows,
        stores=stores,
        note=None,
        error=f"The file was not taken: {why}.",
    )


@router.get("/tenants/{tenant}/connections", response_class=HTMLResponse)
def connections_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    keyset = cursors.number_keyset("con", None)
    found = connections.list_connections(runtime.engine, access.name, None, LOG_LIMIT, keyset)
    return page(request, "connections.html", viewer=viewer, access=access, rows=found.items)


@router.get("/tenants/{tenant}/users", response_class=HTMLResponse)
def users_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    rows = views.admins(runtime.engine, access.tenant_id)
    return page(request, "users.html", viewer=viewer, access=access, rows=rows, note=_note(request))


@router.post("/tenants/{tenant}/users/invite")
def resend_invitation(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    access: TenantDep,
    after: BackgroundTasks,
    email: Field,
    csrf: OptionalField = None,
) -> Response:
    check_post(viewer, access, csrf)
    if not users.want_invitation(runtime.engine, access.tenant_id, email):
        raise NotShown()
    after.add_task(invitations.send_due, runtime)
    return _back(f"{PREFIX}/tenants/{access.name}/users", "invited")
