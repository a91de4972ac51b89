"""The admin API refuses every body and address no manifest could say, and writes nothing.

The runtime checks change sets with the manifests' own field rules (names,
texts, time zones, quantities, URLs, times, keys without control
characters), so `plan` never meets live state it would have to delete and
`import` never writes a manifest that does not validate. Each case goes to
a real `hubops serve` and must come back as 422 in the error shape, without
its input echoed, with the tenant unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from databases import fresh_database
from runtime_server import Changes, Server, create, fingerprint_key, post

_names = (f"b{n}" for n in itertools.count())
STORE = {"name": "Downtown", "timezone": "UTC"}
INTEGRATION = {
    "partner": "xero",
    "enabled": True,
    "config": {},
    "shopId": None,
    "credentials": None,
}


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


def _cases(t: Changes) -> list[tuple[str, dict[str, Any], str, str]]:
    """(label, change, what the message says, input that must not be echoed)."""
    token = t.token("tok")
    token["body"]["expiresAt"] = "9999-12-31T23:59:59-05:00"
    hook = t.webhook("hook", url="https://127.0.0.1\u00ad/hooks")
    creds = t.credentials("creds", {"client_id\nX": "v"})
    return [
        ("nul in a store id", create("store/a\u0000b", STORE), "no control characters", "a\u0000b"),
        ("path in a store id", create("store/../../x", STORE), "must be valid names", "../../x"),
        ("long store id", create("store/" + "s" * 5000, STORE), "at most 400", "s" * 100),
        (
            "store id in an integration",
            create("integration/i@../y", INTEGRATION),
            "valid names",
            "../y",
        ),
        ("unknown kind", create("gadget/x", {}), "a resource address is KIND/NAME", "gadget"),
        ("admin that is no e-mail", create("admin/root", {"role": "owner"}), "e-mail", "root"),
        (
            "unknown time zone",
            create("store/s-002", {"name": "A", "timezone": "Not/AZone"}),
            "must be an IANA time zone name",
            "Not/AZone",
        ),
        (
            "negative quantity",
            create("license/integrationHub", {"quantity": -5, "stores": []}),
            "greater than or equal to 1",
            "-5",
        ),
        (
            "900 KB store name",
            create("store/s-003", {"name": "N" * 900_000, "timezone": "UTC"}),
            "at most 200 characters",
            "N" * 100,
        ),
        (
            "control characters in a display name",
            create(f"tenant/{t.tenant}x", t.tenant_body("\x1b[2J\nX:1:1: error: FORGED")),
            "must not contain control characters",
            "FORGED",
        ),
        (
            "newline in a config key",
            create("integration/i@s-001", {**INTEGRATION, "config": {"a\n```\n<!--": "1"}}),
            "must not contain control characters",
            "<!--",
        ),
        ("newline in a credential field", {**creds, "action": "create"}, "control characters", "X"),
        (
            "time beyond the calendar",
            {**token, "action": "create"},
            "once converted to UTC",
            "-05:00",
        ),
        ("invisible loopback", {**hook, "action": "create"}, "loopback", "\u00ad"),
        (
            "http terms",
            create(
                f"tenant/{t.tenant}",
                {
                    **t.tenant_body(),
                    "settings": {"instantOrdering": True, "termsOfServiceUrl": "http://x"},
                },
            ),
            "must be an https:// URL",
            "http://x",
        ),
    ]


def test_every_body_a_manifest_could_not_say_is_refused(client: httpx.Client) -> None:
    t = Changes(tenant=next(_names), key=fingerprint_key(client))
    assert post(client, t.tenant, 0, t.bootstrap()).status_code == 200
    before = client.get(f"/admin/v1/tenants/{t.tenant}").json()
    for label, change, says, hidden in _cases(t):
        response = post(client, t.tenant, 1, [change])
        assert response.status_code == 422, (label, response.text)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}, label
        assert error["code"] == "invalid_change", label
        assert says in error["message"], (label, error["message"])
        assert hidden not in response.text, label
        assert client.get(f"/admin/v1/tenants/{t.tenant}").json() == before, label
    audit = client.get(f"/admin/v1/tenants/{t.tenant}/changes").json()["items"]
    assert len(audit) == 1
