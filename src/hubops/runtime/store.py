"""Tenant state and its audit trail: the one writer of everything a tenant's revision covers.

A tenant's state is its `resources` rows, with what is derived from them:
`secret_values` (the sealed secrets), `api_tokens` (hashes, and the columns
the Partner API authenticates by) and `webhook_secret_history`; its audit
trail is `change_sets`. Every write to these goes through this module, in
a transaction that claims the tenant's next revision: `apply_change_set`
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
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hubops.runtime import connections, crypto
from hubops.runtime.api_models import (
    AuditChange,
    AuditPage,
    AuditRecord,
    ChangeSetIn,
    LastApplied,
    SecretsRecord,
    TenantOut,
)
from hubops.runtime.changes import Outcome, evaluate, marker_at
from hubops.runtime.cursors import NumberKeyset
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import InvalidChange, StaleRevision, TenantNotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.tables import (
    api_tokens,
    change_sets,
    resources,
    secret_values,
    tenants,
    webhook_secret_history,
)
from hubops.state import (
    CONNECTIONS_ADDRESS,
    Body,
    State,
    parse_address,
    secret_address,
    secret_paths,
)

SEALED_KINDS = ("credentials", "webhook")


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
        state = _load_state(conn, row.id)
        pending = connections.pending_retailers(conn, row.id)
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
        lastApplied=last,
        pendingConnections=pending,
    )


def _load_state(conn: Connection, tenant_id: int) -> State:
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
        current = _load_state(conn, tenant_id)
        outcome = evaluate(tenant, current, change_set.changes, keys.fingerprint_key)
        now = datetime.now(UTC)
        _write_resources(conn, tenant_id, current, outcome)
        _write_secrets(conn, keys, tenant, tenant_id, outcome)
        _write_tokens(conn, tenant_id, current, outcome, now)
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


def _write_secrets(
    conn: Connection, keys: crypto.Keys, tenant: str, tenant_id: int, out: Outcome
) -> None:
    """Re-seal what was sent; drop rows of fields a body no longer has."""
    for addr in out.touched:
        kind = addr.split("/")[0]
        body = out.state.get(addr)
        if kind not in SEALED_KINDS or body is None:
            continue  # deleted resources lose their secrets by ON DELETE CASCADE
        keep = secret_paths(kind, body)
        conn.execute(
            delete(secret_values).where(
                secret_values.c.tenant_id == tenant_id,
                secret_values.c.address == addr,
                ~secret_values.c.path.in_(keep),
            )
        )
        for path in keep:
            value = out.secret_values.get((addr, path))
            if value is None:
                continue
            sealed = crypto.seal(keys.encryption_key, tenant, secret_address(addr, path), value)
            where = (
                (secret_values.c.tenant_id == tenant_id)
                & (secret_values.c.address == addr)
                & (secret_values.c.path == path)
            )
            if kind == "webhook":
                _retire_webhook_secret(conn, tenant_id, addr, where)
            conn.execute(delete(secret_values).where(where))
            conn.execute(
                insert(secret_values).values(
                    tenant_id=tenant_id, address=addr, path=path, sealed=sealed
                )
            )


def _retire_webhook_secret(
    conn: Connection, tenant_id: int, addr: str, where: ColumnElement[bool]
) -> None:
    """Keep a replaced signing secret so deliveries are signed with old and new for a while."""
    old = conn.execute(select(secret_values.c.sealed).where(where)).scalar()
    if old is not None:
        conn.execute(
            insert(webhook_secret_history).values(
                tenant_id=tenant_id,
                webhook=parse_address(addr)[1],
                sealed=old,
                retired_at=datetime.now(UTC),
            )
        )


def _write_tokens(
    conn: Connection, tenant_id: int, current: State, out: Outcome, now: datetime
) -> None:
    touched = [a for a in out.touched if a.startswith("token/")]
    gone = [parse_address(a)[1] for a in touched if a not in out.state]
    if gone:
        conn.execute(
            delete(api_tokens).where(
                api_tokens.c.tenant_id == tenant_id, api_tokens.c.name.in_(gone)
            )
        )
    for addr in touched:
        body = out.state.get(addr)
        if body is None:
            continue
        name = parse_address(addr)[1]
        columns: dict[str, Any] = {
            "fingerprint": marker_at(body, "value"),
            "scopes": body["scopes"],
            "stores": body["stores"],
            "expires_at": _parse_time(body["expiresAt"]),
            "updated_at": now,
        }
        value = out.secret_values.get((addr, "value"))
        if value is not None:
            columns["token_hash"] = crypto.token_hash(value)
        if addr in current:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.tenant_id == tenant_id, api_tokens.c.name == name)
                .values(**columns)
            )
        else:
            conn.execute(
                insert(api_tokens).values(tenant_id=tenant_id, name=name, created_at=now, **columns)
            )


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


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


def change_by_runtime(
    conn: Connection, tenant_id: int, address: str, body: Body, reason: str, now: datetime
) -> int:
    """A resource the runtime itself changes (a webhook a 410 switched off), in `conn`.

    Like a change set it bumps the revision and leaves an audit record (by
    `runtime`, with the reason), so plans made before it are stale and
    `hubops plan` shows the difference. Returns the new revision.
    """
    conn.execute(
        update(resources)
        .where(resources.c.tenant_id == tenant_id, resources.c.address == address)
        .values(body=body)
    )
    revision = int(
        conn.execute(select(tenants.c.revision).where(tenants.c.id == tenant_id)).scalar_one()
    )
    conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(revision=revision + 1))
    change = {"address": address, "action": "update", "reason": reason}
    _audit(conn, tenant_id, revision + 1, "runtime", None, [change], now)
    return revision + 1


def list_changes(engine: Engine, tenant: str, limit: int, keyset: NumberKeyset) -> AuditPage:
    """The tenant's applied change sets, newest first, a page at a time."""
    with reading(engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        query = select(change_sets).where(change_sets.c.tenant_id == tenant_id)
        rows, next_cursor = keyset.page(conn, query, change_sets.c.revision, limit)
    items = [
        AuditRecord(
            id=r.id,
            revision=r.revision,
            at=r.at,
            by=r.applied_by,
            commit=r.commit_ref,
            changes=[AuditChange.model_validate(c) for c in r.changes],
        )
        for r in rows
    ]
    return AuditPage(items=items, nextCursor=next_cursor)


def _kind(addr: str) -> str:
    return addr.split("/", 1)[0]


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
