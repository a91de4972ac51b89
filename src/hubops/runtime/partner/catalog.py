"""A store's catalog as the Partner API reads and replaces it: whole, all or nothing.

A replacement is checked completely before anything is written (pydantic
for each item's fields, here for duplicate skus), and then written in one
transaction, so a rejected or failed upload leaves the previous catalog.
The rows themselves are `catalog.items`; the routes are `catalog_routes`.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine

from hubops.runtime.catalog.items import read_items, replace_items
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import Unprocessable
from hubops.runtime.partner.auth import Caller
from hubops.runtime.partner.models import CatalogItem, CatalogOut
from hubops.runtime.partner.stores import visible_store


def _duplicates(items: list[CatalogItem]) -> list[dict[str, str]]:
    counts = Counter(item.sku for item in items)
    return [
        {"field": f"body.items.{index}.sku", "message": f'sku "{item.sku}" appears more than once'}
        for index, item in enumerate(items)
        if counts[item.sku] > 1
    ]


def read_catalog(engine: Engine, caller: Caller, store: str) -> CatalogOut:
    """The store's items in the order they were uploaded."""
    with reading(engine) as conn:
        visible_store(conn, caller, store)
        return CatalogOut(items=read_items(conn, caller.tenant_id, store))


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
