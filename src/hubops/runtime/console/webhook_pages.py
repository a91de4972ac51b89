"""The webhook page and its buttons: redeliver one message, send a test event, replay the
messages sent since a time. Each button is one call into the functions the admin routes
use (`webhooks.deliveries`, `webhooks.actions`); the outcome is shown as the page's note.

A time the console cannot read is refused on the page itself (422), with a sentence
saying what it expects; the value typed is never shown back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hubops import utc
from hubops.runtime import cursors
from hubops.runtime.console import views
from hubops.runtime.console.access import (
    NotShown,
    TenantAccess,
    TenantDep,
    Viewer,
    ViewerDep,
    check_post,
)
from hubops.runtime.console.render import PREFIX, page
from hubops.runtime.context import Runtime, RuntimeDep
from hubops.runtime.webhooks import actions, deliveries
from hubops.runtime.webhooks.outbox import is_message_id

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LOG_LIMIT = 100
# A datetime-local value is 16 characters; an ISO time with fractions and an offset ~32.
MAX_SINCE = 40
SCOPES: tuple[str, ...] = get_args(actions.ReplayScope)
Field = Annotated[str, Form()]
OptionalField = Annotated[str | None, Form()]


class BadTime(ValueError):
    """The replay form's `since` is not a time the console can read."""


def parse_since(text: str) -> datetime:
    """The form's `since` as UTC: a browser's datetime-local value (read as UTC, the zone
    the page shows) or an ISO 8601 time with an offset."""
    if not text or len(text) > MAX_SINCE:
        raise BadTime()
    try:
        moment = datetime.fromisoformat(text)
        return utc.as_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except ValueError:
        raise BadTime() from None


def _path(access: TenantAccess, name: str) -> str:
    return f"{PREFIX}/tenants/{access.name}/webhooks/{name}"


def _note(request: Request) -> str | None:
    query = request.query_params
    kind = query.get("note", "")
    if kind == "redelivered":
        return "The message is queued for delivery again."
    message = query.get("message", "")
    if kind == "tested" and is_message_id(message):
        return f"A test event is queued: message {message}."
    count = query.get("count", "")
    if kind == "replayed" and count.isdigit():
        return f"{int(count)} messages are queued for delivery again, each with its webhook-id."
    return None


def _show(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    access: TenantAccess,
    name: str,
    error: str | None = None,
) -> Response:
    now = utc.now()
    health = views.webhook_health(runtime.engine, access.tenant_id, name, now)
    if health is None:
        raise NotShown()
    keyset = cursors.number_keyset("att", None)
    rows, _ = deliveries.attempt_log(runtime.engine, access.tenant_id, name, keyset, LOG_LIMIT)
    return page(
        request,
        "webhook.html",
        200 if error is None else 422,
        viewer=viewer,
        access=access,
        name=name,
        rows=rows,
        health=health,
        scopes=SCOPES,
        note=None if error else _note(request),
        error=error,
    )


@router.get("/tenants/{tenant}/webhooks/{name}", response_class=HTMLResponse)
def webhook_page(
    request: Request, name: str, runtime: RuntimeDep, viewer: ViewerDep, access: TenantDep
) -> Response:
    return _show(request, runtime, viewer, access, name)


def _applied(runtime: Runtime, access: TenantAccess, name: str) -> None:
    if not views.webhook_exists(runtime.engine, access.tenant_id, name):
        raise NotShown()


@router.post("/tenants/{tenant}/webhooks/{name}/redeliver")
def redeliver(
    name: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    access: TenantDep,
    message: Field,
    csrf: OptionalField = None,
) -> Response:
    check_post(viewer, access, csrf)
    _applied(runtime, access, name)
    if not deliveries.redeliver(runtime.engine, access.tenant_id, name, message, utc.now()):
        raise NotShown()
    return RedirectResponse(f"{_path(access, name)}?note=redelivered", status_code=303)


@router.post("/tenants/{tenant}/webhooks/{name}/test")
def send_test(
    name: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    access: TenantDep,
    csrf: OptionalField = None,
) -> Response:
    check_post(viewer, access, csrf)
    _applied(runtime, access, name)
    message_id = actions.send_test_event(runtime.engine, access.name, name, utc.now())
    return RedirectResponse(
        f"{_path(access, name)}?note=tested&message={message_id}", status_code=303
    )


@router.post("/tenants/{tenant}/webhooks/{name}/replay", response_class=HTMLResponse)
def replay(
    request: Request,
    name: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    access: TenantDep,
    since: OptionalField = None,
    only: OptionalField = None,
    csrf: OptionalField = None,
) -> Response:
    check_post(viewer, access, csrf)
    _applied(runtime, access, name)
    try:
        moment = parse_since(since or "")
    except BadTime:
        why = "Nothing was replayed: give the time as a date and time in UTC."
        return _show(request, runtime, viewer, access, name, why)
    if only not in SCOPES:
        why = "Nothing was replayed: choose the failed messages or all of them."
        return _show(request, runtime, viewer, access, name, why)
    scope: actions.ReplayScope = "all" if only == "all" else "failed"
    count = actions.replay(runtime.engine, access.name, name, moment, scope, utc.now())
    return RedirectResponse(f"{_path(access, name)}?note=replayed&count={count}", status_code=303)
