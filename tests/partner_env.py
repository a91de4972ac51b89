"""Fixtures and helpers for tests of a live `hubops serve`: a tenant, its tokens and orders.

Everything goes through the runtime's HTTP APIs as users and partners do:
tokens are applied with admin change sets, orders are simulated with the
admin orders route, and partners call `/v1` with the token values.

The fixtures (registered for every test module by `conftest.py`): `server`,
one `hubops serve` per module, started with the module's `server_env`
(override that fixture to set, say, `HUBOPS_RATE_LIMIT`); `admin`, a client
with the admin token; `tenant`, a fresh tenant per test. A module that needs
a server of another kind defines its own `server`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from databases import fresh_database, query
from hubops.tokens import new_token
from runtime_server import Changes, Server, create, fingerprint_key, post

ALL_SCOPES = [
    "orders:read",
    "orders:write",
    "catalog:read",
    "catalog:write",
    "promotions:read",
    "promotions:write",
]
_names = (f"p{n}" for n in itertools.count())


@dataclass
class Tenant:
    """One tenant with stores s-001 and s-002, applied through the admin API."""

    server: Server
    admin: httpx.Client
    changes: Changes
    revision: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, server: Server, admin: httpx.Client, **kwargs: Any) -> Tenant:
        tenant = cls(server, admin, Changes(tenant=next(_names), key=fingerprint_key(admin)))
        tenant.apply(
            [
                *tenant.changes.bootstrap(),
                create("store/s-002", {"name": "Airport", "timezone": "UTC"}),
            ]
        )
        return tenant

    @property
    def name(self) -> str:
        return self.changes.tenant

    def apply(self, changes: list[dict[str, Any]]) -> None:
        response = post(self.admin, self.name, self.revision, changes)
        assert response.status_code == 200, response.text
        self.revision = response.json()["revision"]

    def token(
        self,
        scopes: list[str] | None = None,
        stores: list[str] | None = None,
        expires_at: str | None = "2099-12-31T00:00:00Z",
        name: str | None = None,
    ) -> str:
        """Apply a new ApiToken and return its value."""
        name = name or f"tok{len(self.tokens)}"
        value = new_token()
        change = self.changes.token(name, value, scopes or ALL_SCOPES)
        change["body"].update(stores=stores, expiresAt=expires_at)
        self.apply([{**change, "action": "create"}])
        self.tokens[name] = value
        return value

    def order(self, store: str = "s-001", **overrides: Any) -> dict[str, Any]:
        body = {
            "store": store,
            "items": [{"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"}],
            **overrides,
        }
        response = self.admin.post(f"/admin/v1/tenants/{self.name}/orders", json=body)
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    def partner(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def db_rows(server: Server, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the served runtime's database directly (SQLite's WAL lets us read while it writes)."""
    return query(server.db_url, sql, *params)


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment of the module's `hubops serve`."""
    return {}


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_env: dict[str, str],
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_"))
    with fresh_database(workdir) as db_url:
        started = Server(workdir=workdir, db_url=db_url, extra_env=server_env)
        started.start()
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def tenant(server: Server, admin: httpx.Client) -> Tenant:
    return Tenant.create(server, admin)
