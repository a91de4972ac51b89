"""Admin authentication: which configured admin token, by name, sent this request.

Every configured token is compared, with `hmac.compare_digest`, even after
a match, so the time taken says nothing about which token or how much of
it was right.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubops.runtime.context import RuntimeDep
from hubops.runtime.errors import Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="adminToken",
    description="A token from the runtime's HUBOPS_ADMIN_TOKEN.",
)


def match_token(tokens: dict[str, str], sent: str) -> str | None:
    found = None
    sent_bytes = sent.encode()
    for name, token in tokens.items():
        if hmac.compare_digest(sent_bytes, token.encode()) and found is None:
            found = name
    return found


def require_admin(
    request: Request,
    runtime: RuntimeDep,
    _docs: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """The admin token's name, for the audit record; 401 otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized(
            "this route needs an admin token: send Authorization: Bearer <HUBOPS_ADMIN_TOKEN>",
            token_sent=False,
        )
    scheme, _, token = header.strip().partition(" ")
    name = match_token(runtime.settings.admin_tokens, token.strip())
    if scheme.lower() != "bearer" or name is None:
        raise Unauthorized(
            "the admin token is not valid for this runtime; check HUBOPS_ADMIN_TOKEN",
            token_sent=True,
        )
    return name


AdminName = Annotated[str, Depends(require_admin)]
