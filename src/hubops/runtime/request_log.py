"""One log line per request, by route template; and the one place a crash becomes a 500.

uvicorn's own access log is switched off (`hubops serve`): it prints the
raw request line, query string included, and clients do put tokens there
by mistake. This middleware logs the method, the route template
(`/v1/orders/{order_id}`, never the path that was asked for), the status
and the time taken, and nothing else of the request: no query string, no
header, no body, no path parameter.

An exception no handler took ends here too. Starlette's outermost handler
would answer 500 and then re-raise, so that uvicorn printed the traceback,
SQL of a failed statement included, and dropped the client's keep-alive
connection. Here the exception is logged by its type and the line of
hubops that raised it (`errors.exception_summary`; no message: those hold
SQL and values), the client gets the error shape, and the connection stays
usable.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubops.runtime.errors import error_body, exception_summary
from hubops.runtime.metrics import Metrics
from hubops.runtime.middleware import HttpMiddleware

log = logging.getLogger("hubops.runtime.requests")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(not routed)"


def route_template(scope: Scope) -> str:
    """The template of the route that took the request, as the router left it in the scope."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


_INTERNAL = json.dumps(
    error_body("internal_error", "the runtime hit an internal error; see its log")
).encode()


def _write_line(method: str, route: str, status: int, ms: float) -> None:
    """The request's line, as `log.info` would write it, less the work a line per request
    cannot afford: no search of the stack for the caller (the line says where it comes
    from by its logger), and a message formatted once."""
    fields: dict[str, Any] = {"method": method, "route": route, "status": status, "ms": ms}
    message = f"{method} {route} {status} {ms}ms"
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, (), None, None, fields))


class RequestLog(HttpMiddleware):
    """Logs each request and counts it in `metrics`: both see the same route and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        logged = False

        def record(status: int) -> None:
            # Written as the answer starts, as uvicorn's access log was: a client that
            # got its answer finds the line already there.
            nonlocal logged
            logged = True
            seconds = time.perf_counter() - started
            ms = round(seconds * 1000, 1)
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.request(method, route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                _write_line(method, route, status, ms)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            log.error(
                "internal error in %s %s: %s", method, route_template(scope), exception_summary(exc)
            )
            if not logged:  # nothing sent yet: answer, and keep the connection
                record(500)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(_INTERNAL)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": _INTERNAL})
        finally:
            if not logged:  # the client left before any answer
                record(0)
