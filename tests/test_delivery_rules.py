"""The webhook delivery rules, table-tested in-process through the worker's two seams.

The runtime is real (a SQLite file, the admin API through httpx's ASGI
transport, the outbox, the store); the endpoint is an `httpx.MockTransport`
handler and names resolve through a table, so no socket is opened and no
resolver is asked. Outcomes are read where a user sees them (the delivery
log, the tenant's state and audit) and, for when a retry is due, in the
delivery's row. End-to-end delivery to a real receiver is `test_webhooks.py`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from hubops import utc
from hubops.runtime import RuntimeSettings, create_app, sqlite_url
from hubops.runtime.context import Runtime
from hubops.runtime.tables import secret_values, webhook_deliveries
from hubops.runtime.webhooks.targets import TargetRefused
from hubops.runtime.webhooks.worker import MAX_RETRY_AFTER, DeliveryWorker
from hubops.tokens import new_webhook_secret
from runtime_server import CI_TOKEN, Changes, with_action
from webhook_receiver import Received, verify

PUBLIC = ipaddress.ip_address("93.184.216.34")
NAMES = {
    "hooks.example.com": [PUBLIC],
    "pos.example.com": [PUBLIC],
    "inside.example.com": [ipaddress.ip_address("10.1.2.3")],
    "rebound.example.com": [PUBLIC, ipaddress.ip_address("127.0.0.1")],
}
ITEMS = [{"sku": "B1", "name": "Burger", "quantity": 2, "unitPrice": "9.50"}]

Handler = Callable[[httpx.Request], httpx.Response]


async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if host not in NAMES:
        raise TargetRefused(f'the host "{host}" does not resolve')
    return list(NAMES[host])


@dataclass
class Hub:
    """A runtime with tenant acme and its webhooks, the worker, and what the endpoint got."""

    runtime: Runtime
    admin: httpx.AsyncClient
    worker: DeliveryWorker
    secrets: dict[str, str]
    sent: list[httpx.Request] = field(default_factory=list)

    async def order(self) -> dict[str, Any]:
        response = await self.admin.post(
            "/admin/v1/tenants/acme/orders", json={"store": "s-001", "items": ITEMS}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def log(self, webhook: str = "pos") -> list[dict[str, Any]]:
        response = await self.admin.get(f"/admin/v1/tenants/acme/webhooks/{webhook}/deliveries")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def deliveries(self) -> list[Any]:
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id)))


def run(
    tmp_path: Path,
    handler: Handler,
    scenario: Callable[[Hub], Awaitable[None]],
    schedule: list[float] | None = None,
    hooks: dict[str, str] | None = None,
) -> None:
    """`scenario` against a fresh runtime whose webhooks (name -> URL) the handler answers."""
    hooks = hooks or {"pos": "https://pos.example.com/hooks"}

    async def main() -> None:
        settings = RuntimeSettings(
            db_url=sqlite_url(tmp_path / "state.db"),
            admin_tokens={"ci": CI_TOKEN},
            master_key=os.urandom(32),
        )
        app = create_app(settings)
        runtime: Runtime = app.state.runtime
        changes = Changes("acme", runtime.keys.fingerprint_key)
        secrets = {name: new_webhook_secret() for name in hooks}
        created = [
            with_action(changes.webhook(name, value=secrets[name], url=url), "create")
            for name, url in hooks.items()
        ]
        sent: list[httpx.Request] = []

        def endpoint(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return handler(request)

        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {CI_TOKEN}"}
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://hub", headers=headers) as admin,
            httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http,
        ):
            applied = await admin.post(
                "/admin/v1/tenants/acme/changes",
                json={"baseRevision": 0, "changes": [*changes.bootstrap(), *created]},
            )
            assert applied.status_code == 200, applied.text
            worker = DeliveryWorker(
                runtime,
                schedule or [100.0],
                httpx.Timeout(5.0),
                http=http,
                resolver=resolve,
                allow_loopback=False,
            )
            await scenario(Hub(runtime, admin, worker, secrets, sent))
        runtime.engine.dispose()

    asyncio.run(main())


def reply(status: int, **headers: str) -> Handler:
    """An answer streamed as a real transport's is (the worker reads only an excerpt)."""
    return lambda _request: httpx.Response(status, headers=headers, stream=httpx.ByteStream(b"ok"))


