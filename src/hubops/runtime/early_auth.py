"""A request that carries a body is authenticated before a byte of the body is read.

FastAPI resolves a route's dependencies only after its body was read (and
`limits.BodyLimit` reads it before the app runs), so a caller with no valid
token could make the runtime receive and hold up to 1 MiB per connection:
300 sockets announcing 1 MiB and stalling took a runtime from 122 MB to
426 MB RSS. This middleware, outside the body limit, checks the bearer
token of every admin and Partner API request that announces a body
(Content-Length over 0, or chunked) by the same rules the routes use
(`auth.admin_name`, `partner.auth.known_token`), and refuses with 401 and
`Connection: close` without reading the body. The route checks the token
again as usual (scopes, rate limit); requests without a body pass straight on.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hubops.runtime.apis import ADMIN_PREFIX, PARTNER_PREFIX
from hubops.runtime.auth import admin_name
from hubops.runtime.context import Runtime
from hubops.runtime.errors import ApiError
from hubops.runtime.middleware import HttpMiddleware, announces_body, send_error
from hubops.runtime.partner.auth import known_token


class AuthFirst(HttpMiddleware):
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app)
        self.runtime = runtime

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if announces_body(scope):
            return self._checked(scope, receive, send)
        return self.app(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        request = Request(scope)
        try:
            if path.startswith(ADMIN_PREFIX):
                admin_name(request, self.runtime.settings.admin_tokens)
            elif path.startswith(PARTNER_PREFIX):
                now = datetime.now(UTC)
                await anyio.to_thread.run_sync(known_token, request, self.runtime, now)
        except ApiError as refused:
            await send_error(send, refused, keep_alive=False)
            return
        await self.app(scope, receive, send)
