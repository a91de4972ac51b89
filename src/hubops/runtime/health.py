"""Liveness for load balancers and the CLI: open, no database round trip."""

from __future__ import annotations

from fastapi import APIRouter

from hubops.runtime.api_models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, operation_id="getHealth")
def healthz() -> Health:
    """200 while the process serves requests; open to anyone, touches no database."""
    return Health(status="ok")
