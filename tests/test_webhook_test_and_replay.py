"""Test events and replay, against `hubops serve` and a real receiver on 127.0.0.1.

Signatures are checked by the independent implementation in webhook_receiver.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from sqlalchemy import case, event, update
from standardwebhooks.webhooks import WebhookVerificationError

from hubops.runtime import RuntimeSettings, create_app, sqlite_url
from hubops.runtime.db import writing
from hubops.runtime.tables import webhook_deliveries
from hubops.runtime.webhooks.outbox import enqueue
from runtime_server import CI_TOKEN, Changes, with_action
from webhook_hub import Hub
from webhook_receiver import Reply, verify


def test_test_event_is_signed_delivered_whatever_events_lists_and_logged(hub: Hub) -> None:
    response = hub.http.post("/admin/v1/tenants/acme/webhooks/pos/test")
    assert response.status_code == 202, response.text
    message_id = response.json()["messageId"]
    got = hub.receiver.wait_for(1)[0]
    assert verify(hub.secret, got)
    # and with the Standard Webhooks reference library, as a partner would
    verified = standardwebhooks.Webhook(hub.secret).verify(got.body, got.headers)
    assert verified == {
        "type": "webhook.test",
        "timestamp": verified["timestamp"],
        "data": {"tenant": "acme", "webhook": "pos"},
    }
    tampered = {**got.headers, "webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError):
        standardwebhooks.Webhook(hub.secret).verify(got.body, tampered)
    assert got.headers["webhook-id"] == message_id
    body = json.loads(got.body)
    assert body["type"] == "webhook.test"
    assert body["data"] == {"tenant": "acme", "webhook": "pos"}
    entry = hub.wait_log(lambda e: e and e[0]["messageId"] == message_id)[0]
    assert entry["eventType"] == "webhook.test" and entry["statusCode"] == 200
    assert entry["orderId"] is None
    missing = hub.http.post("/admin/v1/tenants/acme/webhooks/nope/test")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_cli_test_prints_status_and_latency_and_exits_by_outcome(
    hub: Hub,
    hubops,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", CI_TOKEN)
    ok = hubops("webhook", "test", "acme", "pos", "--runtime", hub.server.url)
    assert ok.code == 0, ok.text
    assert ok.out.startswith("Test event msg_") and ": 200 in " in ok.out
    assert ok.out.rstrip().endswith(" ms")
    hub.receiver.script = [Reply(503)]
    failed = hubops("webhook", "test", "acme", "pos", "--runtime", hub.server.url)
    assert failed.code == 1
    assert ": 503 in " in failed.err and "(endpoint answered 503)" in failed.err
    unknown = hubops("webhook", "test", "acme", "nope", "--runtime", hub.server.url)
    assert unknown.code == 1 and "no such webhook" in unknown.err
    assert hub.secret not in ok.text + failed.text + unknown.text


def _fail_two_orders_then_succeed_one(hub: Hub) -> tuple[list[str], str]:
    """Two orders whose deliveries finally fail (1 + 3 retries each), then one that succeeds;
    the webhook-ids of the failed ones and of the successful one."""
    hub.receiver.script = [Reply(500)] * 8
    failed = [hub.order()["id"], hub.order()["id"]]
    hub.wait_log(lambda e: len([a for a in e if a["statusCode"] == 500]) == 8, timeout=20)
    hub.order()
    got = hub.receiver.wait_for(9)
    ids = {json.loads(r.body)["data"]["id"]: r.headers["webhook-id"] for r in got}
    succeeded = next(mid for oid, mid in ids.items() if oid not in failed)
    return [ids[oid] for oid in failed], succeeded


def test_replay_sends_failed_or_all_messages_again_with_their_own_ids(hub: Hub) -> None:
    since = "2000-01-01T00:00:00Z"
    failed, succeeded = _fail_two_orders_then_succeed_one(hub)
    url = "/admin/v1/tenants/acme/webhooks/pos/replay"
    response = hub.http.post(url, json={"since": since, "only": "failed"})
    assert response.status_code == 202, response.text
    assert response.json() == {"count": 2}
    again = hub.receiver.wait_for(11)[9:]
    assert sorted(r.headers["webhook-id"] for r in again) == sorted(failed)
    assert all(verify(hub.secret, r) for r in again)
    hub.wait_log(lambda e: len(e) == 11)  # recorded: no longer pending
    everything = hub.http.post(url, json={"since": since, "only": "all"})
    assert everything.json() == {"count": 3}
    third = hub.receiver.wait_for(14)[11:]
    assert sorted(r.headers["webhook-id"] for r in third) == sorted([*failed, succeeded])
    future = hub.http.post(url, json={"since": "2999-01-01T00:00:00Z", "only": "all"})
    assert future.json() == {"count": 0}
    time.sleep(0.5)
    assert len(hub.receiver.received) == 14


def test_replay_refuses_a_time_without_timezone(hub: Hub) -> None:
    url = "/admin/v1/tenants/acme/webhooks/pos/replay"
    response = hub.http.post(url, json={"since": "2026-01-01T00:00:00", "only": "all"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    wrong = hub.http.post(url, json={"since": "2026-01-01T00:00:00Z", "only": "some"})
    assert wrong.status_code == 422


def test_cli_replay(hub: Hub, hubops, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", CI_TOKEN)
    failed, _ = _fail_two_orders_then_succeed_one(hub)
    runtime = ("--runtime", hub.server.url)
    result = hubops("webhook", "replay", "acme", "pos", "--since", "2000-01-01T00:00:00Z", *runtime)
    assert result.code == 0, result.text
    assert result.out == "Queued 2 failed messages for acme/pos again.\n"
    assert sorted(r.headers["webhook-id"] for r in hub.receiver.wait_for(11)[9:]) == sorted(failed)
    hub.wait_log(lambda e: len(e) == 11)  # recorded: no longer pending
    every = hubops(
        "webhook", "replay", "acme", "pos", "--since", "2000-01-01T00:00Z", "--all", *runtime
    )
    assert every.code == 0 and every.out == "Queued 3 messages for acme/pos again.\n"
    bad = hubops("webhook", "replay", "acme", "pos", "--since", "yesterday", *runtime)
    assert bad.code == 1 and "--since must be an ISO 8601 time with a timezone" in bad.err
    assert "yesterday" not in bad.err


def test_replay_of_many_messages_is_done_in_short_transactions(tmp_path: Path) -> None:
    """2,500 messages, replayed by the embedded runtime: counted across the batch boundaries,
    and in several short transactions (batches of 1,000), not one long one."""
    settings = RuntimeSettings(db_url=sqlite_url(tmp_path / "state.db"), admin_tokens={"ci": "t"})
    app = create_app(settings)
    engine = app.state.runtime.engine
    commits: list[object] = []
    event.listen(engine, "commit", commits.append)

    async def replay(client: httpx.AsyncClient, only: str) -> tuple[int, int]:
        """(count, transactions it took)."""
        before = len(commits)
        response = await client.post(
            "/admin/v1/tenants/acme/webhooks/pos/replay",
            json={"since": "2000-01-01T00:00:00Z", "only": only},
        )
        assert response.status_code == 202, response.text
        return response.json()["count"], len(commits) - before

    async def run() -> list[tuple[int, int]]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer t"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://runtime", headers=headers
        ) as client:
            key = base64.b64decode((await client.get("/admin/v1/fingerprint-key")).json()["key"])
            changes = Changes("acme", key)
            hook = changes.webhook("pos")
            body = {
                "baseRevision": 0,
                "changes": [*changes.bootstrap(), with_action(hook, "create")],
            }
            assert (
                await client.post("/admin/v1/tenants/acme/changes", json=body)
            ).status_code == 200
            with writing(engine) as conn:
                for n in range(2500):
                    enqueue(conn, 1, "order.created", {"id": f"ord_{n}", "store": "s-001"})
                every_fifth = webhook_deliveries.c.id % 5 == 0
                conn.execute(
                    update(webhook_deliveries).values(
                        status=case((every_fifth, "failed"), else_="succeeded")
                    )
                )
            failed = await replay(client, "failed")
            with writing(engine) as conn:  # as the worker leaves them once delivered again
                conn.execute(update(webhook_deliveries).values(status="succeeded"))
            return [failed, await replay(client, "all")]

    (failed, failed_transactions), (every, every_transactions) = asyncio.run(run())
    assert (failed, every) == (500, 2500)
    assert failed_transactions < every_transactions  # 1 batch against 3
    assert every_transactions >= 6  # a read and a write per batch of 1,000
