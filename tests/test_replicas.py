"""Two `hubops serve` processes on one fresh PostgreSQL database are one service.

Change sets sent through both at once: one wins per base revision and the
audit's revisions stay contiguous. Orders and status changes through both,
webhooks to one loopback receiver: every event arrives, a duplicate only
ever repeats a webhook-id, and each order's events arrive in order. One
replica SIGKILLed with deliveries in flight: the other sends them once the
lease ends. One SIGTERMed: it exits 0 within its grace and hands back what
it had not finished. And 410s racing change sets lose neither.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from databases import pg_database
from partner_env import Tenant
from runtime_server import Server, post, with_action
from webhook_receiver import Received, Receiver, Reply

STATUSES = ("ACCEPTED", "PREPARING", "CANCELLED")
LEASE = 6
GRACE = 1


@dataclass
class Pair:
    a: Server
    b: Server
    receiver: Receiver

    @property
    def both(self) -> tuple[Server, Server]:
        return self.a, self.b


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    env = {
        "HUBOPS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",
        "HUBOPS_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2,0.2,0.2",
        "HUBOPS_WEBHOOK_TIMEOUT": "2",
        "HUBOPS_WEBHOOK_LEASE_SECONDS": str(LEASE),
        "HUBOPS_SHUTDOWN_GRACE": str(GRACE),
    }
    servers: list[Server] = []
    with pg_database() as url, Receiver() as receiver:
        try:
            for name in ("a", "b"):
                (tmp_path / name).mkdir()
                servers.append(Server(tmp_path / name, url, extra_env=env).start())
            yield Pair(servers[0], servers[1], receiver)
        finally:
            for srv in servers:
                srv.stop(signal.SIGKILL)


def _hooked_tenant(pair: Pair, admin: httpx.Client, url: str | None = None) -> Tenant:
    tenant = Tenant.create(pair.a, admin)
    hook = tenant.changes.webhook(
        "pos",
        url=url or pair.receiver.url,
        events=["order.created", "order.status_changed", "order.cancelled"],
    )
    tenant.apply([with_action(hook, "create")])
    return tenant


def _events(received: list[Received]) -> dict[str, list[tuple[str, str]]]:
    """Per order, the (webhook-id, status) of each arrival, in arrival order."""
    by_order: dict[str, list[tuple[str, str]]] = {}
    for got in received:
        data = json.loads(got.body)["data"]
        by_order.setdefault(data["id"], []).append((got.headers["webhook-id"], data["status"]))
    return by_order


def _assert_all_delivered_in_order(
    receiver: Receiver, orders: list[str], per_order: int, timeout: float = 30
) -> None:
    """Every order's `per_order` messages arrived; repeats only with the same webhook-id and
    body; and each message first arrived after the order's earlier ones."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = _events(receiver.received)
        if all(len({wid for wid, _ in seen.get(o, [])}) >= per_order for o in orders):
            break
        time.sleep(0.1)
    by_order = _events(receiver.received)
    expected = list(("RECEIVED", *STATUSES)[:per_order])
    for order in orders:
        arrivals = by_order.get(order, [])
        status_of: dict[str, set[str]] = {}
        for wid, status in arrivals:
            status_of.setdefault(wid, set()).add(status)
        assert all(len(s) == 1 for s in status_of.values()), arrivals
        assert len(status_of) == per_order, (order, arrivals)
        first_arrivals = list(dict.fromkeys(wid for wid, _ in arrivals))
        assert [status_of[wid].pop() for wid in first_arrivals] == expected, (order, arrivals)


def test_change_sets_through_both_replicas_one_wins_each_time(pair: Pair) -> None:
    with pair.a.client() as admin_a, pair.b.client() as admin_b:
        tenant = Tenant.create(pair.a, admin_a)
        revision = tenant.revision
        start = threading.Barrier(2)

        def send(client: httpx.Client, name: str, base: int) -> httpx.Response:
            change = {
                "address": f"store/{name}",
                "action": "create",
                "body": {"name": name, "timezone": "UTC"},
            }
            start.wait()
            return post(client, tenant.name, base, [change])

        with ThreadPoolExecutor(2) as pool:
            for round_ in range(8):
                answers = [
                    pool.submit(send, client, f"r{round_}-{side}", revision)
                    for side, client in (("a", admin_a), ("b", admin_b))
                ]
                codes = sorted(f.result().status_code for f in answers)
                assert codes == [200, 409], [f.result().text for f in answers]
                revision += 1
        audit = admin_b.get(f"/admin/v1/tenants/{tenant.name}/changes", params={"limit": 100})
        revisions = [r["revision"] for r in audit.json()["items"]]
        assert sorted(revisions) == list(range(1, revision + 1))
        state = admin_a.get(f"/admin/v1/tenants/{tenant.name}").json()
        assert state["revision"] == revision
        assert sum(a.startswith("store/r") for a in state["state"]) == 8


