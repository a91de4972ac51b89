"""What a change set derives from the bodies it writes: sealed secrets and API token rows.

Written only from `store.apply_in`, inside its transaction: secrets of
`credentials/` and `webhook/` resources are sealed (`crypto.seal`) under
their tenant and secret address, a replaced signing secret is kept for the
rotation overlap (`webhook_secret_history`), and each `token/` resource is
an `api_tokens` row holding the token's SHA-256 and what the Partner API
authenticates by (scopes, stores, expiry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from hubops.runtime import crypto
from hubops.runtime.changes import Outcome, marker_at
from hubops.runtime.tables import api_tokens, secret_values, webhook_secret_history
from hubops.state import State, parse_address, secret_address, secret_paths

SEALED_KINDS = ("credentials", "webhook")


def write_secrets(
    conn: Connection,
    keys: crypto.Keys,
    tenant: str,
    tenant_id: int,
    current: State,
    out: Outcome,
) -> None:
    """Re-seal what was sent; drop rows of fields a body no longer has.

    The sealed rows go in as one executemany: an initial apply seals every
    secret of the tenant, and a statement per row was most of its time on
    PostgreSQL. A resource the tenant did not hold before has no rows to
    replace (those of a deleted one went with it, ON DELETE CASCADE), so only
    resources in `current` are cleaned up first.
    """
    sealed_rows: list[dict[str, Any]] = []
    for addr in out.touched:
        kind = addr.split("/")[0]
        body = out.state.get(addr)
        if kind not in SEALED_KINDS or body is None:
            continue  # deleted resources lose their secrets by ON DELETE CASCADE
        keep = secret_paths(kind, body)
        sent = [(path, out.secret_values.get((addr, path))) for path in keep]
        if addr in current:
            _clear_replaced(conn, tenant_id, addr, keep, [p for p, v in sent if v is not None])
        for path, value in sent:
            if value is None:
                continue
            sealed = crypto.seal(keys.encryption_key, tenant, secret_address(addr, path), value)
            sealed_rows.append(
                {"tenant_id": tenant_id, "address": addr, "path": path, "sealed": sealed}
            )
    if sealed_rows:
        conn.execute(insert(secret_values), sealed_rows)


def _clear_replaced(
    conn: Connection, tenant_id: int, addr: str, keep: list[str], replaced: list[str]
) -> None:
    """Delete the rows of a held resource that are dropped or about to be sealed anew."""
    conn.execute(
        delete(secret_values).where(
            secret_values.c.tenant_id == tenant_id,
            secret_values.c.address == addr,
            ~secret_values.c.path.in_(keep),
        )
    )
    for path in replaced:
        where = (
            (secret_values.c.tenant_id == tenant_id)
            & (secret_values.c.address == addr)
            & (secret_values.c.path == path)
        )
        if addr.startswith("webhook/"):
            _retire_webhook_secret(conn, tenant_id, addr, where)
        conn.execute(delete(secret_values).where(where))


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


def write_tokens(
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
    added: list[dict[str, Any]] = []  # new tokens, inserted in one executemany
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
        else:  # one shape for every row of the executemany below
            columns.setdefault("token_hash", None)
            added.append({"tenant_id": tenant_id, "name": name, "created_at": now, **columns})
    if added:
        conn.execute(insert(api_tokens), added)


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
