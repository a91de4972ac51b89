"""The runtime in-process (httpx over ASGITransport, as `--runtime PATH` uses it) and on PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from databases import pg_database
from hubops.runtime import RuntimeSettings, create_app, sqlite_url
from hubops.runtime.settings import RuntimeConfigError, parse_admin_tokens
from runtime_server import Changes, with_action

TOKEN = "in-process-admin-token"


def _client(settings: RuntimeSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)),
        base_url="http://runtime",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


async def _round_trip(client: httpx.AsyncClient, tenant: str) -> None:
    """Create a tenant, then race reads and two change sets from one base revision."""
    key = base64.b64decode((await client.get("/admin/v1/fingerprint-key")).json()["key"])
    builder = Changes(tenant=tenant, key=key)
    hook = builder.webhook("pos")
    first = {"baseRevision": 0, "changes": [*builder.bootstrap(), with_action(hook, "create")]}
    assert (await client.post(f"/admin/v1/tenants/{tenant}/changes", json=first)).status_code == 200

    def change_set(n: int) -> dict[str, Any]:
        stores = [
            {
                "address": f"store/c{n}-{i}",
                "action": "create",
                "body": {"name": f"C{n}", "timezone": "UTC"},
            }
            for i in range(50)
        ]
        return {"baseRevision": 1, "changes": stores, "commit": f"c{n}"}

    reads = [client.get(f"/admin/v1/tenants/{tenant}") for _ in range(8)]
    writes = [
        client.post(f"/admin/v1/tenants/{tenant}/changes", json=change_set(n)) for n in (1, 2)
    ]
    responses = await asyncio.gather(*reads, *writes)
    assert {r.status_code for r in responses[:8]} == {200}
    statuses = sorted(r.status_code for r in responses[8:])
    assert statuses == [200, 409], [r.text for r in responses[8:]]
    winner = 1 if responses[8].status_code == 200 else 2
    after = (await client.get(f"/admin/v1/tenants/{tenant}")).json()
    assert after["revision"] == 2
    assert after["lastApplied"]["commit"] == f"c{winner}"
    assert sorted(a for a in after["state"] if a.startswith("store/c")) == sorted(
        c["address"] for c in change_set(winner)["changes"]
    )
    assert {**after["state"]["webhook/pos"], "health": None} == {**hook["body"], "health": None}
    audit = (await client.get(f"/admin/v1/tenants/{tenant}/changes")).json()
    assert [item["revision"] for item in audit["items"]] == [2, 1]

    # Two change sets creating the same new tenant: one creates it, the other is stale.
    racer = Changes(tenant=f"{tenant}-new", key=key)
    creates = [
        client.post(
            f"/admin/v1/tenants/{racer.tenant}/changes",
            json={"baseRevision": 0, "changes": racer.bootstrap(), "commit": f"n{n}"},
        )
        for n in range(4)
    ]
    created = await asyncio.gather(*creates)
    assert sorted(r.status_code for r in created) == [200, 409, 409, 409]
    for response in created:
        if response.status_code == 409:
            assert response.json()["error"]["details"]["currentRevision"] == 1


def test_in_process_sqlite_creates_its_folder_and_handles_concurrency(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "state.db"
    settings = RuntimeSettings(db_url=sqlite_url(db), admin_tokens={"admin": TOKEN})

    async def run() -> None:
        async with _client(settings) as client:
            await _round_trip(client, "acme")

    asyncio.run(run())
    assert db.exists()
    assert (db.parent / "master.key").stat().st_mode & 0o777 == 0o600


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own per test, dropped afterwards, so parallel runs cannot collide."""
    monkeypatch.chdir(tmp_path)  # a generated master key goes to ./.hubops/ for non-SQLite
    with pg_database() as url:
        yield url


def test_postgresql_change_set_round_trip(pg_url: str, tmp_path: Path) -> None:
    settings = RuntimeSettings(db_url=pg_url, admin_tokens={"admin": TOKEN})

    async def run() -> None:
        async with _client(settings) as client:
            await _round_trip(client, "acme")
        async with _client(settings) as again:  # a second app finds the schema migrated
            assert (await again.get("/admin/v1/tenants")).json() == [
                {"name": "acme", "revision": 2},
                {"name": "acme-new", "revision": 1},
            ]

    asyncio.run(run())
    assert (tmp_path / ".hubops" / "master.key").exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain-token", {"admin": "plain-token"}),
        ("dG9rZW4=", {"admin": "dG9rZW4="}),
        ("ci=abc,alice=def==", {"ci": "abc", "alice": "def=="}),
        (" ci=abc , bob=x ", {"ci": "abc", "bob": "x"}),
    ],
)
def test_admin_token_formats(raw: str, expected: dict[str, str]) -> None:
    assert parse_admin_tokens(raw) == expected


@pytest.mark.parametrize(
    "raw", ["ci=s3cr3t,s3cr3t", "ci=s3cr3t,ci=b", "ci=s3cr3t,bob=s3cr3t", "a=s3cr3t,"]
)
def test_ambiguous_admin_tokens_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(RuntimeConfigError) as caught:
        parse_admin_tokens(raw)
    assert "s3cr3t" not in str(caught.value)


def test_settings_never_show_secrets() -> None:
    settings = RuntimeSettings(admin_tokens={"ci": "tok-123"}, master_key=b"k" * 32)
    assert "tok-123" not in repr(settings)
    assert "kkkk" not in repr(settings)
