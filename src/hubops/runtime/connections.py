"""Retailer connections: requests from the marketplace, decisions from git, the order check.

A request (`POST /admin/v1/tenants/{t}/connections`) is answered from the
tenant's applied settings: a retailer that git already decided on gets that
decision; otherwise `instantOrdering` approves at once and its absence
leaves the request `pending` for review. A `termsOfServiceUrl` must be the
`acceptedTerms` of every request. Decisions in git arrive as the
`connections/default` body of a change set, and `apply_decisions` sets them
in the same transaction; a retailer dropped from both lists is pending
again. Each request and each change of status queues its event
(`connection.requested`, `connection.approved`, `connection.rejected`),
ordered per retailer. The routes are `connection_routes`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.engine import Row

from hubops.fields import Email, RetailerId, Text
from hubops.runtime.cursors import NumberKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import RetailerNotConnected, TermsNotAccepted
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.rows import from_row
from hubops.runtime.tables import resources, retailer_connections
from hubops.runtime.webhooks.outbox import enqueue_event
from hubops.state import CONNECTIONS_ADDRESS, Body

ConnectionStatus = Literal["pending", "approved", "rejected"]


class RetailerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: RetailerId
    name: Text
    email: Email


class ConnectionRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retailer: RetailerIn
    acceptedTerms: Annotated[StrictStr, Field(max_length=2048)] | None


class Retailer(BaseModel):
    id: str
    name: str | None
    email: str | None


class RetailerConnection(BaseModel):
    id: str
    retailer: Retailer
    status: ConnectionStatus
    requestedAt: datetime | None
    decidedAt: datetime | None


class ConnectionPage(BaseModel):
    items: list[RetailerConnection]
    nextCursor: str | None


def _shown(row: Row[Any]) -> RetailerConnection:
    retailer = Retailer(id=row.retailer_id, name=row.retailer_name, email=row.retailer_email)
    return from_row(RetailerConnection, row, retailer=retailer)


def _emit(conn: Connection, tenant_id: int, event: str, row: Row[Any], at: datetime) -> None:
    enqueue_event(
        conn,
        tenant_id,
        event,
        _shown(row).model_dump(mode="json"),
        store=None,
        ordering_key=f"connection:{row.retailer_id}"[:100],
        at=at,
    )


def _row(conn: Connection, tenant_id: int, retailer: str) -> Row[Any] | None:
    return conn.execute(
        select(retailer_connections).where(
            retailer_connections.c.tenant_id == tenant_id,
            retailer_connections.c.retailer_id == retailer,
        )
    ).first()


def _body(conn: Connection, tenant_id: int, addr: str) -> Body | None:
    found: Body | None = conn.execute(
        select(resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.address == addr
        )
    ).scalar()
    return found


def request_connection(
    engine: Engine, tenant: str, body: ConnectionRequestIn
) -> tuple[RetailerConnection, bool]:
    """The connection and whether it is new (an existing one is returned unchanged)."""
    with writing(engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        settings = (_body(conn, tenant_id, f"tenant/{tenant}") or {}).get("settings") or {}
        terms = settings.get("termsOfServiceUrl")
        if terms and body.acceptedTerms != terms:
            raise TermsNotAccepted(
                f"tenant {tenant} asks retailers to accept its terms of service: send "
                "acceptedTerms with the tenant's termsOfServiceUrl",
                {"field": "body.acceptedTerms", "termsOfServiceUrl": terms},
            )
        now = datetime.now(UTC)
        retailer = body.retailer
        existing = _row(conn, tenant_id, retailer.id)
        if existing is not None and existing.requested_at is not None:
            return _shown(existing), False
        decided = _body(conn, tenant_id, CONNECTIONS_ADDRESS) or {}
        status_now: ConnectionStatus = "pending"
        if retailer.id in decided.get("rejected", []):
            status_now = "rejected"
        elif retailer.id in decided.get("approved", []) or settings.get("instantOrdering"):
            status_now = "approved"
        values = {
            "retailer_name": retailer.name,
            "retailer_email": retailer.email,
            "status": status_now,
            "requested_at": now,
            "decided_at": None if status_now == "pending" else now,
        }
        if existing is None:
            conn.execute(
                insert(retailer_connections).values(
                    id="con_" + secrets.token_hex(12),
                    tenant_id=tenant_id,
                    retailer_id=retailer.id,
                    **values,
                )
            )
        else:  # decided in git before the retailer asked: keep the decision's time
            values["decided_at"] = existing.decided_at
            conn.execute(
                update(retailer_connections)
                .where(retailer_connections.c.seq == existing.seq)
                .values(**values)
            )
        row = _row(conn, tenant_id, retailer.id)
        assert row is not None
        _emit(conn, tenant_id, "connection.requested", row, now)
        if status_now != "pending":
            _emit(conn, tenant_id, f"connection.{status_now}", row, now)
        return _shown(row), True


def apply_decisions(
    conn: Connection, tenant_id: int, before: Body | None, after: Body | None, now: datetime
) -> None:
    """Set the statuses a change set decided (inside its transaction)."""
    wanted: dict[str, ConnectionStatus] = {}
    for retailer in (after or {}).get("approved", []):
        wanted[retailer] = "approved"
    for retailer in (after or {}).get("rejected", []):
        wanted[retailer] = "rejected"
    dropped = {
        r
        for key in ("approved", "rejected")
        for r in (before or {}).get(key, [])
        if r not in wanted
    }
    for retailer, decision in sorted(wanted.items()):
        row = _row(conn, tenant_id, retailer)
        if row is not None and row.status == decision:
            continue
        if row is None:
            conn.execute(
                insert(retailer_connections).values(
                    id="con_" + secrets.token_hex(12),
                    tenant_id=tenant_id,
                    retailer_id=retailer,
                    status=decision,
                    decided_at=now,
                )
            )
        else:
            conn.execute(
                update(retailer_connections)
                .where(retailer_connections.c.seq == row.seq)
                .values(status=decision, decided_at=now)
            )
        changed = _row(conn, tenant_id, retailer)
        assert changed is not None
        if changed.requested_at is not None:  # no one to tell about a decision made in advance
            _emit(conn, tenant_id, f"connection.{decision}", changed, now)
    for retailer in sorted(dropped):
        row = _row(conn, tenant_id, retailer)
        if row is None:
            continue
        if row.requested_at is None:
            conn.execute(retailer_connections.delete().where(retailer_connections.c.seq == row.seq))
        else:
            conn.execute(
                update(retailer_connections)
                .where(retailer_connections.c.seq == row.seq)
                .values(status="pending", decided_at=None)
            )


def pending_retailers(conn: Connection, tenant_id: int) -> list[str]:
    """Retailer ids of the requests awaiting review, for the plan's note."""
    return pending_by_tenant(conn, [tenant_id]).get(tenant_id, [])


