"""The console in a real browser: Playwright driving Debian's Chromium against `hubops serve`.

The example tenants are applied with `hubops apply`; a tenant of the test's
own (`hooks`, a display name full of HTML, a webhook to a receiver on
127.0.0.1, an owner) gives the delivery log something to show. Figures on
the pages are checked against the admin API, every page is screenshotted
into tests/artefacts/, and no page may show a secret value of the examples.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from catalog_files import csv_file
from console_env import (
    DEMO_KEY,
    REPO,
    VIEWER_TOKEN,
    MailSink,
    apply_examples,
    example_secrets,
    log_in_with_password,
    log_in_with_token,
    shoot,
    start_server,
)
from databases import fresh_database
from hubops import utc
from runtime_server import CI_TOKEN, HUBOPS, Changes, Server, create, fingerprint_key, post
from webhook_receiver import Receiver, verify

HTML_NAME = '<img src=x onerror="alert(1)"> Hooks & <b>Grill</b>'
OWNER = "cook@hooks.example"
PAGES = ["", "/uploads", "/connections", "/users"]


@dataclass
class Console:
    server: Server
    admin: httpx.Client
    sink: MailSink
    receiver: Receiver
    hooks: Changes
    hooks_revision: int
    secret: str  # the kitchen webhook's signing secret

    @property
    def base(self) -> str:
        return self.server.url

    def live(self, tenant: str) -> dict[str, object]:
        found: dict[str, object] = self.admin.get(f"/admin/v1/tenants/{tenant}").json()
        return found


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, mail_sink: MailSink) -> Iterator[Console]:
    workdir = tmp_path_factory.mktemp("console")
    with Receiver() as receiver, fresh_database(workdir) as db_url:
        server = start_server(workdir, db_url, mail_sink)
        try:
            apply_examples(server)
            admin = server.client()
            hooks = Changes(tenant="hooks", key=fingerprint_key(admin))
            kitchen = hooks.webhook("kitchen", url=receiver.url)
            changes = [
                create("tenant/hooks", hooks.tenant_body(HTML_NAME)),
                create("store/s-001", {"name": "Grill", "timezone": "UTC"}),
                create(f"admin/{OWNER}", {"role": "owner"}),
                {**kitchen, "action": "create"},
            ]
            response = post(admin, "hooks", 0, changes)
            assert response.status_code == 200, response.text
            revision = response.json()["revision"]
            secret = kitchen["secrets"]["secret"]
            yield Console(server, admin, mail_sink, receiver, hooks, revision, secret)
        finally:
            server.stop()


def _logs_and_pages_hold_no_secret(console: Console, pages: list[str]) -> None:
    secrets = example_secrets() + console.hooks.secrets_seen
    for text in [*pages, console.server.logs()]:
        for secret in secrets:
            assert secret not in text
    assert "/console/invite/" not in console.server.logs()


def test_without_a_session_every_page_goes_to_the_login(console: Console, page: Page) -> None:
    for path in ["/console", "/console/tenants/acme-burgers", "/console/tenants/hooks/users"]:
        page.goto(console.base + path)
        expect(page).to_have_url(f"{console.base}/console/login")
    response = httpx.get(f"{console.base}/console/tenants/acme-burgers", follow_redirects=False)
    assert response.status_code == 303
    for header in ("content-security-policy", "referrer-policy"):
        assert header in response.headers
    assert response.headers["x-frame-options"] == "DENY"
    shoot(page, "login")


def test_an_operator_sees_every_page_with_the_admin_apis_figures(
    console: Console, page: Page
) -> None:
    log_in_with_token(page, console.base, CI_TOKEN)
    expect(page).to_have_url(f"{console.base}/console")
    listed = console.admin.get("/admin/v1/tenants").json()
    rows = page.locator("#tenants tbody tr")
    expect(rows).to_have_count(len(listed))
    for tenant in listed:
        row = page.locator(f'tr[data-tenant="{tenant["name"]}"]')
        expect(row.locator(".revision")).to_have_text(str(tenant["revision"]))
        state = console.live(tenant["name"])["state"]
        assert isinstance(state, dict)
        stores = [a for a in state if a.startswith("store/")]
        expect(row.locator(".stores")).to_have_text(str(len(stores)))
    shoot(page, "tenants")

    texts = [page.content()]
    answer = page.goto(f"{console.base}/console/tenants/acme-burgers")
    assert answer is not None and answer.status == 200
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    state = console.live("acme-burgers")["state"]
    assert isinstance(state, dict)
    tokens = sorted(a.split("/", 1)[1] for a in state if a.startswith("token/"))
    got = page.locator("#tokens tbody tr").evaluate_all("rs => rs.map(r => r.dataset.token)")
    assert got == tokens
    hooks = sorted(a.split("/", 1)[1] for a in state if a.startswith("webhook/"))
    got = page.locator("#webhooks tbody tr").evaluate_all("rs => rs.map(r => r.dataset.webhook)")
    assert got == hooks
    expect(page.locator("h3.category")).to_contain_text(["accounting", "crm"])
    expect(page.locator('tr[data-integration="ubereats"] .shop-mapping')).to_have_text("complete")
    expect(page.locator('tr[data-integration="xero"]')).to_contain_text("client_id: stored")
    shoot(page, "tenant")
    texts.append(page.content())
    for tenant in [t["name"] for t in listed]:
        for path in PAGES:
            page.goto(f"{console.base}/console/tenants/{tenant}{path}")
            expect(page.locator("h1")).to_be_visible()
            texts.append(page.content())
        state = console.live(tenant)["state"]
        assert isinstance(state, dict)
        page.goto(f"{console.base}/console/tenants/{tenant}/users")
        admins = sorted(a.split("/", 1)[1] for a in state if a.startswith("admin/"))
        shown = page.locator("#users tbody tr[data-email]")
        assert sorted(shown.evaluate_all("rs => rs.map(r => r.dataset.email)")) == admins
        page.goto(f"{console.base}/console/tenants/{tenant}/connections")
        found = console.admin.get(f"/admin/v1/tenants/{tenant}/connections").json()["items"]
        shown = page.locator("#connections tbody tr[data-retailer]")
        retailers = shown.evaluate_all("rs => rs.map(r => r.dataset.retailer)")
        assert retailers == [c["retailer"]["id"] for c in found]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{console.base}/console/tenants/acme-burgers")
    shoot(page, "tenant-phone")
    _logs_and_pages_hold_no_secret(console, texts)


def test_a_display_name_with_html_is_shown_as_text(console: Console, page: Page) -> None:
    log_in_with_token(page, console.base, VIEWER_TOKEN)
    name = page.locator('tr[data-tenant="hooks"] .display-name')
    expect(name).to_have_text(HTML_NAME)
    assert name.locator("b, img").count() == 0
    page.goto(f"{console.base}/console/tenants/hooks")
    expect(page.locator("h1 .display-name")).to_have_text(HTML_NAME)
    assert page.locator("h1 img, h1 b").count() == 0


def test_the_delivery_log_and_redelivery(console: Console, page: Page) -> None:
    order = console.admin.post(
        "/admin/v1/tenants/hooks/orders",
        json={
            "store": "s-001",
            "items": [{"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}],
        },
    )
    assert order.status_code == 201, order.text
    first = console.receiver.wait_for(len(console.receiver.received) + 1)[-1]
    log_in_with_token(page, console.base, CI_TOKEN)
    page.goto(f"{console.base}/console/tenants/hooks/webhooks/kitchen")
    message = first.headers["webhook-id"]
    row = page.locator(f'#deliveries tr[data-message="{message}"]')
    expect(row).to_contain_text("HTTP 200")
    expect(row).to_contain_text("order.created")
    before = len(console.receiver.received)
    row.get_by_role("button", name="Redeliver").click()
    expect(page.locator(".note")).to_contain_text("queued")
    again = console.receiver.wait_for(before + 1)[-1]
    assert again.headers["webhook-id"] == message
    # The receiver has the request a moment before the runtime records the attempt.
    url = "/admin/v1/tenants/hooks/webhooks/kitchen/deliveries"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = console.admin.get(url).json()["items"]
        if sum(i["messageId"] == message for i in items) == 2:
            break
        time.sleep(0.05)
    page.reload()
    expect(page.locator(f'#deliveries tr[data-message="{message}"]')).to_have_count(2)
    log = console.admin.get("/admin/v1/tenants/hooks/webhooks/kitchen/deliveries").json()
    expect(page.locator("#deliveries tbody tr")).to_have_count(len(log["items"]))


KITCHEN = "/console/tenants/hooks/webhooks/kitchen"
DELIVERIES = "/admin/v1/tenants/hooks/webhooks/kitchen/deliveries"


def _logged(console: Console, ready: object) -> list[dict[str, object]]:
    """The kitchen's delivery log once `ready(items)` holds (the receiver has each request a
    moment before the runtime records its attempt)."""
    deadline = time.monotonic() + 10
    while True:
        items: list[dict[str, object]] = console.admin.get(DELIVERIES).json()["items"]
        if ready(items) or time.monotonic() > deadline:  # type: ignore[operator]
            return items
        time.sleep(0.05)


def _shown_time(value: object) -> str:
    if value is None:
        return "—"
    return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_a_test_event_and_a_replay_from_the_webhook_page(console: Console, page: Page) -> None:
    log_in_with_token(page, console.base, CI_TOKEN)
    page.goto(console.base + KITCHEN)
    before = len(console.receiver.received)
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator(".note")).to_contain_text("A test event is queued")
    found = re.search(r"msg_[0-9a-f]{32}", page.locator(".note").inner_text())
    assert found is not None
    got = console.receiver.wait_for(before + 1)[-1]
    assert got.headers["webhook-id"] == found.group(0)
    assert json.loads(got.body)["type"] == "webhook.test"
    assert verify(console.secret, got)

    items = _logged(console, lambda i: any(a["messageId"] == found.group(0) for a in i))
    sent = {str(a["messageId"]) for a in items}
    assert found.group(0) in sent and len(sent) >= 2  # the order, and the test event
    since = (utc.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=since]", since)
    page.select_option("select[name=only]", "failed")
    page.get_by_role("button", name="Replay", exact=True).click()
    expect(page.locator(".note")).to_have_text(
        "0 messages are queued for delivery again, each with its webhook-id."
    )  # every delivery succeeded
    before = len(console.receiver.received)
    page.fill("input[name=since]", since)
    page.select_option("select[name=only]", "all")
    page.get_by_role("button", name="Replay", exact=True).click()
    expect(page.locator(".note")).to_have_text(
        f"{len(sent)} messages are queued for delivery again, each with its webhook-id."
    )
    again = console.receiver.wait_for(before + len(sent))[before:]
    assert sorted(r.headers["webhook-id"] for r in again) == sorted(sent)
    assert all(verify(console.secret, r) for r in again)

    _logged(console, lambda i: len(i) == len(items) + len(sent))
    page.goto(console.base + KITCHEN)
    health = console.live("hooks")["state"]["webhook/kitchen"]["health"]  # type: ignore[index]
    expect(page.locator("#health .success-rate")).to_have_text(
        f"{health['successRate24h'] * 100:.0f}%"
    )
    expect(page.locator("#health .last-success")).to_have_text(_shown_time(health["lastSuccessAt"]))
    expect(page.locator("#health .last-failure")).to_have_text(_shown_time(health["lastFailureAt"]))
    expect(page.locator("#health .failing-since")).to_have_text(_shown_time(health["failingSince"]))
    expect(page.locator("#health .last-error")).to_have_text(health["lastError"] or "—")
    page.fill("input[name=since]", since)
    shoot(page, "webhook")


def test_a_replay_with_a_time_the_console_cannot_read_is_refused_on_the_page(
    console: Console, page: Page
) -> None:
    log_in_with_token(page, console.base, CI_TOKEN)
    page.goto(console.base + KITCHEN)
    csrf = page.locator("header input[name=csrf]").get_attribute("value") or ""
    count = len(_logged(console, lambda _: True))
    for since in ["<script>alert(1)</script>", "2026-13-45T99:00", "", "9" * 5000]:
        answer = page.request.post(
            console.base + KITCHEN + "/replay", form={"csrf": csrf, "since": since, "only": "all"}
        )
        assert answer.status == 422
        text = answer.text()
        assert "Nothing was replayed: give the time as a date and time in UTC." in text
        assert "Traceback" not in text and "alert(1)" not in text and "99:00" not in text
    odd = page.request.post(
        console.base + KITCHEN + "/replay",
        form={"csrf": csrf, "since": "2026-01-01T00:00", "only": "<b>some</b>"},
    )
    assert odd.status == 422 and "choose the failed messages or all" in odd.text()
    assert "<b>some</b>" not in odd.text()
    time.sleep(0.3)
    assert len(_logged(console, lambda _: True)) == count


def test_a_manual_upload_and_its_error_file(console: Console, page: Page, tmp_path: Path) -> None:
    log_in_with_token(page, console.base, CI_TOKEN)
    page.goto(f"{console.base}/console/tenants/acme-burgers/uploads")
    file = tmp_path / "menu.csv"
    file.write_bytes(csv_file("B1,Burger,9.50,true", "B2,Fries,not-a-price,true"))
    page.select_option("select[name=store]", "acme-002")
    page.select_option("select[name=mode]", "update")
    page.set_input_files("input[name=file]", str(file))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".note")).to_contain_text("received")
    history = console.admin.get("/admin/v1/tenants/acme-burgers/stores/acme-002/catalog/uploads")
    upload = history.json()["items"][0]
    assert upload["source"] == "manual" and upload["fileName"] == "menu.csv"
    row = page.locator(f'tr[data-upload="{upload["id"]}"]')
    for _ in range(50):
        page.reload()
        if "partial" in row.inner_text():
            break
    expect(row).to_contain_text("partial")
    href = row.get_by_role("link", name="error file").get_attribute("href")
    errors = page.request.get(f"{console.base}{href}")
    assert errors.status == 200
    assert errors.text().splitlines()[1].startswith("3,B2,price,")
    shoot(page, "uploads")


def test_a_viewer_has_no_buttons_and_a_forged_post_is_refused(console: Console, page: Page) -> None:
    log_in_with_token(page, console.base, VIEWER_TOKEN)
    for path in ["/webhooks/kitchen", "/uploads", "/users"]:
        page.goto(f"{console.base}/console/tenants/hooks{path}")
        expect(page.locator("main button")).to_have_count(0)
    csrf = page.locator("header input[name=csrf]").get_attribute("value")
    url = f"{console.base}/console/tenants/hooks/webhooks/kitchen/redeliver"
    refused = page.request.post(url, form={"csrf": csrf or "", "message": "m"})
    assert refused.status == 403  # the viewer's own token, but no buttons for viewers
    before = len(console.receiver.received)
    for button, form in [("test", {}), ("replay", {"since": "2026-01-01T00:00", "only": "all"})]:
        url = f"{console.base}{KITCHEN}/{button}"
        assert page.request.post(url, form={"csrf": csrf or "", **form}).status == 403
    assert len(console.receiver.received) == before
    shoot(page, "viewer-users")


def test_posts_without_the_csrf_token_are_refused(console: Console, page: Page) -> None:
    log_in_with_token(page, console.base, CI_TOKEN)
    url = f"{console.base}/console/tenants/hooks/users/invite"
    before = console.sink.count(OWNER)
    for form in ({"email": OWNER}, {"email": OWNER, "csrf": "forged"}):
        assert page.request.post(url, form=form).status == 403
    received = len(console.receiver.received)
    for button in ("test", "replay"):
        url = f"{console.base}{KITCHEN}/{button}"
        for forged in ({}, {"csrf": "forged"}):
            form = {**forged, "since": "2026-01-01T00:00", "only": "all"}
            assert page.request.post(url, form=form).status == 403
    login = page.request.post(f"{console.base}/console/login", form={"token": CI_TOKEN})
    assert login.status == 403
    assert console.sink.count(OWNER) == before
    time.sleep(0.3)
    assert len(console.receiver.received) == received


def test_wrong_tokens_and_passwords_are_refused(console: Console, page: Page) -> None:
    log_in_with_token(page, console.base, "not-the-token")
    expect(page.locator(".error")).to_have_text("That login is not valid.")
    log_in_with_password(page, console.base, OWNER, "wrong password here")
    expect(page.locator(".error")).to_have_text("That login is not valid.")
    page.goto(f"{console.base}/console")
    expect(page).to_have_url(f"{console.base}/console/login")


def test_an_invitation_sets_a_password_and_the_owner_sees_only_its_tenant(
    console: Console, page: Page
) -> None:
    state = console.live("hooks")["state"]
    assert isinstance(state, dict)
    assert state[f"admin/{OWNER}"] == {"role": "owner", "status": "pending"}
    link = console.sink.link(OWNER)
    assert link.startswith(f"{console.base}/console/invite/")
    page.goto(link)
    page.fill("input[name=password]", "short")
    page.fill("input[name=confirm]", "short")
    page.evaluate(
        "document.querySelectorAll('input[minlength]').forEach(i => i.removeAttribute('minlength'))"
    )
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".error")).to_contain_text("at least 12")
    page.fill("input[name=password]", "correct horse battery")
    page.fill("input[name=confirm]", "correct horse battery")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("main")).to_contain_text("Your password is set")
    state = console.live("hooks")["state"]
    assert isinstance(state, dict)
    assert state[f"admin/{OWNER}"]["status"] == "active"
    page.goto(link)
    expect(page.locator("main")).to_contain_text("not valid")

    log_in_with_password(page, console.base, OWNER, "correct horse battery")
    expect(page).to_have_url(f"{console.base}/console/tenants/hooks")
    page.goto(f"{console.base}/console")
    expect(page.locator("#tenants tbody tr")).to_have_count(1)
    page.goto(f"{console.base}/console/tenants/acme-burgers")
    expect(page.locator("h1")).to_have_text("Not found")
    page.goto(f"{console.base}/console/tenants/hooks/users")
    expect(page.locator(f'tr[data-email="{OWNER}"] .status')).to_have_text("active")
    expect(page.get_by_role("button", name="Send a new invitation")).to_have_count(1)
    shoot(page, "users")
    page.goto(console.base + KITCHEN)
    for button in ("Send a test event", "Replay", "Redeliver"):
        expect(page.get_by_role("button", name=button, exact=True).first).to_be_visible()


def test_a_fresh_invitation_ends_the_old_link(console: Console, page: Page) -> None:
    email = "it@acme.example"
    first = console.sink.link(email)
    sent = console.sink.count(email)
    response = console.admin.post(f"/admin/v1/tenants/acme-burgers/admins/{email}/invite")
    assert response.status_code == 202 and response.json() == {"email": email, "status": "pending"}
    second = console.sink.link(email, after=sent)
    assert second != first
    page.goto(first)
    expect(page.locator("main")).to_contain_text("not valid")
    log_in_with_token(page, console.base, VIEWER_TOKEN)
    page.goto(f"{console.base}/console/tenants/acme-burgers/users")
    expect(page.locator(f'tr[data-email="{email}"] .invitation')).to_contain_text("valid until")
    page.goto(second)
    expect(page.get_by_role("button", name="Set password")).to_be_visible()
    missing = console.admin.post("/admin/v1/tenants/acme-burgers/admins/nobody@acme.example/invite")
    assert missing.status_code == 404


def test_an_admin_without_owner_role_has_no_buttons_and_is_logged_out_when_removed(
    console: Console, page: Page
) -> None:
    email = "line@hooks.example"
    revision = console.live("hooks")["revision"]
    assert isinstance(revision, int)
    added = post(console.admin, "hooks", revision, [create(f"admin/{email}", {"role": "admin"})])
    assert added.status_code == 200, added.text
    page.goto(console.sink.link(email))
    page.fill("input[name=password]", "a long enough password")
    page.fill("input[name=confirm]", "a long enough password")
    page.get_by_role("button", name="Set password").click()
    log_in_with_password(page, console.base, email, "a long enough password")
    expect(page).to_have_url(f"{console.base}/console/tenants/hooks")
    page.goto(f"{console.base}/console/tenants/hooks/webhooks/kitchen")
    expect(page.locator("main button")).to_have_count(0)

    gone = post(
        console.admin,
        "hooks",
        added.json()["revision"],
        [{"address": f"admin/{email}", "action": "delete"}],
    )
    assert gone.status_code == 200, gone.text
    page.reload()
    expect(page).to_have_url(f"{console.base}/console/login")
    log_in_with_password(page, console.base, email, "a long enough password")
    expect(page.locator(".error")).to_have_text("That login is not valid.")


def test_the_lockout_after_five_failed_logins(
    tmp_path: Path, mail_sink: MailSink, page: Page, db_url: str
) -> None:
    server = start_server(tmp_path, db_url, mail_sink)  # its own: the lockout covers this address
    try:
        for _ in range(5):
            log_in_with_token(page, server.url, "wrong-token")
            expect(page.locator(".error")).to_have_text("That login is not valid.")
        log_in_with_token(page, server.url, CI_TOKEN)
        expect(page.locator(".error")).to_contain_text("Too many failed logins")
        expect(page).to_have_url(re.compile(r"/console/login$"))
        shoot(page, "lockout")
    finally:
        server.stop()


def _plan_report(console: Console) -> None:
    env = {**os.environ, "HUBOPS_ADMIN_TOKEN": CI_TOKEN, "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    done = subprocess.run(
        [HUBOPS, "plan", "examples/tenants", "--report", "--runtime", console.base],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Reported 3 tenant(s) to the runtime." in done.stderr


def _plan(console: Console, tenant: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUBOPS_ADMIN_TOKEN": CI_TOKEN, "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    args = ["examples/tenants", "--tenant", tenant, "--detailed-exitcode"]
    return subprocess.run(
        [HUBOPS, "plan", *args, "--runtime", console.base],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_admin_turning_active_is_no_drift_for_plan(console: Console, page: Page) -> None:
    email = "giulia@bella-pizza.example"
    state = console.live("bella-pizza")["state"]
    assert isinstance(state, dict) and state[f"admin/{email}"]["status"] == "pending"
    pending = _plan(console, "bella-pizza")
    assert pending.returncode == 0, pending.stdout + pending.stderr
    page.goto(console.sink.link(email))
    page.fill("input[name=password]", "a long enough password")
    page.fill("input[name=confirm]", "a long enough password")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("main")).to_contain_text("Your password is set")
    state = console.live("bella-pizza")["state"]
    assert isinstance(state, dict) and state[f"admin/{email}"]["status"] == "active"
    active = _plan(console, "bella-pizza")
    assert active.returncode == 0, active.stdout + active.stderr
    assert active.stdout == pending.stdout and "status" not in active.stdout


def test_plan_report_shows_drift_on_the_tenants_page(console: Console, page: Page) -> None:
    """Last in the module: it changes an example tenant behind git's back."""
    _plan_report(console)
    log_in_with_token(page, console.base, VIEWER_TOKEN)
    for name in ("acme-burgers", "bella-pizza", "harbor-cafe"):
        expect(page.locator(f'tr[data-tenant="{name}"] .drift')).to_contain_text("in sync")
        expect(page.locator(f'tr[data-tenant="{name}"] .drift')).to_contain_text("checked 20")
    expect(page.locator('tr[data-tenant="hooks"] .drift')).to_have_text("not reported")

    live = console.live("harbor-cafe")
    state = live["state"]
    assert isinstance(state, dict) and isinstance(live["revision"], int)
    body = {**state["tenant/harbor-cafe"], "displayName": "Renamed behind git's back"}
    changed = post(
        console.admin,
        "harbor-cafe",
        live["revision"],
        [{"address": "tenant/harbor-cafe", "action": "update", "body": body}],
    )
    assert changed.status_code == 200, changed.text
    page.reload()
    drift = page.locator('tr[data-tenant="harbor-cafe"] .drift')
    expect(drift).to_contain_text("changed since the check")
    _plan_report(console)
    page.reload()
    expect(drift).to_contain_text("drifted")
    expect(page.locator('tr[data-tenant="acme-burgers"] .drift')).to_contain_text("in sync")
    shoot(page, "tenants-drift")


