"""Retailer connections on a served runtime: requests from the marketplace, decisions in git
through plan and apply, the plan's note, orders refused for unapproved retailers, events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Repo
from partner_env import assert_error
from runtime_server import CI_TOKEN, Server
from webhook_receiver import Receiver, verify

TERMS = "https://acme.example/terms"
ITEMS = [{"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}]


def retailer(rid: str) -> dict[str, str]:
    return {"id": rid, "name": f"Retailer {rid}", "email": f"{rid}@shops.example"}


@pytest.fixture
def served(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[tuple[Server, Receiver]]:
    monkeypatch.setenv("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", "1")
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", CI_TOKEN)
    workdir = tmp_path / "runtime"
    workdir.mkdir()
    with Receiver() as receiver:
        repo.edit("api.yaml", "https://pos.acme.example/hooks/orders", receiver.url)
        repo.edit(
            "api.yaml",
            "events: [order.created, order.status_changed, order.cancelled]",
            "events: [connection.requested, connection.approved, connection.rejected]",
        )
        server = Server(
            workdir,
            db_url,
            extra_env={"HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1"},
        ).start()
        try:
            yield server, receiver
        finally:
            server.stop()


def events(receiver: Receiver, count: int, secret: str) -> list[dict[str, object]]:
    got = receiver.wait_for(count)
    assert all(verify(secret, r) for r in got)
    return [json.loads(r.body) for r in got]


def test_instant_ordering_approves_at_once_and_terms_are_enforced(
    served: tuple[Server, Receiver],
    repo: Repo,
    hubops,  # type: ignore[no-untyped-def]
) -> None:
    server, receiver = served
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", server.url).code == 0
    with server.client() as admin:
        url = "/admin/v1/tenants/acme/connections"
        refused = admin.post(url, json={"retailer": retailer("r-1"), "acceptedTerms": None})
        error = assert_error(refused, 422, "terms_not_accepted")
        assert error["details"]["termsOfServiceUrl"] == TERMS
        wrong = admin.post(url, json={"retailer": retailer("r-1"), "acceptedTerms": TERMS + "?v=2"})
        assert_error(wrong, 422, "terms_not_accepted")
        created = admin.post(url, json={"retailer": retailer("r-1"), "acceptedTerms": TERMS})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["status"] == "approved" and body["retailer"] == retailer("r-1")
        assert body["id"].startswith("con_") and body["decidedAt"] is not None
        again = admin.post(url, json={"retailer": retailer("r-1"), "acceptedTerms": TERMS})
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        order = admin.post(
            "/admin/v1/tenants/acme/orders",
            json={"store": "acme-001", "items": ITEMS, "retailer": "r-1"},
        )
        assert order.status_code == 201 and order.json()["retailer"] == "r-1"
        stranger = admin.post(
            "/admin/v1/tenants/acme/orders",
            json={"store": "acme-001", "items": ITEMS, "retailer": "r-9"},
        )
        assert_error(stranger, 409, "retailer_not_connected")
        assert (
            admin.post(
                "/admin/v1/tenants/acme/orders", json={"store": "acme-001", "items": ITEMS}
            ).status_code
            == 201
        )
    secret = str(repo.secrets["webhooks"]["orders-to-pos"])
    got = events(receiver, 2, secret)
    assert [e["type"] for e in got] == ["connection.requested", "connection.approved"]
    assert got[1]["data"] == body


def test_requests_wait_for_review_and_git_decides(
    served: tuple[Server, Receiver],
    repo: Repo,
    hubops,  # type: ignore[no-untyped-def]
) -> None:
    server, receiver = served
    repo.edit("tenant.yaml", "instantOrdering: true", "instantOrdering: false")
    repo.edit("tenant.yaml", "    termsOfServiceUrl: https://acme.example/terms\n", "")
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", server.url).code == 0
    with server.client() as admin:
        url = "/admin/v1/tenants/acme/connections"
        for rid in ("r-2", "r-3", "r-4"):
            answer = admin.post(url, json={"retailer": retailer(rid), "acceptedTerms": None})
            assert answer.status_code == 201 and answer.json()["status"] == "pending"
        refused = admin.post(
            "/admin/v1/tenants/acme/orders",
            json={"store": "acme-001", "items": ITEMS, "retailer": "r-2"},
        )
        error = assert_error(refused, 409, "retailer_not_connected")
        assert error["details"] == {"retailer": "r-2", "status": "pending"}
        pending = admin.get(url, params={"status": "pending", "limit": 2}).json()
        assert [c["retailer"]["id"] for c in pending["items"]] == ["r-4", "r-3"]
        rest = admin.get(url, params={"status": "pending", "cursor": pending["nextCursor"]}).json()
        assert [c["retailer"]["id"] for c in rest["items"]] == ["r-2"] and rest[
            "nextCursor"
        ] is None

    plan = hubops("plan", "tenants", "--runtime", server.url, "--no-color")
    assert plan.code == 0, plan.text
    assert "Note: 3 connection requests await review: r-2, r-3, r-4" in plan.out
    assert plan.out.rstrip().endswith("No changes.")

    repo.write(
        "connections.yaml",
        "apiVersion: hubops/v1\nkind: RetailerConnections\nmetadata: {name: default}\n"
        "spec:\n  approved: [r-2]\n  rejected: [r-3]\n",
    )
    plan = hubops("plan", "tenants", "--runtime", server.url, "--no-color", "--format", "json")
    tenant = json.loads(plan.out)["tenants"][0]
    assert tenant["notes"] == ["1 connection requests await review: r-4"]
    assert [(c["address"], c["action"]) for c in tenant["changes"]] == [
        ("connections/default", "create")
    ]
    text = hubops("plan", "tenants", "--runtime", server.url, "--no-color").out
    assert "+ connections/default" in text and "Plan: 1 to add, 0 to change, 0 to destroy." in text
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", server.url).code == 0

    with server.client() as admin:
        listed = {
            c["retailer"]["id"]: c["status"]
            for c in admin.get("/admin/v1/tenants/acme/connections").json()["items"]
        }
        assert listed == {"r-2": "approved", "r-3": "rejected", "r-4": "pending"}
        ok = admin.post(
            "/admin/v1/tenants/acme/orders",
            json={"store": "acme-001", "items": ITEMS, "retailer": "r-2"},
        )
        assert ok.status_code == 201
        assert_error(
            admin.post(
                "/admin/v1/tenants/acme/orders",
                json={"store": "acme-001", "items": ITEMS, "retailer": "r-3"},
            ),
            409,
            "retailer_not_connected",
        )
        live = admin.get("/admin/v1/tenants/acme").json()
        assert live["state"]["connections/default"] == {"approved": ["r-2"], "rejected": ["r-3"]}
        assert live["pendingConnections"] == ["r-4"]

    repo.edit("connections.yaml", "approved: [r-2]", "approved: [r-2, r-4]")
    text = hubops("plan", "tenants", "--runtime", server.url, "--no-color").out
    assert "~ connections/default" in text and 'approved: ["r-2"] -> ["r-2", "r-4"]' in text
    assert "await review" not in text
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", server.url).code == 0
    secret = str(repo.secrets["webhooks"]["orders-to-pos"])
    got = events(receiver, 6, secret)
    per_retailer: dict[str, list[object]] = {}
    for event in got:  # one retailer's events arrive in order; different retailers may interleave
        per_retailer.setdefault(event["data"]["retailer"]["id"], []).append(event["type"])  # type: ignore[index]
    assert per_retailer == {
        "r-2": ["connection.requested", "connection.approved"],
        "r-3": ["connection.requested", "connection.rejected"],
        "r-4": ["connection.requested", "connection.approved"],
    }

    out = repo.root / "imported"
    assert (
        hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", server.url).code == 0
    )
    imported = (out / "backoffice.yaml").read_text()
    assert "kind: RetailerConnections" in imported and "approved: [r-2, r-4]" in imported


def test_connection_requests_are_checked(served: tuple[Server, Receiver], hubops) -> None:  # type: ignore[no-untyped-def]
    server, _ = served
    with server.client() as admin:
        missing = admin.post(
            "/admin/v1/tenants/nobody/connections",
            json={"retailer": retailer("r-1"), "acceptedTerms": None},
        )
        assert_error(missing, 404, "tenant_not_found")
        bad = admin.post(
            "/admin/v1/tenants/nobody/connections",
            json={"retailer": {"id": "has space", "name": "x", "email": "nope"}},
        )
        assert_error(bad, 422, "invalid_request")
        assert_error(admin.get("/admin/v1/tenants/nobody/connections"), 404, "tenant_not_found")
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get("/admin/v1/tenants/acme/connections").status_code == 401
