"""Who may call the Partner API, and what each token may see (RFC 6750 challenges, 404s)."""

from __future__ import annotations

import time

import httpx
import pytest

from hubops.tokens import new_token
from partner_env import Tenant, assert_error, db_rows
from runtime_server import Server

ROUTES = [
    ("GET", "/v1/orders", None),
    ("GET", "/v1/orders/ord_x", None),
    ("POST", "/v1/orders/ord_x/status", {"status": "ACCEPTED"}),
    ("GET", "/v1/stores/s-001/catalog", None),
    ("PUT", "/v1/stores/s-001/catalog", {"items": []}),
    ("GET", "/v1/promotions", None),
    ("POST", "/v1/promotions", {"name": "n", "store": "s-001", "sku": "B1", "discountPercent": 5}),
    ("DELETE", "/v1/promotions/promo_x", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_token_gets_a_challenge_without_an_error_code(
    tenant: Tenant, method: str, path: str, body: object
) -> None:
    with tenant.partner(None) as partner:
        response = partner.request(method, path, json=body)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="hubops"'


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + new_token()[:-1] + ("A" if new_token()[-1] != "A" else "B"),  # bad checksum
        "Bearer hub_short",
        "Bearer not-a-hub-token",
        "Bearer " + new_token(),  # well formed, never applied
    ],
)
def test_malformed_or_unknown_tokens_are_invalid_token(tenant: Tenant, header: str) -> None:
    with httpx.Client(base_url=tenant.server.url, headers={"Authorization": header}) as client:
        response = client.get("/v1/orders")
    error = assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer realm="hubops", error="invalid_token"'
    assert header.split(" ", 1)[1] not in error["message"]  # the value is never echoed


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer"])
def test_no_bearer_token_gets_a_challenge_without_error_code(tenant: Tenant, header: str) -> None:
    with httpx.Client(base_url=tenant.server.url, headers={"Authorization": header}) as client:
        response = client.get("/v1/orders")
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="hubops"'


def test_an_expired_token_is_refused(tenant: Tenant) -> None:
    token = tenant.token(expires_at="2020-01-01T00:00:00Z")
    with tenant.partner(token) as partner:
        response = partner.get("/v1/orders")
    error = assert_error(response, 401, "invalid_token")
    assert "expired" in error["message"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("scope", "method", "path", "body"),
    [
        ("orders:read", "GET", "/v1/orders", None),
        ("orders:write", "POST", "/v1/orders/ord_x/status", {"status": "ACCEPTED"}),
        ("catalog:read", "GET", "/v1/stores/s-001/catalog", None),
        ("catalog:write", "PUT", "/v1/stores/s-001/catalog", {"items": []}),
        ("promotions:read", "GET", "/v1/promotions", None),
        ("promotions:write", "DELETE", "/v1/promotions/promo_x", None),
    ],
)
def test_a_missing_scope_is_403_naming_it(
    tenant: Tenant, scope: str, method: str, path: str, body: object
) -> None:
    others = [s for s in ("orders:read", "catalog:read", "promotions:read") if s != scope]
    with tenant.partner(tenant.token(scopes=others)) as partner:
        response = partner.request(method, path, json=body)
    error = assert_error(response, 403, "insufficient_scope")
    assert scope in error["message"] and error["details"] == {"scope": scope}
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="hubops", error="insufficient_scope", scope="{scope}"'
    )


