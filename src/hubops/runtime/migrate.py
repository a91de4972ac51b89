"""Bring a database to the newest schema, from empty or from any older revision.

Runs inside `create_app`, so every way of starting a runtime (served, or
in-process through ASGITransport, which runs no lifespan events) finds
its tables. On PostgreSQL an advisory lock keeps two starting runtimes
from migrating at once; on SQLite the IMMEDIATE write transaction does.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from hubops.runtime.db import writing

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x68756275  # "hubu": any constant shared by every hubops runtime


def upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
