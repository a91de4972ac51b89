"""Malformed requests as clients send them: bodies, empty parameters, methods, sizes, logs.

Every refusal has the error shape, a code of its own cause, no echo of
what was sent, and (where HTTP allows) leaves the connection open for the
next request; the server log names route templates, never query strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from http_wire import Answer, Wire, settled_logs
from partner_env import Tenant
from runtime_server import CI_TOKEN, Server

CANARY = "canary-7Hq2"


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_RATE_LIMIT": "1000,1000"}


@pytest.fixture(scope="module")
def tenant(server: Server) -> Iterator[Tenant]:
    with server.client() as admin:
        tenant = Tenant.create(server, admin)
        tenant.order()
        yield tenant


@pytest.fixture(scope="module")
def token(tenant: Tenant) -> str:
    return tenant.token()


@pytest.fixture
def partner(server: Server, token: str) -> Iterator[Wire]:
    with Wire(server.url, {"Authorization": f"Bearer {token}"}) as wire:
        yield wire


@pytest.fixture
def admin(server: Server) -> Iterator[Wire]:
    with Wire(server.url, {"Authorization": f"Bearer {CI_TOKEN}"}) as wire:
        yield wire


def refused(answer: Answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert CANARY.encode() not in answer.body
    error: dict[str, Any] = body["error"]
    return error


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/promotions"),
        ("PUT", "/v1/stores/s-001/catalog"),
        ("POST", "/v1/orders/ord_x/status"),
        ("POST", "/admin/v1/tenants/{tenant}/changes"),
        ("POST", "/admin/v1/tenants/{tenant}/orders"),
    ],
)
def test_bodies_that_are_not_json_get_a_code_per_cause(
    tenant: Tenant, partner: Wire, admin: Wire, method: str, path: str
) -> None:
    wire = admin if path.startswith("/admin") else partner
    path = path.format(tenant=tenant.name)
    latin1 = f'{{"name": "Caf\xe9 {CANARY}"}}'.encode("latin-1")
    error = refused(wire.send(method, path, latin1, JSON), 400, "invalid_encoding")
    assert "UTF-8" in error["message"] and error["details"] == {"offset": 13}
    utf16 = json.dumps({"name": CANARY}).encode("utf-16")
    refused(wire.send(method, path, utf16, JSON), 400, "invalid_encoding")
    error = refused(
        wire.send(method, path, f'{{"name": {CANARY}'.encode(), JSON), 400, "invalid_json"
    )
    assert error["details"] == {"line": 1, "column": 10}
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(wire.send(method, path, deep, JSON), 400, "invalid_body")
    as_text = json.dumps({"name": CANARY}).encode()
    error = refused(
        wire.send(method, path, as_text, {"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    assert "application/json" in error["message"]
    refused(wire.send(method, path, b"[]", JSON), 422, "invalid_request")  # JSON, wrong shape
    assert wire.send("GET", "/healthz").status == 200  # every refusal kept the connection


def test_a_refused_catalog_upload_changes_nothing(partner: Wire) -> None:
    item = {"sku": "B1", "name": "Burger", "price": "9.50", "available": True}
    assert partner.json("PUT", "/v1/stores/s-002/catalog", {"items": [item]}).status == 200
    latin1 = json.dumps({"items": [{**item, "name": "Caf\xe9"}]}, ensure_ascii=False)
    refused(
        partner.send("PUT", "/v1/stores/s-002/catalog", latin1.encode("latin-1"), JSON),
        400,
        "invalid_encoding",
    )
    assert partner.send("GET", "/v1/stores/s-002/catalog").json() == {"items": [item]}


def test_an_empty_query_parameter_is_an_absent_one(
    tenant: Tenant, partner: Wire, admin: Wire
) -> None:
    everything = partner.send("GET", "/v1/orders").json()
    assert everything["items"]
    for query in (
        "store=",
        "status=",
        "cursor=",
        "limit=",
        "from=",
        "to=",
        "store",
        "store=&cursor=&limit=",
    ):
        answer = partner.send("GET", f"/v1/orders?{query}")
        assert answer.status == 200, (query, answer.body)
        assert answer.json() == everything, query
    promotions = partner.send("GET", "/v1/promotions")
    assert partner.send("GET", "/v1/promotions?store=&cursor=&limit=").json() == promotions.json()
    audit = admin.send("GET", f"/admin/v1/tenants/{tenant.name}/changes")
    assert (
        admin.send("GET", f"/admin/v1/tenants/{tenant.name}/changes?cursor=&limit=").json()
        == audit.json()
    )
    # a value that is there is still checked
    refused(partner.send("GET", "/v1/orders?cursor=x"), 400, "bad_request")
    refused(partner.send("GET", "/v1/orders?store=s-001&limit=0"), 422, "invalid_request")


@pytest.mark.parametrize(
    "path",
    ["/v1/promotions?limit=5&store=.%C2%BB%00", "/v1/orders?status=%00", "/v1/orders?st%00re=x"],
)
def test_a_nul_in_a_query_parameter_is_a_400_not_a_500(partner: Wire, path: str) -> None:
    # PostgreSQL refuses NUL in any text; the runtime refuses it first, on every backend
    error = refused(partner.send("GET", path), 400, "bad_request")
    assert "NUL" in error["message"] and "\x00" not in error["message"]
    assert partner.send("GET", "/v1/promotions").status == 200  # the service goes on


def test_a_nul_in_a_body_is_refused_and_changes_nothing(partner: Wire) -> None:
    before = partner.send("GET", "/v1/promotions").json()
    body = {"sku": "B1", "store": "s-001\u0000", "name": "Deal", "discountPercent": 10}
    answer = partner.send("POST", "/v1/promotions", json.dumps(body).encode(), JSON)
    refused(answer, 422, "invalid_request")  # PostgreSQL cannot store it; never a 500
    assert partner.send("GET", "/v1/promotions").json() == before


@pytest.mark.parametrize(
    "path", ["/v1/orders/%00", "/v1/orders/o%00x/status", "/v1/stores/s%00/catalog"]
)
def test_a_nul_in_the_path_finds_nothing(partner: Wire, path: str) -> None:
    method = "POST" if path.endswith("/status") else "GET"
    refused(partner.send(method, path), 404, "not_found")


def test_a_wrong_method_lists_every_method_of_the_path(server: Server, admin: Wire) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    several = {
        path: {method.upper() for method in operations}
        for path, operations in document["paths"].items()
        if len(operations) > 1
    }
    assert {
        "/v1/promotions",
        "/admin/v1/tenants/{name}/changes",
        "/v1/stores/{store}/catalog",
    } <= set(several)
    for template, methods in {**several, "/v1/orders": {"GET"}}.items():
        path = (
            template.replace("{name}", "t0").replace("{store}", "s-001").replace("{tenant}", "t0")
        )
        answer = admin.send("PATCH", path)
        error = refused(answer, 405, "method_not_allowed")
        assert {m.strip() for m in answer.headers["allow"].split(",")} == methods, template
        assert error["details"] == {"allowed": sorted(methods)}
    assert admin.send("GET", "/healthz").status == 200


def test_the_413_speaks_the_callers_api_and_keeps_a_drained_connection(
    tenant: Tenant, partner: Wire, admin: Wire
) -> None:
    big = b'{"status": "' + b"A" * (1024 * 1024) + b'"}'
    error = refused(
        partner.send("POST", "/v1/orders/ord_x/status", big, JSON), 413, "payload_too_large"
    )
    assert "Partner API" in error["message"] and "change set" not in error["message"]
    assert error["details"] == {"maxBytes": 1024 * 1024}
    assert partner.send("GET", "/v1/orders").status == 200  # read whole, so kept open
    changes = f"/admin/v1/tenants/{tenant.name}/changes"
    error = refused(admin.send("POST", changes, big, JSON), 413, "payload_too_large")
    assert "split the change set" in error["message"]
    assert admin.send("GET", "/healthz").status == 200


def test_the_log_names_routes_not_query_strings(server: Server, tenant: Tenant, token: str) -> None:
    with tenant.partner(token) as partner:
        assert (
            partner.get("/v1/orders", params={"access_token": f"hub_{CANARY}"}).status_code == 200
        )
        assert partner.get(f"/v1/orders/ord_{CANARY}").status_code == 404
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get(f"/nowhere/{CANARY}?token={CANARY}").status_code == 404
    logs = settled_logs(server)
    expected = ("GET /v1/orders 200 ", "GET /v1/orders/{order_id} 404 ", "GET (not routed) 404 ")
    lines = [line for line in logs.splitlines() if any(e in line for e in expected)]
    assert len(lines) >= 3 and all(line.endswith("ms") for line in lines), lines
    assert CANARY not in logs and "?" not in logs
    assert "HTTP/1.1" not in logs  # uvicorn's access log, which prints query strings, is off
