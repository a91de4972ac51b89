"""The database a test's runtime runs on: a SQLite file, or a fresh PostgreSQL database.

By default every runtime of the suite keeps its state in a SQLite file in
the test's folder. With `HUBOPS_TEST_DATABASE_URL` set to a PostgreSQL
server's URL, each one gets a database of its own on that server instead
(`CREATE DATABASE hubops_t_<random>`), dropped when the test or module
ends, so the whole suite runs on both backends. Tests that are about
PostgreSQL itself (several replicas, row locks) use `pg_database`, on the
variable's server or the local default, and skip when none answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

TEST_DB_ENV = "HUBOPS_TEST_DATABASE_URL"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def on_postgresql() -> bool:
    """Whether this run keeps the runtimes' state in PostgreSQL."""
    return bool(os.environ.get(TEST_DB_ENV, "").strip())


def pg_server() -> str:
    """The PostgreSQL server's URL tests create their databases on."""
    return os.environ.get(TEST_DB_ENV, "").strip() or DEFAULT_PG


@contextmanager
def pg_database(zone: str | None = None) -> Iterator[str]:
    """A new, empty database on the test server (in `zone` if given), dropped afterwards.

    Skips the test when the server does not answer and no run on PostgreSQL
    was asked for; when it was (`HUBOPS_TEST_DATABASE_URL`), that fails.
    """
    admin = sa.create_engine(pg_server(), isolation_level="AUTOCOMMIT")
    name = f"hubops_t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            if zone is not None:
                conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET timezone TO '{zone}'"))
    except sa.exc.OperationalError:
        admin.dispose()
        if on_postgresql():
            raise
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database test)")
    try:
        yield make_url(pg_server()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """The URL of a runtime's database: `folder/state.db`, or a fresh PostgreSQL database."""
    if not on_postgresql():
        yield f"sqlite:///{folder / 'state.db'}"
        return
    with pg_database() as url:
        yield url


def query(db_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with `?` placeholders) read straight from a runtime's database."""
    pieces = sql.split("?")
    named = "".join(f"{piece}:p{i}" for i, piece in enumerate(pieces[:-1])) + pieces[-1]
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(named), {f"p{i}": p for i, p in enumerate(params)})
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def execute(db_url: str, sql: str) -> None:
    """Run one statement on a runtime's database (tests that damage it on purpose)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()
