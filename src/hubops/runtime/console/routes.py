"""Mounting the console on the runtime's app: routers, stylesheet, error pages, headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hubops.runtime.console import admin_routes, catalog, login_routes, pages
from hubops.runtime.console.access import LoginRequired, NotShown, Refused
from hubops.runtime.console.render import PREFIX, STATIC, SecurityHeaders, page
from hubops.runtime.settings import RuntimeSettings


def install(app: FastAPI, settings: RuntimeSettings) -> None:
    app.state.console_partners = catalog.load(settings.catalog_file)
    app.include_router(admin_routes.router)
    app.include_router(login_routes.router)
    app.include_router(pages.router)
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
