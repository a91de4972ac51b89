"""Mounting the console on the runtime's app: routers, stylesheet, error pages, headers.

Its admin API routes (`admin_routes`: invitations, plan reports) are not mounted here but
by the app factory with the other admin routers, so a runtime without the console (the
CLI's embedded one) answers them too.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hubops.runtime.console import catalog, login_routes, pages, users, webhook_pages
from hubops.runtime.console.access import LoginRequired, NotShown, Refused
from hubops.runtime.console.render import PREFIX, STATIC, SecurityHeaders, page
from hubops.runtime.settings import RuntimeSettings


def install(app: FastAPI, settings: RuntimeSettings) -> None:
    app.state.console_partners = catalog.load(settings.catalog_file)
    users.dummy_hash()  # ready before the first login, so an unknown e-mail is as slow
    app.include_router(login_routes.router)
    app.include_router(pages.router)
    app.include_router(webhook_pages.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(NotShown)
    async def _not_shown(request: Request, _exc: NotShown) -> Response:
        text = "There is nothing here, or nothing you may see."
        return page(request, "message.html", 404, title="Not found", viewer=None, text=text)

    @app.exception_handler(Refused)
    async def _refused(request: Request, _exc: Refused) -> Response:
        text = "The form expired, or this button is not yours to use. Reload the page."
        return page(request, "message.html", 403, title="Refused", viewer=None, text=text)

    app.add_middleware(SecurityHeaders)
