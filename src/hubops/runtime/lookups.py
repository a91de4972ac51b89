"""The lookups routes share: a tenant by its name, a store of a tenant.

A tenant the runtime does not hold is one `TenantNotFound` (404
`tenant_not_found`) on every admin route that names one in its path. A
tenant's stores are the `store/ID` resources its last apply left.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from hubops.runtime.errors import NotFound, TenantNotFound
from hubops.runtime.tables import resources, tenants


def tenant_id(conn: Connection, name: str) -> int | None:
    """The id of the tenant named `name`, None when the runtime holds none."""
    found = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar()
    return None if found is None else int(found)


def tenant_id_or_404(conn: Connection, name: str) -> int:
    """The id of the tenant named `name`; TenantNotFound when the runtime holds none."""
    found = tenant_id(conn, name)
    if found is None:
        raise TenantNotFound()
    return found


def tenant_store_or_404(conn: Connection, tenant: str, store: str) -> int:
    """The id of `tenant`, which must have `store`; a 404 saying which of the two is missing."""
    tenant_id = tenant_id_or_404(conn, tenant)
    if not store_exists(conn, tenant_id, store):
        raise NotFound("the tenant has no such store")
    return tenant_id


def store_exists(conn: Connection, tenant_id: int, store: str) -> bool:
    found = conn.execute(
        select(resources.c.address).where(
            resources.c.tenant_id == tenant_id, resources.c.address == f"store/{store}"
        )
    ).first()
    return found is not None
