"""The one place errors become responses: every handler of the app, in the shared error shape.

`errors.ApiError`s answer with their own status, code, message and headers;
FastAPI's request validation becomes 422 `invalid_request` with every
problem listed (their input dropped: it may hold secrets), a body that never
became JSON 400 `invalid_json` or 415, and Starlette's own 404, 405 and 400
the shape with a code of their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from hubops.problems import summary
from hubops.runtime.errors import (
    ApiError,
    InvalidBody,
    InvalidJson,
    Unprocessable,
    UnsupportedMediaType,
    error_body,
)
from hubops.runtime.media import is_json


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.error_code(), error.message, error.details),
        status_code=error.status,
        headers=error.headers(),
    )


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    refused = _unparsed_body(request, exc, errors)
    if refused is not None:
        return error_response(refused)
    problems = [
        {"field": ".".join(str(part) for part in err["loc"]), "message": err["msg"]}
        for err in errors
    ]  # `input` and `ctx` are dropped on purpose: they may hold secret values
    first = problems[0] if problems else {"field": "request", "message": "invalid"}
    message = summary(f"{first['field']}: {first['message']}", len(problems))
    body = error_body("invalid_request", message, {"problems": problems})
    return JSONResponse(body, status_code=422)


def _unparsed_body(
    request: Request, exc: RequestValidationError, errors: Sequence[Any]
) -> ApiError | None:
    """A body that never became JSON: not JSON at all, or not sent as JSON."""
    for err in errors:
        if err.get("type") == "json_invalid":
            position = err["loc"][-1] if isinstance(err["loc"][-1], int) else 0
            doc = exc.body if isinstance(exc.body, str) else ""
            line = doc.count("\n", 0, position) + 1
            column = position - (doc.rfind("\n", 0, position) + 1) + 1
            reason = str(err.get("ctx", {}).get("error", "malformed JSON"))  # json's fixed texts
            return InvalidJson(
                f"the request body is not JSON: {reason} at line {line}, column {column}",
                {"line": line, "column": column},
            )
    whole_body = [
        err for err in errors if tuple(err["loc"]) == ("body",) and err.get("type") != "missing"
    ]
    if whole_body and not is_json(request.headers.get("content-type")):
        return UnsupportedMediaType(
            "this route takes a JSON body: send it with Content-Type: application/json",
            {"header": "Content-Type"},
        )
    return None


HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = HTTP_CODES.get(status, f"http_{status}")
    headers = dict(exc.headers or {})
    details: dict[str, Any] = {}
    if status == 404:
        message = "no such route; see /openapi.json for the routes of this runtime"
    elif status == 405:
        allowed = allowed_methods(request, headers.get("Allow", ""))
        headers["Allow"] = ", ".join(allowed)
        message = f"this route does not take that method; it takes {', '.join(allowed)}"
        details = {"allowed": allowed}
    elif status == 400:
        # FastAPI's answer when its parser gave up on a body (JSON nested too deeply, a form)
        return error_response(
            InvalidBody("the request body could not be parsed; send JSON of the documented shape")
        )
    else:
        message = str(exc.detail)
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def allowed_methods(request: Request, first: str) -> list[str]:
    """Every method of every route whose template matches the path, not only the first's.

    Starlette answers a wrong method with the `Allow` of the first route that
    matched the path, so `/v1/promotions` (GET and POST: two routes) said
    `Allow: GET`. The routes are read from the OpenAPI document, which lists
    every route a client can call; `first` adds an undocumented route's own.
    """
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        request.app.state, "method_table", None
    )
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = compile_path(template)[0]
            table.append((pattern, {method.upper() for method in operations}))
        request.app.state.method_table = table
    methods = {m.strip() for m in first.split(",") if m.strip()}
    path = request.scope.get("path", "")
    for pattern, operations in table:
        if pattern.match(path):
            methods |= operations
    return sorted(methods)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store (PostgreSQL: a NUL character in any text, a number
    out of its column's range): the request's fault, and its transaction rolled back, so
    nothing of it was applied. The value is not shown."""
    return error_response(
        Unprocessable(
            "a value in the request cannot be stored (a NUL character in a text, or a number "
            "out of range); send it without",
            {"field": "body"},
        )
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
