"""An empty query parameter is an absent one, on every route.

Forms and many generated clients send `?store=&cursor=` for fields left
blank. Without this rule each parameter's type decided: an empty `store`
filtered on the empty string, an empty `cursor` was refused as foreign, an
empty `limit` was a 422. Dropping `name=` (and a bare `name`) from the
query string before routing gives every parameter, present and future, the
same meaning: not sent, so its default applies.

A NUL character (`%00`) is refused here, on every route: in the path with
404 (no id or name holds one, so nothing is there), in a query parameter
with 400. PostgreSQL refuses it in any text it is sent, which would
otherwise turn the request into a 500.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable

from starlette.types import Receive, Scope, Send

from hubops.runtime.errors import ApiError, BadRequest, NotFound
from hubops.runtime.middleware import HttpMiddleware, announces_body, send_error

NUL = b"%00"
_PARAMETER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


def without_empty(query: bytes) -> bytes:
    """The query string less its `name=` and bare `name` parts, in order."""
    kept = [part for part in query.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


def nul_refused(path: str, query: bytes) -> ApiError | None:
    """The answer to a NUL in the (decoded) path or the (raw) query string; None without."""
    if "\x00" in path:
        return NotFound("nothing is here: the path contains a NUL character (%00)")
    for part in query.split(b"&") if NUL in query else ():
        name, _, value = part.partition(b"=")
        if NUL in value or NUL in name:
            text = name.decode("ascii", "replace")
            shown = text if _PARAMETER.fullmatch(text) else "?"  # never echo odd input
            return BadRequest(
                f'the query parameter "{shown}" contains a NUL character (%00); '
                "no value may hold one",
                {"parameter": shown},
            )
    return None


class EmptyQueryIsAbsent(HttpMiddleware):
    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        refused = nul_refused(scope.get("path", ""), scope.get("query_string", b""))
        if refused is not None:
            # A body not read to its end would be taken for the next request: close then.
            return send_error(send, refused, keep_alive=not announces_body(scope))
        if scope.get("query_string"):
            # In place: outer middleware reads what the router writes into this same scope.
            scope["query_string"] = without_empty(scope["query_string"])
        return self.app(scope, receive, send)
