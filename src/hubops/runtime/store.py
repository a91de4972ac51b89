"""Tenant state and its audit trail: the one writer of everything a tenant's revision covers.

A tenant's state is its `resources` rows, with what is derived from them:
`secret_values` (the sealed secrets), `api_tokens` (hashes, and the columns
the Partner API authenticates by), `webhook_secret_history` and the
back-office users (`console.users`: who may log in); its audit
trail is `change_sets`. Every write to these goes through this module (the
derived tables by `derived`, which it calls), in a transaction that claims
the tenant's next revision: `apply_change_set`
(and `apply_in`, for the parts `staging` assembles) for change sets, and
`change_by_runtime` for what the runtime changes itself (a webhook that a
410 switched off). Other modules read these tables for their own queries
(the Partner API its tokens, the outbox its webhooks, SFTP its users) and
write only tables of their own (orders, catalog items and uploads,
deliveries, connection requests; `partner.auth` a token's last use).

A change set is one transaction. It first claims the tenant's next
revision with a conditional UPDATE (or the INSERT of a new tenant), so of
two change sets racing from one base revision exactly one proceeds: the
other finds the revision moved (SQLite: queued behind the IMMEDIATE write
lock; PostgreSQL: blocked on the row lock, then re-checking the WHERE
clause) and gets 409 before writing anything. Only then are resources
read, the change set checked, and the difference written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hubops.runtime import connections, crypto, derived
from hubops.runtime.api_models import (
    AuditPage,
    AuditRecord,
    ChangeSetIn,
    ConfigRecord,
    LastApplied,
    SecretsRecord,
    TenantOut,
)
from hubops.runtime.changes import Outcome, evaluate
from hubops.runtime.console import users
from hubops.runtime.cursors import NumberKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import InvalidChange, StaleRevision, TenantNotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.rows import from_row
from hubops.runtime.tables import (
    change_sets,
    resources,
    tenants,
)
from hubops.runtime.webhooks import endpoint_health
from hubops.state import (
    CONNECTIONS_ADDRESS,
    Body,
    State,
)


def list_tenants(engine: Engine) -> list[tuple[str, int]]:
    with reading(engine) as conn:
        rows = conn.execute(select(tenants.c.name, tenants.c.revision).order_by(tenants.c.name))
        return [(row.name, row.revision) for row in rows]


def read_tenant(engine: Engine, name: str) -> TenantOut:
    """The tenant as the state API shows it: normalized state, secrets only as fingerprints."""
    with reading(engine) as conn:
        row = conn.execute(select(tenants).where(tenants.c.name == name)).first()
        if row is None:
            raise TenantNotFound()
        state = users.with_status(conn, row.id, load_state(conn, row.id))
        endpoint_health.annotate(conn, row.id, state, datetime.now(UTC))
        return _tenant_out(row, state, connections.pending_retailers(conn, row.id))


def read_tenants(engine: Engine, names: list[str], full: bool) -> list[TenantOut]:
    """Each of `names` the runtime holds, as `read_tenant` shows it, from one snapshot.

    Without `full` a tenant's state holds only its retailer-connections
    resource: what a plan needs of a tenant it reports unchanged (the
    decisions its note subtracts), besides the revision and the records.
    """
    with reading(engine) as conn:
        rows = conn.execute(
            select(tenants).where(tenants.c.name.in_(names)).order_by(tenants.c.name)
        ).all()
        query = select(resources.c.tenant_id, resources.c.address, resources.c.body).where(
            resources.c.tenant_id.in_([row.id for row in rows])
        )
        if not full:
            query = query.where(resources.c.address == CONNECTIONS_ADDRESS)
        states: dict[int, State] = {row.id: {} for row in rows}
        for item in conn.execute(query.order_by(resources.c.tenant_id, resources.c.address)):
            states[item.tenant_id][item.address] = item.body
        if full:
            states = {tid: users.with_status(conn, tid, state) for tid, state in states.items()}
            now = datetime.now(UTC)
            for tid, state in states.items():
                endpoint_health.annotate(conn, tid, state, now)
        pending = connections.pending_by_tenant(conn, list(states))
    return [_tenant_out(row, states[row.id], pending.get(row.id, [])) for row in rows]


def _tenant_out(row: Row[Any], state: State, pending: list[str]) -> TenantOut:
    last = None
    if row.last_applied_at is not None:
        last = LastApplied(
            at=row.last_applied_at, by=row.last_applied_by, commit=row.last_applied_commit
        )
    return TenantOut(
        name=row.name,
        revision=row.revision,
        state=state,
        secrets=SecretsRecord(
            digest=row.secrets_digest, fingerprints=dict(row.applied_fingerprints)
        ),
        config=ConfigRecord(digest=row.config_digest, revision=row.config_revision),
        lastApplied=last,
        pendingConnections=pending,
    )


def load_state(conn: Connection, tenant_id: int) -> State:
    """The tenant's resources as stored (no informational fields), in the caller's snapshot."""
    rows = conn.execute(
        select(resources.c.address, resources.c.body)
        .where(resources.c.tenant_id == tenant_id)
        .order_by(resources.c.address)
    )
    return {row.address: row.body for row in rows}


def apply_change_set(
    engine: Engine, keys: crypto.Keys, tenant: str, change_set: ChangeSetIn, by: str
) -> tuple[int, str]:
    """(new revision, change set id); raises StaleRevision or InvalidChange, writing nothing."""
    try:
        with writing(engine) as conn:
            return apply_in(conn, keys, tenant, change_set, by)
    except IntegrityError:
        raise _conflict() from None


def apply_in(
    conn: Connection, keys: crypto.Keys, tenant: str, change_set: ChangeSetIn, by: str
) -> tuple[int, str]:
    """`apply_change_set` inside the caller's write transaction, which any error rolls back."""
    try:
        tenant_id, revision = _claim_revision(conn, tenant, change_set.baseRevision)
        current = load_state(conn, tenant_id)
        outcome = evaluate(tenant, current, change_set.changes, keys.fingerprint_key)
        now = datetime.now(UTC)
        _write_resources(conn, tenant_id, current, outcome)
        derived.write_secrets(conn, keys, tenant, tenant_id, current, outcome)
        derived.write_tokens(conn, tenant_id, current, outcome, now)
        users.apply_admins(conn, tenant_id, current, outcome.state)
        endpoint_health.restart(conn, tenant_id, current, outcome.state)
        if CONNECTIONS_ADDRESS in outcome.touched:
            connections.apply_decisions(
                conn,
                tenant_id,
                current.get(CONNECTIONS_ADDRESS),
                outcome.state.get(CONNECTIONS_ADDRESS),
                now,
            )
        return revision, _record(conn, tenant_id, revision, change_set, by, now)
    except IntegrityError:
        raise _conflict() from None


