"""Helpers for runtime tests: a real `hubops serve` subprocess and valid change sets.

The server runs exactly as users run it (console script, SQLite file,
uvicorn on a free port), with its output captured to files so tests can
scan them for leaked secrets.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hubops.fingerprint import fingerprint, marker, tenant_key
from hubops.state import secret_address
from hubops.tokens import new_token, new_webhook_secret

HUBOPS = str(Path(sys.executable).parent / "hubops")
CI_TOKEN = "ci-admin-token-7f3a9c"
ALICE_TOKEN = "alice-admin-token-2b8e41"
ADMIN_TOKENS = f"ci={CI_TOKEN},alice={ALICE_TOKEN}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `hubops serve`; `workdir` holds its database, key and log files."""

    workdir: Path
    db_url: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    starts: int = 0

    @property
    def data_dir(self) -> Path:
        """Where the runtime keeps its own files: beside a SQLite file, else `.hubops/`."""
        if self.db_url.startswith("sqlite:///"):
            return Path(self.db_url.removeprefix("sqlite:///")).parent
        return self.workdir / ".hubops"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        self.starts += 1
        inherited = {k: v for k, v in os.environ.items() if k != "HUBOPS_MASTER_KEY"}
        env = {**inherited, "HUBOPS_ADMIN_TOKEN": ADMIN_TOKENS, **self.extra_env}
        out = (self.workdir / f"serve-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [HUBOPS, "serve", "--db", self.db_url, "--port", str(self.port)],
            cwd=self.workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hubops serve exited: {self.logs()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hubops serve did not come up: {self.logs()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)
        self.proc = None

    def logs(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("serve-*.log"))
        )

    def client(self, token: str | None = CI_TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def two_replicas(folder: Path, db_url: str, env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    """Two `hubops serve` processes on one database (workdirs `folder/a` and `folder/b`),
    stopped on the way out: one service behind a load balancer, as tests see it."""
    started: list[Server] = []
    try:
        for replica in ("a", "b"):
            (folder / replica).mkdir()
            started.append(Server(workdir=folder / replica, db_url=db_url, extra_env=env).start())
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def fingerprint_key(client: httpx.Client) -> bytes:
    return base64.b64decode(client.get("/admin/v1/fingerprint-key").json()["key"])


@dataclass
class Changes:
    """Builds change-set entries with correct fingerprints for one tenant."""

    tenant: str
    key: bytes
    secrets_seen: list[str] = field(default_factory=list)

    def fp(self, addr: str, path: str, value: str) -> dict[str, str]:
        self.secrets_seen.append(value)
        tkey = tenant_key(self.key, self.tenant)
        return marker(fingerprint(tkey, secret_address(addr, path), value))

    def tenant_body(self, display: str = "Acme Burgers") -> dict[str, Any]:
        return {
            "displayName": display,
            "plan": "enterprise",
            "settings": {"instantOrdering": True, "termsOfServiceUrl": None},
        }

    def token(
        self, name: str, value: str | None = None, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        value = value or new_token()
        addr = f"token/{name}"
        body = {
            "scopes": scopes or ["orders:read"],
            "stores": None,
            "expiresAt": "2027-12-31T00:00:00Z",
            "value": self.fp(addr, "value", value),
        }
        return {"address": addr, "body": body, "secrets": {"value": value}}

    def webhook(self, name: str, value: str | None = None, **overrides: Any) -> dict[str, Any]:
        value = value or new_webhook_secret()
        addr = f"webhook/{name}"
        body = {
            "url": "https://pos.acme.example/hooks",
            "events": ["order.created"],
            "stores": None,
            "enabled": True,
            "integration": None,
            "secret": self.fp(addr, "secret", value),
            **overrides,
        }
        return {"address": addr, "body": body, "secrets": {"secret": value}}

    def credentials(self, name: str, values: dict[str, str]) -> dict[str, Any]:
        addr = f"credentials/{name}"
        fields = {f: self.fp(addr, f"fields.{f}", v) for f, v in values.items()}
        return {
            "address": addr,
            "body": {"fields": fields},
            "secrets": {f"fields.{f}": v for f, v in values.items()},
        }

    def bootstrap(self) -> list[dict[str, Any]]:
        """A small valid tenant: the tenant itself and one store."""
        return [
            create(f"tenant/{self.tenant}", self.tenant_body()),
            create("store/s-001", {"name": "Downtown", "timezone": "UTC"}),
        ]


def create(
    addr: str, body: dict[str, Any], secrets: dict[str, str] | None = None
) -> dict[str, Any]:
    change: dict[str, Any] = {"address": addr, "action": "create", "body": body}
    if secrets:
        change["secrets"] = secrets
    return change


def with_action(change: dict[str, Any], action: str) -> dict[str, Any]:
    return {**change, "action": action}


def post(
    client: httpx.Client, tenant: str, base: int, changes: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    return client.post(
        f"/admin/v1/tenants/{tenant}/changes",
        json={"baseRevision": base, "changes": changes, **extra},
    )
