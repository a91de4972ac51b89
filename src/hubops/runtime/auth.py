"""Bearer tokens, for both APIs: reading `Authorization`, and which admin token sent it.

`bearer_token` is the one reader of the header: the admin API (here) and the
Partner API (`partner.auth`) both take the token from it and refuse with the
one `errors.Unauthorized`, so both follow RFC 6750 alike: a request that sent
no bearer token at all gets a challenge without an error code (3.1), one
whose token was refused gets `error="invalid_token"`.

Every configured admin token is compared, with `hmac.compare_digest`, even
after a match, so the time taken says nothing about which token or how much
of it was right.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubops.runtime.context import RuntimeDep
from hubops.runtime.errors import ADMIN_REALM, METRICS_REALM, PARTNER_REALM, Unauthorized
from hubops.runtime.openapi import errors


@dataclass(frozen=True)
class Realm:
    """One API's challenge realm, how its messages name the token it needs, and how the
    OpenAPI document does (a route declares it with `Security(realm.scheme)`)."""

    name: str
    token: str  # "an admin token"
    example: str  # "<HUBOPS_ADMIN_TOKEN>"
    scheme: HTTPBearer

    def refused(self, message: str) -> Unauthorized:
        """A bearer token was sent, and it is not one this API accepts."""
        return Unauthorized(message, realm=self.name, token_sent=True)


ADMIN = Realm(
    ADMIN_REALM,
    "an admin token",
    "<HUBOPS_ADMIN_TOKEN>",
    HTTPBearer(
        auto_error=False,
        scheme_name="adminToken",
        description="A token from the runtime's HUBOPS_ADMIN_TOKEN.",
    ),
)
PARTNER = Realm(
    PARTNER_REALM,
    "an API token",
    "hub_...",
    HTTPBearer(
        auto_error=False,
        scheme_name="partnerToken",
        description="A tenant's ApiToken value (`hub_...`), as applied from its secrets file.",
    ),
)
METRICS = Realm(
    METRICS_REALM,
    "the metrics token",
    "<HUBOPS_METRICS_TOKEN>",
    HTTPBearer(
        auto_error=False,
        scheme_name="metricsToken",
        description="The runtime's HUBOPS_METRICS_TOKEN, when it is set.",
    ),
)
# What an admin route declares to say it takes the admin bearer token (read by
# `bearer_token`); a Partner API route's `partner.auth.PartnerAccess` declares its own.
AdminBearer = Annotated[HTTPAuthorizationCredentials | None, Security(ADMIN.scheme)]


def bearer_token(request: Request, realm: Realm) -> str:
    """The token of `Authorization: Bearer TOKEN`; 401 (no error code) when none was sent."""
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized(
            f"this route needs {realm.token}: send Authorization: Bearer {realm.example}",
            realm=realm.name,
            token_sent=False,
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            f"the Authorization header is not of the form `Bearer {realm.example}`",
            realm=realm.name,
            token_sent=False,
        )
    return token


def match_token(tokens: dict[str, str], sent: str) -> str | None:
    found = None
    sent_bytes = sent.encode()
    for name, token in tokens.items():
        if hmac.compare_digest(sent_bytes, token.encode()) and found is None:
            found = name
    return found


def admin_name(request: Request, tokens: dict[str, str]) -> str:
    """The name of the admin token sent; 401 otherwise (also checked before a body is read)."""
    name = match_token(tokens, bearer_token(request, ADMIN))
    if name is None:
        raise ADMIN.refused(
            "the admin token is not valid for this runtime; check HUBOPS_ADMIN_TOKEN"
        )
    return name


async def require_admin(request: Request, runtime: RuntimeDep, _docs: AdminBearer) -> str:
    """The admin token's name, for the audit record; 401 otherwise."""
    return admin_name(request, runtime.settings.admin_tokens)


AdminName = Annotated[str, Depends(require_admin)]


def admin_router(tag: str) -> APIRouter:
    """A router of `/admin/v1` routes: every one needs an admin token and may answer 401."""
    return APIRouter(
        prefix="/admin/v1",
        tags=[tag],
        dependencies=[Depends(require_admin)],
        responses=errors(401),
    )
