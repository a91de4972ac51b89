"""`hubops catalog upload` (served and embedded runtimes), the catalog.upload_finished event,
and an upload that outlives a killed runtime as a failed record."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from catalog_files import big_csv, csv_file, upload, wait_done
from conftest import Repo
from partner_env import Tenant
from runtime_server import CI_TOKEN, Server
from webhook_receiver import Receiver, verify


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1", "HUBOPS_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2"}


def test_the_cli_uploads_waits_and_writes_the_error_file(
    server: Server,
    admin: httpx.Client,
    tmp_path: Path,
    hubops,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", CI_TOKEN)
    tenant = Tenant.create(server, admin)
    good = tmp_path / "menu.csv"
    good.write_bytes(csv_file("B1,Burger,9.50,yes", "F1,Fries,3.00,no"))
    result = hubops(
        "catalog",
        "upload",
        str(good),
        "--tenant",
        tenant.name,
        "--store",
        "s-001",
        "--runtime",
        server.url,
    )
    assert result.code == 0, result.text
    assert "succeeded; 2 rows, 2 accepted, 0 rejected." in result.out
    mixed = tmp_path / "more.json"
    mixed.write_text(
        json.dumps(
            {
                "items": [
                    {"sku": "C1", "name": "Cola", "price": "2.00", "available": True},
                    {"sku": "C2", "name": "Cola", "price": "two", "available": True},
                ]
            }
        )
    )
    errors = tmp_path / "out" / "errors.csv"
    result = hubops(
        "catalog",
        "upload",
        str(mixed),
        "--tenant",
        tenant.name,
        "--store",
        "s-001",
        "--mode",
        "update",
        "--errors-out",
        str(errors),
        "--runtime",
        server.url,
    )
    assert result.code == 1
    assert "partial; 2 rows, 1 accepted, 1 rejected." in result.out
    assert "line 2 sku C2 (price)" in result.err
    assert errors.read_text().splitlines()[0] == "line,sku,field,error"
    assert errors.read_text().splitlines()[1].startswith("2,C2,price,")
    with tenant.partner(tenant.token(["catalog:read"])) as reader:
        skus = [i["sku"] for i in reader.get("/v1/stores/s-001/catalog").json()["items"]]
        history = reader.get("/v1/stores/s-001/catalog/uploads").json()["items"]
    assert skus == ["B1", "F1", "C1"]
    assert [h["source"] for h in history] == ["manual", "manual"]
    assert [h["fileName"] for h in history] == ["more.json", "menu.csv"]
    unknown = tmp_path / "menu.txt"
    unknown.write_text("x")
    result = hubops(
        "catalog",
        "upload",
        str(unknown),
        "--tenant",
        tenant.name,
        "--store",
        "s-001",
        "--runtime",
        server.url,
    )
    assert result.code == 1 and "name the file *.csv or *.json" in result.err
    result = hubops(
        "catalog",
        "upload",
        str(good),
        "--tenant",
        tenant.name,
        "--store",
        "nope",
        "--runtime",
        server.url,
    )
    assert (
        result.code == 1
        and "the tenant has no such store" in result.err
        and "Traceback" not in result.text
    )


def test_the_cli_works_against_the_embedded_runtime(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", "state.db").code == 0
    bad = repo.root / "bad.csv"
    bad.write_bytes(csv_file("B1,Burger,9.50,yes", "B2,Bun,,yes"))
    result = hubops(
        "catalog",
        "upload",
        str(bad),
        "--tenant",
        "acme",
        "--store",
        "acme-001",
        "--errors-out",
        "errors.csv",
        "--runtime",
        "state.db",
    )
    assert result.code == 1 and "failed; 2 rows, 0 accepted, 1 rejected." in result.out
    assert (repo.root / "errors.csv").read_text().splitlines()[1] == "3,B2,price,price is empty"
    good = repo.root / "good.csv"
    good.write_bytes(csv_file("B1,Burger,9.50,yes"))
    result = hubops(
        "catalog",
        "upload",
        str(good),
        "--tenant",
        "acme",
        "--store",
        "acme-001",
        "--runtime",
        "state.db",
    )
    assert result.code == 0 and "succeeded; 1 rows, 1 accepted, 0 rejected." in result.out


def test_a_finished_upload_is_delivered_to_subscribed_webhooks(
    server: Server, admin: httpx.Client
) -> None:
    tenant = Tenant.create(server, admin)
    with Receiver() as receiver:
        hooks = {
            "uploads": (["catalog.upload_finished"], None),
            "other-store": (["catalog.upload_finished"], ["s-002"]),
            "orders-only": (["order.created"], None),
        }
        secrets = {}
        for name, (events, stores) in hooks.items():
            change = tenant.changes.webhook(
                name, url=receiver.url + f"?{name}", events=events, stores=stores
            )
            secrets[name] = change["secrets"]["secret"]
            tenant.apply([{**change, "action": "create"}])
        with tenant.partner(tenant.token()) as partner:
            response = upload(
                partner, "s-001", csv_file("B1,Burger,9.50,yes", "X,,1,yes"), mode="update"
            )
            record = wait_done(partner, f"/v1/catalog/uploads/{response.json()['id']}")
        got = receiver.wait_for(1)
        time.sleep(0.5)
        assert len(receiver.received) == 1 and got[0].path.endswith("?uploads")
        assert verify(secrets["uploads"], got[0])
        body = json.loads(got[0].body)
        assert body["type"] == "catalog.upload_finished" and body["data"] == record
        assert body["data"]["status"] == "partial"
    log = admin.get(f"/admin/v1/tenants/{tenant.name}/webhooks/uploads/deliveries").json()["items"]
    assert log[0]["eventType"] == "catalog.upload_finished" and log[0]["orderId"] is None


def test_an_upload_cut_off_by_a_killed_runtime_ends_failed(tmp_path: Path, db_url: str) -> None:
    server = Server(
        tmp_path,
        db_url,
        extra_env={"HUBOPS_CATALOG_UPLOAD_LEASE_SECONDS": "1"},
    ).start()
    try:
        with server.client() as admin:
            tenant = Tenant.create(server, admin)
            with tenant.partner(tenant.token()) as partner:
                assert partner.put(
                    "/v1/stores/s-001/catalog",
                    json={
                        "items": [{"sku": "OLD", "name": "Old", "price": "1.00", "available": True}]
                    },
                ).is_success
                response = upload(partner, "s-001", big_csv(100_000))
                path = f"/v1/catalog/uploads/{response.json()['id']}"
                deadline = time.monotonic() + 30
                while partner.get(path).json()["rows"] == 0:  # mid-file
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
        server.stop(signal.SIGKILL)
        server.start()
        with tenant.partner(tenant.tokens["tok0"]) as partner:
            record = wait_done(partner, path, timeout=30)
            assert record["status"] == "failed" and record["accepted"] == 0
            errors = partner.get(record["errorFile"]).text.splitlines()
            assert errors[-1].startswith(',,,"the runtime stopped before it finished this file')
            assert partner.get("/v1/stores/s-001/catalog").json()["items"][0]["sku"] == "OLD"
    finally:
        server.stop()
