"""plan / apply against `hubops serve` under uvicorn on 127.0.0.1, as CI and ops teams run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, UNCHANGED_SINCE_APPLY, Repo
from databases import fresh_database
from runtime_server import ADMIN_TOKENS, HUBOPS, Server

EXAMPLES = REPO / "examples"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    workdir = tmp_path / "runtime"
    workdir.mkdir()
    with fresh_database(workdir) as db_url:
        srv = Server(workdir, db_url).start()
        yield srv
        srv.stop()


def cli(
    *args: str, cwd: Path, token: str | None = ADMIN_TOKENS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    environ.pop("HUBOPS_ADMIN_TOKEN", None)
    if token is not None:
        environ["HUBOPS_ADMIN_TOKEN"] = token
    return subprocess.run(
        [HUBOPS, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_examples_apply_then_no_changes_against_serve(server: Server, tmp_path: Path) -> None:
    env = {"SOPS_AGE_KEY_FILE": str(EXAMPLES / "demo.agekey"), "HUBOPS_COMMIT": "abc123"}
    applied = cli(
        "apply", "examples/tenants", "--auto-approve", "--runtime", server.url, cwd=REPO, env=env
    )
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete! Resources: 77 added, 0 changed, 0 destroyed." in applied.stdout
    planned = cli(
        "plan",
        "examples/tenants",
        "--detailed-exitcode",
        "--runtime",
        server.url,
        cwd=REPO,
        env=env,
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert planned.stdout == (
        "3 tenants unchanged (3 not parsed: as at their last apply).\nNo changes.\n"
    )
    with server.client() as http:
        audit = http.get("/admin/v1/tenants/acme-burgers/changes").json()["items"]
        assert audit[0]["by"] == "ci" and audit[0]["commit"] == "abc123"
    # the runtime keeps everything across a restart
    server.stop()
    server.start()
    again = cli(
        "plan",
        "examples/tenants",
        "--detailed-exitcode",
        "--runtime",
        server.url,
        cwd=REPO,
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith("(3 not parsed: as at their last apply).\nNo changes.\n")


def test_admin_token_is_required(server: Server, repo: Repo) -> None:
    wrong = cli("plan", "tenants", "--runtime", server.url, cwd=repo.root, token="not-the-token")
    assert wrong.returncode == 1
    assert "refused the admin token (401)" in wrong.stderr and "Traceback" not in wrong.stderr
    absent = cli("plan", "tenants", "--runtime", server.url, cwd=repo.root, token=None)
    assert absent.returncode == 1 and "HUBOPS_ADMIN_TOKEN is not set" in absent.stderr
    unreachable = cli("plan", "tenants", "--runtime", "http://127.0.0.1:9", cwd=repo.root)
    assert unreachable.returncode == 1 and "cannot reach the runtime" in unreachable.stderr


def test_concurrent_applies_to_one_tenant(server: Server, repo: Repo) -> None:
    assert (
        cli("apply", "tenants", "--auto-approve", "--runtime", server.url, cwd=repo.root).returncode
        == 0
    )
    other = repo.root.parent / "other"
    shutil.copytree(repo.root, other)
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: Acme from A")
    (other / "tenants" / "acme" / "tenant.yaml").write_text(
        repo.file("tenant.yaml")
        .read_text()
        .replace("Acme from A", "Acme from B")
        .replace("quantity: 2", "quantity: 5")
    )
    assert (
        cli("plan", "tenants", "--runtime", server.url, "--out", "a.json", cwd=repo.root).returncode
        == 0
    )
    assert (
        cli("plan", "tenants", "--runtime", server.url, "--out", "b.json", cwd=other).returncode
        == 0
    )
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def run(name: str, cwd: Path) -> None:
        results[name] = cli("apply", f"{name}.json", "--runtime", server.url, cwd=cwd)

    threads = [
        threading.Thread(target=run, args=("a", repo.root)),
        threading.Thread(target=run, args=("b", other)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 1], {k: v.stderr for k, v in results.items()}
    loser = next(r for r in results.values() if r.returncode == 1)
    assert "tenant acme changed in the runtime since the plan was made" in loser.stderr
    winner = next(name for name, r in results.items() if r.returncode == 0)
    with server.client() as http:
        state = http.get("/admin/v1/tenants/acme").json()
    assert state["revision"] == 2
    assert state["state"]["tenant/acme"]["displayName"] == f"Acme from {winner.upper()}"
    quantity = state["state"]["license/integrationHub"]["quantity"]
    assert quantity == (
        2 if winner == "a" else 5
    )  # all of the winner's change set, nothing of the loser's


def test_no_secret_in_logs_or_state(server: Server, repo: Repo) -> None:
    applied = cli("apply", "tenants", "--auto-approve", "--runtime", server.url, cwd=repo.root)
    assert applied.returncode == 0
    with server.client() as http:
        state = http.get("/admin/v1/tenants/acme").text
        audit = http.get("/admin/v1/tenants/acme/changes").text
    assert '"$sensitive"' in state
    for secret in repo.secret_values():
        for text in (state, audit, server.logs(), applied.stdout, applied.stderr):
            assert secret not in text


@pytest.mark.parametrize("why", ["gone", "failing too long"])
def test_webhook_switched_off_by_the_runtime_shows_as_drift_in_plan(
    tmp_path: Path, repo: Repo, db_url: str, why: str
) -> None:
    """A 410, or failing without a success for HUBOPS_WEBHOOK_DISABLE_AFTER seconds."""
    from webhook_receiver import Receiver, Reply

    workdir = tmp_path / "rt"
    workdir.mkdir()
    loopback = {"HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1"}
    failing = {
        "HUBOPS_WEBHOOK_DISABLE_AFTER": "1",
        "HUBOPS_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.3"] * 10),
    }
    env = {**loopback, **(failing if why != "gone" else {})}
    srv = Server(workdir, db_url, extra_env=env).start()
    try:
        with Receiver() as receiver:
            receiver.script = [Reply(410)] if why == "gone" else [Reply(500)] * 100
            repo.edit("api.yaml", "https://pos.acme.example/hooks/orders", receiver.url)
            applied = cli(
                "apply",
                "tenants",
                "--auto-approve",
                "--runtime",
                srv.url,
                cwd=repo.root,
                env=loopback,
            )
            assert applied.returncode == 0, applied.stderr
            skipped = cli("plan", "tenants", "--runtime", srv.url, cwd=repo.root, env=loopback)
            assert skipped.stdout == UNCHANGED_SINCE_APPLY, skipped.stdout + skipped.stderr
            with srv.client() as http:
                order = http.post(
                    "/admin/v1/tenants/acme/orders",
                    json={
                        "store": "acme-001",
                        "items": [
                            {"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}
                        ],
                    },
                )
                assert order.status_code == 201, order.text
            receiver.wait_for(1)
            deadline = time.monotonic() + 10
            while True:
                planned = cli(
                    "plan",
                    "tenants",
                    "--runtime",
                    srv.url,
                    "--detailed-exitcode",
                    cwd=repo.root,
                    env=loopback,
                )
                if planned.returncode == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert planned.returncode == 2, planned.stdout + planned.stderr
            assert (
                "  ~ webhook/orders-to-pos  (owner approval)\n      enabled: false -> true\n"
                in planned.stdout
            )
            reapplied = cli(
                "apply",
                "tenants",
                "--auto-approve",
                "--runtime",
                srv.url,
                cwd=repo.root,
                env=loopback,
            )
            assert reapplied.returncode == 0
            assert (
                cli(
                    "plan",
                    "tenants",
                    "--runtime",
                    srv.url,
                    "--detailed-exitcode",
                    cwd=repo.root,
                    env=loopback,
                ).returncode
                == 0
            )
    finally:
        srv.stop()
