"""Catalog files through the Partner API on a served runtime: both modes, both formats,
history, error files, limits, scopes and tenant isolation."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest

from catalog_files import CSV, JSON, csv_file, upload, upload_and_wait, wait_done
from partner_env import Tenant, assert_error
from runtime_server import Server

BURGER = {"sku": "B1", "name": "Burger", "price": "9.50", "available": True}
FRIES = {"sku": "F1", "name": "Fries", "price": "3.00", "available": False}


@pytest.fixture
def partner(tenant: Tenant) -> Iterator[httpx.Client]:
    with tenant.partner(tenant.token()) as client:
        assert client.put("/v1/stores/s-001/catalog", json={"items": [BURGER, FRIES]}).is_success
        yield client


def catalog(client: httpx.Client, store: str = "s-001") -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get(f"/v1/stores/{store}/catalog").json()["items"]
    return items


def error_rows(client: httpx.Client, record: dict[str, object]) -> list[list[str]]:
    response = client.get(str(record["errorFile"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_a_good_csv_replaces_the_catalog(partner: httpx.Client) -> None:
    body = b"\xef\xbb\xbf" + csv_file(
        "C1,Cola,2.50,true", '"S1","Salad, ""green""",4.25,1', "W1,Water,1,NO"
    )
    record = upload_and_wait(partner, "s-001", body, file_name="../menu.csv")
    assert record["status"] == "succeeded"
    assert (record["rows"], record["accepted"], record["rejected"]) == (3, 3, 0)
    assert record["errorFile"] is None and record["finishedAt"] is not None
    assert record["fileName"] == "menu.csv" and record["source"] == "api"
    assert record["mode"] == "replace" and record["store"] == "s-001"
    assert catalog(partner) == [
        {"sku": "C1", "name": "Cola", "price": "2.50", "available": True},
        {"sku": "S1", "name": 'Salad, "green"', "price": "4.25", "available": True},
        {"sku": "W1", "name": "Water", "price": "1", "available": False},
    ]
    assert_error(partner.get(f"/v1/catalog/uploads/{record['id']}/errors"), 404, "not_found")


def test_one_bad_row_rejects_a_replace_and_the_error_file_names_exact_lines(
    partner: httpx.Client,
) -> None:
    body = csv_file(
        "C1,Cola,2.50,yes",
        '"M1","Menu with a\nline break",5.00,no',
        "X1,,cheap,maybe",
        "C1,Cola again,2.60,yes",
        "Y1,Short row",
    )
    record = upload_and_wait(partner, "s-001", body, file_name="bad.csv")
    assert record["status"] == "failed"
    assert (record["rows"], record["accepted"], record["rejected"]) == (5, 0, 3)
    assert catalog(partner) == [BURGER, FRIES]  # nothing changed
    rows = error_rows(partner, record)
    assert rows[0] == ["line", "sku", "field", "error"]
    # the quoted line break makes row M1 span lines 3-4, so X1 is on line 5
    assert [r[:3] for r in rows[1:]] == [
        ["5", "X1", "name"],
        ["5", "X1", "price"],
        ["5", "X1", "available"],
        ["6", "C1", "sku"],
        ["7", "Y1", ""],
    ]
    assert "first on line 2" in rows[4][3]
    assert "2 fields but the header has 4" in rows[5][3]
    assert "cheap" not in " ".join(r[3] for r in rows[1:])  # values are never echoed


def test_update_applies_good_rows_and_reports_bad_ones(partner: httpx.Client) -> None:
    body = csv_file("F1,Fries large,3.50,yes", "N1,Nuggets,6.00,no", "Z1,Zero,-1,yes")
    record = upload_and_wait(partner, "s-001", body, mode="update")
    assert record["status"] == "partial"
    assert (record["rows"], record["accepted"], record["rejected"]) == (3, 2, 1)
    assert catalog(partner) == [
        BURGER,
        {"sku": "F1", "name": "Fries large", "price": "3.50", "available": True},
        {"sku": "N1", "name": "Nuggets", "price": "6.00", "available": False},
    ]
    rows = error_rows(partner, record)
    assert rows[1:] == [
        [
            "4",
            "Z1",
            "price",
            'price is not a decimal amount such as "9.50" (no sign, at most 4 decimals)',
        ]
    ]
    raw = partner.get(str(record["errorFile"])).content
    assert raw.startswith(b"line,sku,field,error\r\n")  # RFC 4180 line ends and quoting
    assert b'"price is not a decimal amount such as ""9.50"" (no sign' in raw


