"""Every error the runtime's HTTP APIs answer with, as types: status, code and headers.

Routes, the store and the Partner API raise these; `error_handlers` renders
every one (and FastAPI's request validation, Starlette's 404/405) as
`{"error": {"code", "message", "details"}}`, and `request_log.RequestLog`
turns a bug into a 500 of the same shape. Messages name addresses and
fields, never values: a request's own input is never echoed, since it may
carry secrets, and a 404 says what kind of object was not found, never
which (the caller knows what it asked for). Each cause has its own code:

    ApiError                         500  internal_error
    ├── BadRequest                   400  bad_request (a parameter the route refuses)
    │   ├── InvalidEncoding               invalid_encoding (a JSON body that is not UTF-8)
    │   ├── InvalidJson                   invalid_json (not JSON at all)
    │   └── InvalidBody                   invalid_body (JSON or a form the parser gave up on)
    ├── Unauthorized                 401  unauthorized when no bearer token was sent,
    │                                     invalid_token when one was sent and refused
    ├── InsufficientScope            403  insufficient_scope (Partner API)
    ├── NotFound                     404  not_found
    │   └── TenantNotFound                tenant_not_found
    ├── Conflict                     409  conflict
    │   ├── StaleRevision                 stale_revision
    │   ├── IllegalTransition             illegal_transition (an order's status)
    │   └── RetailerNotConnected          retailer_not_connected
    ├── RequestTimeout               408  request_timeout (a body that did not arrive in time)
    ├── PayloadTooLarge              413  payload_too_large
    ├── UnsupportedMediaType         415  unsupported_media_type (a body that is not JSON)
    ├── Unprocessable                422  invalid_request (a body the route's rules refuse)
    │   ├── IdempotencyKeyReused          idempotency_key_reused
    │   └── TermsNotAccepted              terms_not_accepted
    ├── InvalidChange                422  invalid_change (a change set the state refuses)
    │   ├── FingerprintMismatch           fingerprint_mismatch
    │   └── MissingSecret                 missing_secret
    ├── RateLimited                  429  rate_limited
    └── NotReady                     503  not_ready (`/readyz`: no database, or an old schema)

Request validation (a field or parameter of the wrong type or range) is
422 `invalid_request`, wrong method 405 `method_not_allowed` with every
method of the route in `Allow`, an unknown path 404 `not_found`.
"""

from __future__ import annotations

import math
import traceback
from pathlib import Path
from typing import Any, ClassVar

# The realms of the two APIs' RFC 6750 challenges.
ADMIN_REALM = "hubops-admin"
PARTNER_REALM = "hubops"
METRICS_REALM = "hubops-metrics"


class ApiError(Exception):
    """Subclasses name their status and code: `class X(ApiError, status=404, code="...")`."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = {} if details is None else details

    def error_code(self) -> str:
        return self.code

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError, status=400, code="bad_request"):
    """A parameter the route refuses (a foreign cursor, a time outside the window)."""


class InvalidEncoding(BadRequest, code="invalid_encoding"):
    """A JSON body that is not UTF-8 (`limits.BodyLimit`)."""


class InvalidJson(BadRequest, code="invalid_json"):
    """A body that is not JSON at all; details name the line and column."""


class InvalidBody(BadRequest, code="invalid_body"):
    """A body the parser gave up on (nested too deeply, a form)."""


class Unauthorized(ApiError, status=401, code="unauthorized"):
    """RFC 6750 3.1: a challenge with `error="invalid_token"` only when a token was sent."""

    def __init__(self, message: str, *, realm: str, token_sent: bool) -> None:
        super().__init__(message)
        self.realm = realm
        self.token_sent = token_sent

    def error_code(self) -> str:
        return "invalid_token" if self.token_sent else self.code

    def headers(self) -> dict[str, str]:
        error = ', error="invalid_token"' if self.token_sent else ""
        return {"WWW-Authenticate": f'Bearer realm="{self.realm}"{error}'}


class InsufficientScope(ApiError, status=403, code="insufficient_scope"):
    def __init__(self, scope: str) -> None:
        super().__init__(
            f'this token lacks the scope "{scope}"; add it to the ApiToken\'s scopes and apply',
            {"scope": scope},
        )
        self.scope = scope

    def headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="{PARTNER_REALM}", error="insufficient_scope"'
        return {"WWW-Authenticate": f'{challenge}, scope="{self.scope}"'}


class NotFound(ApiError, status=404, code="not_found"):
    """No such object for this caller; the message names its kind (`no such order ...`)."""


class TenantNotFound(NotFound, code="tenant_not_found"):
    def __init__(self) -> None:
        super().__init__("the runtime holds no such tenant; check the tenant name")


class Conflict(ApiError, status=409, code="conflict"):
    """The request conflicts with the current state."""


class StaleRevision(Conflict, code="stale_revision"):
    def __init__(self, base: int, current: int) -> None:
        super().__init__(
            f"the change set was planned against revision {base} but the tenant is at "
            f"revision {current}; plan again against the current state",
            {"baseRevision": base, "currentRevision": current},
        )


class IllegalTransition(Conflict, code="illegal_transition"):
    """An order status its state machine does not allow next."""


class RetailerNotConnected(Conflict, code="retailer_not_connected"):
    """An order from a retailer without an approved connection."""


class RequestTimeout(ApiError, status=408, code="request_timeout"):
    """The body did not arrive within HUBOPS_BODY_TIMEOUT; the connection is closed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the request body did not arrive within {seconds:g} seconds; send it at once",
            {"timeoutSeconds": seconds},
        )

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class PayloadTooLarge(ApiError, status=413, code="payload_too_large"):
    """A body over the route's limit (1 MiB; 20 MiB for a catalog file)."""


class UnsupportedMediaType(ApiError, status=415, code="unsupported_media_type"):
    """A body not sent in a media type the route takes."""


class Unprocessable(ApiError, status=422, code="invalid_request"):
    """A well-formed body that the route's own rules refuse."""


class IdempotencyKeyReused(Unprocessable, code="idempotency_key_reused"):
    """An Idempotency-Key already used with a different request."""


class TermsNotAccepted(Unprocessable, code="terms_not_accepted"):
    """A connection request without the tenant's terms of service."""


class InvalidChange(ApiError, status=422, code="invalid_change"):
    """A change set the tenant's state refuses; nothing of it is written."""


class FingerprintMismatch(InvalidChange, code="fingerprint_mismatch"):
    """A secret whose value or marker does not match the body's fingerprint."""


class MissingSecret(InvalidChange, code="missing_secret"):
    """A new secret sent without its value."""


class RateLimited(ApiError, status=429, code="rate_limited"):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"this token sent too many requests; retry after {self.retry_after} second(s)",
            {"retryAfterSeconds": self.retry_after},
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotReady(ApiError, status=503, code="not_ready"):
    """The runtime cannot serve yet: its database does not answer or is not migrated."""


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def exception_summary(exc: BaseException) -> str:
    """`TypeName (from Cause) at hubops/x.py:12`: what a log may say of an unexpected error.

    Enough to find the bug, and nothing else: an exception's message may hold SQL
    (with the values of a failed statement) or a request's values.
    """
    text = type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        text += f" (from {type(cause).__name__})"
    ours = [
        (Path(frame.filename).parts, frame.lineno)
        for frame in traceback.extract_tb(exc.__traceback__)
        if "hubops" in Path(frame.filename).parts
    ]
    if ours:
        parts, line = ours[-1]
        inside = parts[len(parts) - 1 - parts[::-1].index("hubops") :]
        text += f" at {'/'.join(inside)}:{line}"
    return text
