"""The admin API's state routes: thin, each one call into the store.

Routes are sync `def`s: FastAPI runs them in its threadpool, and the
database layer (pool, SQLite busy timeout, revision claim) is what keeps
concurrent requests correct.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import BackgroundTasks, Query
from fastapi.responses import JSONResponse

from hubops.fields import NAME_RULE, is_name
from hubops.live import MAX_TENANT_STATES
from hubops.runtime import cursors, staging, store
from hubops.runtime.api_models import (
    AuditPage,
    ChangeSetIn,
    ChangeSetOut,
    FingerprintKeyOut,
    StagedPartOut,
    TenantOut,
    TenantStates,
    TenantSummary,
)
from hubops.runtime.auth import AdminName, admin_router
from hubops.runtime.console import invitations
from hubops.runtime.context import RuntimeDep
from hubops.runtime.errors import BadRequest, InvalidChange
from hubops.runtime.openapi import errors, listing

router = admin_router("admin")


@router.get("/tenants", response_model=list[TenantSummary], operation_id="listTenants")
def list_tenants(runtime: RuntimeDep) -> list[TenantSummary]:
    """Every tenant the runtime holds, sorted by name."""
    return [TenantSummary(name=n, revision=r) for n, r in store.list_tenants(runtime.engine)]


@router.get(
    "/tenants/{name}", response_model=TenantOut, responses=errors(404), operation_id="getTenant"
)
def get_tenant(name: str, runtime: RuntimeDep) -> TenantOut:
    """The tenant's whole normalized state; secrets only as fingerprint markers."""
    return store.read_tenant(runtime.engine, name)


StatesView = Literal["full", "summary"]


@router.get(
    "/tenant-states",
    response_model=TenantStates,
    responses=errors(400),
    operation_id="getTenantStates",
)
def get_tenant_states(
    runtime: RuntimeDep,
    name: Annotated[
        list[str],
        Query(description=f"A tenant to read (repeat it, 1 to {MAX_TENANT_STATES} times)."),
    ],
    view: Annotated[
        StatesView,
        Query(
            description="`full`: the whole state; `summary`: revision, records and the "
            "retailer-connections resource only (what a plan needs of an unchanged tenant)."
        ),
    ] = "full",
) -> TenantStates:
    """Many tenants in one request, as `getTenant` shows each: how plans read live state.

    A plan over many tenants asks for summaries first, then for the whole
    state of only the tenants it must diff, a hundred names a request.
    """
    if not 1 <= len(name) <= MAX_TENANT_STATES:
        raise BadRequest(
            f"name must be given 1 to {MAX_TENANT_STATES} times; send more names in more requests",
            {"parameter": "name"},
        )
    return TenantStates(items=store.read_tenants(runtime.engine, name, view == "full"))


@router.get("/fingerprint-key", response_model=FingerprintKeyOut, operation_id="getFingerprintKey")
def get_fingerprint_key(runtime: RuntimeDep) -> FingerprintKeyOut:
    """The key planners fingerprint secrets with (see hubops.fingerprint)."""
    return FingerprintKeyOut(key=base64.b64encode(runtime.keys.fingerprint_key).decode())


@router.post(
    "/tenants/{name}/changes",
    response_model=ChangeSetOut,
    responses={
        202: {
            "model": StagedPartOut,
            "description": "A part of a change set sent in parts was kept; send the next one.",
        },
        **errors(409),
    },
    operation_id="applyChanges",
)
def post_changes(
    name: str,
    change_set: ChangeSetIn,
    runtime: RuntimeDep,
    admin: AdminName,
    after: BackgroundTasks,
) -> ChangeSetOut | JSONResponse:
    """Apply a change set atomically; a tenant at revision 0 is created by it.

    A change set over the request size limit is sent in parts (`part`); each part
    but the last is kept (202), and the last applies all of them at once.
    Invitations for admins it added are e-mailed after it committed.
    """
    with runtime.metrics.change_set() as tally:
        if not is_name(name):
            raise InvalidChange(f"the tenant in the path is not a valid name: use {NAME_RULE}")
        if change_set.part is None:
            result = store.apply_change_set(runtime.engine, runtime.keys, name, change_set, admin)
        else:
            received = staging.receive_part(runtime.engine, runtime.keys, name, change_set, admin)
            if isinstance(received, StagedPartOut):
                tally.kept()
                return JSONResponse(received.model_dump(), status_code=202)
            result = received
    runtime.tokens.forget_all()  # committed: the Partner API reads its tokens again
    revision, change_set_id = result
    after.add_task(invitations.send_due, runtime)  # a sync task: run in a worker thread
    return ChangeSetOut(revision=revision, changeSet=change_set_id)


@router.get("/tenants/{name}/changes", **listing(AuditPage, "listChanges", 404))
def list_changes(
    name: str,
    runtime: RuntimeDep,
    paging: cursors.AdminPaging,
) -> AuditPage:
    """The tenant's applied change sets, newest first."""
    keyset = cursors.number_keyset("rev", paging.cursor)
    return store.list_changes(runtime.engine, name, paging.limit, keyset)
