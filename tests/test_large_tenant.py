"""A tenant whose change set is larger than one request: applied in parts, as one atomic unit.

SPEC 8: apply may split a change set over the runtime's body limit only if
the runtime applies the parts as one unit. These tests use a real `hubops
serve` and a generated tenant of 15,000 stores (a change set of about
1.9 MB): apply succeeds with one revision and one audit record, plan then
finds nothing to do, and a part refused for any reason leaves the tenant
exactly as it was.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import UNCHANGED_SINCE_APPLY
from databases import fresh_database, pg_database
from hubops.plan.parts import MAX_BODY_BYTES, encode, split
from runtime_server import ADMIN_TOKENS, HUBOPS, Server, post

STORES = 15_000
CATALOG = """\
apiVersion: hubops/v1
kind: PartnerCatalog
metadata: {name: default}
spec:
  partners:
    - {id: stampme, name: StampMe, category: loyalty}
"""


def _tenant_yaml(stores: int) -> str:
    lines = [
        "apiVersion: hubops/v1",
        "kind: Tenant",
        "metadata: {name: chain}",
        "spec:",
        "  displayName: A Very Large Chain",
        "  plan: enterprise",
        "  stores:",
    ]
    lines += [
        f"    - {{id: store-{i:05d}, name: Store {i}, timezone: Europe/Berlin}}"
        for i in range(stores)
    ]
    lines += ["  licenses:", "    integrationHub:", f"      quantity: {stores}", "      stores:"]
    lines += [f"        - store-{i:05d}" for i in range(stores)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("runtime")
    with fresh_database(workdir) as db_url:
        srv = Server(workdir=workdir, db_url=db_url).start()
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def applied(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("config")
    (root / "catalog.yaml").write_text(CATALOG)
    (root / "tenants" / "chain").mkdir(parents=True)
    (root / "tenants" / "chain" / "tenant.yaml").write_text(_tenant_yaml(STORES))
    result = cli(root, "apply", "tenants", "--auto-approve", "--runtime", server.url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"Apply complete! Resources: {STORES + 2} added, 0 changed, 0 destroyed." in result.stdout
    )
    return root


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUBOPS_ADMIN_TOKEN": ADMIN_TOKENS}
    return subprocess.run(
        [HUBOPS, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def _send(http: httpx.Client, part: dict[str, Any]) -> httpx.Response:
    return http.post(
        "/admin/v1/tenants/chain/changes",
        content=encode(part),
        headers={"Content-Type": "application/json"},
    )


def _state(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/admin/v1/tenants/chain")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _renames(base: int, suffix: str) -> dict[str, Any]:
    return {
        "baseRevision": base,
        "changes": [
            {
                "address": f"store/store-{i:05d}",
                "action": "update",
                "body": {"name": f"Store {i} {suffix}", "timezone": "UTC"},
            }
            for i in range(STORES)
        ],
    }


def test_a_tenant_over_the_request_limit_applies_at_once_and_then_plans_clean(
    server: Server, applied: Path
) -> None:
    with server.client() as http:
        state = _state(http)
        assert state["revision"] == 1  # one change set, one revision claim
        assert len(state["state"]) == STORES + 2
        assert len(http.get("/admin/v1/tenants/chain/changes").json()["items"]) == 1
    planned = cli(applied, "plan", "tenants", "--runtime", server.url, "--detailed-exitcode")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert planned.stdout == UNCHANGED_SINCE_APPLY


def test_a_stale_base_revision_rejects_every_part(server: Server, applied: Path) -> None:
    with server.client() as http:
        before = _state(http)
        parts = split(_renames(before["revision"], "stale"))
        assert len(parts) >= 2 and all(len(encode(p)) <= MAX_BODY_BYTES for p in parts)
        first = _send(http, parts[0])
        assert first.status_code == 202, first.text
        assert first.json() == {
            "upload": parts[0]["part"]["upload"],
            "received": 1,
            "count": len(parts),
        }
        # Someone else applies in between.
        other = post(
            http,
            "chain",
            before["revision"],
            [
                {
                    "address": "store/store-00001",
                    "action": "update",
                    "body": {"name": "X", "timezone": "UTC"},
                }
            ],
        )
        assert other.status_code == 200
        for part in parts[1:]:
            response = _send(http, part)
            assert response.status_code == 409, response.text
            assert response.json()["error"]["code"] == "stale_revision"
        after = _state(http)
    assert after["revision"] == before["revision"] + 1
    assert not any("stale" in body.get("name", "") for body in after["state"].values())


def test_an_invalid_change_in_any_part_applies_nothing(server: Server, applied: Path) -> None:
    with server.client() as http:
        before = _state(http)
        payload = _renames(before["revision"], "renamed")
        # Valid on its own, wrong against the state: only the whole set can tell.
        payload["changes"][0] = {
            "address": "store/store-00000",
            "action": "create",
            "body": {"name": "Again", "timezone": "UTC"},
        }
        parts = split(payload)
        for part in parts[:-1]:
            kept = _send(http, part)
            assert kept.status_code == 202, kept.text
        last = _send(http, parts[-1])
        assert last.status_code == 422, last.text
        assert (
            "store/store-00000: cannot create, it already exists" in last.json()["error"]["message"]
        )
        assert _state(http) == before
        # A part that is wrong on its own is refused at once and ends its upload.
        parts = split(_renames(before["revision"], "again"))
        parts[0]["changes"][5]["body"]["timezone"] = "Not/AZone"
        bad = _send(http, parts[0])
        assert bad.status_code == 422
        assert "must be an IANA time zone name" in bad.json()["error"]["message"]
        finish = _send(http, parts[-1])
        assert finish.status_code == 422
        assert "are missing" in finish.json()["error"]["message"]
        assert _state(http) == before


@pytest.fixture
def two_replicas(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two `hubops serve` processes on one PostgreSQL database, as one service."""
    key = {"HUBOPS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    servers: list[Server] = []
    with pg_database() as url:
        try:
            for name in ("a", "b"):
                (tmp_path / name).mkdir()
                servers.append(Server(tmp_path / name, url, extra_env=key).start())
            yield servers[0], servers[1]
        finally:
            for srv in servers:
                srv.stop()


def test_parts_sent_to_different_replicas_apply_as_one(two_replicas: tuple[Server, Server]) -> None:
    a, b = two_replicas
    stores = [
        {
            "address": f"store/s-{i:05d}",
            "action": "create",
            "body": {"name": "N" * 190, "timezone": "UTC"},
        }
        for i in range(6000)
    ]
    tenant = {
        "address": "tenant/chain",
        "action": "create",
        "body": {
            "displayName": "Chain",
            "plan": "pro",
            "settings": {"instantOrdering": False, "termsOfServiceUrl": None},
        },
    }
    parts = split({"baseRevision": 0, "changes": [tenant, *stores], "commit": "c0ffee"})
    assert len(parts) >= 2
    with a.client() as http_a, b.client() as http_b:
        for index, part in enumerate(parts):
            replica = http_a if index % 2 == 0 else http_b
            response = _send(replica, part)
            assert response.status_code == (200 if index == len(parts) - 1 else 202), response.text
        state = http_a.get("/admin/v1/tenants/chain").json()
        assert state["revision"] == 1 and len(state["state"]) == 6001
        audit = http_b.get("/admin/v1/tenants/chain/changes").json()["items"]
        assert [(r["revision"], r["commit"]) for r in audit] == [(1, "c0ffee")]
