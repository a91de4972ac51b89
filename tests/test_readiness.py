"""`/readyz` against a served runtime: ready only with a database that answers at the newest schema.

A load balancer sends traffic by it, so it must turn 503 when the schema
is behind (or ahead of) what this runtime knows, and when the database goes
away, while `/healthz` (liveness) stays 200 and touches no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from databases import execute, pg_database, query
from databases import pg_server as pg_server_url
from partner_env import assert_error
from runtime_server import Server


def test_ready_at_the_newest_schema_and_not_when_it_is_behind(server: Server) -> None:
    with server.client(token=None) as http:
        response = http.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready"}

        ((head,),) = query(server.db_url, "SELECT version_num FROM alembic_version")
        execute(server.db_url, "UPDATE alembic_version SET version_num = '0001'")
        try:
            error = assert_error(http.get("/readyz"), 503, "not_ready")
            assert "schema" in error["message"]
            assert http.get("/healthz").status_code == 200
        finally:
            execute(server.db_url, f"UPDATE alembic_version SET version_num = '{head}'")
        assert http.get("/readyz").json() == {"status": "ready"}


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[tuple[Server, sa.Engine, str]]:
    with pg_database() as url:
        admin = sa.create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        assert name is not None
        server = Server(workdir=tmp_path, db_url=url).start()
        try:
            yield server, admin, name
        finally:
            server.stop()
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
