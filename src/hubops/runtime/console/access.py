"""Who is looking: the session behind a console request, what it may see and press.

Operators (admin token) see every tenant and may use the buttons; the
viewer (`HUBOPS_VIEWER_TOKEN`) sees every tenant without buttons; a
tenant's admin sees only that tenant, with buttons when its role (read
from the manifests' `admin/EMAIL` body at each request) is `owner`.
A request without a live session is sent to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from hubops import utc
from hubops.runtime.console import sessions, views
from hubops.runtime.console.sessions import Session
from hubops.runtime.context import RuntimeDep


class LoginRequired(Exception):
    """No live session: the handler answers with a redirect to the login page."""


class NotShown(Exception):
    """A tenant, webhook or upload this viewer may not see, or that does not exist (404)."""


class Refused(Exception):
    """A POST without the session's CSRF token, or a button this viewer may not use (403)."""


@dataclass(frozen=True)
class Viewer:
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def title(self) -> str:
        labels = {"operator": "operator", "viewer": "read-only", "admin": "back office"}
        return f"{self.session.name} · {labels[self.session.kind]}"


def current(request: Request, runtime: RuntimeDep) -> Viewer:
    found = sessions.find(runtime.engine, request.cookies.get(sessions.COOKIE), utc.now())
    if found is None:
        raise LoginRequired()
    return Viewer(found)


ViewerDep = Annotated[Viewer, Depends(current)]


@dataclass(frozen=True)
class TenantAccess:
    """A tenant the viewer may see, and whether the buttons are theirs to use there."""

    name: str
    tenant_id: int
    can_act: bool


def tenant_access(runtime: RuntimeDep, viewer: ViewerDep, tenant: str) -> TenantAccess:
    found = views.tenant_id_of(runtime.engine, tenant)
    session = viewer.session
    if found is None or (session.tenant_id is not None and session.tenant_id != found):
        raise NotShown()
    if session.kind == "operator":
        can_act = True
    elif session.kind == "admin":
        can_act = views.role_of(runtime.engine, found, session.name) == "owner"
    else:
        can_act = False
    return TenantAccess(tenant, found, can_act)


TenantDep = Annotated[TenantAccess, Depends(tenant_access)]


def check_post(viewer: Viewer, access: TenantAccess | None, csrf: str | None) -> None:
    """Refused unless the form carries the session's CSRF token (and, for a button, the
    viewer may use buttons on the tenant)."""
    if not sessions.csrf_ok(viewer.csrf, csrf) or (access is not None and not access.can_act):
        raise Refused()
