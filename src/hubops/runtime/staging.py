"""Change sets sent in parts: kept until the last part arrives, then applied as one.

A request body may not exceed 1 MiB, but a tenant with thousands of stores
needs a bigger change set, and the contract allows splitting it only if the
runtime applies the parts as one atomic unit. So each part is kept in the
`change_set_parts` table (sealed, since parts carry secret values; a table,
so the parts of one upload may reach different replicas), and the last part
applies every part's changes in one transaction with the one revision claim
of `store.apply_in`. Each part is checked on its own before it is kept; a
stale base revision or an invalid change anywhere rejects the whole upload
and discards its parts, and parts left unfinished expire after an hour.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from hubops.runtime import crypto, store
from hubops.runtime.api_models import ChangeIn, ChangeSetIn, ChangeSetPart, StagedPartOut
from hubops.runtime.changes import precheck
from hubops.runtime.db import writing
from hubops.runtime.errors import ApiError, InvalidChange, StaleRevision
from hubops.runtime.tables import change_set_parts

PART_TTL = timedelta(hours=1)


def receive_part(
    engine: Engine, keys: crypto.Keys, tenant: str, change_set: ChangeSetIn, by: str
) -> StagedPartOut | tuple[int, str]:
    """Keep one part (-> how many are held), or apply the whole upload on its last part."""
    part = change_set.part
    assert part is not None
    try:
        if part.index >= part.count:
            raise InvalidChange(
                f"part.index {part.index} is not below part.count {part.count}",
                {"part": part.index},
            )
        precheck(change_set.changes, part.index)
        if part.index < part.count - 1:
            with writing(engine) as conn:
                return _keep(conn, keys, tenant, change_set, part)
        with writing(engine) as conn:
            return _apply(conn, keys, tenant, change_set, part, by)
    except ApiError:
        _discard(engine, tenant, part.upload)  # a refused part ends its upload
        raise


def _aad(upload: str, index: int) -> str:
    return f"change-set-part/{upload}/{index}"


def _expire(conn: Connection, now: datetime) -> None:
    conn.execute(delete(change_set_parts).where(change_set_parts.c.received_at < now - PART_TTL))


def _keep(
    conn: Connection, keys: crypto.Keys, tenant: str, change_set: ChangeSetIn, part: ChangeSetPart
) -> StagedPartOut:
    now = datetime.now(UTC)
    _expire(conn, now)
    current = store.current_revision(conn, tenant)
    if current != change_set.baseRevision:
        raise StaleRevision(change_set.baseRevision, current)
    held = _held(conn, tenant, part.upload)
    _same_upload(held, part, change_set.baseRevision)
    payload = json.dumps(
        {
            "changes": [_change_json(c) for c in change_set.changes],
            "appliedFingerprints": change_set.appliedFingerprints,
        }
    )
    where = (
        (change_set_parts.c.tenant == tenant)
        & (change_set_parts.c.upload == part.upload)
        & (change_set_parts.c.part_index == part.index)
    )
    conn.execute(delete(change_set_parts).where(where))  # a part sent again replaces itself
    conn.execute(
        insert(change_set_parts).values(
            tenant=tenant,
            upload=part.upload,
            part_index=part.index,
            part_count=part.count,
            base_revision=change_set.baseRevision,
            sealed=crypto.seal(keys.encryption_key, tenant, _aad(part.upload, part.index), payload),
            received_at=now,
        )
    )
    received = len({row.part_index for row in held} | {part.index})
    return StagedPartOut(upload=part.upload, received=received, count=part.count)


def _apply(
    conn: Connection,
    keys: crypto.Keys,
    tenant: str,
    change_set: ChangeSetIn,
    part: ChangeSetPart,
    by: str,
) -> tuple[int, str]:
    _expire(conn, datetime.now(UTC))
    held = _held(conn, tenant, part.upload)
    _same_upload(held, part, change_set.baseRevision)
    missing = sorted(set(range(part.count - 1)) - {row.part_index for row in held})
    if missing:
        raise InvalidChange(
            f"parts {', '.join(map(str, missing))} of this upload are missing (or expired); "
            "send every part again, the last one last",
            {"part": part.index, "missing": missing},
        )
    changes: list[ChangeIn] = []
    fingerprints: dict[str, str] | None = None
    for row in sorted(held, key=lambda r: int(r.part_index)):
        kept = json.loads(
            crypto.unseal(
                keys.encryption_key, tenant, _aad(part.upload, row.part_index), row.sealed
            )
        )
        changes += [ChangeIn.model_validate(c) for c in kept["changes"]]
        if kept["appliedFingerprints"] is not None:
            fingerprints = {**(fingerprints or {}), **kept["appliedFingerprints"]}
    changes += change_set.changes
    if change_set.appliedFingerprints is not None:
        fingerprints = {**(fingerprints or {}), **change_set.appliedFingerprints}
    whole = ChangeSetIn(
        baseRevision=change_set.baseRevision,
        changes=changes,
        secretsDigest=change_set.secretsDigest,
        appliedFingerprints=fingerprints,
        configDigest=change_set.configDigest,
        commit=change_set.commit,
    )
    result = store.apply_in(conn, keys, tenant, whole, by)
    conn.execute(
        delete(change_set_parts).where(
            (change_set_parts.c.tenant == tenant) & (change_set_parts.c.upload == part.upload)
        )
    )
    return result


def _held(conn: Connection, tenant: str, upload: str) -> list[Any]:
    return list(
        conn.execute(
            select(change_set_parts).where(
                (change_set_parts.c.tenant == tenant) & (change_set_parts.c.upload == upload)
            )
        )
    )


def _same_upload(held: list[Any], part: ChangeSetPart, base: int) -> None:
    for row in held:
        if row.part_count != part.count or row.base_revision != base:
            raise InvalidChange(
                "this part's count or baseRevision differs from the parts already sent with "
                "the same upload id; send all parts of one change set alike",
                {"part": part.index},
            )


def _change_json(change: ChangeIn) -> dict[str, Any]:
    """A change as sent, secrets included (they are sealed with the part)."""
    data: dict[str, Any] = {"address": change.address, "action": change.action}
    if change.body is not None:
        data["body"] = change.body
    if change.secrets is not None:
        data["secrets"] = {k: v.get_secret_value() for k, v in change.secrets.items()}
    return data


def _discard(engine: Engine, tenant: str, upload: str) -> None:
    with writing(engine) as conn:
        conn.execute(
            delete(change_set_parts).where(
                (change_set_parts.c.tenant == tenant) & (change_set_parts.c.upload == upload)
            )
        )
