"""What every request handler needs, built once per app and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from hubops.runtime.crypto import Keys
from hubops.runtime.settings import RuntimeSettings


@dataclass(frozen=True)
class Runtime:
    settings: RuntimeSettings
    engine: Engine
    keys: Keys


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