def test_an_update_with_only_bad_rows_fails(partner: httpx.Client) -> None:
    record = upload_and_wait(partner, "s-001", csv_file("Q1,,1.00,yes"), mode="update")
    assert record["status"] == "failed" and record["accepted"] == 0
    assert catalog(partner) == [BURGER, FRIES]


def test_json_files_in_both_modes_report_item_indexes(partner: httpx.Client) -> None:
    good = json.dumps({"items": [FRIES, BURGER]}).encode()
    record = upload_and_wait(partner, "s-001", good, content_type=JSON)
    assert record["status"] == "succeeded" and catalog(partner) == [FRIES, BURGER]
    mixed = json.dumps(
        {"items": [{**BURGER, "price": "10.00"}, {**FRIES, "price": 3.5}, "oops", {"sku": "K1"}]}
    ).encode()
    record = upload_and_wait(partner, "s-001", mixed, content_type=JSON, mode="update")
    assert record["status"] == "partial"
    assert (record["rows"], record["accepted"], record["rejected"]) == (4, 1, 3)
    rows = error_rows(partner, record)
    assert [r[:3] for r in rows[1:]] == [
        ["2", "F1", "price"],
        ["3", "", ""],
        ["4", "K1", "name"],
        ["4", "K1", "price"],
        ["4", "K1", "available"],
    ]
    assert catalog(partner)[1] == {**BURGER, "price": "10.00"}
    record = upload_and_wait(partner, "s-001", mixed, content_type=JSON)  # replace: rejected
    assert record["status"] == "failed" and record["accepted"] == 0


@pytest.mark.parametrize(
    ("body", "content_type", "line", "field", "words"),
    [
        (b"sku,name,cost,available\r\nB1,B,1,yes\r\n", CSV, "1", "cost", 'unknown column "cost"'),
        (b"sku,name,available\r\n", CSV, "1", "price", 'no "price" column'),
        (b"", CSV, "1", "", "the file is empty"),
        (b'sku,name,price,available\r\n"B1,B,1,yes\r\n', CSV, "2", "", "not valid CSV"),
        (b"sku,name,price,available\r\nB1,\xff,1,yes\r\n", CSV, "2", "", "not UTF-8"),
        (b'{"items": {}}', JSON, "", "items", "must be a list"),
        (b'{"items": [], "extra": 1}', JSON, "", "extra", "unknown field"),
        (b'{"items": [', JSON, "", "", "not valid JSON"),
    ],
)
def test_a_file_that_cannot_be_read_fails_with_one_problem(
    partner: httpx.Client, body: bytes, content_type: str, line: str, field: str, words: str
) -> None:
    record = upload_and_wait(partner, "s-001", body, content_type=content_type, mode="update")
    assert record["status"] == "failed"
    rows = error_rows(partner, record)
    assert len(rows) == 2 and rows[1][0] == line and rows[1][2] == field
    assert words in rows[1][3]
    assert catalog(partner) == [BURGER, FRIES]


