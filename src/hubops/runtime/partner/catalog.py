"""`/v1/stores/{store}/catalog`: a store's items, replaced whole by each upload.

An upload is checked completely before anything is written (pydantic for
each item's fields, here for duplicate skus), and then written in one
transaction, so a rejected or failed upload leaves the previous catalog.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter
from sqlalchemy import Engine

from hubops.runtime.catalog.items import read_items, replace_items
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import Unprocessable
from hubops.runtime.openapi import errors
from hubops.runtime.partner.auth import Caller, CatalogRead, CatalogWrite
from hubops.runtime.partner.models import Catalog, CatalogItem, CatalogOut
from hubops.runtime.partner.stores import visible_store

router = APIRouter(prefix="/v1/stores", tags=["catalog"], responses=errors(401, 403, 429))


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
        visible_store(conn, caller, store)
        replace_items(conn, caller.tenant_id, store, items)


@router.get(
    "/{store}/catalog", response_model=CatalogOut, responses=errors(404), operation_id="getCatalog"
)
def get_catalog(store: str, runtime: RuntimeDep, caller: CatalogRead) -> CatalogOut:
    """The store's items in the order they were uploaded."""
    with reading(runtime.engine) as conn:
        visible_store(conn, caller, store)
        return CatalogOut(items=read_items(conn, caller.tenant_id, store))


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
