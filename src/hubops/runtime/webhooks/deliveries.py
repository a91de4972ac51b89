"""The outbox's database side: claim due deliveries, record attempts, schedule retries.

All functions are synchronous and short transactions; the worker calls them
from a thread. A delivery is claimed by moving its `next_attempt_at` to the
end of a lease (`HUBOPS_WEBHOOK_LEASE_SECONDS`), in the transaction that
picks it. On PostgreSQL the pick is `SELECT ... FOR UPDATE SKIP LOCKED`, so
replicas polling together each take different deliveries instead of
queueing on one another's rows; SQLite has one writer at a time anyway.
Only the oldest pending delivery per (webhook, ordering key) is due, so one
order's events reach an endpoint in order whichever replica sends them. A
replica that dies mid-send only delays its deliveries until their lease
ends; another replica then sends them again, with the same webhook-id.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)

from hubops.runtime import crypto, store
from hubops.runtime.cursors import NumberKeyset, Page
from hubops.runtime.db import reading, writing
from hubops.runtime.tables import (
    tenants,
    webhook_attempts,
    webhook_deliveries,
    webhook_messages,
)
from hubops.runtime.webhooks import endpoint_health, signing_keys
from hubops.state import Body

log = logging.getLogger("hubops.webhooks")

EXCERPT = 200


@dataclass(frozen=True)
class Job:
    """Everything one delivery attempt needs, read in one snapshot."""

    delivery_id: int
    message_id: str
    tenant_id: int
    tenant: str
    webhook: str
    event_type: str
    order_id: str | None
    ordering_key: str
    created_at: datetime  # when the event happened: the lag metric starts there
    body: bytes
    attempts: int
    hook: dict[str, Any] | None  # the webhook's body as applied now; None if deleted
    keys: list[bytes]  # current signing key first, then those still in their rotation overlap
    leased_until: datetime  # the lease the claim set (the delivery's next_attempt_at)


# The fields of a Job that the claimed row holds under the same name.
_JOB_COLUMNS = [
    f.name
    for f in fields(Job)
    if f.name not in ("delivery_id", "body", "hook", "keys", "leased_until")
]
# What the delivery log repeats of the job in each attempt's row.
_LOGGED = ["tenant_id", "webhook", "message_id", "event_type", "order_id"]


def _due_statement() -> Select[Any]:
    """The oldest pending delivery per (webhook, ordering key) that is due, rows locked.

    An earlier delivery still pending (due, retrying or leased) blocks the
    later ones, so the events of one order (or of one upload, one retailer
    connection) reach one endpoint in order. Rows another transaction holds
    are skipped, not waited for (PostgreSQL; SQLite ignores the clause).
    Built once, with `now`, `skip` and `limit` as parameters: the worker runs
    it several times a second, and building it cost more than running it.
    """
    earlier = webhook_deliveries.alias()  # a Core alias: no need to load the ORM
    blocked = exists().where(
        and_(
            earlier.c.tenant_id == webhook_deliveries.c.tenant_id,
            earlier.c.webhook == webhook_deliveries.c.webhook,
            earlier.c.ordering_key == webhook_deliveries.c.ordering_key,
            earlier.c.status == "pending",
            earlier.c.id < webhook_deliveries.c.id,
        )
    )
    return (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_attempt_at <= bindparam("now"),
            webhook_deliveries.c.id.not_in(bindparam("skip", expanding=True)),
            ~blocked,
        )
        .order_by(webhook_deliveries.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=webhook_deliveries)
    )


_DUE = _due_statement()


def any_due(engine: Engine, now: datetime) -> bool:
    """Whether some pending delivery's time has come (held back by an earlier one or not):
    one indexed read, no write, for the worker's idle polls."""
    with reading(engine) as conn:
        found = conn.execute(
            select(webhook_deliveries.c.id)
            .where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .limit(1)
        ).first()
    return found is not None


def claim_due(
    engine: Engine,
    now: datetime,
    lease: timedelta,
    keys: crypto.Keys,
    limit: int = 50,
    skip: Collection[int] = (),
    cache: signing_keys.SigningCache | None = None,
) -> list[Job]:
    """Lease up to `limit` due deliveries (none of `skip`) and read what sending them needs,
    in one transaction: a busy outbox costs one write per batch, not per message."""
    leased_until = now + lease
    cache = cache if cache is not None else signing_keys.SigningCache()
    with writing(engine) as conn:
        ids: list[int] = list(
            conn.execute(_DUE, {"now": now, "skip": list(skip), "limit": limit}).scalars()
        )
        if not ids:
            return []
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_(ids))
            .values(next_attempt_at=leased_until, updated_at=now)
        )
        rows = conn.execute(
            select(
                webhook_deliveries,
                webhook_messages,
                tenants.c.name.label("tenant"),
                tenants.c.revision.label("tenant_revision"),
            )
            .join(webhook_messages, webhook_messages.c.id == webhook_deliveries.c.message_id)
            .join(tenants, tenants.c.id == webhook_deliveries.c.tenant_id)
            .where(webhook_deliveries.c.id.in_(ids))
            .order_by(webhook_deliveries.c.id)
        ).all()
        jobs = []
        for row in rows:
            found = cache.get(row.tenant_id, row.webhook, row.tenant_revision, now)
            if found is None:
                found = signing_keys.hook_and_keys(
                    conn, keys, row.tenant_id, row.tenant, row.webhook, now
                )
                cache.put(row.tenant_id, row.webhook, row.tenant_revision, now, found)
            hook, signing = found
            jobs.append(
                Job(
                    delivery_id=row.id,
                    body=row.body.encode(),
                    hook=hook,
                    keys=signing,
                    leased_until=leased_until,
                    **{name: row._mapping[name] for name in _JOB_COLUMNS},
                )
            )
        return jobs


