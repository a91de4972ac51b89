"""Catalog uploads (all or nothing) and promotions' validation, as a partner sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hubops.runtime.partner.models import PromotionPage
from partner_env import Tenant, assert_error
from runtime_server import Server

BURGER = {"sku": "B1", "name": "Burger", "price": "9.50", "available": True}
FRIES = {"sku": "F1", "name": "Fries", "price": "3.00", "available": False}


@pytest.fixture
def partner(server: Server, admin: httpx.Client) -> Iterator[httpx.Client]:
    tenant = Tenant.create(server, admin)
    with tenant.partner(tenant.token()) as client:
        assert client.put("/v1/stores/s-001/catalog", json={"items": [BURGER, FRIES]}).is_success
        yield client


def test_a_catalog_round_trips_in_upload_order(partner: httpx.Client) -> None:
    assert partner.get("/v1/stores/s-001/catalog").json() == {"items": [BURGER, FRIES]}
    replaced = partner.put("/v1/stores/s-001/catalog", json={"items": [FRIES]})
    assert replaced.json() == {"items": [FRIES]}
    assert partner.get("/v1/stores/s-001/catalog").json() == {"items": [FRIES]}
    assert partner.get("/v1/stores/s-002/catalog").json() == {"items": []}


@pytest.mark.parametrize(
    ("items", "fields"),
    [
        ([BURGER, {**FRIES, "price": 3.0}], ["body.items.1.price"]),
        (
            [{**BURGER, "price": "cheap"}, {**FRIES, "name": ""}],
            ["body.items.0.price", "body.items.1.name"],
        ),
        ([BURGER, {**FRIES, "sku": "B1"}], ["body.items.0.sku", "body.items.1.sku"]),
        ([BURGER, {**FRIES, "available": "yes"}], ["body.items.1.available"]),
        ([{k: v for k, v in BURGER.items() if k != "name"}], ["body.items.0.name"]),
    ],
)
def test_a_rejected_upload_changes_nothing(
    partner: httpx.Client, items: list[dict[str, Any]], fields: list[str]
) -> None:
    response = partner.put(
        "/v1/stores/s-001/catalog", json={"items": [*items, BURGER | {"sku": "N"}]}
    )
    error = assert_error(response, 422, response.json()["error"]["code"])
    assert [p["field"] for p in error["details"]["problems"]] == fields
    assert partner.get("/v1/stores/s-001/catalog").json() == {"items": [BURGER, FRIES]}


def _promotion(**overrides: Any) -> dict[str, Any]:
    return {"name": "Lunch deal", "store": "s-001", "sku": "B1", "discountPercent": 20, **overrides}


def test_promotions_are_created_listed_and_deleted(partner: httpx.Client) -> None:
    created = partner.post(
        "/v1/promotions",
        json=_promotion(startsAt="2030-01-01T10:00:00+02:00", endsAt="2030-01-02T00:00:00Z"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] and body["startsAt"] == "2030-01-01T08:00:00Z"
    second = partner.post("/v1/promotions", json=_promotion(sku="F1")).json()
    page = partner.get("/v1/promotions", params={"limit": 1}).json()
    assert [p["id"] for p in page["items"]] == [second["id"]] and page["nextCursor"]
    rest = partner.get("/v1/promotions", params={"limit": 1, "cursor": page["nextCursor"]}).json()
    assert rest == {"items": [body], "nextCursor": None}
    assert partner.delete(f"/v1/promotions/{body['id']}").status_code == 204
    assert_error(partner.delete(f"/v1/promotions/{body['id']}"), 404, "not_found")
    assert [p["id"] for p in partner.get("/v1/promotions").json()["items"]] == [second["id"]]


def test_a_promotions_page_is_written_as_each_promotion_was_answered(
    partner: httpx.Client,
) -> None:
    """The page is answered from its models without validating them again: byte for byte
    what pydantic writes for the same `PromotionPage`, and each promotion in it what
    creating it answered (through the route's response model)."""
    created = [
        partner.post("/v1/promotions", json=_promotion(name="Crème brûlée «x»", **times))
        for times in ({}, {"startsAt": "2030-01-01T10:00:00+02:00", "endsAt": None})
    ]
    assert all(answer.status_code == 201 for answer in created)
    page = partner.get("/v1/promotions")
    assert page.headers["content-type"] == "application/json"
    assert page.content == PromotionPage.model_validate(page.json()).model_dump_json().encode()
    assert all(page.content.count(answer.content) == 1 for answer in created)
    assert "Crème brûlée «x»".encode() in page.content


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"discountPercent": 0}, "body.discountPercent"),
        ({"discountPercent": 101}, "body.discountPercent"),
        ({"discountPercent": "10"}, "body.discountPercent"),
        ({"sku": "NOPE"}, "body.sku"),
        ({"store": "s-404"}, "body.store"),
        ({"store": "s-002"}, "body.sku"),  # s-002 has no catalog
        ({"startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}, "body.endsAt"),
        ({"startsAt": "2030-01-01T00:00:00"}, "body.startsAt"),
        ({"name": ""}, "body.name"),
    ],
)
def test_invalid_promotions_are_refused(
    partner: httpx.Client, overrides: dict[str, Any], field: str
) -> None:
    response = partner.post("/v1/promotions", json=_promotion(**overrides))
    error = assert_error(response, 422, "invalid_request")
    assert error["details"]["problems"][0]["field"] == field
    assert partner.get("/v1/promotions").json()["items"] == []


def test_a_store_limited_token_cannot_promote_other_stores(
    server: Server, admin: httpx.Client
) -> None:
    tenant = Tenant.create(server, admin)
    with tenant.partner(tenant.token()) as full:
        assert full.put("/v1/stores/s-002/catalog", json={"items": [BURGER]}).is_success
        theirs = full.post("/v1/promotions", json=_promotion(store="s-002")).json()
    with tenant.partner(tenant.token(stores=["s-001"])) as limited:
        refused = limited.post("/v1/promotions", json=_promotion(store="s-002"))
        assert_error(refused, 422, "invalid_request")
        assert limited.get("/v1/promotions").json()["items"] == []
        assert_error(limited.delete(f"/v1/promotions/{theirs['id']}"), 404, "not_found")
