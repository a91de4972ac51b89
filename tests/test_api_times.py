"""Times at the ends of the calendar, and what a crash looks like, on SQLite and PostgreSQL.

A time with an offset can name an instant outside the years 1-9999 once it
is moved to UTC. Sent as a query parameter, a body field or inside a
cursor, each is a 4xx in the error shape on a connection that stays open,
and the server log holds neither SQL nor the value. The PostgreSQL
database runs in a zone west of UTC, where year-1 times used to be
unreadable.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from http_wire import Answer, Wire, settled_logs
from partner_env import Tenant
from runtime_server import CI_TOKEN, Server, postgres_database

LATE = "9999-12-31T23:00:00-05:00"  # the year 10000 in UTC
EARLY = "0001-01-01T00:30:00+01:00"  # the year 0 in UTC
EDGES = (LATE, EARLY)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"times-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            db_url = f"sqlite:///{workdir / 'state.db'}"
        else:
            db_url = stack.enter_context(postgres_database("America/New_York"))
        srv = Server(workdir=workdir, db_url=db_url).start()
        stack.callback(srv.stop)
        yield srv


@pytest.fixture(scope="module")
def tenant(server: Server) -> Iterator[Tenant]:
    with server.client() as admin:
        tenant = Tenant.create(server, admin)
        tenant.order()
        yield tenant


@pytest.fixture
def wire(tenant: Tenant) -> Iterator[Wire]:
    with Wire(tenant.server.url, {"Authorization": f"Bearer {tenant.token()}"}) as wire:
        yield wire


def assert_refused(answer: Answer, status: int, code: str, *hidden: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    for value in hidden:
        assert value.encode() not in answer.body
    error: dict[str, Any] = body["error"]
    return error


def _cursor(stamp: str) -> str:
    return base64.urlsafe_b64encode(f"{stamp}|ord_x".encode()).decode().rstrip("=")


def assert_log_clean(server: Server, *values: str) -> None:
    logs = settled_logs(server)
    for leak in ("SELECT", "INSERT", "[SQL", "Traceback", *values):
        assert leak not in logs, leak


def test_query_parameters_outside_the_calendar_are_422(server: Server, wire: Wire) -> None:
    for name in ("from", "to"):
        for stamp in EDGES:
            quoted = stamp.replace("+", "%2B")
            error = assert_refused(
                wire.send("GET", f"/v1/orders?{name}={quoted}"), 422, "invalid_request", stamp
            )
            assert error["message"].startswith(f"query.{name}: ")
            assert "9999-12-31T23:59:59Z" in error["message"]
    assert wire.send("GET", "/healthz").status == 200  # the same connection still serves
    assert_log_clean(server, *EDGES)


def test_body_times_outside_the_calendar_are_422(
    server: Server, tenant: Tenant, wire: Wire
) -> None:
    item = {"sku": "B1", "name": "Burger", "price": "9.50", "available": True}
    assert wire.json("PUT", "/v1/stores/s-001/catalog", {"items": [item]}).status == 200
    promotion = {"name": "Deal", "store": "s-001", "sku": "B1", "discountPercent": 10}
    for field in ("startsAt", "endsAt"):
        for stamp in EDGES:
            answer = wire.json("POST", "/v1/promotions", {**promotion, field: stamp})
            error = assert_refused(answer, 422, "invalid_request", stamp)
            assert error["details"]["problems"][0]["field"] == f"body.{field}"
    # The last instants that exist in UTC are kept, and read back, in any session zone.
    edges = {"startsAt": "0001-01-01T00:00:00Z", "endsAt": "9999-12-31T23:59:59Z"}
    created = wire.json("POST", "/v1/promotions", {**promotion, **edges})
    assert created.status == 201, created.body
    listed = wire.send("GET", "/v1/promotions")
    assert listed.status == 200, listed.body
    shown = next(p for p in listed.json()["items"] if p["id"] == created.json()["id"])
    assert (shown["startsAt"], shown["endsAt"]) == (edges["startsAt"], edges["endsAt"])
    assert_log_clean(server, *EDGES)


def test_cursors_holding_such_times_are_foreign(server: Server, wire: Wire) -> None:
    for route in ("/v1/orders", "/v1/promotions"):
        for stamp in EDGES:
            answer = wire.send("GET", f"{route}?cursor={_cursor(stamp)}")
            error = assert_refused(answer, 400, "bad_request", stamp)
            assert error["details"] == {"parameter": "cursor"}
    assert_log_clean(server, *EDGES)


def test_a_token_expiring_outside_the_calendar_is_refused(server: Server, tenant: Tenant) -> None:
    change = tenant.changes.token("late", scopes=["orders:read"])
    change["body"]["expiresAt"] = LATE
    with Wire(server.url, {"Authorization": f"Bearer {CI_TOKEN}"}) as admin:
        answer = admin.json(
            "POST",
            f"/admin/v1/tenants/{tenant.name}/changes",
            {"baseRevision": tenant.revision, "changes": [{**change, "action": "create"}]},
        )
        error = assert_refused(answer, 422, "invalid_change", LATE)
        assert 'token/late: body field "expiresAt"' in error["message"]
        state = admin.send("GET", f"/admin/v1/tenants/{tenant.name}").json()
    assert state["revision"] == tenant.revision and "token/late" not in state["state"]
    assert_log_clean(server, LATE)


def _rename(server: Server, old: str, new: str) -> None:
    statement = f"ALTER TABLE {old} RENAME TO {new}"
    if server.db_url.startswith("sqlite"):
        with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as conn:
            conn.execute(statement)
        return
    engine = sa.create_engine(server.db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def test_a_crash_is_a_500_in_the_error_shape_that_keeps_the_connection(
    server: Server, wire: Wire
) -> None:
    canary = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert wire.send("GET", "/v1/orders").status == 200
    _rename(server, "orders", "orders_away")  # an operator's mistake the code cannot foresee
    try:
        answer = wire.send("GET", f"/v1/orders?from={canary}&store=canary-store")
    finally:
        _rename(server, "orders_away", "orders")
    error = assert_refused(answer, 500, "internal_error", canary, "canary-store")
    assert "log" in error["message"]
    assert wire.send("GET", "/v1/orders").status == 200  # same connection, and working again
    logs = settled_logs(server)
    crash = [line for line in logs.splitlines() if "internal error" in line]
    assert len(crash) == 1 and "GET /v1/orders:" in crash[0], crash
    assert "hubops/" in crash[0]  # where it was raised, for whoever fixes it
    assert_log_clean(server, canary, "canary-store", "orders_away")
