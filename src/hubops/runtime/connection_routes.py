"""`/admin/v1/tenants/{t}/connections`: thin routes over `connections.py`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from hubops.runtime import connections, cursors
from hubops.runtime.auth import admin_router
from hubops.runtime.connections import (
    ConnectionPage,
    ConnectionRequestIn,
    ConnectionStatus,
    RetailerConnection,
)
from hubops.runtime.context import RuntimeDep
from hubops.runtime.openapi import errors, listing

router = admin_router("connections")


@router.post(
    "/tenants/{tenant}/connections",
    response_model=RetailerConnection,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": RetailerConnection, "description": "The retailer had asked already."},
        **errors(404, 422),
    },
    operation_id="requestConnection",
)
def post_connection(
    tenant: str, body: ConnectionRequestIn, runtime: RuntimeDep, response: Response
) -> RetailerConnection:
    """A retailer asks to connect (sent by the marketplace); 200 when it already asked."""
    found, new = connections.request_connection(runtime.engine, tenant, body)
    if not new:
        response.status_code = status.HTTP_200_OK
    return found


@router.get("/tenants/{tenant}/connections", **listing(ConnectionPage, "listConnections", 404, 422))
def list_connections(
    tenant: str,
    runtime: RuntimeDep,
    paging: cursors.AdminPaging,
    status_filter: Annotated[ConnectionStatus | None, Query(alias="status")] = None,
) -> ConnectionPage:
    """The tenant's retailer connections, newest first."""
    keyset = cursors.number_keyset("con", paging.cursor)
    return connections.list_connections(runtime.engine, tenant, status_filter, paging.limit, keyset)
