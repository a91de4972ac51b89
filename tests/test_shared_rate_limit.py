"""Two `hubops serve` processes on one database share each token's rate limit.

Behind a load balancer a partner's requests land on any replica; the limit
holds for the token, not per process, and the RateLimit-* headers of both
replicas count down one allowance.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import pg_database
from partner_env import Tenant, assert_error
from runtime_server import Server, two_replicas

BURST = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            url = stack.enter_context(pg_database())
        env = {
            "HUBOPS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "HUBOPS_RATE_LIMIT": f"0.05,{BURST}",  # one request back every 20 s: none during the test
        }
        yield stack.enter_context(two_replicas(tmp_path, url, env))


def test_two_replicas_count_one_allowance(replicas: tuple[Server, Server]) -> None:
    one, two = replicas
    with one.client() as admin:
        tenant = Tenant.create(one, admin)
        token = tenant.token()
    answers = []
    for turn in range(BURST + 2):
        server = (one, two)[turn % 2]
        with server.client(token) as partner:
            answers.append(partner.get("/v1/orders", params={"limit": 1}))
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200] * BURST + [429, 429], statuses
    remaining = [int(answer.headers["ratelimit-remaining"]) for answer in answers]
    assert remaining == [*range(BURST - 1, -1, -1), 0, 0]
    assert all(int(a.headers["ratelimit-limit"]) == BURST for a in answers)
    limited = answers[-1]
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    assert int(limited.headers["ratelimit-reset"]) >= int(limited.headers["retry-after"])
