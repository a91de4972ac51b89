"""Property-based check of the Partner API against its own OpenAPI document (schemathesis).

Every /v1 operation gets generated requests with an all-scopes token on a
tenant that has orders, a catalog and a promotion; no response may be a
5xx or differ from the schema the document declares for its status.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from databases import fresh_database
from partner_env import Tenant
from runtime_server import Server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    workdir: Path = tmp_path_factory.mktemp("partner-schema")
    with fresh_database(workdir) as db_url:
        yield from _live(workdir, db_url)


def _live(workdir: Path, db_url: str) -> Iterator[tuple[Server, str]]:
    srv = Server(
        workdir=workdir, db_url=db_url, extra_env={"HUBOPS_RATE_LIMIT": "100000,100000"}
    ).start()
    with srv.client() as admin:
        tenant = Tenant.create(srv, admin)
        token = tenant.token()
        for store in ("s-001", "s-002"):
            tenant.order(store)
        with tenant.partner(token) as partner:
            item = {"sku": "B1", "name": "Burger", "price": "9.50", "available": True}
            partner.put("/v1/stores/s-001/catalog", json={"items": [item]})
            partner.post(
                "/v1/promotions",
                json={"name": "Deal", "store": "s-001", "sku": "B1", "discountPercent": 10},
            )
    yield srv, token
    srv.stop()


OPERATIONS = [
    ("GET", "/v1/orders"),
    ("GET", "/v1/orders/{order_id}"),
    ("POST", "/v1/orders/{order_id}/status"),
    ("GET", "/v1/stores/{store}/catalog"),
    ("PUT", "/v1/stores/{store}/catalog"),
    ("GET", "/v1/promotions"),
    ("POST", "/v1/promotions"),
    ("DELETE", "/v1/promotions/{promotion_id}"),
    ("GET", "/v1/stores/{store}/catalog/uploads"),
    ("GET", "/v1/catalog/uploads/{upload_id}"),
    ("GET", "/v1/catalog/uploads/{upload_id}/errors"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def partner_schema(live: tuple[Server, str]) -> Any:
    server, _token = live
    document = httpx.get(f"{server.url}/openapi.json").json()
    return schemathesis.openapi.from_dict(document)


# One pytest test per operation, each driving hypothesis itself: schemathesis' own
# pytest plugin (`from_fixture`) does not work with the pytest this project uses.
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_partner_api_conforms_to_its_openapi(
    method: str, path: str, live: tuple[Server, str], partner_schema: Any
) -> None:
    server, token = live
    operation = partner_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        case.call_and_validate(
            base_url=server.url,
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
        )

    check()


def test_the_document_declares_bearer_auth_on_every_partner_route(
    live: tuple[Server, str],
) -> None:
    server, _token = live
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert document["components"]["securitySchemes"]["partnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["partnerToken"]["description"],
    }
    operations = [
        (path, method, op)
        for path, methods in document["paths"].items()
        if path.startswith("/v1/")
        for method, op in methods.items()
    ]
    assert len(operations) == 12
    for path, method, op in operations:
        assert op["security"] == [{"partnerToken": []}], (path, method)
        assert {"200", "201", "202", "204"} & set(op["responses"]), (path, method)
        for status in ("401", "403", "422", "429"):
            error_ref = op["responses"][status]["content"]["application/json"]["schema"]
            assert error_ref == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
