"""The app factory: everything a runtime needs is built here, nothing at import time.

Migrations run inside `create_app`, not in a lifespan handler, because the
in-process client reaches the app through httpx's ASGITransport, which
never sends lifespan events.

`create_app(settings, admin_only=True)` is the CLI's embedded runtime: the
same database, keys, admin routers, error handlers and request edge (log,
authentication before the body, body limit, empty-query rule), so every
admin answer is the one a served runtime gives; but no Partner API routes,
console pages, SFTP or webhook worker, whose modules it does not even import
(the CLI starts in a fraction of the time, and each admin request passes
through no middleware of theirs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from hubops import __version__
from hubops.runtime import (
    admin,
    connection_routes,
    health,
    metrics_route,
    migrate,
    openapi,
    simulate,
)
from hubops.runtime.catalog import receive, upload_routes
from hubops.runtime.catalog.processor import UploadProcessor, lease_seconds
from hubops.runtime.console import admin_routes as console_admin
from hubops.runtime.context import Runtime
from hubops.runtime.crypto import Keys, check_key_opens, load_master_key
from hubops.runtime.db import database_url, make_engine
from hubops.runtime.early_auth import AuthFirst
from hubops.runtime.error_handlers import install_error_handlers
from hubops.runtime.limits import BodyLimit
from hubops.runtime.query import EmptyQueryIsAbsent
from hubops.runtime.request_log import RequestLog
from hubops.runtime.settings import RuntimeConfigError, RuntimeSettings
from hubops.runtime.webhooks import deliveries
from hubops.runtime.webhooks import routes as webhook_routes


def create_app(settings: RuntimeSettings, *, admin_only: bool = False) -> FastAPI:
    """A ready runtime: master key loaded (or generated and kept), database migrated.

    `admin_only`: the admin API alone, for the in-process client (module docstring).
    """
    url = database_url(settings.db_url)  # a bad URL is refused before anything is written
    kept_before = settings.master_key is not None or settings.key_file().exists()
    keys = Keys.from_master(load_master_key(settings))
    engine = make_engine(settings.db_url)
    try:
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()
        raise RuntimeConfigError(
            f"cannot open the database {shown}: {reason[0] if reason else 'unknown error'}"
        ) from None
    try:
        check_key_opens(engine, keys)
    except RuntimeConfigError:
        engine.dispose()
        if not kept_before:  # do not leave a wrong key behind to be picked up next time
            settings.key_file().unlink(missing_ok=True)
        raise
    runtime = Runtime(settings=settings, engine=engine, keys=keys, schema_heads=migrate.heads())
    runtime.metrics.count_pending_with(partial(deliveries.pending_count, engine))

    uploads = UploadProcessor(engine, lease_seconds())
    uploads.sweep()  # uploads of a runtime that was killed mid-file end as failed
    if admin_only:
        app = FastAPI(
            title="hubops runtime",
            version=__version__,
            generate_unique_id_function=openapi.operation_id,
        )
        _install_admin(app, runtime, uploads)
        openapi.install(app)
        _install_edge(app, runtime)
        return app
    return _served(settings, runtime, uploads)


def _install_admin(app: FastAPI, runtime: Runtime, uploads: UploadProcessor) -> None:
    """What every runtime answers: health, metrics and the admin API."""
    app.state.runtime = runtime
    app.state.catalog_uploads = uploads
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.include_router(admin.router)
    app.include_router(simulate.router)
    app.include_router(webhook_routes.router)
    app.include_router(upload_routes.admin_router)
    app.include_router(connection_routes.router)
    app.include_router(console_admin.router)


def _install_edge(app: FastAPI, runtime: Runtime) -> None:
    """The request edge, added last so it is outermost: the log sees every answer, the
    401 before a body, the 413 and the encoding checks included."""
    settings = runtime.settings
    app.add_middleware(BodyLimit, streamed=receive.streams_body, timeout=settings.body_timeout)
    app.add_middleware(AuthFirst, runtime=runtime)
    app.add_middleware(EmptyQueryIsAbsent)
    app.add_middleware(RequestLog, metrics=runtime.metrics)


def _served(settings: RuntimeSettings, runtime: Runtime, uploads: UploadProcessor) -> FastAPI:
    """The whole runtime `hubops serve` runs: admin and Partner API, console, SFTP, webhooks."""
    from hubops.runtime import partner
    from hubops.runtime.console import invitations
    from hubops.runtime.console import routes as console
    from hubops.runtime.shutdown import Shutdown, grace_seconds
    from hubops.runtime.webhooks.autodisable import disable_after_seconds
    from hubops.runtime.webhooks.worker import (
        DeliveryWorker,
        lease_time,
        request_timeout,
        retry_schedule,
    )

    engine = runtime.engine
    schedule, timeout = retry_schedule(), request_timeout()
    lease = lease_time(timeout)
    shutdown = Shutdown(grace_seconds())
    disable_after = disable_after_seconds()
    sftp = None
    if settings.sftp_port is not None:
        from hubops.runtime.sftp.hostkey import load_host_key
        from hubops.runtime.sftp.server import SftpServer

        sftp = SftpServer(
            engine,
            uploads,
            settings.data_dir() / "sftp",
            load_host_key(settings),
            settings.sftp_host,
            settings.sftp_port,
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Only a served runtime delivers webhooks; the in-process client has no lifespan.
        worker = DeliveryWorker(runtime, schedule, timeout, lease, disable_after=disable_after)
        await worker.start()
        await uploads.start()
        if sftp is not None:
            await sftp.start()
        # Invitations a runtime stopped before sending (or could not send) go out now.
        pending_mail = asyncio.create_task(asyncio.to_thread(invitations.send_due, runtime))
        try:
            yield
        finally:
            await pending_mail
            if sftp is not None:
                await sftp.stop()
            await asyncio.gather(
                uploads.shutdown(shutdown.remaining()), worker.stop(shutdown.remaining())
            )
            engine.dispose()

    app = FastAPI(
        title="hubops runtime",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.shutdown = shutdown
    _install_admin(app, runtime, uploads)
    partner.install(app, engine)
    app.include_router(upload_routes.partner_router)
    console.install(app, settings)
    openapi.install(app)
    _install_edge(app, runtime)
    return app
