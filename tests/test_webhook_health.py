"""Endpoint health in live state, `hubops status`, and auto-disable after failing too long.

A live runtime under uvicorn (on a SQLite file and on PostgreSQL) and real
receivers on 127.0.0.1; the figures are checked against the attempts the
delivery log shows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from databases import pg_database
from hubops.plan.diff import diff_states
from hubops.tokens import new_webhook_secret
from runtime_server import CI_TOKEN, with_action
from webhook_hub import Hub, start
from webhook_receiver import Receiver, Reply, verify


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield f"sqlite:///{tmp_path / 'state.db'}"
        else:
            yield stack.enter_context(pg_database())


@pytest.fixture
def any_hub(tmp_path: Path, database: str) -> Iterator[Hub]:
    """The `hub` fixture, on each database."""
    with Receiver() as receiver:
        hub = start(tmp_path, receiver, db_url=database)
        try:
            yield hub
        finally:
            hub.http.close()
            hub.server.stop()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _health(hub: Hub) -> dict[str, Any]:
    return dict(hub.state()["webhook/pos"]["health"])


def test_health_before_any_attempt_is_empty(hub: Hub) -> None:
    assert _health(hub) == {
        "successRate24h": None,
        "lastSuccessAt": None,
        "lastFailureAt": None,
        "lastError": None,
        "failingSince": None,
    }


def test_health_figures_follow_known_successes_and_failures(
    any_hub: Hub,
    hubops,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = any_hub
    hub.order()  # 1 success
    hub.wait_log(lambda e: len(e) == 1)
    hub.receiver.script = [Reply(503), Reply(503)]
    hub.order()  # 2 failures, then a success
    log = hub.wait_log(lambda e: len(e) == 4)
    health = _health(hub)
    assert health["successRate24h"] == 0.5
    assert _at(health["lastSuccessAt"]) == _at(log[0]["attemptedAt"])
    assert _at(health["lastFailureAt"]) == _at(log[1]["attemptedAt"])
    assert health["lastError"] == "endpoint answered 503"
    assert health["failingSince"] is None

    # 4 failures in a row (the first attempt and 3 retries); the reply echoes the secret
    hub.receiver.script = [Reply(500, body=f"bad \x1b[31m{hub.secret}".encode())] * 4
    hub.order()
    log = hub.wait_log(lambda e: len(e) == 8)
    health = _health(hub)
    assert health["successRate24h"] == 0.25
    assert _at(health["failingSince"]) == _at(log[3]["attemptedAt"])
    assert _at(health["lastFailureAt"]) == _at(log[0]["attemptedAt"])
    assert health["lastError"] == "endpoint answered 500"
    state_text = hub.http.get("/admin/v1/tenants/acme").text
    assert hub.secret not in state_text and "\x1b" not in state_text

    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", CI_TOKEN)
    shown = hubops("status", "--runtime", hub.server.url)
    assert shown.code == 0, shown.text
    assert "Failing webhooks:\n  acme/pos: failing since " in shown.out
    assert shown.out.rstrip().endswith("(endpoint answered 500)")
    as_json = json.loads(hubops("status", "--runtime", hub.server.url, "--format", "json").out)
    failing = as_json["tenants"][0]["failingWebhooks"]
    assert [(f["name"], f["enabled"], f["lastError"]) for f in failing] == [
        ("pos", True, "endpoint answered 500")
    ]
    assert hub.secret not in shown.text


def test_health_is_informational_never_a_change(hub: Hub) -> None:
    hub.order()
    hub.wait_log(lambda e: len(e) == 1)
    live = hub.state()
    desired = {
        addr: {k: v for k, v in body.items() if k != "health"} for addr, body in live.items()
    }
    assert "health" in live["webhook/pos"]
    assert diff_states(desired, live) == []
    desired["webhook/pos"] = {**desired["webhook/pos"], "enabled": False}
    (change,) = diff_states(desired, live)
    assert change.before is not None and "health" not in change.before


@pytest.fixture
def failing_hub(tmp_path: Path, database: str) -> Iterator[tuple[Hub, Receiver]]:
    """`pos` always answers 500 and is disabled after 1 s without a success; `watcher`
    (another receiver) subscribes to webhook.disabled."""
    with Receiver() as receiver, Receiver() as watcher:
        hub = start(
            tmp_path,
            receiver,
            db_url=database,
            HUBOPS_WEBHOOK_DISABLE_AFTER="1",
            HUBOPS_WEBHOOK_RETRY_SCHEDULE="0.4,0.4,0.4,0.4,0.4,0.4,0.4,0.4",
        )
        try:
            yield hub, watcher
        finally:
            hub.http.close()
            hub.server.stop()


def test_auto_disable_after_failing_without_a_success(failing_hub: tuple[Hub, Receiver]) -> None:
    hub, watcher = failing_hub
    watcher_secret = new_webhook_secret()
    watch = hub.changes.webhook(
        "watcher", value=watcher_secret, url=watcher.url, events=["webhook.disabled"]
    )
    hub.apply([with_action(watch, "create")])
    before = hub.revision
    hub.receiver.script = [Reply(500)] * 50
    hub.order()
    deadline = time.monotonic() + 15
    while hub.state()["webhook/pos"]["enabled"] and time.monotonic() < deadline:
        time.sleep(0.1)
    body = hub.state()["webhook/pos"]
    assert body["enabled"] is False
    assert body["disabledReason"].startswith("no successful delivery since ")
    assert hub.revision == before + 1
    audit = hub.http.get("/admin/v1/tenants/acme/changes").json()["items"][0]
    assert audit["by"] == "runtime" and audit["revision"] == hub.revision
    got = watcher.wait_for(1)[0]
    assert verify(watcher_secret, got)
    event = json.loads(got.body)
    assert event["type"] == "webhook.disabled"
    assert event["data"] == {
        "tenant": "acme",
        "webhook": "pos",
        "reason": body["disabledReason"],
        "failingSince": body["health"]["failingSince"],
    }
    sent = len(hub.receiver.received)
    time.sleep(1.0)
    assert len(hub.receiver.received) == sent  # nothing more goes to a disabled webhook
    assert len(watcher.received) == 1

    # Switched on again by an apply: the failing clock starts over at its next failure.
    pos = hub.changes.webhook("pos", value=hub.secret, url=hub.receiver.url)
    hub.apply([with_action(pos, "update")])
    health = hub.state()["webhook/pos"]["health"]
    assert health["failingSince"] is None and health["lastFailureAt"] is not None
    attempts = len(hub.log())
    hub.order()
    newest = hub.wait_log(lambda e: len(e) > attempts)[0]
    failing_since = hub.state()["webhook/pos"]["health"]["failingSince"]
    assert _at(failing_since) == _at(newest["attemptedAt"])