def test_history_is_newest_first_in_the_list_shape(partner: httpx.Client) -> None:
    ids = [
        upload_and_wait(partner, "s-001", csv_file(f"H{n},Item,1.00,yes"), mode="update")["id"]
        for n in range(3)
    ]
    first = partner.get("/v1/stores/s-001/catalog/uploads", params={"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    rest = partner.get(
        "/v1/stores/s-001/catalog/uploads", params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert rest["items"][0]["id"] == ids[0] and rest["nextCursor"] is None
    one = partner.get(f"/v1/catalog/uploads/{ids[1]}").json()
    assert set(one) == {
        "id",
        "store",
        "source",
        "fileName",
        "mode",
        "status",
        "receivedAt",
        "finishedAt",
        "rows",
        "accepted",
        "rejected",
        "errorFile",
    }
    assert partner.get("/v1/stores/s-002/catalog/uploads").json() == {
        "items": [],
        "nextCursor": None,
    }


def test_size_type_and_mode_are_checked_before_processing(partner: httpx.Client) -> None:
    big = b"sku,name,price,available\r\n" + b"x" * (20 * 1024 * 1024)
    error = assert_error(upload(partner, "s-001", big), 413, "payload_too_large")
    assert error["details"] == {"maxBytes": 20 * 1024 * 1024}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield b"sku,name,price,available\r\n"
        for _ in range(21):
            yield b"y" * (1024 * 1024)

    streamed = partner.post(
        "/v1/stores/s-001/catalog/uploads", content=chunks(), headers={"Content-Type": CSV}
    )
    assert_error(streamed, 413, "payload_too_large")
    assert_error(upload(partner, "s-001", b"a", "text/plain"), 415, "unsupported_media_type")
    assert_error(
        upload(partner, "s-001", b"a", "text/csv; charset=latin-1"), 415, "unsupported_media_type"
    )
    assert_error(upload(partner, "s-001", b"a", mode="merge"), 422, "invalid_request")
    # a file over 1 MiB (the limit of every other route) is accepted here
    rows = [f"L{n:06d},Item {n},1.00,yes" for n in range(60_000)]
    record = upload_and_wait(partner, "s-001", csv_file(*rows))
    assert record["status"] == "succeeded" and record["accepted"] == 60_000
    assert len(catalog(partner)) == 60_000
    # the 1 MiB limit still holds everywhere else
    assert_error(
        partner.put(
            "/v1/stores/s-001/catalog",
            content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
            headers={"Content-Type": JSON},
        ),
        413,
        "payload_too_large",
    )


def test_more_than_100000_rows_fail(partner: httpx.Client) -> None:
    rows = [f"R{n:06d},I,1,1" for n in range(100_001)]
    record = upload_and_wait(partner, "s-001", csv_file(*rows), mode="update", timeout=120)
    assert record["status"] == "partial" and record["accepted"] == 100_000
    problems = error_rows(partner, record)
    assert problems[1][0] == "100002" and "more than 100000 rows" in problems[1][3]


def test_scopes_stores_and_tenants_are_isolated(
    server: Server, admin: httpx.Client, tenant: Tenant, partner: httpx.Client
) -> None:
    record = upload_and_wait(partner, "s-001", csv_file("Q1,,1.00,yes"))
    with tenant.partner(tenant.token(["catalog:read"])) as reader:
        assert_error(upload(reader, "s-001", csv_file()), 403, "insufficient_scope")
        assert reader.get(f"/v1/catalog/uploads/{record['id']}").status_code == 200
        assert reader.get(str(record["errorFile"])).status_code == 200
    with tenant.partner(tenant.token(["orders:read"])) as orders_only:
        assert_error(
            orders_only.get(f"/v1/catalog/uploads/{record['id']}"), 403, "insufficient_scope"
        )
    with tenant.partner(tenant.token(stores=["s-002"])) as other_store:
        assert_error(upload(other_store, "s-001", csv_file()), 404, "not_found")
        assert_error(other_store.get(f"/v1/catalog/uploads/{record['id']}"), 404, "not_found")
        assert_error(other_store.get(str(record["errorFile"])), 404, "not_found")
        assert_error(other_store.get("/v1/stores/s-001/catalog/uploads"), 404, "not_found")
    other = Tenant.create(server, admin)
    with other.partner(other.token()) as stranger:
        assert_error(stranger.get(f"/v1/catalog/uploads/{record['id']}"), 404, "not_found")
        assert_error(stranger.get(str(record["errorFile"])), 404, "not_found")
    assert_error(upload(partner, "s-404", csv_file()), 404, "not_found")


def test_a_request_is_authenticated_before_its_body_is_read(server: Server) -> None:
    big = b"x" * (25 * 1024 * 1024)
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        response = upload(anonymous, "s-001", big)
    assert_error(response, 401, "unauthorized")


def test_operators_upload_by_hand_through_the_admin_api(
    admin: httpx.Client, tenant: Tenant, partner: httpx.Client
) -> None:
    response = admin.post(
        f"/admin/v1/tenants/{tenant.name}/stores/s-002/catalog/uploads",
        params={"mode": "update"},
        content=csv_file("A1,Apple,1.00,yes", "A2,,1.00,yes"),
        headers={"Content-Type": CSV, "Upload-Filename": "apples.csv"},
    )
    assert response.status_code == 202 and response.json()["source"] == "manual"
    record = wait_done(
        admin, f"/admin/v1/tenants/{tenant.name}/catalog/uploads/{response.json()['id']}"
    )
    assert record["status"] == "partial"
    assert (
        record["errorFile"]
        == f"/admin/v1/tenants/{tenant.name}/catalog/uploads/{record['id']}/errors"
    )
    assert admin.get(record["errorFile"]).text.splitlines()[1].startswith("3,A2,name,")
    seen = partner.get(f"/v1/catalog/uploads/{record['id']}").json()
    assert (
        seen["source"] == "manual"
        and seen["errorFile"] == f"/v1/catalog/uploads/{record['id']}/errors"
    )
    assert catalog(partner, "s-002") == [
        {"sku": "A1", "name": "Apple", "price": "1.00", "available": True}
    ]
    assert_error(
        admin.post(
            "/admin/v1/tenants/nobody/stores/s-001/catalog/uploads",
            content=b"",
            headers={"Content-Type": CSV},
        ),
        404,
        "tenant_not_found",
    )
