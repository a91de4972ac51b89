"""Keep-alive connections to webhook endpoints: one pool per endpoint identity.

A new connection per delivery costs a TCP handshake, and for https a TLS
handshake that takes more CPU than everything else an attempt does. But one
shared pool must not be used: a pooled connection is matched by address
and port only, so it would hand a connection made (and certificate-checked)
for one host name to a request for another name on the same address. Each
endpoint identity (the pinned address and port, the Host header and the TLS
server name) therefore gets a client of its own, whose pool only ever holds
connections made for that identity. The least recently used clients are
closed past `LIMIT`, so the memory held stays bounded however many
endpoints there are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from hubops.runtime.webhooks.targets import Target

Identity = tuple[str, str, str | None]


class EndpointClients:
    """`get(target)`: the client for that endpoint identity, made by `make` on first use."""

    LIMIT = 128

    def __init__(self, make: Callable[[], httpx.AsyncClient]) -> None:
        self._make = make
        self._clients: OrderedDict[Identity, httpx.AsyncClient] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, target: Target) -> httpx.AsyncClient:
        parts = urlsplit(target.url)
        identity = (f"{parts.scheme}://{parts.netloc}", target.host_header, target.sni_hostname)
        client = self._clients.pop(identity, None) or self._make()
        self._clients[identity] = client  # now the most recently used
        while len(self._clients) > self.LIMIT:
            _, oldest = self._clients.popitem(last=False)
            task = asyncio.create_task(oldest.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        await asyncio.gather(*self._closing, return_exceptions=True)
