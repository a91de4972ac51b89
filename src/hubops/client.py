"""The runtime client: one async httpx client, over the network or in-process.

`--runtime URL` talks HTTP to a running `hubops serve`; `--runtime PATH`
builds the runtime app around that SQLite file and reaches it through
httpx's ASGI transport. Both go through the same requests, routes and
checks, so the embedded default exercises exactly what production does.
Errors from the wire are mapped here, once, to `errors.RuntimeClientError`s.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from hubops.errors import ChangeRejected, RuntimeClientError, StaleStateError, UsageError
from hubops.live import MAX_TENANT_STATES, LiveTenant
from hubops.plan.model import Counts
from hubops.plan.parts import ChangeSetTooLarge, encode, split

RUNTIME_ENV = "HUBOPS_RUNTIME"
DEFAULT_RUNTIME = ".hubops/state.db"
PARALLEL_REQUESTS = 16
# Seconds a pooled connection to a served runtime may sit idle before it is dropped.
KEEPALIVE_SECONDS = 2.0


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_remote(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def check_target(target: str) -> str:
    """`target` when it can name a runtime; else UsageError saying why, never quoting a password."""
    if not _SCHEME.match(target):
        if not target.strip():
            raise UsageError("--runtime is empty; pass a runtime URL or a SQLite file path")
        return target
    scheme = target.split("://", 1)[0]
    if scheme not in ("http", "https"):
        raise UsageError(
            f'--runtime: "{scheme}://" is not supported; pass an http:// or https:// URL of '
            "a runtime, or the path of a SQLite file for the embedded runtime"
        )
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 -- parsing the port is what rejects "host:99999"
    except ValueError:
        raise UsageError(
            "--runtime: the URL is not valid (check the host, and that the port is a number "
            "up to 65535)"
        ) from None
    if "@" in parts.netloc:
        raise UsageError(
            "--runtime: the URL holds a user name or password; hubops never sends those (the "
            "admin API authenticates with HUBOPS_ADMIN_TOKEN), so remove them from the URL"
        )
    if not parts.hostname:
        raise UsageError(f"--runtime: the URL has no host; use e.g. {scheme}://hub.example:8080")
    if parts.query or parts.fragment:
        raise UsageError("--runtime: the URL must not have a query (?) or fragment (#)")
    return target


def describe(target: str) -> str:
    """How a runtime is named in output and plan files (a URL's user name and password hidden)."""
    if not is_remote(target):
        return f"embedded runtime at {target}"
    parts = urlsplit(target)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2])
    return urlunsplit(parts)


def _segment(value: str) -> str:
    """One URL path segment: a name can never add a segment, a query or a fragment."""
    return quote(value, safe="")


def _admin_token(name_if_single: str) -> tuple[dict[str, str], str]:
    """Tokens for an embedded runtime and the one this client sends."""
    from hubops.runtime.settings import ADMIN_TOKEN_ENV, parse_admin_tokens

    raw = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if not raw:
        token = secrets.token_urlsafe(32)
        return {name_if_single: token}, token
    tokens = parse_admin_tokens(raw)
    return tokens, next(iter(tokens.values()))


def _embedded_app(path: Path, tokens: dict[str, str]) -> httpx.AsyncBaseTransport:
    """The runtime's admin API in this process (`create_app(admin_only=True)`)."""
    from hubops.runtime.app import create_app
    from hubops.runtime.settings import (
        MASTER_KEY_ENV,
        RuntimeSettings,
        parse_master_key,
        sqlite_url,
    )

    settings = RuntimeSettings(
        db_url=sqlite_url(path),
        admin_tokens=tokens,
        master_key=parse_master_key(os.environ.get(MASTER_KEY_ENV)),
        mails_invitations=False,
    )
    try:
        return httpx.ASGITransport(app=create_app(settings, admin_only=True))
    except OSError as exc:  # e.g. the master key cannot be written beside the database
        where = f" ({exc.filename})" if exc.filename else ""
        raise UsageError(
            f"--runtime {path}: the embedded runtime cannot keep its files there{where}: "
            f"{exc.strerror or type(exc).__name__}; pass a path in a folder you can write to"
        ) from None


