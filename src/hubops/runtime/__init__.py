"""The runtime: the FastAPI service holding each tenant's live state.

`create_app(RuntimeSettings(...))` builds a ready app (database migrated,
keys loaded); nothing happens at import time.
"""

from hubops.runtime.app import create_app
from hubops.runtime.settings import RuntimeSettings, sqlite_url

__all__ = ["RuntimeSettings", "create_app", "sqlite_url"]