def _conflict() -> InvalidChange:
    return InvalidChange(
        "the change set conflicts with data the runtime already holds "
        "(e.g. one API token value used for two tokens); use distinct token values"
    )


def current_revision(conn: Connection, tenant: str) -> int:
    """The tenant's revision, 0 when the runtime does not hold it."""
    return _current_revision(conn, tenant)


def _claim_revision(conn: Connection, tenant: str, base: int) -> tuple[int, int]:
    row = conn.execute(
        select(tenants.c.id, tenants.c.revision).where(tenants.c.name == tenant)
    ).first()
    if row is None:
        if base != 0:
            raise StaleRevision(base, 0)
        try:
            with conn.begin_nested():
                created = conn.execute(
                    insert(tenants).values(
                        name=tenant,
                        revision=1,
                        applied_fingerprints={},
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:  # another change set created it first (PostgreSQL)
            raise StaleRevision(base, _current_revision(conn, tenant)) from None
        key = created.inserted_primary_key
        assert key is not None
        return int(key[0]), 1
    if row.revision != base:
        raise StaleRevision(base, row.revision)
    claimed = conn.execute(
        update(tenants)
        .where(tenants.c.id == row.id, tenants.c.revision == base)
        .values(revision=base + 1)
    )
    if claimed.rowcount != 1:
        raise StaleRevision(base, _current_revision(conn, tenant))
    return int(row.id), base + 1


def _current_revision(conn: Connection, tenant: str) -> int:
    found = conn.execute(select(tenants.c.revision).where(tenants.c.name == tenant)).scalar()
    return int(found or 0)


def _write_resources(conn: Connection, tenant_id: int, current: State, out: Outcome) -> None:
    gone = [a for a in out.touched if a in current and a not in out.state]
    new = [a for a in out.touched if a in out.state and a not in current]
    changed = [
        a for a in out.touched if a in current and a in out.state and current[a] != out.state[a]
    ]
    for chunk in _chunks(gone):
        conn.execute(
            delete(resources).where(
                resources.c.tenant_id == tenant_id, resources.c.address.in_(chunk)
            )
        )
    if new:
        conn.execute(
            insert(resources),
            [
                {"tenant_id": tenant_id, "address": a, "kind": _kind(a), "body": out.state[a]}
                for a in new
            ],
        )
    for addr in changed:
        conn.execute(
            update(resources)
            .where(resources.c.tenant_id == tenant_id, resources.c.address == addr)
            .values(body=out.state[addr])
        )


def _record(
    conn: Connection,
    tenant_id: int,
    revision: int,
    change_set: ChangeSetIn,
    by: str,
    now: datetime,
) -> str:
    """Keep the audit record and what the tenant shows under `secrets` and `lastApplied`."""
    changes = [{"address": c.address, "action": c.action} for c in change_set.changes]
    record_id = _audit(conn, tenant_id, revision, by, change_set.commit, changes, now)
    values: dict[str, Any] = {
        "last_applied_at": now,
        "last_applied_by": by,
        "last_applied_commit": change_set.commit,
    }
    if change_set.secretsDigest is not None:
        values["secrets_digest"] = change_set.secretsDigest
    if change_set.appliedFingerprints is not None:
        values["applied_fingerprints"] = change_set.appliedFingerprints
    if change_set.configDigest is not None:
        values["config_digest"], values["config_revision"] = change_set.configDigest, revision
    conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(**values))
    return record_id


def _audit(
    conn: Connection,
    tenant_id: int,
    revision: int,
    by: str,
    commit: str | None,
    changes: list[dict[str, str]],
    now: datetime,
) -> str:
    record_id = uuid.uuid4().hex
    conn.execute(
        insert(change_sets).values(
            id=record_id,
            tenant_id=tenant_id,
            revision=revision,
            at=now,
            applied_by=by,
            commit_ref=commit,
            changes=changes,
        )
    )
    return record_id


# How often a runtime change is tried again after losing its revision to a concurrent
# change set; each loss means another writer committed, so this bounds a pile-up only.
RUNTIME_CHANGE_ATTEMPTS = 50
RUNTIME_AUTHOR = "runtime"
Edit = Callable[[Body], Body | None]


class RuntimeChangeLost(Exception):
    """A runtime change lost its revision to change sets RUNTIME_CHANGE_ATTEMPTS times in a row."""


class _Unchanged(Exception):
    """Raised inside the transaction to roll back a claim that found nothing to change."""


def change_by_runtime(
    engine: Engine, tenant: str, address: str, edit: Edit, reason: str
) -> int | None:
    """Change one resource of a tenant on the runtime's own account; the new revision, or None.

    The one path for what the runtime decides by itself (a webhook a 410
    switched off, one switched off for failing): like a change set it claims
    the tenant's next revision with the same conditional UPDATE and leaves an
    audit record (by `runtime`, with `reason`), so plans made before it are
    stale and `hubops plan` shows the difference. `edit` gets the resource's
    body as committed once the revision is claimed (the row lock held) and
    returns the new body, or None to change nothing; nothing is written then,
    nor when the tenant or the resource is gone. A claim lost to a concurrent
    change set is tried again on the new revision, so neither is lost.
    """
    for _ in range(RUNTIME_CHANGE_ATTEMPTS):
        try:
            with writing(engine) as conn:
                return _change_in(conn, tenant, address, edit, reason)
        except StaleRevision:
            continue
        except _Unchanged:
            return None
    raise RuntimeChangeLost(f"{reason}: {RUNTIME_CHANGE_ATTEMPTS} concurrent change sets won")


def _change_in(conn: Connection, tenant: str, address: str, edit: Edit, reason: str) -> int:
    base = _current_revision(conn, tenant)
    if base == 0:
        raise _Unchanged()
    tenant_id, revision = _claim_revision(conn, tenant, base)
    body = conn.execute(
        select(resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.address == address
        )
    ).scalar()
    changed = None if body is None else edit(body)
    if changed is None or changed == body:
        raise _Unchanged()
    conn.execute(
        update(resources)
        .where(resources.c.tenant_id == tenant_id, resources.c.address == address)
        .values(body=changed)
    )
    change = {"address": address, "action": "update", "reason": reason}
    _audit(conn, tenant_id, revision, RUNTIME_AUTHOR, None, [change], datetime.now(UTC))
    return revision


def list_changes(engine: Engine, tenant: str, limit: int, keyset: NumberKeyset) -> AuditPage:
    """The tenant's applied change sets, newest first, a page at a time."""
    with reading(engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        query = select(change_sets).where(change_sets.c.tenant_id == tenant_id)
        rows, next_cursor = keyset.page(conn, query, change_sets.c.revision, limit)
    items = [from_row(AuditRecord, r, by=r.applied_by, commit=r.commit_ref) for r in rows]
    return AuditPage(items=items, nextCursor=next_cursor)


def _kind(addr: str) -> str:
    return addr.split("/", 1)[0]


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