def as_received(request: httpx.Request) -> Received:
    return Received(request.url.path, dict(request.headers), request.content, 0.0)


def delay_of(row: Any) -> float:
    """Seconds from the attempt to the next one, as scheduled."""
    return float((row.next_attempt_at - row.updated_at).total_seconds())


def test_a_2xx_is_success_sent_signed_to_the_checked_address(tmp_path: Path) -> None:
    async def scenario(hub: Hub) -> None:
        order = await hub.order()
        assert await hub.worker.deliver_due() == 1
        (request,) = hub.sent
        # pinned: the connection goes to the address that was checked, the name rides along
        assert request.url.host == str(PUBLIC) and request.headers["host"] == "pos.example.com"
        assert request.url.path == "/hooks" and verify(hub.secrets["pos"], as_received(request))
        (entry,) = await hub.log()
        assert entry["statusCode"] == 204 and entry["error"] is None
        assert entry["orderId"] == order["id"]
        assert [row.status for row in hub.deliveries()] == ["succeeded"]
        assert await hub.worker.deliver_due() == 0  # nothing is sent twice

    run(tmp_path, reply(204), scenario)


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (500, {}, "endpoint answered 500"),
        (404, {}, "endpoint answered 404"),
        (302, {"location": "https://elsewhere.example.com/"}, "redirect (302) not followed"),
        (301, {"location": "/other"}, "redirect (301) not followed"),
        (503, {"retry-after": "soon"}, "endpoint answered 503"),  # unreadable: the schedule
        (500, {"retry-after": "3600"}, "endpoint answered 500"),  # only 429 and 503 count
    ],
)
def test_a_failure_is_retried_on_the_schedule_with_jitter(
    tmp_path: Path, status: int, headers: dict[str, str], error: str
) -> None:
    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        assert len(hub.sent) == 1  # a redirect is not followed
        (entry,) = await hub.log()
        assert entry["statusCode"] == status and error in entry["error"]
        (row,) = hub.deliveries()
        assert row.status == "pending" and row.attempts == 1
        assert 90.0 <= delay_of(row) <= 110.0  # 100 s, jitter of +-10 %
        assert await hub.worker.deliver_due() == 0  # not due before then

    run(tmp_path, reply(status, **headers), scenario, schedule=[100.0, 200.0])


@pytest.mark.parametrize(
    ("status", "retry_after", "delay"),
    [
        (429, "120", 120.0),
        (503, "7200.5", 7200.5),
        (429, "1", None),  # shorter than the schedule: the schedule wins
        (429, "999999999", MAX_RETRY_AFTER),  # capped at a day
        (503, "-5", None),
    ],
)
def test_retry_after_is_honoured_and_capped(
    tmp_path: Path, status: int, retry_after: str, delay: float | None
) -> None:
    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (row,) = hub.deliveries()
        if delay is None:
            assert 9.0 <= delay_of(row) <= 11.0
        else:
            assert delay_of(row) == pytest.approx(delay, abs=0.01)

    run(tmp_path, reply(status, **{"retry-after": retry_after}), scenario, schedule=[10.0])


def test_retry_after_as_a_date(tmp_path: Path) -> None:
    when = format_datetime(utc.now() + timedelta(hours=1), usegmt=True)

    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (row,) = hub.deliveries()
        assert 3590.0 <= delay_of(row) <= 3601.0

    run(tmp_path, reply(429, **{"retry-after": when}), scenario, schedule=[10.0])


