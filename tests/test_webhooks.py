"""Order webhooks end to end: `hubops serve` under uvicorn, a real receiver on 127.0.0.1.

Signatures are checked by an independent Standard Webhooks implementation
(webhook_receiver.verify), written from the specification, not from ours.
The delivery rules one by one (retries, Retry-After, 410, redirects, names,
exhaustion, unreadable secrets) are table-tested in-process in
`test_delivery_rules.py`; these are the few that need the real thing.
"""

from __future__ import annotations

import json
import signal
import time

from hubops.tokens import new_webhook_secret
from runtime_server import post, with_action
from webhook_hub import Hub
from webhook_receiver import Reply, verify


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


def test_a_slow_endpoint_times_out_and_is_retried(hub: Hub) -> None:
    hub.receiver.script = [Reply(200, delay=1.5)]  # slower than HUBOPS_WEBHOOK_TIMEOUT=1
    hub.order()
    got = hub.receiver.wait_for(2, timeout=15)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    log = hub.wait_log(lambda e: len(e) == 2 and e[0]["statusCode"] == 200)
    assert log[1]["statusCode"] is None and log[1]["error"] == "timed out"


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
