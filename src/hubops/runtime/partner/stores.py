"""Which stores a token may act for: the tenant's applied stores, within the token's own.

Another tenant's store, one the tenant does not have and one outside the
token's `stores` all look alike to the caller: no such store.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hubops.runtime.errors import NotFound
from hubops.runtime.lookups import store_exists
from hubops.runtime.partner.auth import Caller


def usable_store(conn: Connection, caller: Caller, store: str) -> bool:
    return caller.may_see(store) and store_exists(conn, caller.tenant_id, store)


def visible_store(conn: Connection, caller: Caller, store: str) -> None:
    """Return when the token may act for `store`; 404 otherwise."""
    if not usable_store(conn, caller, store):
        raise NotFound("no such store for this token")