def test_a_time_out_is_a_failed_attempt(tmp_path: Path) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("the endpoint did not answer", request=request)

    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (entry,) = await hub.log()
        assert entry["statusCode"] is None and entry["error"] == "timed out"
        assert [row.status for row in hub.deliveries()] == ["pending"]

    run(tmp_path, slow, scenario)


def test_a_refused_connection_is_a_failed_attempt(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (entry,) = await hub.log()
        assert entry["error"] == "request failed: ConnectError"

    run(tmp_path, down, scenario)


def test_exhausted_schedule_marks_the_delivery_failed(tmp_path: Path) -> None:
    async def scenario(hub: Hub) -> None:
        await hub.order()
        for _ in range(4):
            await hub.worker.deliver_due()
        assert len(hub.sent) == 3  # the first attempt and one per delay of the schedule
        (row,) = hub.deliveries()
        assert row.status == "failed" and row.attempts == 3 and row.next_attempt_at is None
        assert [e["statusCode"] for e in await hub.log()] == [500, 500, 500]
        message = (await hub.log())[0]["messageId"]
        redelivered = await hub.admin.post(
            f"/admin/v1/tenants/acme/webhooks/pos/deliveries/{message}/redeliver"
        )
        assert redelivered.status_code == 202
        await hub.worker.deliver_due()
        assert len(hub.sent) == 4 and hub.sent[3].headers["webhook-id"] == message

    run(tmp_path, reply(500), scenario, schedule=[0.0, 0.0])


def test_gone_disables_the_webhook_visibly(tmp_path: Path) -> None:
    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (entry,) = await hub.log()
        assert entry["statusCode"] == 410 and "webhook disabled" in entry["error"]
        assert [row.status for row in hub.deliveries()] == ["failed"]
        tenant = (await hub.admin.get("/admin/v1/tenants/acme")).json()
        assert tenant["state"]["webhook/pos"]["enabled"] is False and tenant["revision"] == 2
        audit = (await hub.admin.get("/admin/v1/tenants/acme/changes")).json()["items"][0]
        assert audit["by"] == "runtime" and audit["revision"] == 2
        await hub.order()  # a disabled webhook is not subscribed any more
        assert await hub.worker.deliver_due() == 0 and len(hub.sent) == 1

    run(tmp_path, reply(410), scenario)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://inside.example.com/hooks", 'the host "inside.example.com" resolves to 10.1.2.3'),
        ("https://rebound.example.com/hooks", "resolves to 127.0.0.1, a loopback address"),
        ("https://nowhere.example.com/hooks", 'the host "nowhere.example.com" does not resolve'),
    ],
)
def test_a_name_must_resolve_to_public_addresses_only(tmp_path: Path, url: str, error: str) -> None:
    async def scenario(hub: Hub) -> None:
        await hub.order()
        await hub.worker.deliver_due()
        (entry,) = await hub.log()
        assert entry["statusCode"] is None and error in entry["error"]
        assert hub.sent == []  # refused before any connection

    run(tmp_path, reply(200), scenario, hooks={"pos": url})


def test_an_unreadable_secret_fails_only_that_webhook(tmp_path: Path) -> None:
    hooks = {"pos": "https://pos.example.com/hooks", "crm": "https://hooks.example.com/crm"}

    async def scenario(hub: Hub) -> None:
        with hub.runtime.engine.begin() as conn:
            conn.execute(
                update(secret_values)
                .where(secret_values.c.address == "webhook/pos")
                .values(sealed=b"\0" * 40)
            )
        await hub.order()
        assert await hub.worker.deliver_due() == 2
        (broken,) = await hub.log("pos")
        assert "signing secret cannot be opened" in broken["error"]
        (fine,) = await hub.log("crm")
        assert fine["statusCode"] == 200
        (request,) = hub.sent
        assert request.url.path == "/crm" and verify(hub.secrets["crm"], as_received(request))

    run(tmp_path, reply(200), scenario, hooks=hooks)
