"""What the Partner API serves under wrk, next to a bare FastAPI app under the same uvicorn.

Starts `hubops serve` (SQLite file, uvicorn on 127.0.0.1) and a FastAPI
hello world the same way, applies one tenant with a token through the admin
API, and seeds `--orders` orders (default 100,000) through the runtime's
own store function (`create_orders`, in batches), not through HTTP. Then,
each with wrk over `--connections` keep-alive connections:

* `GET /v1/orders?limit=50` saturated, and the hello world saturated;
* both again paced at half the rate the Partner API reached (p99 there);
* `GET /v1/promotions?limit=1`: the token check (hash lookup, rate limit,
  scope) with an empty answer, i.e. what every Partner API request pays;
* webhooks: an event -> its signed webhook received on 127.0.0.1 at a
  steady rate, next to a plain POST of the same size to the same receiver.

    python bench/partner_api.py [--orders 100000] [--seconds 10] [--connections 16]
                                [--events 1000] [--rate 100]

Needs `wrk` (Debian package `wrk`). Figures only: nothing here is a pass/fail check.
The rate limit is lifted (HUBOPS_RATE_LIMIT) so it does not shape the figures,
but every request still pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shutil
import signal
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
from hubops.runtime.db import make_engine, reading
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.partner.models import OrderIn, OrderItem
from hubops.runtime.partner.orders import create_orders
from hubops.state import secret_address
from hubops.tokens import new_token

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webhook_latency
from figures import Figure, table
from processes import free_port
from wrk import run_wrk

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


def start_runtime(
    work: Path,
    admin_token: str,
    db_url: str | None = None,
    env: dict[str, str] | None = None,
    name: str = "serve",
) -> Served:
    """`hubops serve` on `db_url` (default: `work/state.db`), its log in `work/NAME.log`."""
    port = free_port()
    log = work / f"{name}.log"
    environment = {
        **{k: v for k, v in os.environ.items() if k != "HUBOPS_MASTER_KEY"},
        "HUBOPS_ADMIN_TOKEN": f"bench={admin_token}",
        "HUBOPS_RATE_LIMIT": "1000000,1000000",
        "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",  # the latency receiver listens on 127.0.0.1
        **(env or {}),
    }
    database = db_url or f"sqlite:///{work / 'state.db'}"
    proc = subprocess.Popen(
        [HUBOPS, "serve", "--db", database, "--port", str(port)],
        cwd=work,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return _wait_up(Served(proc, f"http://127.0.0.1:{port}"), "/healthz", log)


def start_hello(work: Path) -> Served:
    """The baseline: the same uvicorn, same log level, one trivial route."""
    app_dir = work / "hello"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "hello_app.py").write_text(HELLO_APP)
    port = free_port()
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
        scopes = ["orders:read", "orders:write", "catalog:read", "catalog:write", "promotions:read"]
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


def seed_orders(db_url: str, tenant: str, count: int, batch: int = 10_000) -> None:
    """`count` orders of the tenant through the runtime's own store function, in batches."""
    engine = make_engine(db_url)
    try:
        with reading(engine) as conn:
            tenant_id = tenant_id_or_404(conn, tenant)
        item = OrderItem(sku="B1", name="Burger", quantity=2, unitPrice="9.50")
        for start in range(0, count, batch):
            bodies = [
                OrderIn(store=f"s-00{1 + n % 2}", items=[item])
                for n in range(start, min(count, start + batch))
            ]
            create_orders(engine, tenant_id, bodies)
    finally:
        engine.dispose()


@contextmanager
def scratch(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="hubops-partner-bench-") as tmp:
        yield Path(tmp)


def measure(args: argparse.Namespace, work: Path) -> list[Figure]:
    admin_token = secrets.token_urlsafe(24)
    runtime = start_runtime(work, admin_token)
    hello = start_hello(work)
    try:
        started = time.perf_counter()
        token = seed_tenant(runtime.url, admin_token, 0, 1)
        seed_orders(f"sqlite:///{work / 'state.db'}", "bench", args.orders)
        seeded = time.perf_counter() - started
        print(f"  seeded {args.orders} orders through the store in {seeded:.1f} s", flush=True)
        auth = {"Authorization": f"Bearer {token}"}
        orders_url = f"{runtime.url}/v1/orders?limit=50"
        seconds, connections = args.seconds, args.connections
        run_wrk(orders_url, 2, connections, auth)  # warm-up: connections, caches, imports
        run_wrk(hello.url + "/", 1, connections)
        base = run_wrk(hello.url + "/", seconds, connections)
        orders = run_wrk(orders_url, seconds, connections, auth)
        half = orders.per_second / 2
        base_paced = run_wrk(hello.url + "/", seconds, connections, rate=half)
        paced = run_wrk(orders_url, seconds, connections, auth, rate=half)
        check_url = f"{runtime.url}/v1/promotions?limit=1"
        token_check = run_wrk(check_url, seconds, connections, auth)
        for result in (orders, paced, token_check):
            if result.errors:
                print(f"  note: {result.errors} non-2xx answers or socket errors", flush=True)
        hooks = webhook_latency.measure(
            [runtime.url],
            f"sqlite:///{work / 'state.db'}",
            admin_token,
            token,
            "bench",
            args.rate,
            max(1, round(args.events / args.rate)),
        )
    finally:
        runtime.stop()
        hello.stop()
    api = f"Partner API ({args.orders:,} orders, wrk -c{connections})"
    base_name = "FastAPI hello world"
    events = f"webhooks ({args.events} events at {args.rate:.0f}/s)"
    direct = "wrk POSTing to the receiver"
    return [
        Figure(
            api, "GET /v1/orders?limit=50", orders.per_second, "req/s", base_name, base.per_second
        ),
        Figure(api, "  p50 saturated", orders.p50_ms, "ms", base_name, base.p50_ms),
        Figure(api, "  p99 saturated", orders.p99_ms, "ms", base_name, base.p99_ms),
        Figure(
            api,
            f"  paced at {half:.0f}/s: reached",
            paced.per_second,
            "req/s",
            base_name,
            base_paced.per_second,
        ),
        Figure(
            api, f"  paced at {half:.0f}/s: p99", paced.p99_ms, "ms", base_name, base_paced.p99_ms
        ),
        Figure(
            api,
            "token check: GET /v1/promotions?limit=1",
            token_check.per_second,
            "req/s",
            base_name,
            base.per_second,
        ),
        Figure(
            events,
            "event -> received, p50",
            hooks.p50_ms,
            "ms",
            direct,
            hooks.direct_p50_ms,
        ),
        Figure(
            events,
            "event -> received, p99",
            hooks.p99_ms,
            "ms",
            direct,
            hooks.direct_p99_ms,
        ),
        Figure(
            events, "events received within 30 s", hooks.received, "", "events accepted", hooks.sent
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="orders the tenant holds")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workdir", type=Path, default=None, help="keep database and logs here")
    parser.add_argument("--events", type=int, default=1000, help="status changes for webhooks")
    parser.add_argument("--rate", type=float, default=100.0, help="status changes per second")
    args = parser.parse_args(argv)
    if min(args.orders, args.seconds, args.connections, args.events) < 1:
        parser.error("--orders, --seconds, --connections and --events must be at least 1")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    with scratch(args.workdir) as work:
        figures = measure(args, work)
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