def release(engine: Engine, jobs: Iterable[Job], now: datetime) -> int:
    """Give back leases still held (a replica shutting down mid-send): due again at once.

    A lease that has ended, or that another replica has taken since, is left
    alone. How many were given back.
    """
    released = 0
    with writing(engine) as conn:
        for job in jobs:
            result = conn.execute(
                update(webhook_deliveries)
                .where(_still_leased(job))
                .values(next_attempt_at=now, updated_at=now)
            )
            released += result.rowcount
    return released


def _still_leased(job: Job) -> ColumnElement[bool]:
    """The delivery is still pending under the lease this job's claim set."""
    return and_(
        webhook_deliveries.c.id == job.delivery_id,
        webhook_deliveries.c.status == "pending",
        webhook_deliveries.c.next_attempt_at == job.leased_until,
    )


@dataclass(frozen=True)
class Attempt:
    """One attempt as the delivery log keeps it (fields named as its columns)."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class Finished:
    """One attempt to record, and the state it leaves its delivery in."""

    job: Job
    attempt: Attempt
    status: str  # pending | succeeded | failed
    next_at: datetime | None
    sent: bool = True  # False: refused before sending, so it says nothing of the endpoint


# One statement for every delivery of a batch: the new state, only while the lease holds.
_FINISH = (
    update(webhook_deliveries)
    .where(
        webhook_deliveries.c.id == bindparam("b_id"),
        webhook_deliveries.c.status == "pending",
        webhook_deliveries.c.next_attempt_at == bindparam("b_leased_until"),
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next_at"),
        updated_at=bindparam("b_at"),
    )
)


def finish_many(engine: Engine, batch: Sequence[Finished]) -> None:
    """Record the attempts and, where the lease still holds, the deliveries' new states,
    in one transaction, with what the attempts that were sent say of each endpoint's
    health. A lease that ended (and perhaps went to another replica) mid-send is not ours
    any more: the attempt is logged, but the delivery's state belongs to its new holder."""
    if not batch:
        return
    logged = []
    for item in batch:
        row = {name: getattr(item.job, name) for name in _LOGGED} | asdict(item.attempt)
        row["delivery_id"] = item.job.delivery_id
        row["error"] = (item.attempt.error or "")[:500] or None
        row["response_excerpt"] = (item.attempt.response_excerpt or "")[:EXCERPT] or None
        logged.append(row)
    states = [
        {
            "b_id": item.job.delivery_id,
            "b_leased_until": item.job.leased_until,
            "b_status": item.status,
            "b_attempts": item.job.attempts + 1,
            "b_next_at": item.next_at,
            "b_at": item.attempt.attempted_at,
        }
        for item in batch
    ]
    with writing(engine) as conn:
        conn.execute(insert(webhook_attempts), logged)
        conn.execute(_FINISH, states)
        for item in _health_changes(batch):
            endpoint_health.record(
                conn,
                item.job.tenant_id,
                item.job.webhook,
                item.attempt.attempted_at,
                item.attempt.status_code,
                item.attempt.error,
            )


def _health_changes(batch: Sequence[Finished]) -> list[Finished]:
    """The sent attempts in time order, less each success that the same webhook's next
    attempt in the batch, also a success, overwrites in full (a success sets only its time
    and clears the failing clock)."""
    sent = sorted((item for item in batch if item.sent), key=lambda i: i.attempt.attempted_at)
    kept: list[Finished] = []
    following: dict[tuple[int, str], bool] = {}  # webhook -> whether its next is a success
    for item in reversed(sent):
        target = (item.job.tenant_id, item.job.webhook)
        success = endpoint_health.is_success(item.attempt.status_code)
        if not (success and following.get(target, False)):
            kept.append(item)
        following[target] = success
    kept.reverse()
    return kept


def disable_webhook(engine: Engine, tenant: str, webhook: str, reason: str) -> int | None:
    """Switch a webhook off in live state, visibly: through `store.change_by_runtime`, so it
    gets a new revision and an audit record and `hubops plan` shows `enabled: false -> true`
    until it is re-enabled. The new revision, or None when it was already off or is gone."""

    def switched_off(body: Body) -> Body | None:
        if not body.get("enabled"):
            return None
        return {**body, "enabled": False, "disabledReason": reason}

    return store.change_by_runtime(engine, tenant, f"webhook/{webhook}", switched_off, reason)


def redeliver(engine: Engine, tenant_id: int, webhook: str, message_id: str, now: datetime) -> bool:
    """Queue a message again for a webhook it was delivered to (same webhook-id).

    Only messages the webhook received before: its store and event filters
    decided that when the event happened, and redelivery must not widen them.
    False when there is no such delivery.
    """
    with writing(engine) as conn:
        reset = conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.message_id == message_id,
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.webhook == webhook,
            )
            .values(status="pending", next_attempt_at=now, updated_at=now)
        )
        return bool(reset.rowcount)


def attempt_log(
    engine: Engine, tenant_id: int, webhook: str, keyset: NumberKeyset, limit: int
) -> Page:
    """Every attempt to the webhook, newest first, a page at a time."""
    query = select(webhook_attempts).where(
        webhook_attempts.c.tenant_id == tenant_id, webhook_attempts.c.webhook == webhook
    )
    with reading(engine) as conn:
        return keyset.page(conn, query, webhook_attempts.c.id, limit)


def pending_count(engine: Engine) -> int:
    """Deliveries waiting for an attempt, of every replica (the `hubops_webhook_pending` gauge)."""
    with reading(engine) as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(webhook_deliveries)
                .where(webhook_deliveries.c.status == "pending")
            ).scalar_one()
        )
