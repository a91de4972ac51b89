"""Webhooks tied to an Integration: its stores by default, and events only while it is enabled.

A live runtime under uvicorn, a real receiver on 127.0.0.1, and the state
applied through the admin API as `hubops apply` sends it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from conftest import Repo
from runtime_server import create, with_action
from webhook_hub import Hub


def _integration(store: str, enabled: bool = True) -> dict[str, Any]:
    body = {"partner": "xero", "enabled": enabled, "config": {}, "shopId": None}
    return {"address": f"integration/xero@{store}", "body": {**body, "credentials": None}}


def _types_and_stores(hub: Hub, count: int) -> list[tuple[str, str]]:
    got = hub.receiver.wait_for(count)
    bodies = [json.loads(r.body) for r in got]
    return [(b["type"], b["data"]["store"]) for b in bodies]


def test_tied_webhook_follows_the_integrations_stores_and_its_enabled_flag(hub: Hub) -> None:
    pos = hub.changes.webhook(
        "pos", value=hub.secret, url=hub.receiver.url, integration="xero", stores=None
    )
    hub.apply(
        [
            create("store/s-002", {"name": "Airport", "timezone": "UTC"}),
            with_action(_integration("s-001"), "create"),
            with_action(pos, "update"),
        ]
    )
    assert hub.state()["webhook/pos"]["integration"] == "xero"
    hub.order("s-002")  # the integration does not cover s-002: nothing is sent
    hub.order("s-001")
    assert _types_and_stores(hub, 1) == [("order.created", "s-001")]
    time.sleep(0.5)
    assert len(hub.receiver.received) == 1

    hub.apply([with_action(_integration("s-001", enabled=False), "update")])
    hub.order("s-001")  # integration disabled: no event
    time.sleep(1.0)
    assert len(hub.receiver.received) == 1

    hub.apply([with_action(_integration("s-001"), "update")])
    hub.order("s-001")
    assert _types_and_stores(hub, 2)[1] == ("order.created", "s-001")


def test_tied_webhook_may_narrow_the_integrations_stores(hub: Hub) -> None:
    pos = hub.changes.webhook(
        "pos", value=hub.secret, url=hub.receiver.url, integration="xero", stores=["s-002"]
    )
    hub.apply(
        [
            create("store/s-002", {"name": "Airport", "timezone": "UTC"}),
            with_action(_integration("s-001"), "create"),
            with_action(_integration("s-002"), "create"),
            with_action(pos, "update"),
        ]
    )
    hub.order("s-001")
    hub.order("s-002")
    assert _types_and_stores(hub, 1) == [("order.created", "s-002")]
    time.sleep(0.5)
    assert len(hub.receiver.received) == 1


def test_runtime_refuses_a_webhook_tied_to_an_unknown_integration(hub: Hub) -> None:
    pos = hub.changes.webhook("pos", value=hub.secret, url=hub.receiver.url, integration="nope")
    response = hub.http.post(
        "/admin/v1/tenants/acme/changes",
        json={"baseRevision": hub.revision, "changes": [with_action(pos, "update")]},
    )
    assert response.status_code == 422, response.text
    assert "integration/nope does not exist" in response.json()["error"]["message"]
    assert hub.secret not in response.text


def test_plan_and_import_know_the_integration_field(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit(
        "api.yaml", "  stores: [acme-001]\n  enabled: true", "  enabled: true\n  integration: xero"
    )
    runtime = ("--runtime", "state.db")
    assert hubops("apply", "tenants", "--auto-approve", *runtime).code == 0
    again = hubops("plan", "tenants", *runtime, "--no-color", "--full")  # parse and diff it
    assert again.code == 0 and again.out == "No changes.\n", again.text
    out = repo.root / "imported" / "acme"
    imported = hubops("import", "--tenant", "acme", "--out", str(out), *runtime)
    assert imported.code == 0, imported.text
    assert "  integration: xero\n" in (out / "api.yaml").read_text()
    repo.edit("api.yaml", "  integration: xero\n", "")
    untied = hubops("plan", "tenants", *runtime, "--no-color")
    assert untied.code == 0, untied.text
    assert "~ webhook/orders-to-pos" in untied.out
    assert 'integration: "xero" -> null' in untied.out
