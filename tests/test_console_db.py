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
import ipaddress
import re
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from console_env import MailSink
from hubops import utc
from hubops.plan.diff import diff_states
from hubops.runtime.app import create_app
from hubops.runtime.console import sessions
from hubops.runtime.settings import RuntimeSettings, sqlite_url
from runtime_server import Changes, create, free_port
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
    pending = live["state"]

    link = sink.link(EMAIL, after=sent).removeprefix("http://runtime")
    form = await client.get(link)
    done = await client.post(
        link, data={"csrf": _form_csrf(form), "password": PASSWORD, "confirm": PASSWORD}
    )
    assert "Your password is set" in done.text
    live = (await client.get("/admin/v1/tenants/acme", headers=admin)).json()
    assert live["state"][f"admin/{EMAIL}"]["status"] == "active"
    _status_is_never_drift(pending, live["state"])

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


def _status_is_never_drift(pending: dict[str, Any], active: dict[str, Any]) -> None:
    """pending -> active is no change for a plan, and a plan made while the admin was
    pending (its `before` bodies) still matches one made after."""
    desired = {a: {k: v for k, v in b.items() if k != "status"} for a, b in pending.items()}
    assert diff_states(desired, pending) == [] and diff_states(desired, active) == []
    desired[f"admin/{EMAIL}"] = {"role": "admin"}
    (then,) = diff_states(desired, pending)
    (now,) = diff_states(desired, active)
    assert then == now and then.before == {"role": "owner"}
    del desired[f"admin/{EMAIL}"]
    assert diff_states(desired, pending) == diff_states(desired, active)


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


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utc.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_an_invitation_over_starttls_with_a_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # trust the sink's certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    logins: list[str] = []

    def authenticator(_s: Any, _sess: Any, _env: Any, _mech: str, auth: Any) -> AuthResult:
        logins.append(auth.login.decode())
        return AuthResult(success=auth.password == b"smtp-pass-9")

    sink = MailSink()
    sink.controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    sink.controller.start()
    try:
        port = sink.controller.port
        settings = RuntimeSettings(
            db_url=sqlite_url(tmp_path / "state.db"),
            admin_tokens={"admin": TOKEN},
            smtp_url=f"smtp+starttls://hub%40mail:smtp-pass-9@127.0.0.1:{port}",
            public_url="http://runtime",
        )

        async def run() -> None:
            transport = httpx.ASGITransport(app=create_app(settings))
            async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
                admin = {"Authorization": f"Bearer {TOKEN}"}
                fp = await client.get("/admin/v1/fingerprint-key", headers=admin)
                changes = [
                    *Changes(tenant="acme", key=base64.b64decode(fp.json()["key"])).bootstrap(),
                    create(f"admin/{EMAIL}", {"role": "owner"}),
                ]
                applied = await client.post(
                    "/admin/v1/tenants/acme/changes",
                    json={"baseRevision": 0, "changes": changes},
                    headers=admin,
                )
                assert applied.status_code == 200, applied.text

        asyncio.run(run())
        assert sink.link(EMAIL).startswith("http://runtime/console/invite/")
        assert logins == ["hub@mail"]
    finally:
        sink.controller.stop()


def test_the_lockout_counts_per_account_and_per_address(tmp_path: Path) -> None:
    settings = RuntimeSettings(
        db_url=sqlite_url(tmp_path / "state.db"), admin_tokens={"admin": TOKEN}
    )
    app = create_app(settings)

    async def attempt(address: str, **fields: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            form = await client.get("/console/login")
            answer = await client.post("/console/login", data={"csrf": _form_csrf(form), **fields})
            return answer.status_code

    async def run() -> None:
        wrong = {"email": EMAIL, "password": "not the password"}
        # One account, five addresses: the account is locked, wherever the next try comes from.
        assert [await attempt(f"10.0.0.{n}", **wrong) for n in range(5)] == [401] * 5
        assert await attempt("10.0.0.9", **wrong) == 429
        # One address, five accounts: the address is locked, even for the right admin token.
        for n in range(5):
            assert await attempt("10.0.1.1", email=f"u{n}@x.example", password="p") == 401
        assert await attempt("10.0.1.1", token=TOKEN) == 429
        assert await attempt("10.0.1.2", token=TOKEN) == 303

    asyncio.run(run())
