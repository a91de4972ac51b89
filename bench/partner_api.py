"""What the Partner API costs over loopback, next to a bare FastAPI app served the same way.

Starts `hubops serve` (SQLite file, uvicorn on 127.0.0.1) as a second
process, applies one tenant with a token and a few thousand simulated
orders through the admin API, then sends a bounded number of
`GET /v1/orders` (default page of 50, newest first) from a few concurrent
keep-alive connections with an async httpx client. The same load then goes
to a FastAPI hello-world app under uvicorn in a subprocess, so the figure
for the Partner API reads as "what auth, the database and the order models
add" rather than as an absolute number for this machine.

    python bench/partner_api.py [--orders 3000] [--requests 5000] [--concurrency 8]
                                [--events 1000] [--rate 100]

Figures only: requests/s, p50 and p99 latency, and the end-to-end latency of
webhooks (status change -> signed webhook received on 127.0.0.1) at a steady
rate of status changes. The rate limit is lifted for
the run (HUBOPS_RATE_LIMIT) so the limiter does not shape the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hubops.fingerprint import fingerprint, marker, tenant_key
from hubops.state import secret_address
from hubops.tokens import new_token

HUBOPS = str(Path(sys.executable).parent / "hubops")
HELLO_APP = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def hello() -> dict[str, str]:
    return {"hello": "world"}
"""


@dataclass
class Served:
    """A server subprocess on 127.0.0.1 and where its output goes."""

    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def line(self, label: str) -> str:
        return (
            f"  {label:<44} {self.per_second:8.0f} req/s   p50 {self.percentile(0.50):6.2f} ms"
            f"   p99 {self.percentile(0.99):6.2f} ms"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_up(served: Served, path: str, log: Path) -> Served:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(served.url + path, timeout=0.5).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    served.stop()
    raise RuntimeError(f"server did not come up: {log.read_text(errors='replace')[-2000:]}")


def start_runtime(work: Path, admin_token: str) -> Served:
    port = _free_port()
    log = work / "serve.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "HUBOPS_MASTER_KEY"},
        "HUBOPS_ADMIN_TOKEN": f"bench={admin_token}",
        "HUBOPS_RATE_LIMIT": "1000000,1000000",
        "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",  # the latency receiver listens on 127.0.0.1
    }
    proc = subprocess.Popen(
        [HUBOPS, "serve", "--db", f"sqlite:///{work / 'state.db'}", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return _wait_up(Served(proc, f"http://127.0.0.1:{port}"), "/healthz", log)


def start_hello(work: Path) -> Served:
    """The baseline: the same uvicorn, same log level, one trivial route."""
    app_dir = work / "hello"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "hello_app.py").write_text(HELLO_APP)
    port = _free_port()
    log = work / "hello.log"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "hello_app:app", "--app-dir", str(app_dir)),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "info"),
            "--no-server-header",
        ],
        cwd=work,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return _wait_up(Served(proc, f"http://127.0.0.1:{port}"), "/", log)


def seed_tenant(url: str, admin_token: str, orders: int, concurrency: int) -> str:
    """Apply tenant `bench` with two stores and an all-scopes token; returns the token."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as admin:
        key = base64.b64decode(admin.get("/admin/v1/fingerprint-key").json()["key"])
        token = new_token()
        address = "token/bench"
        sealed = fingerprint(tenant_key(key, "bench"), secret_address(address, "value"), token)
        scopes = ["orders:read", "orders:write", "catalog:read", "catalog:write"]
        changes: list[dict[str, Any]] = [
            _create("tenant/bench", _tenant_body()),
            _create("store/s-001", {"name": "Downtown", "timezone": "UTC"}),
            _create("store/s-002", {"name": "Airport", "timezone": "UTC"}),
            {
                **_create(
                    address,
                    {"scopes": scopes, "stores": None, "expiresAt": None, "value": marker(sealed)},
                ),
                "secrets": {"value": token},
            },
        ]
        applied = admin.post(
            "/admin/v1/tenants/bench/changes", json={"baseRevision": 0, "changes": changes}
        )
        applied.raise_for_status()
    asyncio.run(_simulate_orders(url, headers, orders, concurrency))
    return token


def _tenant_body() -> dict[str, Any]:
    settings = {"instantOrdering": True, "termsOfServiceUrl": None}
    return {"displayName": "Bench Burgers", "plan": "enterprise", "settings": settings}


def _create(address: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"address": address, "action": "create", "body": body}


async def _simulate_orders(url: str, headers: dict[str, str], count: int, concurrency: int) -> None:
    queue = iter(range(count))
    item = {"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"}

    async def worker(client: httpx.AsyncClient) -> None:
        for number in queue:
            body = {"store": f"s-00{1 + number % 2}", "items": [item]}
            response = await client.post("/admin/v1/tenants/bench/orders", json=body)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


async def _load(
    url: str, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> Figures:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:
        for _ in range(min(100, requests)):  # warm-up: connections, caches, first imports
            (await c.get(path)).raise_for_status()
        latencies: list[float] = []
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                start = time.perf_counter()
                response = await c.get(path)
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Figures(requests, elapsed, latencies)


def webhook_latency_lines(
    runtime: Served, admin_token: str, token: str, events: int, rate: float
) -> list[str]:
    """End-to-end webhook latency (status change -> webhook received, p50/p99 at a steady
    rate), measured by the sibling module webhook_latency.py."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import webhook_latency
    finally:
        sys.path.pop(0)
    lines: list[str] = webhook_latency.measure(
        runtime.url, admin_token, token, "bench", events, rate
    )
    return lines


@contextmanager
def scratch(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="hubops-partner-bench-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000, help="orders the tenant holds")
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per app")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workdir", type=Path, default=None, help="keep database and logs here")
    parser.add_argument("--events", type=int, default=1000, help="status changes for webhooks")
    parser.add_argument("--rate", type=float, default=100.0, help="status changes per second")
    args = parser.parse_args(argv)
    if min(args.orders, args.requests, args.concurrency) < 1:
        parser.error("--orders, --requests and --concurrency must be at least 1")

    admin_token = secrets.token_urlsafe(24)
    with scratch(args.workdir) as work:
        runtime = start_runtime(work, admin_token)
        try:
            started = time.perf_counter()
            token = seed_tenant(runtime.url, admin_token, args.orders, args.concurrency)
            seeded = time.perf_counter() - started
            partner = asyncio.run(
                _load(
                    runtime.url,
                    "/v1/orders",
                    {"Authorization": f"Bearer {token}"},
                    args.requests,
                    args.concurrency,
                )
            )
            webhook_lines = webhook_latency_lines(
                runtime, admin_token, token, args.events, args.rate
            )
        finally:
            runtime.stop()
        hello = start_hello(work)
        try:
            baseline = asyncio.run(_load(hello.url, "/", {}, args.requests, args.concurrency))
        finally:
            hello.stop()

    print(
        f"partner API over loopback: {args.requests} requests per app, "
        f"{args.concurrency} concurrent connections (httpx async, keep-alive)"
    )
    print(f"  seeded {args.orders} orders through the admin API in {seeded:.1f} s")
    print(partner.line(f"GET /v1/orders (page of 50, {args.orders} orders):"))
    print(baseline.line("bare FastAPI hello world (same uvicorn):"))
    share = partner.per_second / baseline.per_second
    print(f"  the Partner API serves {share:.0%} of the baseline's requests/s")
    for line in webhook_lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
