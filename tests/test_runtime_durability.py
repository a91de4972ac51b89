"""What survives a restart or a crash of `hubops serve`, and how it refuses to start."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from databases import execute, query
from hubops.runtime.crypto import ENCRYPTION_INFO, FINGERPRINT_INFO, derive, unseal
from hubops.state import secret_address
from runtime_server import CI_TOKEN, HUBOPS, Changes, Server, fingerprint_key, post, with_action


def _server(tmp_path: Path, **env: str) -> Server:
    return Server(
        workdir=tmp_path, db_url=f"sqlite:///{tmp_path / 'db' / 'state.db'}", extra_env=env
    )


def test_restart_keeps_state_key_and_readable_secrets(tmp_path: Path) -> None:
    server = _server(tmp_path).start()
    with server.client() as client:
        builder = Changes(tenant="acme", key=fingerprint_key(client))
        creds = builder.credentials("xero", {"client_id": "id-123", "secret_key": "pw-456"})
        changes = [*builder.bootstrap(), with_action(creds, "create")]
        assert post(client, "acme", 0, changes).status_code == 200
        before = client.get("/admin/v1/tenants/acme").json()
    server.stop()

    key_file = tmp_path / "db" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    server.start()
    try:
        with server.client() as client:
            assert fingerprint_key(client) == builder.key
            assert client.get("/admin/v1/tenants/acme").json() == before
    finally:
        server.stop()

    # The stored credentials open with the kept key, bound to their tenant and address.
    master = key_file.read_bytes()
    assert derive(master, FINGERPRINT_INFO) == builder.key
    enc_key = derive(master, ENCRYPTION_INFO)
    with sqlite3.connect(tmp_path / "db" / "state.db") as db:
        rows = db.execute(
            "SELECT address, path, sealed FROM secret_values ORDER BY path"
        ).fetchall()
    opened = {
        path: unseal(enc_key, "acme", secret_address(addr, path), sealed)
        for addr, path, sealed in rows
    }
    assert opened == {"fields.client_id": "id-123", "fields.secret_key": "pw-456"}
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is the point
        unseal(enc_key, "other-tenant", secret_address(rows[0][0], rows[0][1]), rows[0][2])


def test_configured_master_key_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    master = os.urandom(32)
    server = _server(tmp_path, HUBOPS_MASTER_KEY=base64.b64encode(master).decode()).start()
    try:
        with server.client() as client:
            assert fingerprint_key(client) == derive(master, FINGERPRINT_INFO)
    finally:
        server.stop()
    assert not (tmp_path / "db" / "master.key").exists()
    assert base64.b64encode(master).decode() not in server.logs()


def _renames(round_: int, n: int, action: str = "update") -> list[dict[str, Any]]:
    return [
        {
            "address": f"store/big-{i:05d}",
            "action": action,
            "body": {"name": f"Round {round_} store {i}", "timezone": "UTC"},
        }
        for i in range(n)
    ]


def test_sigkill_during_a_large_change_set_leaves_all_or_nothing(tmp_path: Path) -> None:
    """3,000 updates take a few hundred milliseconds to apply; kill at points inside that."""
    server = _server(tmp_path).start()
    with server.client() as client:
        builder = Changes(tenant="acme", key=fingerprint_key(client))
        assert post(client, "acme", 0, builder.bootstrap()).status_code == 200
        assert post(client, "acme", 1, _renames(0, 3000, "create")).status_code == 200
        committed = client.get("/admin/v1/tenants/acme").json()
    outcomes = []
    for round_, delay in enumerate((0.2, 0.3, 0.4, 0.6), start=1):
        base = committed["revision"]
        big = _renames(round_, 3000)
        thread = threading.Thread(target=_post_quietly, args=(server.url, base, big), daemon=True)
        thread.start()
        time.sleep(delay)
        server.stop(signal.SIGKILL)
        thread.join(timeout=10)
        server.start()
        with server.client() as client:
            after = client.get("/admin/v1/tenants/acme").json()
        if after["revision"] == base:
            assert after == committed
            outcomes.append("none")
        else:
            assert after["revision"] == base + 1
            assert after["state"] == {
                **committed["state"],
                **{c["address"]: c["body"] for c in big},
            }
            outcomes.append("all")
            committed = after
    server.stop()
    assert len(outcomes) == 4


def _post_quietly(url: str, base: int, changes: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {CI_TOKEN}"}
    # The server is killed under this request: a transport error is expected.
    with (
        httpx.Client(base_url=url, headers=headers, timeout=30) as client,
        suppress(httpx.TransportError),
    ):
        client.post(
            "/admin/v1/tenants/acme/changes", json={"baseRevision": base, "changes": changes}
        )


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUBOPS_")}
    return subprocess.run(
        [HUBOPS, "serve", "--port", "1", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, (), "HUBOPS_ADMIN_TOKEN is not set"),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": "c2hvcnQta2V5LXZhbHVl"},
            (),
            "HUBOPS_MASTER_KEY must be the base64 encoding of exactly 32",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "a=x,b"},
            (),
            "entry 2 is not of the form name=token",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": base64.b64encode(bytes(32)).decode()},
            ("--db", "postgresql+psycopg://nobody:pw-hidden@127.0.0.1:1/none"),
            "cannot open the database postgresql+psycopg://nobody:***@127.0.0.1:1/none",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": base64.b64encode(bytes(32)).decode()},
            ("--db", "postgresql+psycopg://nobody:pw-hidden@127.0.0.1:not-a-port/none"),
            "the database URL is not a SQLAlchemy URL",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": base64.b64encode(bytes(32)).decode()},
            ("--db", "mysql://nobody:pw-hidden@127.0.0.1/none"),
            "the database URL names mysql, which the runtime does not support",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": base64.b64encode(bytes(32)).decode()},
            ("--db", "postgresql://postgres:pw-hidden@127.0.0.1:5432/hubops_no_such_db"),
            "cannot open the database postgresql+psycopg://postgres:***@127.0.0.1:5432/hubops_no_such_db",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_SMTP_URL": "https://mail:pw-hidden@host"},
            (),
            "HUBOPS_SMTP_URL must be smtp://HOST:PORT or smtp+starttls://HOST:PORT",
        ),
        (
            {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_CATALOG": "no-such-catalog.yaml"},
            (),
            "HUBOPS_CATALOG: no-such-catalog.yaml: partner catalog not found",
        ),
    ],
)
def test_serve_refuses_to_start_with_one_clear_sentence(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    proc = _serve(tmp_path, env, *args)
    assert proc.returncode == 1
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.count("\n") == 1, proc.stderr
    for secret in ("c2hvcnQta2V5LXZhbHVl", "pw-hidden"):
        assert secret not in proc.stderr


def test_a_schema_from_a_newer_hubops_is_refused_in_one_sentence(
    tmp_path: Path, db_url: str
) -> None:
    env = {"HUBOPS_ADMIN_TOKEN": "t", "HUBOPS_MASTER_KEY": base64.b64encode(bytes(32)).decode()}
    execute(db_url, "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    execute(db_url, "INSERT INTO alembic_version VALUES ('0999_from_the_future')")
    proc = _serve(tmp_path, env, "--db", db_url)
    assert proc.returncode == 1
    assert "the database's schema is at revision 0999_from_the_future" in proc.stderr
    assert "run that version (or newer)" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and proc.stderr.count("\n") == 1
    assert query(db_url, "SELECT count(*) FROM alembic_version") == [(1,)]  # nothing migrated
