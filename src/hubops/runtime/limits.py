"""Refuse request bodies over 1 MiB, and JSON bodies that are not UTF-8, before any handler.

A pure ASGI middleware, so the limit also holds for chunked bodies and
for a Content-Length that lies: the body is read (up to the limit) before
the app runs, then replayed to it. JSON travels as UTF-8 (RFC 8259 8.1);
the JSON parser would also guess UTF-16 and UTF-32, and a byte that is not
UTF-8 ended in an undocumented `http_400`, so the encoding is checked on
the buffered body here, with its own error code.

A 413 after the whole body was read keeps the connection open; one whose
body was too large even to drain closes it, as HTTP requires. A body that
has not arrived in full within HUBOPS_BODY_TIMEOUT seconds is a 408 and the
connection is closed: a client that announces a body and stalls holds a
connection, never the runtime's memory or a worker for long. By the time
a body is read here, `early_auth.AuthFirst` has checked the caller's token.

Requests that `streamed` selects (the catalog file uploads) pass through
unread: their routes authenticate first and then read the body themselves,
with a limit of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubops.plan.parts import MAX_BODY_BYTES
from hubops.runtime.apis import ADMIN_PREFIX, PARTNER_PREFIX
from hubops.runtime.errors import InvalidEncoding, PayloadTooLarge, RequestTimeout
from hubops.runtime.media import is_json
from hubops.runtime.middleware import HttpMiddleware, announces_body, send_error
from hubops.runtime.settings import DEFAULT_BODY_TIMEOUT

DRAIN_LIMIT = 16 * MAX_BODY_BYTES

# What a caller of each API can do about a 413, by path prefix.
TOO_LARGE_ADVICE = {
    PARTNER_PREFIX: "the most the Partner API accepts in one request; send a smaller body",
    ADMIN_PREFIX: "the most the admin API accepts in one request; split the change set",
}


class BodyLimit(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        streamed: Callable[[Scope], bool] | None = None,
        timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.streamed = streamed
        self.timeout = timeout

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if not announces_body(scope) or (self.streamed is not None and self.streamed(scope)):
            return self.app(scope, receive, send)
        return self._buffered(scope, receive, send)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        drained = not message.get("more_body", False) or await self._drain(receive)
                        await send_error(send, self._too_large(scope["path"]), keep_alive=drained)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await send_error(send, RequestTimeout(self.timeout), keep_alive=False)
            return
        body = b"".join(chunks)
        problem = _encoding_problem(scope, body)
        if problem is not None:
            await send_error(send, problem, keep_alive=True)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive) -> bool:
        """Read the rest of a moderately large body so the client sees the 413, not a reset.

        True when the body ended, so the connection can serve the next request.
        """
        size = 0
        while size < DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return False
            if not message.get("more_body", False):
                return True
            size += len(message.get("body", b""))
        return False

    def _too_large(self, path: str) -> PayloadTooLarge:
        advice = next(
            (text for prefix, text in TOO_LARGE_ADVICE.items() if path.startswith(prefix)),
            "send a smaller body",
        )
        return PayloadTooLarge(
            f"the request body is over {self.max_bytes} bytes, {advice}",
            {"maxBytes": self.max_bytes},
        )


def _encoding_problem(scope: Scope, body: bytes) -> InvalidEncoding | None:
    if not body:
        return None
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    if not is_json(content_type.decode("latin-1")):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InvalidEncoding(
            f"the request body is not UTF-8 (byte {exc.start} is not valid UTF-8); "
            "send JSON encoded as UTF-8",
            {"offset": exc.start},
        )
    return None
