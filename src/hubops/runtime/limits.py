"""Refuse request bodies over 1 MiB before any handler reads them.

A pure ASGI middleware, so the limit also holds for chunked bodies and
for a Content-Length that lies: the body is read (up to the limit) before
the app runs, then replayed to it.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubops.plan.parts import MAX_BODY_BYTES
from hubops.runtime.errors import PayloadTooLarge, error_body

DRAIN_LIMIT = 16 * MAX_BODY_BYTES


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive)
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive) -> None:
        """Read the rest of a moderately large body so the client sees the 413, not a reset."""
        size = 0
        while size < DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            size += len(message.get("body", b""))

    async def _refuse(self, send: Send) -> None:
        error = PayloadTooLarge(
            f"the request body is over {self.max_bytes} bytes; split the change set",
            {"maxBytes": self.max_bytes},
        )
        payload = json.dumps(error_body(error.code, error.message, error.details)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