def test_a_store_limited_token_sees_only_its_stores(tenant: Tenant) -> None:
    mine, theirs = tenant.order("s-001"), tenant.order("s-002")
    with tenant.partner(tenant.token(stores=["s-001"])) as partner:
        listed = [o["id"] for o in partner.get("/v1/orders").json()["items"]]
        assert listed == [mine["id"]]
        assert partner.get("/v1/orders", params={"store": "s-002"}).json()["items"] == []
        assert partner.get(f"/v1/orders/{mine['id']}").status_code == 200
        assert_error(partner.get(f"/v1/orders/{theirs['id']}"), 404, "not_found")
        moved = partner.post(f"/v1/orders/{theirs['id']}/status", json={"status": "ACCEPTED"})
        assert_error(moved, 404, "not_found")
        assert partner.get("/v1/stores/s-001/catalog").status_code == 200
        assert_error(partner.get("/v1/stores/s-002/catalog"), 404, "not_found")
        assert_error(partner.put("/v1/stores/s-002/catalog", json={"items": []}), 404, "not_found")
        # an unknown store looks exactly like a store the token may not see
        unknown = partner.get("/v1/stores/s-999/catalog")
        hidden = partner.get("/v1/stores/s-002/catalog")
        assert unknown.json() == hidden.json()
        assert "s-002" not in hidden.text and "no such store" in hidden.json()["error"]["message"]
        gone = partner.get(f"/v1/orders/{theirs['id']}")
        assert theirs["id"] not in gone.text and "no such order" in gone.json()["error"]["message"]


def test_applied_token_changes_take_effect_at_once(tenant: Tenant) -> None:
    token = tenant.token(scopes=["orders:read"], name="rotating")
    with tenant.partner(token) as partner:
        assert partner.get("/v1/orders").status_code == 200
        narrowed = tenant.changes.token("rotating", token, ["catalog:read"])
        tenant.apply([{**narrowed, "action": "update"}])
        assert_error(partner.get("/v1/orders"), 403, "insufficient_scope")
        tenant.apply([{"address": "token/rotating", "action": "delete"}])
        assert_error(partner.get("/v1/stores/s-001/catalog"), 401, "invalid_token")


def test_last_use_is_recorded_coarsely(tenant: Tenant) -> None:
    token = tenant.token(name="used")
    query = (
        "SELECT last_used_at FROM api_tokens t JOIN tenants n ON n.id = t.tenant_id "
        "WHERE n.name = ? AND t.name = 'used'"
    )
    assert db_rows(tenant.server, query, tenant.name) == [(None,)]
    with tenant.partner(token) as partner:
        assert partner.get("/v1/orders").status_code == 200
        first = db_rows(tenant.server, query, tenant.name)[0][0]
        assert first is not None
        time.sleep(0.01)
        assert partner.get("/v1/orders").status_code == 200
    assert db_rows(tenant.server, query, tenant.name)[0][0] == first  # not a write per request


def test_another_tenants_token_never_sees_its_objects(
    server: Server, admin: httpx.Client, tenant: Tenant
) -> None:
    other = Tenant.create(server, admin)
    order = tenant.order("s-001")
    with tenant.partner(tenant.token()) as owner:
        catalog = {"items": [{"sku": "B1", "name": "Burger", "price": "9.50", "available": True}]}
        assert owner.put("/v1/stores/s-002/catalog", json=catalog).status_code == 200
        promo = owner.post(
            "/v1/promotions",
            json={"name": "Lunch", "store": "s-002", "sku": "B1", "discountPercent": 10},
        ).json()
    with other.partner(other.token()) as stranger:
        assert stranger.get("/v1/orders").json() == {"items": [], "nextCursor": None}
        assert_error(stranger.get(f"/v1/orders/{order['id']}"), 404, "not_found")
        moved = stranger.post(f"/v1/orders/{order['id']}/status", json={"status": "ACCEPTED"})
        assert_error(moved, 404, "not_found")
        # the same store id in the other tenant is that tenant's own, empty catalog
        assert stranger.get("/v1/stores/s-002/catalog").json() == {"items": []}
        assert stranger.get("/v1/promotions").json() == {"items": [], "nextCursor": None}
        assert_error(stranger.delete(f"/v1/promotions/{promo['id']}"), 404, "not_found")
        sneaky = stranger.post(
            "/v1/promotions",
            json={"name": "x", "store": "s-002", "sku": "B1", "discountPercent": 10},
        )
        assert_error(sneaky, 422, "invalid_request")  # no sku B1 in *its* catalog
    with tenant.partner(tenant.token()) as owner:
        assert owner.get(f"/v1/orders/{order['id']}").json()["status"] == "RECEIVED"
        assert [p["id"] for p in owner.get("/v1/promotions").json()["items"]] == [promo["id"]]
