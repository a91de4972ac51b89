"""Order webhooks end to end: `hubops serve` under uvicorn, a real receiver on 127.0.0.1.

Signatures are checked by an independent Standard Webhooks implementation
(webhook_receiver.verify), written from the specification, not from ours.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubops.tokens import new_token, new_webhook_secret
from runtime_server import Changes, Server, fingerprint_key, post, with_action
from webhook_receiver import Receiver, Reply, verify

ITEMS = [{"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"}]


@dataclass
class Hub:
    server: Server
    receiver: Receiver
    http: httpx.Client
    changes: Changes
    secret: str
    token: str
    revision: int

    def order(self, store: str = "s-001") -> dict[str, Any]:
        response = self.http.post(
            "/admin/v1/tenants/acme/orders", json={"store": store, "items": ITEMS}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def status(self, order_id: str, status: str) -> httpx.Response:
        return self.http.post(
            f"/v1/orders/{order_id}/status",
            json={"status": status},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def log(self) -> list[dict[str, Any]]:
        return list(self.http.get("/admin/v1/tenants/acme/webhooks/pos/deliveries").json()["items"])

    def wait_log(self, predicate: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.log()
            if predicate(entries):
                return entries
            time.sleep(0.05)
        raise AssertionError(f"delivery log never matched: {self.log()}")


def _start(tmp: Path, receiver: Receiver, url: str | None = None, **env: str) -> Hub:
    workdir = tmp / "runtime"
    workdir.mkdir(exist_ok=True)
    server = Server(
        workdir,
        f"sqlite:///{workdir / 'state.db'}",
        extra_env={
            "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",
            "HUBOPS_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
            "HUBOPS_WEBHOOK_TIMEOUT": "1",
            **env,
        },
    ).start()
    http = server.client()
    changes = Changes("acme", fingerprint_key(http))
    secret, token = new_webhook_secret(), new_token()
    hook = changes.webhook(
        "pos",
        value=secret,
        url=url or receiver.url,
        events=["order.cancelled", "order.created", "order.status_changed"],
    )
    api = changes.token("orders", value=token, scopes=["orders:read", "orders:write"])
    response = post(
        http,
        "acme",
        0,
        [*changes.bootstrap(), with_action(hook, "create"), with_action(api, "create")],
    )
    assert response.status_code == 200, response.text
    return Hub(server, receiver, http, changes, secret, token, response.json()["revision"])


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with Receiver() as receiver:
        started = _start(tmp_path, receiver)
        try:
            yield started
        finally:
            started.http.close()
            started.server.stop()


def test_order_created_is_signed_within_a_second(hub: Hub) -> None:
    before = time.monotonic()
    order = hub.order()
    got = hub.receiver.wait_for(1)[0]
    assert got.at - before < 1.0
    assert verify(hub.secret, got)
    body = json.loads(got.body)
    assert body["type"] == "order.created"
    assert body["data"]["id"] == order["id"] and body["data"]["total"] == "19.00"
    assert body["timestamp"].endswith("Z")
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    entry = hub.wait_log(lambda e: e and e[0]["statusCode"] == 200)[0]
    assert entry["messageId"] == got.headers["webhook-id"] and entry["orderId"] == order["id"]
    assert entry["eventType"] == "order.created" and entry["latencyMs"] >= 0
    assert hub.secret not in hub.server.logs()


def test_events_of_one_order_arrive_in_order_even_across_retries(hub: Hub) -> None:
    hub.receiver.script = [Reply(500), Reply(502)]
    order = hub.order()
    for status in ("ACCEPTED", "PREPARING", "CANCELLED"):
        assert hub.status(order["id"], status).status_code == 200
    got = hub.receiver.wait_for(6)
    kinds = [(json.loads(r.body)["type"], json.loads(r.body)["data"]["status"]) for r in got]
    assert kinds == [
        ("order.created", "RECEIVED"),
        ("order.created", "RECEIVED"),
        ("order.created", "RECEIVED"),
        ("order.status_changed", "ACCEPTED"),
        ("order.status_changed", "PREPARING"),
        ("order.cancelled", "CANCELLED"),
    ]
    assert len({r.headers["webhook-id"] for r in got[:3]}) == 1  # retries keep the id
    assert len({r.headers["webhook-id"] for r in got}) == 4
    assert all(verify(hub.secret, r) for r in got)


def test_timeouts_redirects_and_retry_after(hub: Hub) -> None:
    hub.receiver.script = [
        Reply(200, delay=1.5),  # slower than HUBOPS_WEBHOOK_TIMEOUT=1: a failed attempt
        Reply(302, headers={"location": "https://elsewhere.example/"}),
        Reply(429, headers={"retry-after": "2"}),
    ]
    hub.order()
    got = hub.receiver.wait_for(4, timeout=15)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert got[3].at - got[2].at >= 1.9  # Retry-After honoured over the 0.3 s schedule
    log = hub.wait_log(lambda e: len(e) == 4 and e[0]["statusCode"] == 200)
    assert [e["statusCode"] for e in reversed(log)] == [None, 302, 429, 200]
    assert log[3]["error"] == "timed out"
    assert "redirect (302) not followed" in log[2]["error"]


def test_schedule_exhausted_then_redelivered(hub: Hub) -> None:
    hub.receiver.script = [Reply(500)] * 4
    hub.order()
    log = hub.wait_log(lambda e: len(e) == 4)
    time.sleep(0.8)
    assert len(hub.log()) == 4  # 1 + 3 retries, then it stays failed
    message = log[0]["messageId"]
    response = hub.http.post(f"/admin/v1/tenants/acme/webhooks/pos/deliveries/{message}/redeliver")
    assert response.status_code == 202
    got = hub.receiver.wait_for(5)
    assert got[4].headers["webhook-id"] == message and verify(hub.secret, got[4])
    missing = hub.http.post("/admin/v1/tenants/acme/webhooks/pos/deliveries/msg_nope/redeliver")
    assert missing.status_code == 404 and missing.json()["error"]["code"]


def test_gone_disables_the_webhook(hub: Hub) -> None:
    hub.receiver.script = [Reply(410)]
    hub.order()
    log = hub.wait_log(lambda e: bool(e))
    assert log[0]["statusCode"] == 410 and "webhook disabled" in log[0]["error"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = hub.http.get("/admin/v1/tenants/acme").json()
        if not state["state"]["webhook/pos"]["enabled"]:
            break
        time.sleep(0.05)
    assert state["state"]["webhook/pos"]["enabled"] is False
    assert state["revision"] == hub.revision + 1
    audit = hub.http.get("/admin/v1/tenants/acme/changes").json()["items"][0]
    assert audit["by"] == "runtime"
    hub.order()
    time.sleep(0.8)
    assert len(hub.receiver.received) == 1  # a disabled webhook receives nothing


def test_pending_deliveries_survive_sigkill(hub: Hub) -> None:
    hub.receiver.script = [Reply(503)] * 3
    orders = [hub.order() for _ in range(5)]
    hub.receiver.wait_for(1)
    hub.server.stop(signal.SIGKILL)
    hub.server.start()
    hub.http.close()
    hub.http = hub.server.client()
    got = hub.receiver.wait_for(8, timeout=20)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        delivered = {json.loads(r.body)["data"]["id"] for r in hub.receiver.received}
        if delivered == {o["id"] for o in orders}:
            break
        time.sleep(0.1)
    assert delivered == {o["id"] for o in orders}
    by_id: dict[str, set[str]] = {}
    for received in hub.receiver.received:
        by_id.setdefault(received.headers["webhook-id"], set()).add(
            json.loads(received.body)["data"]["id"]
        )
    assert len(by_id) == 5 and all(len(v) == 1 for v in by_id.values())  # duplicates keep their id
    assert got


def test_secret_rotation_signs_with_old_and_new(hub: Hub) -> None:
    new_secret = new_webhook_secret()
    hook = hub.changes.webhook(
        "pos",
        value=new_secret,
        url=hub.receiver.url,
        events=["order.cancelled", "order.created", "order.status_changed"],
    )
    response = post(hub.http, "acme", hub.revision, [with_action(hook, "update")])
    assert response.status_code == 200, response.text
    hub.order()
    got = hub.receiver.wait_for(1)[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(new_secret, got) and verify(hub.secret, got)


def test_name_resolving_to_a_private_address_is_refused(tmp_path: Path) -> None:
    host = socket.gethostname()
    try:
        address = socket.getaddrinfo(host, 443)[0][4][0]
    except OSError:
        pytest.skip("this machine's own name does not resolve")
    import ipaddress

    if ipaddress.ip_address(address).is_global:
        pytest.skip("this machine's name resolves to a public address")
    with Receiver() as receiver:
        hub = _start(
            tmp_path,
            receiver,
            url=f"https://{host}:{receiver.port}/hooks",
            HUBOPS_ALLOW_LOOPBACK_WEBHOOKS="0",
        )
        try:
            hub.order()
            log = hub.wait_log(lambda e: bool(e))
            assert f'the host "{host}" resolves to {address}' in log[0]["error"]
            assert log[0]["statusCode"] is None
            assert receiver.received == []
        finally:
            hub.http.close()
            hub.server.stop()


def test_unreadable_signing_secret_fails_only_that_webhook(hub: Hub) -> None:
    import sqlite3

    with sqlite3.connect(hub.server.workdir / "state.db") as db:
        db.execute(
            "UPDATE secret_values SET sealed = ? WHERE address = 'webhook/pos'", (b"\0" * 40,)
        )
    hub.order()
    log = hub.wait_log(lambda e: bool(e))
    assert "signing secret cannot be opened" in log[0]["error"]
    assert hub.receiver.received == []
    assert hub.http.get("/healthz").status_code == 200
