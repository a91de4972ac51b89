"""What every request handler needs, built once per app and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from hubops.runtime.crypto import Keys
from hubops.runtime.metrics import Metrics
from hubops.runtime.settings import RuntimeSettings
from hubops.runtime.token_cache import TokenCache


@dataclass(frozen=True)
class Runtime:
    settings: RuntimeSettings
    engine: Engine
    keys: Keys
    metrics: Metrics = field(default_factory=Metrics)
    # The Partner API's token rows; an apply through this process empties it.
    tokens: TokenCache = field(default_factory=TokenCache)
    # The newest migrations this code knows: `/readyz` compares the database's with them.
    schema_heads: frozenset[str] = frozenset()


def runtime_of(request: Request) -> Runtime:
    """The app's runtime, for a hot route that spares itself the dependency (`RuntimeDep`)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """Async (as every dependency that does no I/O): FastAPI runs a sync dependency in a
    worker thread, and the hop costs more than the work."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
