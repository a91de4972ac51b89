"""The admin state API as plan/apply see it: a real `hubops serve` over HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from databases import fresh_database
from hubops.tokens import new_token, new_webhook_secret
from runtime_server import (
    ALICE_TOKEN,
    CI_TOKEN,
    Changes,
    Server,
    create,
    fingerprint_key,
    post,
    with_action,
)

_names = (f"t{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("runtime")
    with fresh_database(workdir) as db_url:
        srv = Server(workdir=workdir, db_url=db_url).start()
        yield srv
        srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def tenant(client: httpx.Client) -> Changes:
    """A fresh tenant at revision 1 holding itself and store s-001."""
    builder = Changes(tenant=next(_names), key=fingerprint_key(client))
    assert post(client, builder.tenant, 0, builder.bootstrap()).status_code == 200
    return builder


def state_of(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.get(f"/admin/v1/tenants/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    return error


def test_healthz_is_open(server: Server) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("headers", "code", "challenge"),
    [
        ({}, "unauthorized", 'Bearer realm="hubops-admin"'),
        (
            {"Authorization": "Bearer wrong"},
            "invalid_token",
            'Bearer realm="hubops-admin", error="invalid_token"',
        ),
        # RFC 6750 3.1: no bearer token was sent, so the challenge has no error code
        ({"Authorization": f"Basic {CI_TOKEN}"}, "unauthorized", 'Bearer realm="hubops-admin"'),
        ({"Authorization": "Bearer"}, "unauthorized", 'Bearer realm="hubops-admin"'),
    ],
)
def test_admin_routes_need_a_valid_token(
    server: Server, headers: dict[str, str], code: str, challenge: str
) -> None:
    for path in ("/admin/v1/tenants", "/admin/v1/fingerprint-key", "/admin/v1/tenants/x"):
        response = httpx.get(server.url + path, headers=headers)
        assert_error(response, 401, code)
        assert response.headers["WWW-Authenticate"] == challenge
    response = httpx.post(
        f"{server.url}/admin/v1/tenants/x/changes",
        headers=headers,
        json={"baseRevision": 0, "changes": []},
    )
    assert_error(response, 401, code)


def test_every_kind_round_trips_and_audit_names_each_token(
    server: Server, client: httpx.Client, tenant: Changes
) -> None:
    t = tenant.tenant
    creds = tenant.credentials("xero", {"client_id": "cid-1", "secret_key": "sk-first"})
    token = tenant.token("orders")
    hook = tenant.webhook("pos")
    integration = {
        "partner": "xero",
        "enabled": True,
        "config": {"companyId": "12345"},
        "shopId": None,
        "credentials": "xero",
    }
    changes = [
        create("store/s-002", {"name": "Airport", "timezone": "Europe/Berlin"}),
        create("license/integrationHub", {"quantity": 2, "stores": ["s-001", "s-002"]}),
        create("admin/ops@acme.example", {"role": "owner"}),
        with_action(creds, "create"),
        create("integration/xero@s-001", integration),
        with_action(token, "create"),
        with_action(hook, "create"),
    ]
    with server.client(ALICE_TOKEN) as alice:
        response = post(alice, t, 1, changes, commit="abc123", secretsDigest="sha256:d1")
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 2
    got = state_of(client, t)
    assert got["revision"] == 2
    assert got["lastApplied"]["by"] == "alice"
    assert got["lastApplied"]["commit"] == "abc123"
    assert got["lastApplied"]["at"].endswith("Z")
    assert got["secrets"] == {"digest": "sha256:d1", "fingerprints": {}}
    state = got["state"]
    assert list(state) == sorted(state)
    assert state["integration/xero@s-001"] == integration
    assert state["credentials/xero"] == creds["body"]
    assert state["token/orders"] == token["body"]
    never_attempted = dict.fromkeys(
        ["successRate24h", "lastSuccessAt", "lastFailureAt", "lastError", "failingSince"]
    )
    assert state["webhook/pos"] == {**hook["body"], "health": never_attempted}
    assert state["license/integrationHub"] == {"quantity": 2, "stores": ["s-001", "s-002"]}

    # Update every kind; credentials change one field and keep the other without a value.
    new_creds = tenant.credentials("xero", {"client_id": "cid-1", "secret_key": "sk-second"})
    new_creds["secrets"] = {"fields.secret_key": "sk-second"}
    new_token_change = tenant.token("orders", scopes=["orders:read", "orders:write"])
    kept_hook = {**hook["body"], "enabled": False}
    updates = [
        {
            "address": f"tenant/{t}",
            "action": "update",
            "body": tenant.tenant_body("Acme Renamed"),
        },
        {"address": "store/s-002", "action": "update", "body": {"name": "Air", "timezone": "UTC"}},
        {
            "address": "license/integrationHub",
            "action": "update",
            "body": {"quantity": None, "stores": ["s-001"]},
        },
        {"address": "admin/ops@acme.example", "action": "update", "body": {"role": "admin"}},
        {
            "address": "integration/xero@s-001",
            "action": "update",
            "body": {**integration, "enabled": False},
        },
        with_action(new_creds, "update"),
        with_action(new_token_change, "update"),
        {"address": "webhook/pos", "action": "update", "body": kept_hook},
    ]
    response = post(client, t, 2, updates, appliedFingerprints={"credentials/xero#a": "fp"})
    assert response.status_code == 200, response.text
    got = state_of(client, t)
    assert got["revision"] == 3
    assert got["lastApplied"]["by"] == "ci"
    assert got["secrets"]["fingerprints"] == {"credentials/xero#a": "fp"}
    assert got["secrets"]["digest"] == "sha256:d1"
    for change in updates:
        live = dict(got["state"][change["address"]])
        if change["address"].startswith("admin/"):  # an informational field beside the role
            assert live.pop("status") == "pending"
        live.pop("health", None)  # informational, the runtime's own
        assert live == change["body"]

    deletes = [
        {"address": a, "action": "delete"}
        for a in (
            "integration/xero@s-001",
            "credentials/xero",
            "token/orders",
            "webhook/pos",
            "license/integrationHub",
            "admin/ops@acme.example",
            "store/s-002",
        )
    ]
    assert post(client, t, 3, deletes).status_code == 200
    got = state_of(client, t)
    assert got["revision"] == 4
    assert set(got["state"]) == {f"tenant/{t}", "store/s-001"}

    page = client.get(f"/admin/v1/tenants/{t}/changes", params={"limit": 2}).json()
    assert [item["revision"] for item in page["items"]] == [4, 3]
    assert page["items"][1]["by"] == "ci"
    assert page["items"][1]["changes"][0] == {"address": f"tenant/{t}", "action": "update"}
    rest = client.get(
        f"/admin/v1/tenants/{t}/changes", params={"limit": 2, "cursor": page["nextCursor"]}
    ).json()
    assert [item["revision"] for item in rest["items"]] == [2, 1]
    assert rest["items"][0]["by"] == "alice"
    assert rest["items"][0]["commit"] == "abc123"
    assert rest["nextCursor"] is None
    listed = client.get("/admin/v1/tenants").json()
    assert {"name": t, "revision": 4} in listed
    assert [item["name"] for item in listed] == sorted(item["name"] for item in listed)


def test_stale_base_revision_is_409(client: httpx.Client, tenant: Changes) -> None:
    change = [create("store/s-009", {"name": "Late", "timezone": "UTC"})]
    error = assert_error(post(client, tenant.tenant, 0, change), 409, "stale_revision")
    assert error["details"]["currentRevision"] == 1
    error = assert_error(post(client, tenant.tenant, 7, change), 409, "stale_revision")
    assert error["details"]["currentRevision"] == 1
    error = assert_error(post(client, "nobody-here", 3, change), 409, "stale_revision")
    assert error["details"]["currentRevision"] == 0
    assert state_of(client, tenant.tenant)["revision"] == 1


def test_racing_change_sets_one_wins_the_other_is_409(
    server: Server, client: httpx.Client, tenant: Changes
) -> None:
    def change_set(n: int) -> list[dict[str, Any]]:
        return [
            create(f"store/r{n}-{i:03d}", {"name": f"Race {n}", "timezone": "UTC"})
            for i in range(150)
        ]

    def send(n: int) -> httpx.Response:
        with server.client() as own:
            return post(own, tenant.tenant, 1, change_set(n))

    base = state_of(client, tenant.tenant)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(send, (1, 2)))
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["details"]["currentRevision"] == 2
    winner = 1 if results[0].status_code == 200 else 2
    after = state_of(client, tenant.tenant)
    assert after["revision"] == 2
    assert after["state"] == {
        **base["state"],
        **{c["address"]: c["body"] for c in change_set(winner)},
    }


def test_parallel_reads(server: Server, client: httpx.Client, tenant: Changes) -> None:
    def read(_: int) -> int:
        with server.client() as own:
            return own.get(f"/admin/v1/tenants/{tenant.tenant}").status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(read, range(16))) == {200}


def _bad_change_sets(t: Changes) -> list[tuple[str, list[dict[str, Any]], str, str]]:
    """(label, changes, expected code, text the message must contain)."""
    token = t.token("bad")
    hook = t.webhook("hook")
    wrong_value = {**token, "secrets": {"value": new_token()}}
    creds = t.credentials("c", {"id": "x"})
    return [
        (
            "address",
            [create("gadget/x", {})],
            "invalid_change",
            "changes[0].address: a resource address is KIND/NAME",
        ),
        (
            "integration address",
            [create("integration/x", {})],
            "invalid_change",
            "integration/NAME@STORE",
        ),
        (
            "body type",
            [create("store/s-002", {"name": "A", "timezone": 3})],
            "invalid_change",
            'store/s-002: body field "timezone"',
        ),
        (
            "unknown field",
            [create("store/s-002", {"name": "A", "timezone": "UTC", "x": 1})],
            "invalid_change",
            'store/s-002: body field "x"',
        ),
        (
            "create existing",
            [create("store/s-001", {"name": "A", "timezone": "UTC"})],
            "invalid_change",
            "store/s-001: cannot create, it already exists",
        ),
        (
            "update missing",
            [{"address": "store/zz", "action": "update", "body": {"name": "A", "timezone": "UTC"}}],
            "invalid_change",
            "store/zz: cannot update, it does not exist",
        ),
        (
            "delete missing",
            [{"address": "admin/a@b.c", "action": "delete"}],
            "invalid_change",
            "admin/a@b.c: cannot delete",
        ),
        (
            "missing secret",
            [{**with_action(token, "create"), "secrets": {}}],
            "missing_secret",
            "token/bad#value",
        ),
        (
            "fingerprint mismatch",
            [with_action(wrong_value, "create")],
            "fingerprint_mismatch",
            "token/bad#value",
        ),
        (
            "malformed token",
            [{**with_action(token, "create"), "secrets": {"value": "hub_short"}}],
            "invalid_change",
            "token/bad#value",
        ),
        (
            "secret not in body",
            [{**with_action(hook, "create"), "secrets": {"secret": "x", "value": "y"}}],
            "invalid_change",
            'webhook/hook: secrets has "value"',
        ),
        (
            "broken store reference",
            [create("license/integrationHub", {"quantity": 1, "stores": ["s-404"]})],
            "invalid_change",
            "license/integrationHub: store/s-404 does not exist",
        ),
        (
            "broken credentials reference",
            [
                create(
                    "integration/i@s-001",
                    {
                        "partner": "p",
                        "enabled": True,
                        "config": {},
                        "shopId": None,
                        "credentials": "nope",
                    },
                )
            ],
            "invalid_change",
            "integration/i@s-001: credentials/nope does not exist",
        ),
        (
            "tenant deleted",
            [{"address": f"tenant/{t.tenant}", "action": "delete"}],
            "invalid_change",
            f"tenant/{t.tenant}",
        ),
        (
            "good changes then a bad one",
            [
                create("store/s-100", {"name": "A", "timezone": "UTC"}),
                with_action(creds, "create"),
                create("store/s-101", {"name": "B"}),
            ],
            "invalid_change",
            'store/s-101: body field "timezone"',
        ),
    ]


def test_invalid_change_sets_are_422_and_write_nothing(
    client: httpx.Client, tenant: Changes
) -> None:
    before = state_of(client, tenant.tenant)
    for label, changes, code, text in _bad_change_sets(tenant):
        error = assert_error(post(client, tenant.tenant, 1, changes), 422, code)
        assert text in error["message"], (label, error["message"])
        assert state_of(client, tenant.tenant) == before, label
    audit = client.get(f"/admin/v1/tenants/{tenant.tenant}/changes").json()
    assert len(audit["items"]) == 1


def test_changed_secret_marker_without_value_is_refused(
    client: httpx.Client, tenant: Changes
) -> None:
    hook = tenant.webhook("h")
    assert post(client, tenant.tenant, 1, [with_action(hook, "create")]).status_code == 200
    rotated = tenant.webhook("h", new_webhook_secret())
    rotated_without_value = {"address": "webhook/h", "action": "update", "body": rotated["body"]}
    error = assert_error(
        post(client, tenant.tenant, 2, [rotated_without_value]), 422, "fingerprint_mismatch"
    )
    assert "webhook/h#secret" in error["message"]
    assert post(client, tenant.tenant, 2, [with_action(rotated, "update")]).status_code == 200


def test_request_errors_share_one_shape(server: Server, client: httpx.Client) -> None:
    assert_error(client.get("/no/such/route"), 404, "not_found")
    assert_error(httpx.get(f"{server.url}/nowhere"), 404, "not_found")
    for path in ("/admin/v1/tenants/ghost", "/admin/v1/tenants/ghost/changes"):
        missing = assert_error(client.get(path), 404, "tenant_not_found")
        # what was asked for is not repeated: the caller knows it; the message says the kind
        assert "ghost" not in str(missing) and "no such tenant" in missing["message"]
    assert_error(client.delete("/admin/v1/tenants"), 405, "method_not_allowed")
    error = assert_error(
        client.post("/admin/v1/tenants/x/changes", json={"baseRevision": "three"}),
        422,
        "invalid_request",
    )
    assert "baseRevision" in error["message"]
    assert_error(
        client.post(
            "/admin/v1/tenants/x/changes",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        400,
        "invalid_json",
    )
    error = assert_error(
        client.post("/admin/v1/tenants/Bad_Name/changes", json={"baseRevision": 0, "changes": []}),
        422,
        "invalid_change",
    )
    assert "the tenant in the path is not a valid name" in error["message"]
    assert_error(
        client.get("/admin/v1/tenants/x/changes", params={"limit": 0}), 422, "invalid_request"
    )


def test_a_foreign_cursor_is_400(client: httpx.Client, tenant: Changes) -> None:
    response = client.get(f"/admin/v1/tenants/{tenant.tenant}/changes", params={"cursor": "!!"})
    assert "cursor" in assert_error(response, 400, "bad_request")["message"]


def test_bodies_over_one_mebibyte_are_413(server: Server, client: httpx.Client) -> None:
    big = {"baseRevision": 0, "changes": [], "commit": "x" * (1024 * 1024 + 10)}
    assert_error(client.post("/admin/v1/tenants/big/changes", json=big), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"baseRevision": 0, "changes": [], "commit": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}'

    response = client.post(
        "/admin/v1/tenants/big/changes",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")
    assert client.get("/admin/v1/tenants/big").status_code == 404


def test_openapi_describes_every_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) >= {
        "/healthz",
        "/admin/v1/tenants",
        "/admin/v1/tenants/{name}",
        "/admin/v1/fingerprint-key",
        "/admin/v1/tenants/{name}/changes",
    }
    post_op = paths["/admin/v1/tenants/{name}/changes"]["post"]
    assert post_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ChangeSetIn"
    )
    for path, ops in paths.items():
        for op in ops.values():
            assert any(code.startswith("2") for code in op["responses"]), path
            if path.startswith("/admin"):
                assert "401" in op["responses"], path
    assert "TenantOut" in spec["components"]["schemas"]


def test_secrets_are_never_shown_or_stored_in_clear(
    server: Server, client: httpx.Client, tenant: Changes
) -> None:
    creds = tenant.credentials(
        "xero", {"client_id": "plain-client-id-93jd", "secret_key": "pw-Xy7"}
    )
    changes = [
        with_action(creds, "create"),
        with_action(tenant.token("orders"), "create"),
        with_action(tenant.webhook("pos"), "create"),
    ]
    assert post(client, tenant.tenant, 1, changes).status_code == 200
    # Error paths must not echo secrets either.
    wrong = tenant.token("orders")
    responses = [
        post(client, tenant.tenant, 2, [with_action(wrong, "update")]),
        post(client, tenant.tenant, 2, [{**with_action(wrong, "update"), "secrets": {"value": 5}}]),
        post(client, tenant.tenant, 2, [{**with_action(wrong, "create"), "nope": 1}]),
        client.get(f"/admin/v1/tenants/{tenant.tenant}"),
        client.get(f"/admin/v1/tenants/{tenant.tenant}/changes"),
    ]
    seen = b"".join(r.content for r in responses)
    db_bytes = b"".join(
        p.read_bytes() for p in Path(server.workdir).glob("state.db*") if p.is_file()
    )
    logs = server.logs().encode()
    for value in [*tenant.secrets_seen, CI_TOKEN, ALICE_TOKEN]:
        needle = value.encode()
        assert needle not in seen
        assert needle not in logs
        if value not in (CI_TOKEN, ALICE_TOKEN):
            assert needle not in db_bytes
