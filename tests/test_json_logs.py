"""`HUBOPS_LOG_FORMAT=json`: every line `hubops serve` writes is one JSON object.

Requests are logged by route template with method, status and time; a
token sent in a header and secrets put in a query string (as clients do by
mistake) appear nowhere in the output.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest

from partner_env import Tenant
from runtime_server import CI_TOKEN, HUBOPS, Server

QUERY_SECRET = "sk_live_4f9a7c2e1b8d6035"


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_LOG_FORMAT": "json"}


def entries(server: Server) -> list[dict[str, Any]]:
    lines = [line for line in server.logs().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    for entry in parsed:
        assert {"ts", "level", "msg", "logger"} <= set(entry), entry
        assert entry["ts"].endswith("Z")
    return parsed


def test_requests_are_json_lines_by_route_without_query_or_headers(
    server: Server, tenant: Tenant
) -> None:
    token = tenant.token()
    order = tenant.order()
    with tenant.partner(token) as partner:
        response = partner.get(
            f"/v1/orders/{order['id']}",
            params={"api_key": QUERY_SECRET},
            headers={"X-Api-Key": QUERY_SECRET},
        )
        assert response.status_code == 200
        assert partner.get("/v1/orders", params={"token": token, "limit": 2}).status_code == 200
    refused = httpx.get(
        f"{server.url}/v1/orders?access_token={QUERY_SECRET}",
        headers={"Authorization": f"Bearer {QUERY_SECRET}"},
    )
    assert refused.status_code == 401

    logged = entries(server)
    requests = [e for e in logged if e["logger"] == "hubops.runtime.requests"]
    one = next(e for e in requests if e.get("route") == "/v1/orders/{order_id}")
    assert one["method"] == "GET" and one["status"] == 200 and one["level"] == "INFO"
    assert isinstance(one["ms"], float) and one["ms"] >= 0
    assert any(e.get("route") == "/v1/orders" and e["status"] == 401 for e in requests)
    assert any(e["logger"].startswith("uvicorn") for e in logged)  # uvicorn's lines too
    assert any(e["msg"].startswith("hubops runtime: database") for e in logged)
    text = server.logs()
    for secret in (QUERY_SECRET, token, CI_TOKEN, order["id"], "api_key", "access_token"):
        assert secret not in text


def test_an_unknown_log_format_is_refused_in_one_sentence() -> None:
    result = subprocess.run(
        [HUBOPS, "serve", "--db", "sqlite:///:memory:", "--port", "0"],
        env={"HUBOPS_ADMIN_TOKEN": CI_TOKEN, "HUBOPS_LOG_FORMAT": "xml", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "HUBOPS_LOG_FORMAT must be `text` or `json`" in result.stderr
    assert "Traceback" not in result.stderr
