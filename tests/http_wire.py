"""Requests on one kept-alive HTTP/1.1 connection, as a pooling client sends them.

httpx quietly opens a new connection when the server dropped the last one,
so a test could not tell. `Wire` sends every request on one socket and
fails when the server closed it after an earlier answer.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from runtime_server import Server


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Wire:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None and parts.port is not None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.connect()
        assert self.conn.sock is not None
        self.local = self.conn.sock.getsockname()
        self.headers = headers or {}

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sock = self.conn.sock
        assert sock is not None and sock.getsockname() == self.local, (
            "the server closed the connection after the previous answer"
        )
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            raise AssertionError(
                "the server closed the connection after the previous answer"
            ) from exc
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def json(self, method: str, path: str, value: Any) -> Answer:
        body = json.dumps(value).encode()
        return self.send(method, path, body, {"Content-Type": "application/json"})

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def settled_logs(server: Server) -> str:
    """The server's log once it holds all it wrote about earlier requests.

    A later request's line is there: anything logged after an earlier answer
    (a traceback, say) is then in the file too, so its absence means something.
    """
    marker = "GET /healthz 200 "
    before = server.logs().count(marker)
    with Wire(server.url) as wire:
        assert wire.send("GET", "/healthz").status == 200
    deadline = time.monotonic() + 10
    while server.logs().count(marker) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.logs()
