"""Orders as partners see them: simulation, the 60-day window, paging, states, idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hubops.runtime.partner.models import Order, OrderPage
from partner_env import Tenant, assert_error, db_rows
from runtime_server import Server

CHAIN = ["ACCEPTED", "PREPARING", "READY_FOR_PICKUP", "PICKED_UP", "DELIVERED"]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_simulated_order_has_an_exact_decimal_total(tenant: Tenant) -> None:
    order = tenant.order(
        items=[
            {"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"},
            {"sku": "C1", "name": "Cola", "quantity": 3, "unitPrice": "0.10"},
            {"sku": "F1", "name": "Fries", "quantity": 1, "unitPrice": "2.125"},
        ]
    )
    assert order["total"] == "21.425" and Decimal(order["total"]) == Decimal("21.425")
    assert order["status"] == "RECEIVED" and order["store"] == "s-001"
    assert isinstance(order["id"], str) and order["id"]
    for stamp in ("createdAt", "updatedAt"):
        assert datetime.fromisoformat(order[stamp]).utcoffset() == timedelta(0)
    assert tenant.order()["total"] == "19.00"


@pytest.mark.parametrize(
    ("price", "field"),
    [(9.5, "unitPrice"), ("9.5.0", "unitPrice"), ("-1.00", "unitPrice"), ("1e3", "unitPrice")],
)
def test_float_or_malformed_money_is_refused(tenant: Tenant, price: object, field: str) -> None:
    body = {
        "store": "s-001",
        "items": [{"sku": "B1", "name": "B", "quantity": 1, "unitPrice": price}],
    }
    response = tenant.admin.post(f"/admin/v1/tenants/{tenant.name}/orders", json=body)
    error = assert_error(response, 422, "invalid_request")
    assert error["details"]["problems"][0]["field"] == f"body.items.0.{field}"


def test_orders_need_an_applied_store_and_tenant(tenant: Tenant, server: Server) -> None:
    body = {
        "store": "s-404",
        "items": [{"sku": "B1", "name": "B", "quantity": 1, "unitPrice": "1"}],
    }
    response = tenant.admin.post(f"/admin/v1/tenants/{tenant.name}/orders", json=body)
    assert "s-404" in assert_error(response, 422, "invalid_request")["message"]
    missing = tenant.admin.post("/admin/v1/tenants/nobody/orders", json=body)
    assert_error(missing, 404, "tenant_not_found")
    with server.client(None) as anonymous:
        refused = anonymous.post(f"/admin/v1/tenants/{tenant.name}/orders", json=body)
    assert_error(refused, 401, "unauthorized")


def test_listing_is_limited_to_60_days(tenant: Tenant) -> None:
    order = tenant.order()
    now = datetime.now(UTC)
    with tenant.partner(tenant.token(scopes=["orders:read"])) as partner:
        recent = partner.get("/v1/orders", params={"from": _iso(now - timedelta(days=59))})
        assert [o["id"] for o in recent.json()["items"]] == [order["id"]]
        too_old = partner.get("/v1/orders", params={"from": _iso(now - timedelta(days=61))})
        assert "60 days" in assert_error(too_old, 400, "bad_request")["message"]
        old_to = partner.get("/v1/orders", params={"to": _iso(now - timedelta(days=70))})
        assert_error(old_to, 400, "bad_request")
        naive = partner.get("/v1/orders", params={"from": "2030-01-01T00:00:00"})
        assert "timezone" in assert_error(naive, 422, "invalid_request")["message"]
        before = partner.get("/v1/orders", params={"to": _iso(now - timedelta(days=1))})
        assert before.json()["items"] == []
        assert_error(partner.get("/v1/orders", params={"limit": 101}), 422, "invalid_request")
        assert_error(partner.get("/v1/orders", params={"cursor": "bogus!"}), 400, "bad_request")


def test_filters_by_store_and_status(tenant: Tenant) -> None:
    first, second = tenant.order("s-001"), tenant.order("s-002")
    with tenant.partner(tenant.token()) as partner:
        partner.post(f"/v1/orders/{first['id']}/status", json={"status": "ACCEPTED"})
        by_store = partner.get("/v1/orders", params={"store": "s-002"}).json()["items"]
        assert [o["id"] for o in by_store] == [second["id"]]
        by_status = partner.get("/v1/orders", params={"status": "ACCEPTED"}).json()["items"]
        assert [o["id"] for o in by_status] == [first["id"]]


def test_pages_show_each_order_once_while_new_orders_arrive(tenant: Tenant) -> None:
    existing = {tenant.order(store=f"s-00{1 + n % 2}")["id"] for n in range(40)}
    arrived: set[str] = set()
    stop, started = threading.Event(), threading.Event()

    def insert_more() -> None:
        with tenant.server.client() as admin:
            body = {
                "store": "s-001",
                "items": [{"sku": "X", "name": "X", "quantity": 1, "unitPrice": "1.00"}],
            }
            while not stop.is_set() and len(arrived) < 60:
                response = admin.post(f"/admin/v1/tenants/{tenant.name}/orders", json=body)
                arrived.add(response.json()["id"])
                started.set()

    inserter = threading.Thread(target=insert_more)
    inserter.start()
    assert started.wait(10)  # orders are arriving before the first page and keep arriving
    seen: list[str] = []
    try:
        with tenant.partner(tenant.token(scopes=["orders:read"])) as partner:
            params: dict[str, str | int] = {"limit": 3}
            while True:
                page = partner.get("/v1/orders", params=params).json()
                seen += [o["id"] for o in page["items"]]
                if page["nextCursor"] is None:
                    break
                params = {"limit": 3, "cursor": page["nextCursor"]}
    finally:
        stop.set()
        inserter.join()
    assert arrived, "no order arrived while paging"
    assert len(seen) == len(set(seen)), "an order was shown twice"
    assert existing <= set(seen), "an order that existed before paging was skipped"
    assert set(seen) <= existing | arrived


def test_status_follows_the_state_machine(tenant: Tenant) -> None:
    order = tenant.order()
    url = f"/v1/orders/{order['id']}/status"
    with tenant.partner(tenant.token()) as partner:
        skipped = partner.post(url, json={"status": "PREPARING"})
        error = assert_error(skipped, 409, "illegal_transition")
        assert error["details"] == {
            "status": "RECEIVED",
            "requested": "PREPARING",
            "allowed": ["ACCEPTED", "CANCELLED"],
        }
        assert "ACCEPTED, CANCELLED" in error["message"]
        for status in CHAIN:
            moved = partner.post(url, json={"status": status})
            assert moved.status_code == 200, moved.text
            assert moved.json()["status"] == status
            assert moved.json()["updatedAt"] >= moved.json()["createdAt"]
        late = partner.post(url, json={"status": "CANCELLED"})
        assert assert_error(late, 409, "illegal_transition")["details"]["allowed"] == []
        bogus = partner.post(url, json={"status": "EATEN"})
        assert_error(bogus, 422, "invalid_request")
        cancelled = tenant.order()
        partner.post(f"/v1/orders/{cancelled['id']}/status", json={"status": "ACCEPTED"})
        done = partner.post(f"/v1/orders/{cancelled['id']}/status", json={"status": "CANCELLED"})
        assert done.json()["status"] == "CANCELLED"
        assert partner.get(f"/v1/orders/{cancelled['id']}").json()["status"] == "CANCELLED"


def _events(tenant: Tenant, order_id: str) -> list[str]:
    rows = db_rows(
        tenant.server,
        "SELECT event_type FROM webhook_messages WHERE order_id = ? ORDER BY created_at",
        order_id,
    )
    return [row[0] for row in rows]


def test_idempotent_status_changes_emit_one_event(tenant: Tenant) -> None:
    events = ["order.created", "order.status_changed", "order.cancelled"]
    tenant.apply([{**tenant.changes.webhook("pos", events=events), "action": "create"}])
    order = tenant.order()
    url = f"/v1/orders/{order['id']}/status"
    token = tenant.token(scopes=["orders:write"])
    with tenant.partner(token) as partner:
        key = {"Idempotency-Key": "accept-1"}
        first = partner.post(url, json={"status": "ACCEPTED"}, headers=key)
        again = partner.post(url, json={"status": "ACCEPTED"}, headers=key)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        other = partner.post(url, json={"status": "CANCELLED"}, headers=key)
        assert "different request" in assert_error(other, 422, "idempotency_key_reused")["message"]
        # without the key the same request is a new one, and illegal now
        assert_error(partner.post(url, json={"status": "ACCEPTED"}), 409, "illegal_transition")
    with tenant.partner(tenant.token(scopes=["orders:write"])) as second_token:
        # keys are per token: another token's "accept-1" is its own request
        own = second_token.post(url, json={"status": "CANCELLED"}, headers=key)
        assert own.json()["status"] == "CANCELLED"
    assert _events(tenant, order["id"]) == [
        "order.created",
        "order.status_changed",
        "order.cancelled",
    ]


def test_oversized_bodies_are_413(tenant: Tenant) -> None:
    with tenant.partner(tenant.token()) as partner:
        huge = partner.post(
            "/v1/orders/ord_x/status",
            content=b'{"status": "' + b"A" * (1024 * 1024 + 10) + b'"}',
            headers={"Content-Type": "application/json"},
        )
    assert_error(huge, 413, "payload_too_large")


def test_a_page_is_written_exactly_as_its_orders_are_read_one_by_one(tenant: Tenant) -> None:
    """The list is answered straight from the rows; each order in it, byte for byte, is
    what reading that order alone (through its model) answers, and the page is what
    pydantic writes for the same `OrderPage`."""
    tenant.order("s-001", retailer=None)
    tenant.order(
        "s-002",
        items=[
            {"sku": "B1", "name": "Crème brûlée «x»", "quantity": 3, "unitPrice": "1.125"},
            {"sku": "C2", "name": "Cola", "quantity": 1, "unitPrice": "2.50"},
        ],
    )
    with tenant.partner(tenant.token()) as partner:
        listed = partner.get("/v1/orders", params={"limit": 1})
        rest = partner.get("/v1/orders", params={"cursor": listed.json()["nextCursor"]})
        for page in (listed, rest):
            assert page.headers["content-type"] == "application/json"
            assert page.content == OrderPage.model_validate(page.json()).model_dump_json().encode()
            for order in page.json()["items"]:
                alone = partner.get(f"/v1/orders/{order['id']}")
                assert alone.status_code == 200
                shown = Order.model_validate_json(alone.content).model_dump_json()
                assert alone.content == shown.encode()
                assert page.content.count(alone.content) == 1
    assert "Crème brûlée «x»".encode() in rest.content + listed.content
