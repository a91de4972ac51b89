"""What every pure ASGI middleware of the runtime shares: it sees HTTP requests only.

Each middleware (the request log, the body limit, the empty-query rule, the
rate-limit headers) is a class over the app it wraps; lifespan and other
ASGI messages pass through untouched, and `handle` sees each HTTP request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request; by default, passed on as it is."""
        await self.app(scope, receive, send)