def pending_by_tenant(conn: Connection, tenant_ids: list[int]) -> dict[int, list[str]]:
    """`pending_retailers` of many tenants in one query (only tenants with some)."""
    found: dict[int, list[str]] = {}
    rows = conn.execute(
        select(retailer_connections.c.tenant_id, retailer_connections.c.retailer_id)
        .where(
            retailer_connections.c.tenant_id.in_(tenant_ids),
            retailer_connections.c.status == "pending",
        )
        .order_by(retailer_connections.c.tenant_id, retailer_connections.c.retailer_id)
    )
    for row in rows:
        found.setdefault(row.tenant_id, []).append(row.retailer_id)
    return found


def check_order_retailer(conn: Connection, tenant_id: int, retailer: str) -> None:
    """An order naming a retailer needs that retailer's approved connection (else 409)."""
    row = _row(conn, tenant_id, retailer)
    if row is None or row.status != "approved":
        where = "has no connection" if row is None else f"has a {row.status} connection"
        raise RetailerNotConnected(
            f'retailer "{retailer}" {where} to this brand; only retailers with an approved '
            "connection may order",
            {"retailer": retailer, "status": None if row is None else row.status},
        )


def list_connections(
    engine: Engine,
    tenant: str,
    status: ConnectionStatus | None,
    limit: int,
    keyset: NumberKeyset,
) -> ConnectionPage:
    """The tenant's retailer connections, newest first, a page at a time."""
    with reading(engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        query = select(retailer_connections).where(retailer_connections.c.tenant_id == tenant_id)
        if status is not None:
            query = query.where(retailer_connections.c.status == status)
        rows, next_cursor = keyset.page(conn, query, retailer_connections.c.seq, limit)
    return ConnectionPage(items=[_shown(r) for r in rows], nextCursor=next_cursor)
