"""Bodies that are announced and never sent, on raw sockets against `hubops serve`.

A caller without a valid token is refused (401, connection closed) before
its body is read, so hundreds of stalled uploads cost the runtime neither
memory nor a worker; a caller with one gets 408 once HUBOPS_BODY_TIMEOUT
has passed without the whole body.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from partner_env import Tenant
from runtime_server import CI_TOKEN, Server

TIMEOUT = 1.0
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_BODY_TIMEOUT": str(TIMEOUT)}


def rss_kib(server: Server) -> int:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


def stalled(server: Server, path: str, token: str | None, sent: bytes = b"{") -> socket.socket:
    """A POST announcing a 1 MiB JSON body, of which only `sent` ever arrives."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {MIB}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def answer(sock: socket.socket) -> tuple[bytes, bool]:
    """What the server sent, and whether it then closed the connection."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        return data, False
    return data, True


def status_and_body(data: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_300_unauthenticated_stalled_bodies_are_refused_at_once(
    server: Server, tenant: Tenant
) -> None:
    before = rss_kib(server)
    targets = [
        ("/admin/v1/tenants/acme/changes", None),
        ("/admin/v1/tenants/acme/changes", "not-the-admin-token"),
        ("/v1/promotions", None),
        ("/v1/promotions", "hub_not_a_valid_token"),
        ("/v1/stores/s-001/catalog/uploads", None),
    ]
    started = time.monotonic()
    socks = [stalled(server, *targets[n % len(targets)], sent=b"x" * 4096) for n in range(300)]
    peak = rss_kib(server)
    refused = 0
    for sock in socks:
        with sock:
            data, closed = answer(sock)
            assert closed, "the server kept a refused connection open"
            if data:
                status, body = status_and_body(data)
                assert status == 401 and b"connection: close" in data.lower()
                assert body["error"]["code"] in ("unauthorized", "invalid_token")  # type: ignore[index]
                refused += 1
    elapsed = time.monotonic() - started
    after = rss_kib(server)
    assert refused >= 290  # a reset may eat an answer the client had not read yet
    assert elapsed < TIMEOUT * 5  # refused at once, not after the body timeout
    assert max(peak, after) - before < 40 * 1024, (before, peak, after)
    with socket.create_connection(("127.0.0.1", server.port)) as probe:  # still serving
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer(probe)[0].startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("api", ["admin", "partner", "catalog file"])
def test_an_authenticated_stalled_body_gets_408_after_the_timeout(
    server: Server, tenant: Tenant, api: str
) -> None:
    token = CI_TOKEN if api == "admin" else tenant.token()
    path = {
        "admin": f"/admin/v1/tenants/{tenant.name}/changes",
        "partner": "/v1/promotions",
        "catalog file": "/v1/stores/s-001/catalog/uploads",
    }[api]
    started = time.monotonic()
    with stalled(server, path, token) as sock:
        data, closed = answer(sock)
    elapsed = time.monotonic() - started
    status, body = status_and_body(data)
    assert status == 408 and closed
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert TIMEOUT <= elapsed < TIMEOUT + 3
    assert token not in data.decode()
