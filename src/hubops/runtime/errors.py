"""Domain errors of the runtime's HTTP APIs and the one place they become responses.

Routes and the store raise these; `install_error_handlers` renders every
error (ours, FastAPI's request validation, Starlette's 404/405, and bugs)
as `{"error": {"code", "message", "details"}}`. Messages name addresses
and fields, never values: a request's own input is never echoed, since it
may carry secrets.

    ApiError
    ├── Unauthorized        401
    ├── NotFound            404  (TenantNotFound: tenant_not_found)
    ├── StaleRevision       409  stale_revision
    ├── PayloadTooLarge     413
    ├── BadRequest          400
    └── InvalidChange       422  invalid_change
        ├── FingerprintMismatch   fingerprint_mismatch
        └── MissingSecret         missing_secret
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("hubops.runtime")

ADMIN_REALM = 'Bearer realm="hubops-admin"'


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = {} if details is None else details

    def headers(self) -> dict[str, str]:
        return {}


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, token_sent: bool) -> None:
        super().__init__(message)
        self.token_sent = token_sent

    def headers(self) -> dict[str, str]:
        challenge = ADMIN_REALM + (', error="invalid_token"' if self.token_sent else "")
        return {"WWW-Authenticate": challenge}


class NotFound(ApiError):
    status = 404
    code = "not_found"


class TenantNotFound(NotFound):
    code = "tenant_not_found"


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class StaleRevision(ApiError):
    status = 409
    code = "stale_revision"

    def __init__(self, base: int, current: int) -> None:
        super().__init__(
            f"the change set was planned against revision {base} but the tenant is at "
            f"revision {current}; plan again against the current state",
            {"baseRevision": base, "currentRevision": current},
        )


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class InvalidChange(ApiError):
    status = 422
    code = "invalid_change"


class FingerprintMismatch(InvalidChange):
    code = "fingerprint_mismatch"


class MissingSecret(InvalidChange):
    code = "missing_secret"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.details),
        status_code=error.status,
        headers=error.headers(),
    )


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in err["loc"]), "message": err["msg"]}
        for err in exc.errors()
    ]  # `input` and `ctx` are dropped on purpose: they may hold secret values
    first = problems[0] if problems else {"field": "request", "message": "invalid"}
    message = f"{first['field']}: {first['message']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s))"
    body = error_body("invalid_request", message, {"problems": problems})
    return JSONResponse(body, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    message = "no such route" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error: %s", type(exc).__name__)
    return JSONResponse(
        error_body("internal_error", "the runtime hit an internal error; see its log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
