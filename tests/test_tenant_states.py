"""`GET /admin/v1/tenant-states`: live state of many tenants in one request (SPEC 8).

Against `hubops serve` under uvicorn; a plan over many tenants reads its
live state through it, a hundred tenants a request, not one request each.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Repo, default_secrets, sops_encrypt
from runtime_server import ADMIN_TOKENS, Server
from test_reconcile_remote import cli


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    workdir = tmp_path / "runtime"
    workdir.mkdir()
    srv = Server(workdir, db_url).start()
    yield srv
    srv.stop()


def _copies(repo: Repo, count: int) -> list[str]:
    """`count` tenants like acme (acme-0 ... ), with their own token values."""
    names = []
    template = repo.tenant
    for index in range(count):
        name = f"t{index:03d}"
        folder = repo.tenants / name
        shutil.copytree(template, folder)
        for path in folder.glob("*.yaml"):
            if not path.name.endswith(".sops.yaml"):
                path.write_text(path.read_text().replace("acme", name))
        names.append(name)
    shutil.rmtree(template)
    return names


def _requests(server: Server, route: str) -> int:
    return sum(1 for line in server.logs().splitlines() if f"GET {route} " in line)


def test_a_plan_reads_live_state_in_a_few_requests(server: Server, repo: Repo) -> None:
    for name in _copies(repo, 3):  # each with token values of its own
        sops_encrypt(
            default_secrets(), repo.tenants / name / "secrets.sops.yaml", repo.key.recipient
        )
    applied = cli("apply", "tenants", "--auto-approve", "--runtime", server.url, cwd=repo.root)
    assert applied.returncode == 0, applied.stderr
    before = _requests(server, "/admin/v1/tenant-states")
    planned = cli("plan", "tenants", "--runtime", server.url, cwd=repo.root)
    assert planned.returncode == 0, planned.stderr
    assert "3 tenants unchanged (3 not parsed" in planned.stdout
    assert _requests(server, "/admin/v1/tenant-states") == before + 1  # summaries only
    assert _requests(server, "/admin/v1/tenants/{name}") == 0
    (repo.tenants / "t001" / "tenant.yaml").write_text(
        (repo.tenants / "t001" / "tenant.yaml").read_text() + "# reviewed\n"
    )
    changed = cli("plan", "tenants", "--runtime", server.url, cwd=repo.root, env={})
    assert "2 not parsed" in changed.stdout, changed.stdout + changed.stderr
    # summaries, then the whole state of the one tenant to diff
    assert _requests(server, "/admin/v1/tenant-states") == before + 3
    status = cli("status", "--runtime", server.url, "--drift", "tenants", cwd=repo.root)
    assert status.returncode == 0 and status.stdout.count("in-sync") == 3, status.stdout


def test_states_as_get_tenant_shows_them(server: Server, repo: Repo) -> None:
    applied = cli("apply", "tenants", "--auto-approve", "--runtime", server.url, cwd=repo.root)
    assert applied.returncode == 0, applied.stderr
    with server.client() as http:
        one = http.get("/admin/v1/tenants/acme").json()
        full = http.get("/admin/v1/tenant-states", params={"name": ["acme", "nobody"]})
        assert full.status_code == 200 and full.json() == {"items": [one]}
        assert one["config"]["revision"] == one["revision"] == 1
        assert one["config"]["digest"].startswith("sha256:")
        summary = http.get("/admin/v1/tenant-states", params={"name": "acme", "view": "summary"})
        (item,) = summary.json()["items"]
        assert item["state"] == {} and item["revision"] == 1
        assert item["config"] == one["config"] and item["secrets"] == one["secrets"]


def test_states_refuse_too_many_names_and_foreign_tokens(server: Server) -> None:
    with server.client() as http:
        many = http.get("/admin/v1/tenant-states", params={"name": [f"t{i}" for i in range(101)]})
        assert many.status_code == 400
        error = many.json()["error"]
        assert error["details"] == {"parameter": "name"} and "1 to 100" in error["message"]
        view = http.get("/admin/v1/tenant-states", params={"name": "a", "view": "all"})
        assert view.status_code in (400, 422), view.text
        assert "view" in view.text
    with server.client(token="not-a-token") as http:
        assert http.get("/admin/v1/tenant-states", params={"name": "a"}).status_code == 401
    assert ADMIN_TOKENS  # the server runs with admin tokens, which the refused one is not
