"""The OpenAPI document: one helper for error responses, and the rules every route shares.

Clients are generated from `/openapi.json`, so it must say what the
runtime does. A route lists the errors of its own making with
`errors(404, 409)`: each status brings its description, the error shape
and its headers (`WWW-Authenticate` on 401 and 403, `Retry-After` on 429).
What holds for every route by construction is added to the document here,
where no route can forget it:

* every operation that takes a body answers 400 (not UTF-8, not JSON),
  408, 413 and 415: `limits.BodyLimit` and the body parser stand in front
  of all of them;
* FastAPI's own 422 (`HTTPValidationError`) becomes the error shape that
  `errors.py` actually answers with;
* every Partner API answer to a counted request carries the RateLimit-*
  headers (`partner.ratelimit.QuotaHeaders`): all but 401 and 413;
* operationIds: each route names its own (`operation_id="listOrders"`);
  `operation_id` (the app's `generate_unique_id_function`) gives any
  route that does not the camelCase of its function's name, never
  FastAPI's `list_orders_v1_orders_get`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from hubops.runtime.api_models import ErrorBody
from hubops.runtime.apis import PARTNER_PREFIX

DESCRIPTION = """\
The live state of each tenant's Integration Hub: the admin API (`/admin/v1`) that
`hubops plan` and `hubops apply` talk to, and the Partner API (`/v1`) that partners
call with a tenant's ApiToken.

What every route shares:

* An error has the body `{"error": {"code", "message", "details"}}`, one code per
  cause; messages never repeat what was sent.
* A query parameter sent empty (`?store=`) counts as not sent.
* A list is `{"items", "nextCursor"}`; pass `nextCursor` back as `cursor`.
* Times are ISO 8601 with a timezone, answered in UTC, and must lie between
  0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC.
* A body is UTF-8 JSON of at most 1 MiB, sent within HUBOPS_BODY_TIMEOUT seconds
  (default 10) of the request's headers, which are checked first.
* A method a path does not take is a 405 listing every method it takes in `Allow`.
* Partner API answers carry `RateLimit-Limit`, `RateLimit-Remaining` and
  `RateLimit-Reset` once the token is known; a 429 carries `Retry-After`.
"""

TAGS = [
    {"name": "health", "description": "Liveness and readiness, without authentication."},
    {
        "name": "admin",
        "description": "Tenant state and change sets, for `hubops plan` and `apply` "
        "(admin token from HUBOPS_ADMIN_TOKEN).",
    },
    {"name": "webhooks", "description": "Delivery log and redelivery of order webhooks (admin)."},
    {"name": "orders", "description": "Partner API: a tenant's orders and their status."},
    {
        "name": "catalog",
        "description": "The items of a store, replaced whole or from catalog files (CSV or "
        "JSON) with their upload history and error files.",
    },
    {"name": "promotions", "description": "Partner API: discounts on one item of one store."},
    {
        "name": "connections",
        "description": "Retailers' connection requests to a brand, from the marketplace (admin).",
    },
    {
        "name": "console",
        "description": "What the console shows beside the state: invitations of back-office "
        "admins, and the counts of the last `hubops plan --report` (admin).",
    },
]


def _counter(description: str, minimum: int) -> dict[str, Any]:
    """A header holding a whole number of at least `minimum`."""
    return {"description": description, "schema": {"type": "integer", "minimum": minimum}}


HEADERS: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {
        "description": "RFC 6750 challenge: `Bearer realm=...`, with `error=` when a token "
        "was sent and refused.",
        "schema": {"type": "string"},
    },
    "Retry-After": _counter("Seconds to wait before the next request of this token.", 1),
    "RateLimit-Limit": _counter(
        "Requests this token may send in a burst (HUBOPS_RATE_LIMIT's burst).", 1
    ),
    "RateLimit-Remaining": _counter("Requests this token may send now.", 0),
    "RateLimit-Reset": _counter("Seconds until this token's allowance is full again.", 0),
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored first answer to the same "
        "Idempotency-Key and body; nothing was changed again.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")

_STATUSES: dict[int, tuple[str, tuple[str, ...]]] = {
    400: (
        "Refused before it could be read: a parameter the route refuses (`bad_request`), "
        "a body that is not UTF-8 (`invalid_encoding`), not JSON (`invalid_json`) or "
        "too deeply nested (`invalid_body`).",
        (),
    ),
    401: (
        "No valid token (`unauthorized` when none was sent, else `invalid_token`).",
        ("WWW-Authenticate",),
    ),
    403: (
        "The token lacks a scope this route needs (`insufficient_scope`).",
        ("WWW-Authenticate",),
    ),
    404: ("No such object for this caller (`not_found`, `tenant_not_found`).", ()),
    409: (
        "In conflict with the current state (`stale_revision`, `illegal_transition`).",
        (),
    ),
    408: (
        "The body did not arrive within HUBOPS_BODY_TIMEOUT seconds (`request_timeout`).",
        (),
    ),
    413: ("The body is over 1 MiB (`payload_too_large`).", ()),
    415: ("The body was not sent as JSON (`unsupported_media_type`).", ()),
    422: (
        "A field or parameter is invalid (`invalid_request`, `invalid_change`, ...); "
        "`details.problems` lists each one.",
        (),
    ),
    429: ("This token sent too many requests (`rate_limited`).", ("Retry-After",)),
    503: (
        "Not ready: the database does not answer or its schema is not current (`not_ready`).",
        (),
    ),
}


def header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the listed error statuses, in the error shape, with headers."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        description, headers = _STATUSES[status]
        response: dict[str, Any] = {"model": ErrorBody, "description": description}
        if headers:
            response["headers"] = header_refs(*headers)
        responses[status] = response
    return responses


def listing(page: type[BaseModel], operation: str, *statuses: int) -> dict[str, Any]:
    """A list route's `response_model`, `operation_id` and errors: 400 for a foreign cursor
    (every list pages by `cursors`), besides the route's own `statuses`."""
    return {"response_model": page, "responses": errors(400, *statuses), "operation_id": operation}


def operation_id(route: APIRoute) -> str:
    """camelCase of the endpoint's name, for a route that names no operationId itself."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def install(app: FastAPI) -> None:
    """Describe the API (tags, server, license) and serve the document with the shared rules."""
    app.description = DESCRIPTION
    app.openapi_tags = TAGS
    app.servers = [{"url": "/", "description": "This runtime."}]
    app.license_info = {"name": "MIT", "identifier": "MIT"}
    app.contact = {"name": "hubops"}
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = shared_rules(build())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def shared_rules(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with what every route shares added (see the module's docstring)."""
    components = spec.setdefault("components", {})
    components["headers"] = HEADERS
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            operation.setdefault("security", [])  # no Security dependency: the route is open
            responses = operation.setdefault("responses", {})
            if _is_fastapi_422(responses.get("422", {})):
                responses["422"] = _error_response(422)
            if "requestBody" in operation:
                for status in (400, 408, 413, 415):
                    responses.setdefault(str(status), _error_response(status))
            if path.startswith(PARTNER_PREFIX):
                for status, response in responses.items():
                    if status not in ("401", "408", "413"):
                        counted = header_refs(*RATE_LIMIT_HEADERS)
                        response["headers"] = {**response.get("headers", {}), **counted}
            operation["responses"] = dict(sorted(responses.items()))
    if "/HTTPValidationError" not in json.dumps(spec["paths"]):
        for unused in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(unused, None)
    return spec


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def _error_response(status: int) -> dict[str, Any]:
    description, headers = _STATUSES[status]
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if headers:
        response["headers"] = header_refs(*headers)
    return response
