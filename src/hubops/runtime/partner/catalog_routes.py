"""`/v1/stores/{store}/catalog`: thin routes over `catalog.py`."""

from __future__ import annotations

from hubops.runtime.context import RuntimeDep
from hubops.runtime.openapi import errors
from hubops.runtime.partner import catalog
from hubops.runtime.partner.auth import CatalogRead, CatalogWrite, partner_router
from hubops.runtime.partner.models import Catalog, CatalogOut

router = partner_router("catalog", "/v1/stores")


@router.get(
    "/{store}/catalog", response_model=CatalogOut, responses=errors(404), operation_id="getCatalog"
)
def get_catalog(store: str, runtime: RuntimeDep, caller: CatalogRead) -> CatalogOut:
    """The store's items in the order they were uploaded."""
    return catalog.read_catalog(runtime.engine, caller, store)


@router.put(
    "/{store}/catalog",
    response_model=Catalog,
    responses=errors(404),
    operation_id="replaceCatalog",
)
def put_catalog(store: str, body: Catalog, runtime: RuntimeDep, caller: CatalogWrite) -> Catalog:
    """Replace the store's whole catalog; any invalid item rejects the upload unchanged."""
    catalog.replace_catalog(runtime.engine, caller, store, body.items)
    return body
