"""Connections to webhook endpoints: kept alive between deliveries, never shared between names.

The runtime is real (a SQLite file, the admin API through httpx's ASGI
transport, the outbox and the worker with its own clients); the endpoint is
a real HTTP server on 127.0.0.1 that notes which connection each request
came on and the Host it named. Two webhook hosts resolve (through the
worker's resolver seam, no DNS asked) to that one address and port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from hubops.runtime import RuntimeSettings, create_app, sqlite_url
from hubops.runtime.context import Runtime
from hubops.runtime.webhooks.clients import EndpointClients
from hubops.runtime.webhooks.targets import Target, TargetRefused
from hubops.runtime.webhooks.worker import DeliveryWorker, request_timeout
from runtime_server import CI_TOKEN, Changes, create, with_action

ITEMS = [{"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}]
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Endpoint:
    """An HTTP/1.1 server answering 204 with keep-alive; `hosts[n]`: the Hosts on connection n."""

    def __init__(self) -> None:
        self.hosts: defaultdict[int, list[str]] = defaultdict(list)
        self._count = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._count += 1
        number = self._count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                fields = dict(
                    line.split(":", 1) for line in head.decode().split("\r\n")[1:] if ":" in line
                )
                fields = {name.strip().lower(): value.strip() for name, value in fields.items()}
                await reader.readexactly(int(fields.get("content-length", "0")))
                self.hosts[number].append(fields["host"].split(":")[0])
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if host not in ("orders.localhost", "kitchen.localhost"):
        raise TargetRefused(f'the host "{host}" does not resolve')
    return [LOOPBACK]


def test_deliveries_reuse_a_connection_per_host_and_never_across_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", "1")  # http to *.localhost

    async def main() -> None:
        endpoint = Endpoint()
        port = await endpoint.start()
        settings = RuntimeSettings(
            db_url=sqlite_url(tmp_path / "state.db"),
            admin_tokens={"ci": CI_TOKEN},
            master_key=os.urandom(32),
        )
        app = create_app(settings)
        runtime: Runtime = app.state.runtime
        changes = Changes("acme", runtime.keys.fingerprint_key)
        hooks = {
            "orders": f"http://orders.localhost:{port}/hooks",
            "kitchen": f"http://kitchen.localhost:{port}/hooks",
        }
        # Each webhook covers a store of its own, so each order goes to one of them.
        stores = {"orders": "s-001", "kitchen": "s-002"}
        created = [
            with_action(changes.webhook(name, url=url, stores=[stores[name]]), "create")
            for name, url in hooks.items()
        ]
        second_store = create("store/s-002", {"name": "Airport", "timezone": "UTC"})
        worker = DeliveryWorker(
            runtime, [5.0], request_timeout(), resolver=resolve, allow_loopback=True
        )
        headers = {"Authorization": f"Bearer {CI_TOKEN}"}
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://hub", headers=headers
            ) as admin:
                applied = await admin.post(
                    "/admin/v1/tenants/acme/changes",
                    json={
                        "baseRevision": 0,
                        "changes": [*changes.bootstrap(), second_store, *created],
                    },
                )
                assert applied.status_code == 200, applied.text
                # One delivery at a time, the hosts taking turns: a pool shared by both would
                # hand the connection one host's delivery left open to the other's.
                for store in ["s-001", "s-002"] * 3:
                    made = await admin.post(
                        "/admin/v1/tenants/acme/orders", json={"store": store, "items": ITEMS}
                    )
                    assert made.status_code == 201, made.text
                    assert await worker.deliver_due() == 1
        finally:
            await worker.stop()
            endpoint.server.close()
            runtime.engine.dispose()

        got = [host for hosts in endpoint.hosts.values() for host in hosts]
        assert sorted(got) == ["kitchen.localhost"] * 3 + ["orders.localhost"] * 3
        # Each connection only ever carried one host name ...
        assert all(len(set(hosts)) == 1 for hosts in endpoint.hosts.values()), endpoint.hosts
        # ... and each host's three deliveries came over one kept-alive connection.
        assert len(endpoint.hosts) == 2, endpoint.hosts

    asyncio.run(main())


@pytest.mark.parametrize("limit", [1, 2])
def test_clients_beyond_the_limit_are_closed_oldest_first(limit: int) -> None:
    async def main() -> None:
        made: list[httpx.AsyncClient] = []

        def make() -> httpx.AsyncClient:
            made.append(httpx.AsyncClient())
            return made[-1]

        clients = EndpointClients(make)
        clients.LIMIT = limit
        targets = [
            Target(f"https://192.0.2.{n}/hooks", f"h{n}.example", f"h{n}.example", f"192.0.2.{n}")
            for n in range(limit + 1)
        ]
        first = clients.get(targets[0])
        assert clients.get(targets[0]) is first  # the same identity, the same client
        for target in targets[1:]:
            clients.get(target)
        await asyncio.sleep(0)  # let the closing task run
        await asyncio.sleep(0)
        assert len(clients) == limit
        assert first.is_closed
        assert not any(client.is_closed for client in made[1:])
        await clients.aclose()
        assert all(client.is_closed for client in made)

    asyncio.run(main())
