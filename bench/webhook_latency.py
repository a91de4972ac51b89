"""End-to-end webhook latency: an order's status change -> the signed webhook received.

Used by bench/partner_api.py against a running `hubops serve` (which must
admit loopback webhooks: HUBOPS_ALLOW_LOOPBACK_WEBHOOKS=1). It applies a
webhook pointing at a receiver in this process on 127.0.0.1, creates orders,
then moves them through the status machine at a steady rate (default 100
events/s) and matches each received event to the moment its status change
was sent. Bounded: a fixed number of events, then it stops.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from hubops.fingerprint import fingerprint, marker, tenant_key
from hubops.state import secret_address
from hubops.tokens import new_webhook_secret

STEPS = ("ACCEPTED", "PREPARING", "READY_FOR_PICKUP", "PICKED_UP", "DELIVERED")
ITEM = {"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections in bursts, and a dropped SYN is
    # retried a second later: that, not hubops, would be the measured tail.
    request_queue_size = 128
    daemon_threads = True


class _Receiver:
    """Records when each (order, status) event arrived."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.perf_counter()
                data = json.loads(body)["data"]
                receiver.arrived.setdefault((data["id"], data["status"]), now)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def add_webhook(
    admin: httpx.Client,
    tenant: str,
    url: str,
    name: str = "latency",
    events: tuple[str, ...] = ("order.status_changed",),
) -> None:
    """Apply webhook `name` of `tenant`, pointing at `url`, with a fresh secret."""
    key = base64.b64decode(admin.get("/admin/v1/fingerprint-key").json()["key"])
    revision = admin.get(f"/admin/v1/tenants/{tenant}").json()["revision"]
    secret = new_webhook_secret()
    address = f"webhook/{name}"
    fp = fingerprint(tenant_key(key, tenant), secret_address(address, "secret"), secret)
    body = {
        "url": url,
        "events": list(events),
        "stores": None,
        "enabled": True,
        "integration": None,
        "secret": marker(fp),
    }
    change = {"address": address, "action": "create", "body": body, "secrets": {"secret": secret}}
    response = admin.post(
        f"/admin/v1/tenants/{tenant}/changes",
        json={"baseRevision": revision, "changes": [change]},
    )
    response.raise_for_status()


async def _drive(
    url: str, admin_token: str, token: str, tenant: str, events: int, rate: float
) -> dict[tuple[str, str], float]:
    # Enough orders that one order's next step comes at least half a second after its last.
    orders_needed = max(-(-events // len(STEPS)), min(events, int(rate / 2) or 1))
    admin_headers = {"Authorization": f"Bearer {admin_token}"}
    sent: dict[tuple[str, str], float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        orders = []
        for number in range(orders_needed):
            body = {"store": "s-001" if number % 2 else "s-002", "items": [ITEM]}
            created = await client.post(
                f"/admin/v1/tenants/{tenant}/orders", json=body, headers=admin_headers
            )
            created.raise_for_status()
            orders.append(created.json()["id"])
        partner = {"Authorization": f"Bearer {token}"}

        previous: dict[str, asyncio.Task[None]] = {}

        async def change(order: str, status: str, after: asyncio.Task[None] | None) -> None:
            if after is not None:
                await after  # one order's steps stay in order even if the server lags
            sent[(order, status)] = time.perf_counter()
            response = await client.post(
                f"/v1/orders/{order}/status", json={"status": status}, headers=partner
            )
            response.raise_for_status()

        tasks = []
        began = time.perf_counter()
        for index in range(events):
            order = orders[index % len(orders)]
            status = STEPS[index // len(orders)]
            delay = began + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(change(order, status, previous.get(order)))
            previous[order] = task
            tasks.append(task)
        await asyncio.gather(*tasks)
    return sent


@dataclass(frozen=True)
class Latency:
    sent: int
    received: int
    p50_ms: float
    p99_ms: float
    direct_p50_ms: float  # the baseline: a plain POST from here to the same receiver
    direct_p99_ms: float

    def line(self) -> str:
        missing = self.sent - self.received
        tail = f", {missing} not received within 30 s" if missing else ""
        return (
            f"  webhook end to end (status change -> received, {self.sent} events): "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms{tail}; baseline plain POST "
            f"p50 {self.direct_p50_ms:.1f} ms, p99 {self.direct_p99_ms:.1f} ms"
        )


def _direct(receiver: _Receiver, count: int, rate: float) -> list[float]:
    """Milliseconds from sending to arrival of plain POSTs of an event's size, at `rate`."""
    sent: dict[tuple[str, str], float] = {}
    with httpx.Client(timeout=30) as client:
        began = time.perf_counter()
        for number in range(count):
            delay = began + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            key = (f"direct-{number}", "ACCEPTED")
            data = {"id": key[0], "status": key[1], "items": [ITEM], "total": "9.50"}
            sent[key] = time.perf_counter()
            client.post(receiver.url, json={"type": "order.status_changed", "data": data})
    return [(receiver.arrived[key] - at) * 1000 for key, at in sent.items()]


def measure(
    url: str, admin_token: str, token: str, tenant: str, events: int = 1000, rate: float = 100.0
) -> Latency:
    """p50/p99 of status change -> webhook received at a steady `rate`, and the baseline."""
    receiver = _Receiver()
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
        ) as admin:
            add_webhook(admin, tenant, receiver.url)
        sent = asyncio.run(_drive(url, admin_token, token, tenant, events, rate))
        deadline = time.monotonic() + 30
        while len(receiver.arrived) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = [
            (receiver.arrived[key] - at) * 1000
            for key, at in sent.items()
            if key in receiver.arrived
        ]
        direct = _direct(receiver, min(events, 500), rate)
    finally:
        receiver.close()
    latencies = latencies or [float("nan")]
    return Latency(
        sent=len(sent),
        received=len(latencies),
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        direct_p50_ms=_percentile(direct, 0.5),
        direct_p99_ms=_percentile(direct, 0.99),
    )
