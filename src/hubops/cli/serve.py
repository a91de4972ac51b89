"""`hubops serve`: run the runtime under uvicorn.

Configuration problems (no admin token, a malformed master key, an
unreachable database) are raised as RuntimeConfigError before uvicorn
starts, so the CLI edge prints one sentence and exits 1.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from hubops.runtime.settings import DEFAULT_DB_URL, RuntimeSettings, sqlite_url


def _db_url(value: str | None) -> str | None:
    """A URL as given; a bare path means a SQLite file, as `--runtime PATH` does."""
    if value is None or "://" in value:
        return value
    return sqlite_url(Path(value))


@click.command("serve")
@click.option(
    "--db",
    "db",
    metavar="URL",
    default=None,
    help=f"Database URL (or a SQLite file path). Default: {DEFAULT_DB_URL}",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--sftp-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also serve SFTP for catalog files on this port (or HUBOPS_SFTP_PORT).",
)
def serve_command(db: str | None, host: str, port: int, sftp_port: int | None) -> None:
    """Serve the runtime's admin API (needs HUBOPS_ADMIN_TOKEN)."""
    import dataclasses
    import logging.config

    import uvicorn

    from hubops.runtime.app import create_app
    from hubops.runtime.logs import log_config, log_format_from_env
    from hubops.runtime.shutdown import GracefulServer

    settings = RuntimeSettings.from_env(_db_url(db))
    logging.config.dictConfig(log_config(uvicorn.config.LOGGING_CONFIG, log_format_from_env()))
    settings = dataclasses.replace(
        settings,
        sftp_host=host,
        sftp_port=sftp_port if sftp_port is not None else settings.sftp_port,
        public_url=settings.public_url or f"http://{host}:{port}",
    )
    app = create_app(settings)
    names = ", ".join(sorted(settings.admin_tokens))
    key_source = (
        "HUBOPS_MASTER_KEY" if settings.master_key is not None else str(settings.key_file())
    )
    shown = make_url(settings.db_url).render_as_string(hide_password=True)
    sftp = "" if settings.sftp_port is None else f"; SFTP on {host}:{settings.sftp_port}"
    logging.getLogger("hubops.runtime").info(
        "hubops runtime: database %s; admin tokens %s; master key from %s%s",
        shown,
        names,
        key_source,
        sftp,
    )
    # uvicorn's access log prints query strings; RequestLog logs route templates instead.
    shutdown = app.state.shutdown
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # configured above, before the app logs anything
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=max(shutdown.grace, 0.1),
    )
    server = GracefulServer(config, shutdown)
    server.run()
    if not server.started:  # uvicorn has logged why (the port in use, say)
        raise SystemExit(3)
