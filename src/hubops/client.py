"""The runtime client: one async httpx client, over the network or in-process.

`--runtime URL` talks HTTP to a running `hubops serve`; `--runtime PATH`
builds the runtime app around that SQLite file and reaches it through
httpx's ASGI transport. Both go through the same requests, routes and
checks, so the embedded default exercises exactly what production does.
Errors from the wire are mapped here, once, to `RuntimeClientError`s.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hubops.errors import HubopsError
from hubops.state import State

RUNTIME_ENV = "HUBOPS_RUNTIME"
DEFAULT_RUNTIME = ".hubops/state.db"
PARALLEL_REQUESTS = 16


class RuntimeClientError(HubopsError):
    """The runtime could not be reached or refused a request."""


class StaleStateError(RuntimeClientError):
    """The tenant's live revision moved since the plan was made."""


class ChangeRejected(RuntimeClientError):
    """The runtime found a change invalid (422)."""


@dataclass
class LiveTenant:
    name: str
    revision: int
    state: State
    secrets_digest: str | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    last_applied: dict[str, Any] | None = None

    @classmethod
    def absent(cls, name: str) -> LiveTenant:
        return cls(name=name, revision=0, state={})


def is_remote(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def describe(target: str) -> str:
    return target if is_remote(target) else f"embedded runtime at {target}"


def _admin_token(name_if_single: str) -> tuple[dict[str, str], str]:
    """Tokens for an embedded runtime and the one this client sends."""
    from hubops.runtime.settings import ADMIN_TOKEN_ENV, parse_admin_tokens

    raw = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if not raw:
        token = secrets.token_urlsafe(32)
        return {name_if_single: token}, token
    tokens = parse_admin_tokens(raw)
    return tokens, next(iter(tokens.values()))


def _embedded_transport(path: Path) -> tuple[httpx.AsyncBaseTransport, str]:
    from hubops.runtime.app import create_app
    from hubops.runtime.settings import (
        MASTER_KEY_ENV,
        RuntimeSettings,
        parse_master_key,
        sqlite_url,
    )

    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, token = _admin_token("local")
    settings = RuntimeSettings(
        db_url=sqlite_url(path),
        admin_tokens=tokens,
        master_key=parse_master_key(os.environ.get(MASTER_KEY_ENV)),
    )
    return httpx.ASGITransport(app=create_app(settings)), token


class RuntimeClient:
    """Admin API calls; bounded parallelism for the many-tenant ones."""

    def __init__(self, http: httpx.AsyncClient, target: str) -> None:
        self._http = http
        self.target = target
        self.requests = 0
        self._limit = asyncio.Semaphore(PARALLEL_REQUESTS)

    @classmethod
    @asynccontextmanager
    async def open(cls, target: str) -> AsyncIterator[RuntimeClient]:
        if is_remote(target):
            from hubops.runtime.settings import ADMIN_TOKEN_ENV

            raw = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
            if not raw:
                raise RuntimeClientError(
                    f"{ADMIN_TOKEN_ENV} is not set; set it to the admin token of the runtime "
                    f"at {target}"
                )
            _, token = _admin_token("admin")
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(retries=2)
            base_url = target.rstrip("/")
        else:
            transport, token = _embedded_transport(Path(target))
            base_url = "http://hubops.embedded"
        async with httpx.AsyncClient(
            transport=transport,
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(60.0, connect=10.0),
            follow_redirects=False,
        ) as http:
            yield cls(http, target)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self._limit:
            self.requests += 1
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise RuntimeClientError(
                    f"cannot reach the runtime at {self.target} ({type(exc).__name__}); "
                    "check --runtime / HUBOPS_RUNTIME and that `hubops serve` is running"
                ) from None
        if response.status_code == 401:
            raise RuntimeClientError(
                f"the runtime at {self.target} refused the admin token (401); set "
                "HUBOPS_ADMIN_TOKEN to one of the runtime's admin tokens"
            )
        return response

    @staticmethod
    def _error(response: httpx.Response) -> tuple[str, str, Any]:
        try:
            error = response.json()["error"]
            return str(error["code"]), str(error["message"]), error.get("details")
        except (ValueError, KeyError, TypeError):
            return "http_error", f"HTTP {response.status_code}", None

    async def fingerprint_key(self) -> bytes:
        response = await self._request("GET", "/admin/v1/fingerprint-key")
        self._expect(response, 200)
        return base64.b64decode(response.json()["key"])

    async def list_tenants(self) -> list[tuple[str, int]]:
        response = await self._request("GET", "/admin/v1/tenants")
        self._expect(response, 200)
        return [(item["name"], int(item["revision"])) for item in response.json()]

    async def get_tenant(self, name: str) -> LiveTenant:
        """The live tenant, or an empty one at revision 0 when the runtime does not hold it."""
        response = await self._request("GET", f"/admin/v1/tenants/{name}")
        if response.status_code == 404:
            return LiveTenant.absent(name)
        self._expect(response, 200)
        data = response.json()
        recorded = data.get("secrets") or {}
        return LiveTenant(
            name=data["name"],
            revision=int(data["revision"]),
            state=data["state"],
            secrets_digest=recorded.get("digest"),
            fingerprints=recorded.get("fingerprints") or {},
            last_applied=data.get("lastApplied"),
        )

    async def get_tenants(
        self, names: Iterable[str], on_each: Callable[[], None] | None = None
    ) -> dict[str, LiveTenant]:
        names = list(names)

        async def one(name: str) -> LiveTenant:
            tenant = await self.get_tenant(name)
            if on_each is not None:
                on_each()
            return tenant

        found = await asyncio.gather(*(one(name) for name in names))
        return dict(zip(names, found, strict=True))

    async def apply_changes(self, name: str, payload: dict[str, Any]) -> int:
        response = await self._request("POST", f"/admin/v1/tenants/{name}/changes", json=payload)
        if response.status_code == 409:
            _, message, details = self._error(response)
            current = (details or {}).get("currentRevision")
            raise StaleStateError(
                f"tenant {name} changed in the runtime since the plan was made (planned against "
                f"revision {payload.get('baseRevision')}, now {current}); run plan again"
            )
        if response.status_code == 422:
            _, message, _ = self._error(response)
            raise ChangeRejected(f"the runtime rejected the changes for tenant {name}: {message}")
        self._expect(response, 200)
        return int(response.json()["revision"])

    def _expect(self, response: httpx.Response, status: int) -> None:
        if response.status_code != status:
            code, message, _ = self._error(response)
            raise RuntimeClientError(
                f"the runtime answered {response.status_code} ({code}): {message}"
            )