def test_deliveries_through_both_replicas_arrive_once_each_and_in_order(pair: Pair) -> None:
    pair.receiver.script = [Reply(503), Reply(200, delay=0.3), Reply(500)] * 4
    with pair.a.client() as admin_a, pair.b.client() as admin_b:
        tenant = _hooked_tenant(pair, admin_a)
        token = tenant.token(scopes=["orders:write"])
        orders = []
        for i in range(12):
            tenant.admin = admin_a if i % 2 == 0 else admin_b
            orders.append(tenant.order()["id"])
        partners = [
            httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"})
            for srv in pair.both
        ]
        try:
            turns = itertools.cycle(partners)
            for status in STATUSES:
                for order in orders:
                    answer = next(turns).post(f"/v1/orders/{order}/status", json={"status": status})
                    assert answer.status_code == 200, answer.text
        finally:
            for client in partners:
                client.close()
    _assert_all_delivered_in_order(pair.receiver, orders, per_order=4)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_replica_stopped_mid_send_loses_nothing(pair: Pair, sig: signal.Signals) -> None:
    # Answers slower than the grace keep deliveries in flight when the replica goes; b is
    # paused meanwhile, so that a certainly holds them.
    pair.receiver.script = [Reply(200, delay=1.5)] * 30
    assert pair.a.proc is not None and pair.b.proc is not None
    pair.b.proc.send_signal(signal.SIGSTOP)
    try:
        with pair.a.client() as admin_a:
            tenant = _hooked_tenant(pair, admin_a)
            orders = [tenant.order()["id"] for _ in range(10)]
        pair.receiver.wait_for(2)
    finally:
        pair.b.proc.send_signal(signal.SIGCONT)
    stopped_at = time.monotonic()
    pair.a.proc.send_signal(sig)
    code = pair.a.proc.wait(timeout=15)
    if sig == signal.SIGTERM:
        # Out within its grace, exit 0, and what it still had in flight handed back at once
        # rather than left to its lease.
        assert code == 0, pair.a.logs()[-2000:]
        assert time.monotonic() - stopped_at < GRACE + 2
        handed_back = r"webhook worker stopped; [1-9]\d* deliveries handed back"
        assert re.search(handed_back, pair.a.logs())
    _assert_all_delivered_in_order(pair.receiver, orders, per_order=1, timeout=LEASE + 30)


def test_gone_webhooks_racing_change_sets_through_both_replicas(pair: Pair) -> None:
    with pair.a.client() as admin_a, pair.b.client() as admin_b:
        tenant = Tenant.create(pair.a, admin_a)
        hooks = [
            with_action(
                tenant.changes.webhook(f"gone{i}", url=f"{pair.receiver.url}?h={i}"), "create"
            )
            for i in range(3)
        ]
        tenant.apply(hooks)
        pair.receiver.script = [Reply(410)] * 50

        def apply_through(client: httpx.Client, prefix: str) -> int:
            done = 0
            for k in range(6):
                change: dict[str, Any] = {
                    "address": f"store/{prefix}{k}",
                    "action": "create",
                    "body": {"name": "x", "timezone": "UTC"},
                }
                while True:
                    base = client.get(f"/admin/v1/tenants/{tenant.name}").json()["revision"]
                    answer = post(client, tenant.name, base, [change])
                    if answer.status_code == 200:
                        done += 1
                        break
                    assert answer.status_code == 409, answer.text
            return done

        with ThreadPoolExecutor(2) as pool:
            results = [
                pool.submit(apply_through, c, p) for c, p in ((admin_a, "a"), (admin_b, "b"))
            ]
            for _ in range(3):  # each order is a delivery to every webhook, answered 410
                tenant.order()
            applied = sum(f.result() for f in results)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = admin_a.get(f"/admin/v1/tenants/{tenant.name}").json()
            if all(not state["state"][f"webhook/gone{i}"]["enabled"] for i in range(3)):
                break
            time.sleep(0.1)
        assert all(not state["state"][f"webhook/gone{i}"]["enabled"] for i in range(3))
        audit = admin_b.get(f"/admin/v1/tenants/{tenant.name}/changes", params={"limit": 100})
        items = audit.json()["items"]
    assert sorted(r["revision"] for r in items) == list(range(1, state["revision"] + 1))
    assert sum(r["by"] == "runtime" for r in items) == 3
    assert applied == 12
    assert sum(a.startswith("store/") for a in state["state"]) == 2 + 12
