"""`/readyz` against a served runtime: ready only with a database that answers at the newest schema.

A load balancer sends traffic by it, so it must turn 503 when the schema
is behind (or ahead of) what this runtime knows, and when the database goes
away, while `/healthz` (liveness) stays 200 and touches no database.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from partner_env import assert_error
from runtime_server import Server

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def test_ready_at_the_newest_schema_and_not_when_it_is_behind(server: Server) -> None:
    with server.client(token=None) as http:
        response = http.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready"}

        db = Path(server.db_url.removeprefix("sqlite:///"))
        with sqlite3.connect(db) as conn:
            (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            conn.execute("UPDATE alembic_version SET version_num = '0001'")
        try:
            error = assert_error(http.get("/readyz"), 503, "not_ready")
            assert "schema" in error["message"]
            assert http.get("/healthz").status_code == 200
        finally:
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE alembic_version SET version_num = ?", (head,))
        assert http.get("/readyz").json() == {"status": "ready"}


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[tuple[Server, sa.Engine, str]]:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"hubops_ready_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    server = Server(workdir=tmp_path, db_url=url).start()
    try:
        yield server, admin, name
    finally:
        server.stop()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_not_ready_when_the_database_is_gone(pg_server: tuple[Server, sa.Engine, str]) -> None:
    server, admin, name = pg_server
    with server.client(token=None) as http:
        assert http.get("/readyz").json() == {"status": "ready"}
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        error = assert_error(http.get("/readyz"), 503, "not_ready")
        assert error["message"] == "the database does not answer"
        assert http.get("/healthz").status_code == 200  # liveness: the process still serves
    assert "Traceback" not in server.logs() and "SELECT" not in server.logs()
