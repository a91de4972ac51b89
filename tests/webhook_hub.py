"""A live runtime under uvicorn with one webhook `pos` pointing at a loopback receiver.

Shared by the webhook tests: `start` applies a tenant (`acme`, store `s-001`),
the webhook and an orders token; `Hub` drives orders and reads the delivery log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubops.tokens import new_token, new_webhook_secret
from runtime_server import Changes, Server, fingerprint_key, post, with_action
from webhook_receiver import Receiver

ITEMS = [{"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"}]


@dataclass
class Hub:
    server: Server
    receiver: Receiver
    http: httpx.Client
    changes: Changes
    secret: str
    token: str
    revision: int

    def order(self, store: str = "s-001") -> dict[str, Any]:
        response = self.http.post(
            "/admin/v1/tenants/acme/orders", json={"store": store, "items": ITEMS}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def status(self, order_id: str, status: str) -> httpx.Response:
        return self.http.post(
            f"/v1/orders/{order_id}/status",
            json={"status": status},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def log(self, webhook: str = "pos") -> list[dict[str, Any]]:
        url = f"/admin/v1/tenants/acme/webhooks/{webhook}/deliveries"
        return list(self.http.get(url).json()["items"])

    def wait_log(
        self, predicate: Any, timeout: float = 10.0, webhook: str = "pos"
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.log(webhook)
            if predicate(entries):
                return entries
            time.sleep(0.05)
        raise AssertionError(f"delivery log never matched: {self.log(webhook)}")

    def apply(self, changes: list[dict[str, Any]]) -> None:
        """Apply a change set on the current revision (and remember the new one)."""
        response = post(self.http, "acme", self.revision, changes)
        assert response.status_code == 200, response.text
        self.revision = response.json()["revision"]

    def state(self) -> dict[str, Any]:
        response = self.http.get("/admin/v1/tenants/acme")
        assert response.status_code == 200, response.text
        self.revision = response.json()["revision"]
        return dict(response.json()["state"])


def start(
    tmp: Path, receiver: Receiver, url: str | None = None, db_url: str | None = None, **env: str
) -> Hub:
    """`db_url`: default a SQLite file in `tmp`."""
    workdir = tmp / "runtime"
    workdir.mkdir(exist_ok=True)
    server = Server(
        workdir,
        db_url or f"sqlite:///{workdir / 'state.db'}",
        extra_env={
            "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",
            "HUBOPS_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
            "HUBOPS_WEBHOOK_TIMEOUT": "1",
            "HUBOPS_WEBHOOK_LEASE_SECONDS": "2",
            **env,
        },
    ).start()
    http = server.client()
    changes = Changes("acme", fingerprint_key(http))
    secret, token = new_webhook_secret(), new_token()
    hook = changes.webhook(
        "pos",
        value=secret,
        url=url or receiver.url,
        events=["order.cancelled", "order.created", "order.status_changed"],
    )
    api = changes.token("orders", value=token, scopes=["orders:read", "orders:write"])
    response = post(
        http,
        "acme",
        0,
        [*changes.bootstrap(), with_action(hook, "create"), with_action(api, "create")],
    )
    assert response.status_code == 200, response.text
    return Hub(server, receiver, http, changes, secret, token, response.json()["revision"])


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    with Receiver() as receiver:
        started = start(tmp_path, receiver, db_url=db_url)
        try:
            yield started
        finally:
            started.http.close()
            started.server.stop()