class EmbeddedTransport(httpx.AsyncBaseTransport):
    """The embedded runtime, built in a worker thread from the moment the client opens.

    Importing and building the runtime is most of a no-op plan's fixed cost; the
    caller reads the configuration (`take_snapshot`, in another thread) meanwhile,
    and the first request waits until the runtime is ready. An error building it
    (a database or key that cannot be used) is raised by that first request.
    """

    def __init__(self, path: Path, tokens: dict[str, str]) -> None:
        self._ready = asyncio.ensure_future(asyncio.to_thread(_embedded_app, path, tokens))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = await asyncio.shield(self._ready)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Wait for the build (a thread cannot be stopped); its error, if any, was raised
        by a request, or does not matter when the caller failed before asking anything."""
        with suppress(Exception):
            await (await asyncio.shield(self._ready)).aclose()


def _check_database_path(path: Path) -> None:
    """Say what is wrong with a SQLite path before anything is created for it."""
    if path.is_dir():
        raise UsageError(f"--runtime {path} is a folder; pass the path of a SQLite file in it")
    existing = next((p for p in path.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(
            f"--runtime {path}: {existing} is a file, not a folder; pass a path whose folders "
            "exist or can be created"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--runtime {path}: its folder {path.parent} cannot be created "
            f"({exc.strerror or type(exc).__name__}); pass a path in a folder you can write to"
        ) from None


class RuntimeClient:
    """Admin API calls; bounded parallelism for the many-tenant ones."""

    def __init__(self, http: httpx.AsyncClient, target: str) -> None:
        self._http = http
        self.target = describe(target)
        self.requests = 0
        self._limit = asyncio.Semaphore(PARALLEL_REQUESTS)

    @classmethod
    @asynccontextmanager
    async def open(cls, target: str) -> AsyncIterator[RuntimeClient]:
        check_target(target)
        if is_remote(target):
            from hubops.runtime.settings import ADMIN_TOKEN_ENV

            raw = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
            if not raw:
                raise RuntimeClientError(
                    f"{ADMIN_TOKEN_ENV} is not set; set it to the admin token of the runtime "
                    f"at {describe(target)}"
                )
            _, token = _admin_token("admin")
            # A connection left idle is dropped well before the server closes it (uvicorn: 5 s
            # of keep-alive): reusing one the server is closing lost a request with a
            # ReadError while a large plan was being computed between two calls.
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(
                retries=2, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS)
            )
            base_url = target.rstrip("/")
        else:
            _check_database_path(Path(target))
            tokens, token = _admin_token("local")
            transport = EmbeddedTransport(Path(target), tokens)
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
        """The live tenant, in the core's shape; `LiveTenant.absent` when the runtime has none."""
        response = await self._request("GET", f"/admin/v1/tenants/{_segment(name)}")
        if response.status_code == 404:
            return LiveTenant.absent(name)
        self._expect(response, 200)
        return LiveTenant.from_api(response.json())

    async def get_tenants(
        self,
        names: Iterable[str],
        on_each: Callable[[], None] | None = None,
        summary: bool = False,
    ) -> dict[str, LiveTenant]:
        """Live state of many tenants, `MAX_TENANT_STATES` a request (a few in parallel).

        With `summary` each holds its revision and records but, of its state,
        only the retailer-connections resource (see `getTenantStates`).
        """
        names = list(names)
        view = "summary" if summary else "full"

        async def batch(chunk: list[str]) -> list[LiveTenant]:
            params = [("name", name) for name in chunk] + [("view", view)]
            response = await self._request("GET", "/admin/v1/tenant-states", params=params)
            self._expect(response, 200)
            held = {t.name: t for t in map(LiveTenant.from_api, response.json()["items"])}
            if on_each is not None:
                for _ in chunk:
                    on_each()
            return [held.get(name) or LiveTenant.absent(name) for name in chunk]

        size = MAX_TENANT_STATES
        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        found = await asyncio.gather(*(batch(chunk) for chunk in chunks))
        return {tenant.name: tenant for part in found for tenant in part}

    async def apply_changes(self, name: str, payload: dict[str, Any]) -> int:
        """Apply one change set; one too large for a request goes in parts, applied as one."""
        try:
            parts = split(payload)
        except ChangeSetTooLarge as exc:
            raise ChangeRejected(f"tenant {name} cannot be applied: {exc}") from None
        for part in parts[:-1]:
            self._check_change_answer(name, payload, await self._post_change_set(name, part), 202)
        response = await self._post_change_set(name, parts[-1])
        self._check_change_answer(name, payload, response, 200)
        return int(response.json()["revision"])

    async def _post_change_set(self, name: str, body: dict[str, Any]) -> httpx.Response:
        return await self._request(
            "POST",
            f"/admin/v1/tenants/{_segment(name)}/changes",
            content=encode(body),
            headers={"Content-Type": "application/json"},
        )

    def _check_change_answer(
        self, name: str, payload: dict[str, Any], response: httpx.Response, status: int
    ) -> None:
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
        self._expect(response, status)

    async def report_plan(self, name: str, revision: int, counts: Counts) -> bool:
        """Tell the runtime what a plan found for the tenant; False when it holds no such one."""
        response = await self._request(
            "POST",
            f"/admin/v1/tenants/{_segment(name)}/plan-report",
            json={"revision": revision, **asdict(counts)},
        )
        if response.status_code == 404:
            return False
        self._expect(response, 200)
        return True

    # --- catalog files -----------------------------------------------------------------

    async def upload_catalog(
        self, tenant: str, store: str, path: Path, mode: str, content_type: str
    ) -> dict[str, Any]:
        """Send a catalog file as the operators' manual upload; the `processing` record."""

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk

        response = await self._request(
            "POST",
            f"/admin/v1/tenants/{tenant}/stores/{store}/catalog/uploads",
            params={"mode": mode},
            content=chunks(),
            headers={
                "Content-Type": content_type,
                "Content-Length": str(path.stat().st_size),
                "Upload-Filename": path.name,
            },
        )
        self._expect(response, 202)
        upload: dict[str, Any] = response.json()
        return upload

    async def get_upload(self, tenant: str, upload_id: str) -> dict[str, Any]:
        response = await self._request(
            "GET", f"/admin/v1/tenants/{tenant}/catalog/uploads/{upload_id}"
        )
        self._expect(response, 200)
        upload: dict[str, Any] = response.json()
        return upload

    async def upload_errors(self, tenant: str, upload_id: str) -> bytes:
        response = await self._request(
            "GET", f"/admin/v1/tenants/{tenant}/catalog/uploads/{upload_id}/errors"
        )
        self._expect(response, 200)
        return response.content

    # --- webhooks ----------------------------------------------------------------------

    def _webhook_path(self, tenant: str, webhook: str, action: str) -> str:
        return f"/admin/v1/tenants/{_segment(tenant)}/webhooks/{_segment(webhook)}/{action}"

    async def send_test_event(self, tenant: str, webhook: str) -> str:
        """Queue a `webhook.test` event; its message id."""
        response = await self._request("POST", self._webhook_path(tenant, webhook, "test"))
        self._expect(response, 202)
        return str(response.json()["messageId"])

    async def delivery_attempts(
        self, tenant: str, webhook: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest attempts to the webhook, newest first."""
        response = await self._request(
            "GET", self._webhook_path(tenant, webhook, "deliveries"), params={"limit": limit}
        )
        self._expect(response, 200)
        return list(response.json()["items"])

    async def replay(self, tenant: str, webhook: str, since: str, only: str) -> int:
        """Queue the webhook's messages since `since` again; how many."""
        response = await self._request(
            "POST",
            self._webhook_path(tenant, webhook, "replay"),
            json={"since": since, "only": only},
        )
        self._expect(response, 202)
        return int(response.json()["count"])

    def _expect(self, response: httpx.Response, status: int) -> None:
        if response.status_code != status:
            code, message, _ = self._error(response)
            raise RuntimeClientError(
                f"the runtime answered {response.status_code} ({code}): {message}"
            )
