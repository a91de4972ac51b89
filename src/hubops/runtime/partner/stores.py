"""Which stores a tenant has: the `store/ID` resources its last apply left."""

from __future__ import annotations

from sqlalchemy import Connection, select

from hubops.runtime.tables import resources


def store_exists(conn: Connection, tenant_id: int, store: str) -> bool:
    found = conn.execute(
        select(resources.c.address).where(
            resources.c.tenant_id == tenant_id, resources.c.address == f"store/{store}"
        )
    ).first()
    return found is not None
