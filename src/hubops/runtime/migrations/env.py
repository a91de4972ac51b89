"""Alembic environment: always handed a live connection by `hubops.runtime.migrate`.

The runtime migrates itself at start-up, so there is no alembic.ini and no
URL here; running `alembic` by hand is not a supported path.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("hubops migrations run only through hubops.runtime.migrate.upgrade()")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
