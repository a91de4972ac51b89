"""Partner API errors: each one knows its status, code and challenge header.

They subclass the runtime's `ApiError`, so the one handler in
`runtime/errors.py` renders them in the shared `{"error": {...}}` shape.

    ApiError
    ├── InvalidToken        401  invalid_token (or unauthorized when no token was sent)
    ├── InsufficientScope   403  insufficient_scope
    ├── Conflict            409  (IllegalTransition: illegal_transition)
    ├── Unprocessable       422  (IdempotencyKeyReused: idempotency_key_reused)
    └── RateLimited         429  rate_limited
"""

from __future__ import annotations

import math
from typing import Any

from hubops.runtime.errors import ApiError

REALM = 'Bearer realm="hubops"'


class InvalidToken(ApiError):
    """RFC 6750 3.1: a request without credentials gets a challenge but no error code."""

    status = 401

    def __init__(self, message: str, *, token_sent: bool) -> None:
        super().__init__(message)
        self.token_sent = token_sent
        self.code = "invalid_token" if token_sent else "unauthorized"

    def headers(self) -> dict[str, str]:
        if not self.token_sent:
            return {"WWW-Authenticate": REALM}
        return {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}


class InsufficientScope(ApiError):
    status = 403
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f'this token lacks the scope "{scope}"; add it to the ApiToken\'s scopes and apply',
            {"scope": scope},
        )
        self.scope = scope

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{self.scope}"'}


class Conflict(ApiError):
    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class Unprocessable(ApiError):
    status = 422
    code = "invalid_request"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        details: dict[str, Any] = {"retryAfterSeconds": self.retry_after}
        super().__init__(
            f"this token sent too many requests; retry after {self.retry_after} second(s)",
            details,
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