def test_without_smtp_the_runtime_says_so_and_sends_once_it_has_one(
    tmp_path: Path, mail_sink: MailSink, db_url: str
) -> None:
    server = start_server(tmp_path, db_url, None)
    try:
        with server.client() as admin:
            changes = Changes(tenant="quiet", key=fingerprint_key(admin))
            applied = post(
                admin,
                "quiet",
                0,
                [*changes.bootstrap(), create("admin/boss@quiet.example", {"role": "owner"})],
            )
            assert applied.status_code == 200, applied.text
        deadline = time.monotonic() + 10
        while "invitations cannot be sent" not in server.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "invitations cannot be sent: HUBOPS_SMTP_URL is not set" in server.logs()
        server.stop()
        server.extra_env["HUBOPS_SMTP_URL"] = mail_sink.url
        server.start()  # the same database: the invitation still waits, and goes out now
        link = mail_sink.link("boss@quiet.example")
        assert link.startswith(f"{server.url}/console/invite/")
        assert "/console/invite/" not in server.logs()
    finally:
        server.stop()


def test_the_embedded_runtime_leaves_invitations_to_the_served_one(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    db = tmp_path / "state.db"
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    env.pop("HUBOPS_ADMIN_TOKEN", None)
    done = subprocess.run(
        [HUBOPS, "apply", "examples/tenants", "--auto-approve", "--runtime", str(db)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "invitation" not in done.stdout + done.stderr
    before = mail_sink.count("ops@acme.example")
    server = Server(tmp_path, f"sqlite:///{db}", extra_env={"HUBOPS_SMTP_URL": mail_sink.url})
    try:
        server.start()
        assert mail_sink.link("ops@acme.example", after=before).startswith(server.url)
    finally:
        server.stop()
