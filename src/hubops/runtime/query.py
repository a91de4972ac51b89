"""An empty query parameter is an absent one, on every route.

Forms and many generated clients send `?store=&cursor=` for fields left
blank. Without this rule each parameter's type decided: an empty `store`
filtered on the empty string, an empty `cursor` was refused as foreign, an
empty `limit` was a 422. Dropping `name=` (and a bare `name`) from the
query string before routing gives every parameter, present and future, the
same meaning: not sent, so its default applies.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import Receive, Scope, Send

from hubops.runtime.middleware import HttpMiddleware


def without_empty(query: bytes) -> bytes:
    """The query string less its `name=` and bare `name` parts, in order."""
    kept = [part for part in query.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


class EmptyQueryIsAbsent(HttpMiddleware):
    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope.get("query_string"):
            # In place: outer middleware reads what the router writes into this same scope.
            scope["query_string"] = without_empty(scope["query_string"])
        return self.app(scope, receive, send)
