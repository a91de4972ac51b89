"""The runtime: the FastAPI service holding each tenant's live state.

`create_app(RuntimeSettings(...))` builds a ready app (database migrated,
keys loaded); nothing happens at import time. The names are loaded on first
use, so a client of a remote runtime that needs only `settings` (the admin
token's variable) never imports FastAPI, SQLAlchemy or Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubops.runtime.app import create_app
    from hubops.runtime.settings import RuntimeSettings, sqlite_url

__all__ = ["RuntimeSettings", "create_app", "sqlite_url"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from hubops.runtime import app

        return app.create_app
    if name in ("RuntimeSettings", "sqlite_url"):
        from hubops.runtime import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'hubops.runtime' has no attribute {name!r}")
