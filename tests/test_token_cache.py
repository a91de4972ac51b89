"""Each replica keeps token rows for at most TOKEN_CACHE_SECONDS; revocation still holds.

Two `hubops serve` processes on one database (SQLite, or PostgreSQL in the suite's
second run): a token removed or narrowed through one replica is refused by that
replica on its next request, and by the other no later than TOKEN_CACHE_SECONDS after
the apply answered; an expired token is refused at once by both, however recently
either read its row.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from databases import fresh_database
from hubops.runtime.token_cache import TOKEN_CACHE_SECONDS
from partner_env import Tenant, assert_error
from runtime_server import Server, two_replicas


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    root = tmp_path_factory.mktemp("token-cache")
    env = {"HUBOPS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    with fresh_database(root) as url, two_replicas(root, url, env) as pair:
        yield pair


def _refused_after(server: Server, token: str, path: str) -> list[tuple[float, int]]:
    """(when sent, status) of requests to `server` until one is refused, for at most 10 s."""
    seen: list[tuple[float, int]] = []
    with server.client(token) as partner:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sent = time.monotonic()
            status = partner.get(path).status_code
            seen.append((sent, status))
            if status != 200:
                break
            time.sleep(0.05)
    return seen


def test_a_removed_token_is_refused_by_every_replica_within_the_bound(
    replicas: tuple[Server, Server],
) -> None:
    one, two = replicas
    with one.client() as admin:
        tenant = Tenant.create(one, admin)
        token = tenant.token(name="leaving")
        for server in (one, two):  # both replicas now hold the row
            with server.client(token) as partner:
                assert partner.get("/v1/orders").status_code == 200
        tenant.apply([{"address": "token/leaving", "action": "delete"}])
        applied = time.monotonic()
    with one.client(token) as partner:  # the replica that applied: at once
        assert_error(partner.get("/v1/orders"), 401, "invalid_token")
    seen = _refused_after(two, token, "/v1/orders")
    assert seen[-1][1] == 401, seen
    late = [sent for sent, status in seen if status == 200 and sent > applied + TOKEN_CACHE_SECONDS]
    assert late == [], f"served {len(late)} requests sent after the bound"


def test_a_narrowed_token_loses_its_scope_on_every_replica_within_the_bound(
    replicas: tuple[Server, Server],
) -> None:
    one, two = replicas
    with one.client() as admin:
        tenant = Tenant.create(one, admin)
        token = tenant.token(scopes=["orders:read"], name="narrowing")
        with two.client(token) as partner:
            assert partner.get("/v1/orders").status_code == 200
        narrowed = tenant.changes.token("narrowing", token, ["catalog:read"])
        tenant.apply([{**narrowed, "action": "update"}])
        applied = time.monotonic()
    seen = _refused_after(two, token, "/v1/orders")
    assert seen[-1][1] == 403, seen
    late = [sent for sent, status in seen if status == 200 and sent > applied + TOKEN_CACHE_SECONDS]
    assert late == []


def test_an_expired_token_is_refused_at_once_though_its_row_is_kept(
    replicas: tuple[Server, Server],
) -> None:
    one, two = replicas
    expires = datetime.now(UTC) + timedelta(seconds=4)
    with one.client() as admin:
        tenant = Tenant.create(one, admin)
        token = tenant.token(expires_at=expires.isoformat().replace("+00:00", "Z"))
    seen: list[tuple[datetime, datetime, int]] = []
    with one.client(token) as first, two.client(token) as second:
        while datetime.now(UTC) < expires + timedelta(seconds=1):
            for partner in (first, second):  # each keeps its row fresh up to the expiry
                sent = datetime.now(UTC)
                response = partner.get("/v1/orders")
                seen.append((sent, datetime.now(UTC), response.status_code))
                if response.status_code != 200:
                    assert "expired" in assert_error(response, 401, "invalid_token")["message"]
            time.sleep(0.05)
    assert [status for sent, _, status in seen if sent > expires] != []
    assert all(status == 401 for sent, _, status in seen if sent > expires), seen
    assert all(status == 200 for _, done, status in seen if done < expires), seen
    assert any(done < expires for _, done, _ in seen)
