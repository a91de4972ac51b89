"""`/v1/stores/{store}/catalog`: a store's items, replaced whole by each upload.

An upload is checked completely before anything is written (pydantic for
each item's fields, here for duplicate skus), and then written in one
transaction, so a rejected or failed upload leaves the previous catalog.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter
from sqlalchemy import Connection, Engine, delete, insert, select

from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound
from hubops.runtime.openapi import errors
from hubops.runtime.partner.auth import Caller, CatalogRead, CatalogWrite
from hubops.runtime.partner.errors import Unprocessable
from hubops.runtime.partner.models import Catalog, CatalogItem
from hubops.runtime.partner.stores import store_exists
from hubops.runtime.tables import catalog_items

router = APIRouter(prefix="/v1/stores", tags=["catalog"], responses=errors(401, 403, 429))


def _check_store(conn: Connection, caller: Caller, store: str) -> None:
    """Another tenant's store, or one outside the token's stores, looks like no store."""
    if not caller.may_see(store) or not store_exists(conn, caller.tenant_id, store):
        raise NotFound(f'no store "{store}" for this token', {"store": store})


def read_catalog(conn: Connection, tenant_id: int, store: str) -> list[CatalogItem]:
    rows = conn.execute(
        select(catalog_items)
        .where(catalog_items.c.tenant_id == tenant_id, catalog_items.c.store == store)
        .order_by(catalog_items.c.position)
    )
    return [CatalogItem(sku=r.sku, name=r.name, price=r.price, available=r.available) for r in rows]


def _duplicates(items: list[CatalogItem]) -> list[dict[str, str]]:
    counts = Counter(item.sku for item in items)
    return [
        {"field": f"body.items.{index}.sku", "message": f'sku "{item.sku}" appears more than once'}
        for index, item in enumerate(items)
        if counts[item.sku] > 1
    ]


def replace_catalog(engine: Engine, caller: Caller, store: str, items: list[CatalogItem]) -> None:
    problems = _duplicates(items)
    if problems:
        raise Unprocessable(
            f"{problems[0]['field']}: {problems[0]['message']}; nothing was changed",
            {"problems": problems},
        )
    with writing(engine) as conn:
        _check_store(conn, caller, store)
        conn.execute(
            delete(catalog_items).where(
                catalog_items.c.tenant_id == caller.tenant_id, catalog_items.c.store == store
            )
        )
        if items:
            conn.execute(
                insert(catalog_items),
                [
                    {
                        "tenant_id": caller.tenant_id,
                        "store": store,
                        "position": position,
                        **item.model_dump(),
                    }
                    for position, item in enumerate(items)
                ],
            )


@router.get(
    "/{store}/catalog", response_model=Catalog, responses=errors(404), operation_id="getCatalog"
)
def get_catalog(store: str, runtime: RuntimeDep, caller: CatalogRead) -> Catalog:
    """The store's items in the order they were uploaded."""
    with reading(runtime.engine) as conn:
        _check_store(conn, caller, store)
        return Catalog(items=read_catalog(conn, caller.tenant_id, store))


@router.put(
    "/{store}/catalog",
    response_model=Catalog,
    responses=errors(404),
    operation_id="replaceCatalog",
)
def put_catalog(store: str, body: Catalog, runtime: RuntimeDep, caller: CatalogWrite) -> Catalog:
    """Replace the store's whole catalog; any invalid item rejects the upload unchanged."""
    replace_catalog(runtime.engine, caller, store, body.items)
    return body
