"""What every pure ASGI middleware of the runtime shares: it sees HTTP requests only.

Each middleware (the request log, the body limit, the empty-query rule, the
rate-limit headers, authentication before the body) is a class over the app
it wraps; lifespan and other ASGI messages pass through untouched, and
`handle` sees each HTTP request. `send_error` is how any of them answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable

from starlette.types import ASGIApp, Receive, Scope, Send

from hubops.runtime.errors import ApiError, error_body


class HttpMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self.handle(scope, receive, send)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """One HTTP request; by default, passed on as it is. An override may be a coroutine."""
        return self.app(scope, receive, send)


def announces_body(scope: Scope) -> bool:
    """Whether the request says a body follows (Content-Length over 0, or chunked)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


async def send_error(send: Send, error: ApiError, *, keep_alive: bool) -> None:
    """Answer with `error` in the error shape, from a middleware (before any route ran).

    `keep_alive=False` closes the connection after the answer: needed whenever the
    request's body was not read to its end.
    """
    payload = json.dumps(error_body(error.error_code(), error.message, error.details)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers().items()),
    ]
    if not keep_alive and b"connection" not in (k for k, _ in headers):
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
