"""The per-token rate limit: a burst passes, then 429 with Retry-After, per token; RateLimit-* headers."""

from __future__ import annotations

import httpx
import pytest

from partner_env import Tenant, assert_error
from runtime_server import Server


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_RATE_LIMIT": "2,10"}


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


def _quota(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["ratelimit-limit"]),
        int(headers["ratelimit-remaining"]),
        int(headers["ratelimit-reset"]),
    )


def test_every_counted_response_says_where_the_token_stands(server: Server) -> None:
    with server.client() as admin:
        tenant = Tenant.create(server, admin)
        token = tenant.token()
        reader = tenant.token(scopes=["orders:read"])
    with tenant.partner(token) as partner:
        answers = [partner.get("/v1/orders") for _ in range(3)]
        answers.append(partner.get("/v1/orders/ord_missing"))  # errors count and say so too
        answers.append(partner.post("/v1/promotions", json={}))
        quotas = [_quota(a) for a in answers]
        assert [a.status_code for a in answers] == [200, 200, 200, 404, 422]
        assert {limit for limit, _, _ in quotas} == {10}  # the burst of HUBOPS_RATE_LIMIT=2,10
        remaining = [left for _, left, _ in quotas]
        assert remaining[0] == 9 and remaining == sorted(remaining, reverse=True)
        # seconds until the bucket is full again at 2 requests a second
        assert all(1 <= reset <= 5 for _, _, reset in quotas)
        for _ in range(50):
            if (limited := partner.get("/v1/orders")).status_code == 429:
                break
        assert (
            limited.status_code == 429
            and _quota(limited)[1] == 0
            and int(limited.headers["retry-after"]) >= 1
        )
    with tenant.partner(reader) as partner:
        forbidden = partner.get("/v1/promotions")
        assert forbidden.status_code == 403 and _quota(forbidden)[1] == 9
    with tenant.partner(None) as anonymous:
        # no token, nothing counted: there is no bucket to describe
        assert "ratelimit-limit" not in anonymous.get("/v1/orders").headers
