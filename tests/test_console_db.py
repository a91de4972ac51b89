"""The console's own tables on SQLite and PostgreSQL: an invitation, a login, a removal.

The runtime is reached in-process (httpx's ASGITransport), as `--runtime
FILE` does, so one test runs the same flow on both databases: an admin is
applied, its invitation e-mail (caught by an SMTP sink on 127.0.0.1) is
followed to set a password, the admin logs in, and removing it from the
state ends its session and refuses its login.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from console_env import MailSink
from hubops import utc
from hubops.runtime.app import create_app
from hubops.runtime.console import sessions
from hubops.runtime.settings import RuntimeSettings, sqlite_url
from runtime_server import Changes, create
from test_runtime_inprocess import pg_url  # noqa: F401  (the PostgreSQL fixture)

TOKEN = "console-db-admin-token"
EMAIL = "owner@acme.example"
PASSWORD = "twelve chars or more"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "state.db")
    else:
        yield request.getfixturevalue("pg_url")


def _form_csrf(response: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert found is not None, response.text
    return found.group(1)


async def _flow(client: httpx.AsyncClient, sink: MailSink) -> None:
    admin = {"Authorization": f"Bearer {TOKEN}"}
    sent = sink.count(EMAIL)  # the sink is shared by the module's tests
    key = base64.b64decode(
        (await client.get("/admin/v1/fingerprint-key", headers=admin)).json()["key"]
    )
    changes = [
        *Changes(tenant="acme", key=key).bootstrap(),
        create(f"admin/{EMAIL}", {"role": "owner"}),
    ]
    applied = await client.post(
        "/admin/v1/tenants/acme/changes",
        json={"baseRevision": 0, "changes": changes},
        headers=admin,
    )
    assert applied.status_code == 200, applied.text
    live = (await client.get("/admin/v1/tenants/acme", headers=admin)).json()
    assert live["state"][f"admin/{EMAIL}"] == {"role": "owner", "status": "pending"}

    link = sink.link(EMAIL, after=sent).removeprefix("http://runtime")
    form = await client.get(link)
    done = await client.post(
        link, data={"csrf": _form_csrf(form), "password": PASSWORD, "confirm": PASSWORD}
    )
    assert "Your password is set" in done.text
    live = (await client.get("/admin/v1/tenants/acme", headers=admin)).json()
    assert live["state"][f"admin/{EMAIL}"]["status"] == "active"

    login = await client.get("/console/login")
    answer = await client.post(
        "/console/login",
        data={"csrf": _form_csrf(login), "email": EMAIL, "password": PASSWORD},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/tenants/acme"
    assert (await client.get("/console/tenants/acme")).status_code == 200

    removed = await client.post(
        "/admin/v1/tenants/acme/changes",
        json={"baseRevision": 1, "changes": [{"address": f"admin/{EMAIL}", "action": "delete"}]},
        headers=admin,
    )
    assert removed.status_code == 200, removed.text
    gone = await client.get("/console/tenants/acme")
    assert gone.status_code == 303 and gone.headers["location"] == "/console/login"
    login = await client.get("/console/login")
    refused = await client.post(
        "/console/login",
        data={"csrf": _form_csrf(login), "email": EMAIL, "password": PASSWORD},
    )
    assert refused.status_code == 401


def test_invitation_login_and_removal_on_each_database(db_url: str, mail_sink: MailSink) -> None:
    settings = RuntimeSettings(
        db_url=db_url,
        admin_tokens={"admin": TOKEN},
        smtp_url=mail_sink.url,
        public_url="http://runtime",
    )

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            await _flow(client, mail_sink)

    asyncio.run(run())


def test_a_session_ends_after_twelve_hours_and_at_logout(tmp_path: Path) -> None:
    settings = RuntimeSettings(db_url=sqlite_url(tmp_path / "s.db"), admin_tokens={"a": TOKEN})
    engine = create_app(settings).state.runtime.engine
    started = utc.now() - timedelta(hours=sessions.SESSION_HOURS)
    cookie = sessions.start(engine, "operator", "a", None, started)
    assert sessions.find(engine, cookie, started + timedelta(hours=11, minutes=59)) is not None
    assert sessions.find(engine, cookie, started + timedelta(hours=12)) is None
    fresh = sessions.start(engine, "viewer", "viewer", None, utc.now())
    assert sessions.find(engine, fresh, utc.now()) is not None
    sessions.end(engine, fresh)
    assert sessions.find(engine, fresh, utc.now()) is None
