"""The per-token rate limit: a burst passes, then 429 with Retry-After, per token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from partner_env import Tenant, assert_error, serving
from runtime_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(tmp_path_factory, "partner-limits", HUBOPS_RATE_LIMIT="2,10")


def test_a_burst_then_429_with_retry_after(server: Server) -> None:
    with server.client() as admin:
        tenant = Tenant.create(server, admin)
        busy, calm = tenant.token(), tenant.token()
    with tenant.partner(busy) as partner:
        statuses = [partner.get("/v1/orders").status_code for _ in range(12)]
        assert statuses[:10] == [200] * 10 and statuses[-1] == 429
        limited = partner.get("/v1/orders")
        error = assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert error["details"]["retryAfterSeconds"] == int(limited.headers["retry-after"])
    with tenant.partner(calm) as other:
        assert other.get("/v1/orders").status_code == 200  # buckets are per token
    with httpx.Client(base_url=server.url) as anonymous:
        # unauthenticated requests are refused before they could use a token's bucket
        assert anonymous.get("/v1/orders").status_code == 401
