"""The console's test bench: a served runtime with the example tenants, an SMTP sink, a browser.

The runtime runs as users run it (`hubops serve` under uvicorn on 127.0.0.1)
with the example tenants applied by `hubops apply`; invitation e-mails go
to an aiosmtpd sink on 127.0.0.1; Playwright drives Debian's Chromium
(`/usr/bin/chromium`, never a downloaded browser), headless, with flags
that keep it off the network. Screenshots land in `tests/artefacts/`
(gitignored) for people to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, sync_playwright

from hubops.manifest.secrets import sops_binary
from runtime_server import CI_TOKEN, HUBOPS, Server, free_port

REPO = Path(__file__).resolve().parent.parent
ARTEFACTS = REPO / "tests" / "artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWER_TOKEN = "viewer-token-5d1c90e7"
DEMO_KEY = REPO / "examples" / "demo.agekey"


class MailSink:
    """An SMTP server on 127.0.0.1 that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def count(self, to: str) -> int:
        with self._lock:
            return sum(1 for m in self.messages if m["To"] == to)

    def link(self, to: str, after: int = 0, timeout: float = 15.0) -> str:
        """The invitation link of the message to `to` that follows the first `after` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                mine = [m for m in self.messages if m["To"] == to]
            if len(mine) > after:
                body = mine[after].get_body(("plain",))
                assert body is not None
                found = re.search(r"https?://\S+/console/invite/\S+", body.get_content())
                assert found is not None, body.get_content()
                return found.group(0)
            time.sleep(0.05)
        raise AssertionError(f"no invitation e-mail to {to} arrived")


def apply_examples(server: Server) -> None:
    env = {**os.environ, "HUBOPS_ADMIN_TOKEN": CI_TOKEN, "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    done = subprocess.run(
        [HUBOPS, "apply", "examples/tenants", "--auto-approve", "--runtime", server.url],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def example_secrets() -> list[str]:
    """Every secret value of the example tenants, decrypted with the real sops binary."""
    values: list[str] = []

    def leaves(tree: Any) -> None:
        if isinstance(tree, dict):
            for value in tree.values():
                leaves(value)
        elif isinstance(tree, str) and len(tree) >= 6:
            values.append(tree)

    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    for path in sorted((REPO / "examples" / "tenants").glob("*/secrets.sops.yaml")):
        plain = subprocess.run(
            [sops_binary(), "--decrypt", str(path)], env=env, capture_output=True, check=True
        ).stdout
        tree = yaml.safe_load(plain)
        tree.pop("sops", None)
        leaves(tree)
    assert values
    return values


def start_server(workdir: Path, db_url: str, sink: MailSink | None, **env: str) -> Server:
    extra = {
        "HUBOPS_VIEWER_TOKEN": VIEWER_TOKEN,
        "HUBOPS_CATALOG": str(REPO / "examples" / "catalog.yaml"),
        "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",
        **({"HUBOPS_SMTP_URL": sink.url} if sink is not None else {}),
        **env,
    }
    return Server(workdir, db_url, extra_env=extra).start()


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test: no cookies carried over."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def shoot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in_with_token(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=token]", token)
    page.click("button[value=token]")


def log_in_with_password(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[value=password]")
