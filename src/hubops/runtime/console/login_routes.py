"""Logging in and out, and following an invitation to set a password.

Forms without a session (login, invitation) carry a CSRF token that is also
in a short-lived cookie (double submit); every other POST carries the
session's own. Wrong tokens and passwords get one message, whichever part
was wrong; `sessions` counts the failures and refuses logins after the
lockout's limit, even with the right password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hubops import utc
from hubops.runtime.auth import match_token
from hubops.runtime.console import sessions, users
from hubops.runtime.console.render import PREFIX, page
from hubops.runtime.context import Runtime, RuntimeDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)
FORM_COOKIE = "hubops_form"
WRONG = "That login is not valid."
LOCKED = "Too many failed logins: try again in 15 minutes."
Field = Annotated[str, Form()]
OptionalField = Annotated[str | None, Form()]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _form_page(request: Request, template: str, status_code: int = 200, **ctx: object) -> Response:
    """A page with a form to send without a session: its token also goes into a cookie."""
    token = secrets.token_urlsafe(24)
    response = page(request, template, status_code, form_csrf=token, **ctx)
    response.set_cookie(
        FORM_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=PREFIX,
    )
    return response


def _form_ok(request: Request, csrf: str | None) -> bool:
    return sessions.csrf_ok(request.cookies.get(FORM_COOKIE, ""), csrf) and bool(csrf)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _form_page(request, "login.html", error=None)


@dataclass(frozen=True)
class _Who:
    kind: sessions.Kind
    name: str
    tenant_id: int | None = None
    tenant: str | None = None


def _by_token(runtime: Runtime, token: str) -> _Who | None:
    settings = runtime.settings
    name = match_token(settings.admin_tokens, token)
    if name is not None:
        return _Who("operator", name)
    if settings.viewer_token and match_token({"viewer": settings.viewer_token}, token):
        return _Who("viewer", "viewer")
    return None


def _by_password(runtime: Runtime, tenant: str, email: str, password: str) -> _Who | None:
    """An admin of one tenant (named by `tenant` when the e-mail is an admin of several)."""
    found = [a for a in users.accounts(runtime.engine, email) if not tenant or a[1] == tenant]
    tenant_id, name = found[0] if len(found) == 1 else (-1, "")
    if not users.check_password(runtime.engine, tenant_id, email, password):
        return None
    return _Who("admin", email, tenant_id, name)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    runtime: RuntimeDep,
    csrf: OptionalField = None,
    token: OptionalField = None,
    tenant: OptionalField = None,
    email: OptionalField = None,
    password: OptionalField = None,
) -> Response:
    """Operators and the viewer send `token`; an admin sends `tenant`, `email`, `password`."""
    if not _form_ok(request, csrf):
        return _form_page(request, "login.html", 403, error="The form expired; try again.")
    now = utc.now()
    address = request.client.host if request.client else "unknown"
    account = (email or "").strip().lower()
    keys = [f"address:{address}"] + ([f"account:{account}"] if account and not token else [])
    if sessions.locked_out(runtime.engine, keys, now):
        return _form_page(request, "login.html", 429, error=LOCKED)
    found = None
    if token:
        found = _by_token(runtime, token)
    elif account and password:
        found = _by_password(runtime, (tenant or "").strip(), account, password)
    if found is None:
        sessions.failed(runtime.engine, keys, now)
        return _form_page(request, "login.html", 401, error=WRONG)
    cookie = sessions.start(runtime.engine, found.kind, found.name, found.tenant_id, now)
    target = PREFIX if found.tenant is None else f"{PREFIX}/tenants/{found.tenant}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=sessions.SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=PREFIX,
    )
    response.delete_cookie(FORM_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep, csrf: OptionalField = None) -> Response:
    """Ends the session (a POST with its CSRF token, so no other page can log one out)."""
    cookie = request.cookies.get(sessions.COOKIE)
    found = sessions.find(runtime.engine, cookie, utc.now())
    if found is not None and sessions.csrf_ok(found.csrf, csrf):
        sessions.end(runtime.engine, cookie)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path=PREFIX)
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    found = users.invited(runtime.engine, token, utc.now())
    if found is None:
        return page(
            request,
            "message.html",
            404,
            title="Invitation",
            viewer=None,
            text="This invitation link is not valid: it was used, replaced or expired.",
        )
    return _form_page(
        request, "invite.html", email=found[1], token=token, error=None, minimum=users.MIN_PASSWORD
    )


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept_invite(
    request: Request,
    token: str,
    runtime: RuntimeDep,
    password: Field,
    confirm: Field,
    csrf: OptionalField = None,
) -> Response:
    now = utc.now()
    found = users.invited(runtime.engine, token, now)
    if found is None or not _form_ok(request, csrf):
        return page(
            request,
            "message.html",
            403,
            title="Invitation",
            viewer=None,
            text="This invitation link is not valid, or the form expired.",
        )
    problem = None
    if len(password) < users.MIN_PASSWORD:
        problem = f"The password must have at least {users.MIN_PASSWORD} characters."
    elif password != confirm:
        problem = "The two passwords differ."
    if problem is not None:
        return _form_page(
            request,
            "invite.html",
            422,
            email=found[1],
            token=token,
            error=problem,
            minimum=users.MIN_PASSWORD,
        )
    if not users.accept_invitation(runtime.engine, token, password, now):
        return page(
            request,
            "message.html",
            403,
            title="Invitation",
            viewer=None,
            text="This invitation link is not valid any more.",
        )
    return page(
        request,
        "message.html",
        title="Password set",
        viewer=None,
        text="Your password is set. Log in with your tenant, e-mail and password.",
        link=f"{PREFIX}/login",
    )
