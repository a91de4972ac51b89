"""Liveness and readiness, for load balancers and the CLI; both open to anyone.

`/healthz` says the process serves requests and touches no database, so a
database outage does not get every replica restarted. `/readyz` says this
replica can do its work: the database answers and its schema is at the
newest migration this code knows, so a load balancer keeps traffic away
from a replica whose database is down or that runs ahead of a migration.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from hubops.runtime import migrate
from hubops.runtime.api_models import Health, Readiness
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.errors import NotReady
from hubops.runtime.openapi import errors

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, operation_id="getHealth")
def healthz() -> Health:
    """200 while the process serves requests; open to anyone, touches no database."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=errors(503), operation_id="getReadiness")
def readyz(runtime: RuntimeDep) -> Readiness:
    """200 when the database answers and its schema is current; 503 otherwise."""
    try:
        with reading(runtime.engine) as conn:
            current = migrate.stamped(conn)
    except SQLAlchemyError:
        raise NotReady("the database does not answer") from None
    if current != runtime.schema_heads:
        raise NotReady(
            "the database schema is not at this runtime's newest migration; "
            "start a runtime of this version to migrate it"
        )
    return Readiness(status="ready")
