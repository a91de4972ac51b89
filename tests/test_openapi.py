"""The runtime's OpenAPI document, as client generators and linters read it.

The document is dumped from the app, checked for what clients rely on
(errors and headers on every route, stable operationIds, one status enum),
and linted with the pinned Redocly CLI (recommended rules) and Spectral
(`spectral:oas`) that `npm ci --prefix .ci` installs (see the README).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubops.runtime import RuntimeSettings, create_app, sqlite_url

REPO = Path(__file__).resolve().parent.parent
LINTERS = REPO / ".ci" / "node_modules" / ".bin"

OPERATION_IDS = {
    ("GET", "/healthz"): "getHealth",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/admin/v1/tenants"): "listTenants",
    ("GET", "/admin/v1/tenants/{name}"): "getTenant",
    ("GET", "/admin/v1/tenant-states"): "getTenantStates",
    ("GET", "/admin/v1/fingerprint-key"): "getFingerprintKey",
    ("POST", "/admin/v1/tenants/{name}/changes"): "applyChanges",
    ("GET", "/admin/v1/tenants/{name}/changes"): "listChanges",
    ("POST", "/admin/v1/tenants/{name}/orders"): "simulateOrder",
    ("GET", "/admin/v1/tenants/{tenant}/webhooks/{name}/deliveries"): "listDeliveries",
    (
        "POST",
        "/admin/v1/tenants/{tenant}/webhooks/{name}/deliveries/{message_id}/redeliver",
    ): "redeliverMessage",
    ("GET", "/v1/orders"): "listOrders",
    ("GET", "/v1/orders/{order_id}"): "getOrder",
    ("POST", "/v1/orders/{order_id}/status"): "changeOrderStatus",
    ("GET", "/v1/stores/{store}/catalog"): "getCatalog",
    ("PUT", "/v1/stores/{store}/catalog"): "replaceCatalog",
    ("GET", "/v1/promotions"): "listPromotions",
    ("POST", "/v1/promotions"): "createPromotion",
    ("DELETE", "/v1/promotions/{promotion_id}"): "deletePromotion",
    ("POST", "/v1/stores/{store}/catalog/uploads"): "uploadCatalogFile",
    ("GET", "/v1/stores/{store}/catalog/uploads"): "listCatalogUploads",
    ("GET", "/v1/catalog/uploads/{upload_id}"): "getCatalogUpload",
    ("GET", "/v1/catalog/uploads/{upload_id}/errors"): "getCatalogUploadErrors",
    (
        "POST",
        "/admin/v1/tenants/{tenant}/stores/{store}/catalog/uploads",
    ): "uploadCatalogFileManually",
    ("GET", "/admin/v1/tenants/{tenant}/stores/{store}/catalog/uploads"): "listStoreCatalogUploads",
    ("GET", "/admin/v1/tenants/{tenant}/catalog/uploads/{upload_id}"): "getTenantCatalogUpload",
    (
        "GET",
        "/admin/v1/tenants/{tenant}/catalog/uploads/{upload_id}/errors",
    ): "getTenantCatalogUploadErrors",
    ("POST", "/admin/v1/tenants/{tenant}/connections"): "requestConnection",
    ("GET", "/admin/v1/tenants/{tenant}/connections"): "listConnections",
    ("POST", "/admin/v1/tenants/{tenant}/admins/{email}/invite"): "sendInvitation",
    ("POST", "/admin/v1/tenants/{tenant}/plan-report"): "reportPlan",
    ("POST", "/admin/v1/tenants/{tenant}/webhooks/{name}/test"): "sendTestEvent",
    ("POST", "/admin/v1/tenants/{tenant}/webhooks/{name}/replay"): "replayMessages",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
RATE_LIMIT = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("openapi")
    settings = RuntimeSettings(db_url=sqlite_url(folder / "state.db"), admin_tokens={"ci": "x"})

    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            response = await client.get("/openapi.json")
            assert response.status_code == 200
            spec: dict[str, Any] = response.json()
            return spec

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def dumped(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi-dump") / "openapi.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]


def test_every_operation_has_its_short_stable_operation_id(document: dict[str, Any]) -> None:
    found = {(method, path): op["operationId"] for method, path, op in operations(document)}
    assert found == OPERATION_IDS


def test_every_body_can_be_refused_in_the_error_shape(document: dict[str, Any]) -> None:
    with_body = [(m, p, op) for m, p, op in operations(document) if "requestBody" in op]
    # the catalog file uploads, connection requests, plan reports, replay
    assert len(with_body) == 10
    for method, path, op in with_body:
        for status in ("400", "413", "415", "422"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == ERROR_REF, (method, path, status)
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR_REF, (method, path, status)  # FastAPI's 422 replaced
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _headers(response: dict[str, Any], document: dict[str, Any]) -> set[str]:
    names = set()
    for name, header in response.get("headers", {}).items():
        ref = header["$ref"].rsplit("/", 1)[1]
        assert document["components"]["headers"][ref]["schema"], ref
        names.add(name)
    return names


def test_response_headers_are_declared(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        responses = op["responses"]
        if "401" in responses:
            assert "WWW-Authenticate" in _headers(responses["401"], document), path
        if "403" in responses:
            assert "WWW-Authenticate" in _headers(responses["403"], document), path
        if "429" in responses:
            assert "Retry-After" in _headers(responses["429"], document), path
        if path.startswith("/v1/"):
            assert {"401", "403", "429"} <= set(responses), path
            for status, response in responses.items():
                expected = set() if status in ("401", "408", "413") else RATE_LIMIT
                assert expected <= _headers(response, document), (method, path, status)
    status_change = document["paths"]["/v1/orders/{order_id}/status"]["post"]
    assert "Idempotent-Replayed" in _headers(status_change["responses"]["200"], document)


def test_order_status_is_one_named_enum(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["OrderStatus"]["enum"][0] == "RECEIVED"
    elsewhere = json.dumps(
        {
            **document,
            "components": {
                **document["components"],
                "schemas": {
                    name: schema for name, schema in schemas.items() if name != "OrderStatus"
                },
            },
        }
    )
    assert "READY_FOR_PICKUP" not in elsewhere
    ref = {"$ref": "#/components/schemas/OrderStatus"}
    assert schemas["Order"]["properties"]["status"] == ref
    assert schemas["StatusIn"]["properties"]["status"] == ref
    status = next(
        p for p in document["paths"]["/v1/orders"]["get"]["parameters"] if p["name"] == "status"
    )
    assert ref in status["schema"]["anyOf"]


def test_the_document_describes_itself(document: dict[str, Any]) -> None:
    assert document["info"]["license"]["identifier"] == "MIT"
    assert document["servers"] and document["info"]["contact"]
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    for method, path, op in operations(document):
        assert all(tags.get(tag) for tag in op["tags"]), (method, path)
        assert op.get("description"), (method, path)
        expected = (
            []
            if path in ("/healthz", "/readyz")
            else [{"partnerToken": []}]
            if path.startswith("/v1/")
            else [{"adminToken": []}]
        )
        assert op["security"] == expected, (method, path)
    assert "empty" in document["info"]["description"]  # the rule for empty query parameters


def _linter(name: str) -> str:
    binary = LINTERS / name
    assert binary.exists(), f"{binary} is missing: run `npm ci --prefix .ci` (see the README)"
    return str(binary)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No telemetry, no update check: the linters must not reach the network.
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_redocly_recommended_rules_pass(dumped: Path) -> None:
    result = _run(
        [_linter("redocly"), "lint", "--extends=recommended", "--format=json", dumped.name],
        dumped.parent,
    )
    report = json.loads(result.stdout)
    problems = [
        (p["severity"], p["ruleId"], p["location"][0]["pointer"]) for p in report["problems"]
    ]
    # Only liveness and readiness have no 4xx: they take no input that could be refused.
    assert problems == [
        ("warn", "operation-4xx-response", "#/paths/~1healthz/get/responses"),
        ("warn", "operation-4xx-response", "#/paths/~1readyz/get/responses"),
    ]
    assert result.returncode == 0, result.stderr


def test_spectral_oas_rules_pass(dumped: Path) -> None:
    ruleset = REPO / ".ci" / "spectral.yaml"
    report = dumped.parent / "spectral.json"
    command = [_linter("spectral"), "lint", "--ruleset", str(ruleset), "--format=json"]
    command += ["--fail-severity=hint", f"--output={report.name}", dumped.name]
    result = _run(command, dumped.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report.read_text()) == []
