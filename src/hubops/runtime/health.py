"""Liveness for load balancers and the CLI: open, no database round trip."""

from __future__ import annotations

from fastapi import APIRouter

from hubops.runtime.api_models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")
