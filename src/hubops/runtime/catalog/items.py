"""A store's catalog items: the rows of its current generation, and how uploads change them.

PUT and `update` uploads change the current generation in place (an update
upload one chunk per transaction). A `replace` upload stages its rows under
a generation of its own (its upload's `seq`), invisible to readers, and
`switch_generation` makes them the catalog in one short transaction; the old
generation is then deleted in chunks. So a 100,000-row replace never holds
one long write transaction, and readers see the old catalog or the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hubops.runtime.partner.models import CatalogItem
from hubops.runtime.tables import catalog_generations, catalog_items

PURGE_CHUNK = 5_000


def current_generation(conn: Connection, tenant_id: int, store: str) -> int:
    found = conn.execute(
        select(catalog_generations.c.generation).where(
            catalog_generations.c.tenant_id == tenant_id, catalog_generations.c.store == store
        )
    ).scalar()
    return int(found or 0)


def _of(tenant_id: int, store: str, generation: int) -> ColumnElement[bool]:
    return (
        (catalog_items.c.tenant_id == tenant_id)
        & (catalog_items.c.store == store)
        & (catalog_items.c.generation == generation)
    )


def read_items(conn: Connection, tenant_id: int, store: str) -> list[CatalogItem]:
    generation = current_generation(conn, tenant_id, store)
    rows = conn.execute(
        select(catalog_items)
        .where(_of(tenant_id, store, generation))
        .order_by(catalog_items.c.position)
    )
    return [CatalogItem(sku=r.sku, name=r.name, price=r.price, available=r.available) for r in rows]


def sku_exists(conn: Connection, tenant_id: int, store: str, sku: str) -> bool:
    generation = current_generation(conn, tenant_id, store)
    found = conn.execute(
        select(catalog_items.c.sku).where(
            _of(tenant_id, store, generation), catalog_items.c.sku == sku
        )
    ).first()
    return found is not None


def _rows(
    tenant_id: int, store: str, generation: int, start: int, items: Sequence[CatalogItem]
) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": tenant_id,
            "store": store,
            "generation": generation,
            "position": start + offset,
            **item.model_dump(),
        }
        for offset, item in enumerate(items)
    ]


def replace_items(
    conn: Connection, tenant_id: int, store: str, items: Sequence[CatalogItem]
) -> None:
    """The whole catalog in this transaction (PUT: at most 10,000 items)."""
    generation = current_generation(conn, tenant_id, store)
    conn.execute(delete(catalog_items).where(_of(tenant_id, store, generation)))
    if items:
        conn.execute(insert(catalog_items), _rows(tenant_id, store, generation, 0, items))


def stage(
    conn: Connection,
    tenant_id: int,
    store: str,
    generation: int,
    start: int,
    items: Sequence[CatalogItem],
) -> None:
    """Rows of a replace, under its own generation (readers do not see them yet)."""
    if items:
        conn.execute(insert(catalog_items), _rows(tenant_id, store, generation, start, items))


def switch_generation(conn: Connection, tenant_id: int, store: str, generation: int) -> int:
    """Make `generation` the store's catalog; returns the one it replaces."""
    old = current_generation(conn, tenant_id, store)
    moved = conn.execute(
        update(catalog_generations)
        .where(catalog_generations.c.tenant_id == tenant_id, catalog_generations.c.store == store)
        .values(generation=generation)
    )
    if not moved.rowcount:
        conn.execute(
            insert(catalog_generations).values(
                tenant_id=tenant_id, store=store, generation=generation
            )
        )
    return old


def upsert(conn: Connection, tenant_id: int, store: str, items: Sequence[CatalogItem]) -> None:
    """Create or change these skus in the current catalog (an `update` chunk).

    One `INSERT ... ON CONFLICT DO UPDATE` for the whole chunk (PostgreSQL and
    SQLite both have it): a sku already there keeps its place and takes the
    new name, price and availability; new skus go after the last one. Asking
    first which skus exist made every chunk scan the store's catalog, so a
    100,000-row file cost time growing with the square of its length.
    """
    if not items:
        return
    generation = current_generation(conn, tenant_id, store)
    last = conn.execute(
        select(func.max(catalog_items.c.position)).where(_of(tenant_id, store, generation))
    ).scalar()
    start = -1 if last is None else int(last)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(catalog_items)
    statement = statement.on_conflict_do_update(
        index_elements=[c.name for c in catalog_items.primary_key.columns],
        set_={name: statement.excluded[name] for name in ("name", "price", "available")},
    )
    conn.execute(statement, _rows(tenant_id, store, generation, start + 1, items))


def purge_chunk(conn: Connection, tenant_id: int, store: str, generation: int) -> int:
    """Delete up to PURGE_CHUNK rows of a generation nobody reads; how many went."""
    skus = list(
        conn.execute(
            select(catalog_items.c.sku).where(_of(tenant_id, store, generation)).limit(PURGE_CHUNK)
        ).scalars()
    )
    if skus:
        conn.execute(
            delete(catalog_items).where(
                _of(tenant_id, store, generation), catalog_items.c.sku.in_(skus)
            )
        )
    return len(skus)
