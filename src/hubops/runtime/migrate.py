"""Bring a database to the newest schema, from empty or from any older revision.

Runs inside `create_app`, so every way of starting a runtime (served, or
in-process through ASGITransport, which runs no lifespan events) finds
its tables. On PostgreSQL an advisory lock keeps two starting runtimes
from migrating at once; on SQLite the IMMEDIATE write transaction does.
A database migrated by a newer hubops is refused with one sentence: an
older replica must not run on a schema it does not know.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hubops.runtime.db import writing
from hubops.runtime.settings import RuntimeConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x68756275  # "hubu": any constant shared by every hubops runtime


_REVISION = re.compile(r'^(down_revision|revision) = "([^"]+)"$', re.M)


def head_revision() -> str | None:
    """The one head of the migration scripts, read from their text (None: not exactly one)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(script.read_text()):
            (revisions if key == "revision" else parents).add(value)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def heads() -> frozenset[str]:
    """The newest revisions this code knows: what a current schema is stamped with."""
    head = head_revision()
    return frozenset() if head is None else frozenset({head})


def stamped(conn: Connection) -> frozenset[str]:
    """The revisions the database says its schema is at (raises if it was never migrated)."""
    return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def at_head(engine: Engine) -> bool:
    """Whether the database is at the newest schema already (then Alembic is not even loaded).

    Most starts of a runtime, and every embedded `plan`, find it so; Alembic
    costs a large share of a short command's time to import and run.
    """
    head = head_revision()
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False
    return head is not None and found == [head]


def upgrade(engine: Engine) -> None:
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        current = MigrationContext.configure(conn).get_current_revision()
        known = {revision.revision for revision in script.walk_revisions()}
        if current is not None and current not in known:
            raise RuntimeConfigError(
                f"the database's schema is at revision {current}, which this hubops does not "
                f"know (its newest is {script.get_current_head()}); a newer hubops migrated "
                "it, so run that version (or newer) against this database"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
