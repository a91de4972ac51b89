"""How each webhook's endpoint is doing: recorded with every attempt, shown in live state.

`record` runs inside the transaction that logs an attempt, so the figures
agree with the delivery log (`lastSuccessAt` to within a second, see
`record`). `annotate` adds the informational `health` field to the webhook
bodies of a tenant's state (the planner ignores fields the manifests do not
name): the last success and failure,
the last error, since when the endpoint has failed without a single success,
and the share of successful attempts over the last 24 hours.

An apply that enables a webhook (again) restarts its failing clock, so a
webhook switched back on after a fix gets the whole of
`HUBOPS_WEBHOOK_DISABLE_AFTER` before it can be switched off again; a
deleted webhook's row goes with it.

`lastError` is the runtime's own one-line description of the failed attempt
(e.g. `endpoint answered 503`, `timed out`), escaped and cut to
`ERROR_SUMMARY` characters: never the endpoint's reply, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hubops.render.escape import printable
from hubops.runtime.tables import webhook_attempts, webhook_health
from hubops.state import State
from hubops.utc import format_utc

ERROR_SUMMARY = 200
RATE_WINDOW = timedelta(hours=24)
SUCCESS_RESOLUTION = timedelta(seconds=1)  # lastSuccessAt is exact to within this


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def error_summary(error: str | None) -> str:
    """What `lastError` shows of an attempt's error: escaped, bounded."""
    text = printable(error or "failed")
    return text if len(text) <= ERROR_SUMMARY else text[: ERROR_SUMMARY - 1] + "…"


def record(
    conn: Connection,
    tenant_id: int,
    webhook: str,
    at: datetime,
    status_code: int | None,
    error: str | None,
) -> None:
    """Fold one attempt into the webhook's health row, in the caller's transaction.

    A success while the row already says the endpoint is fine and succeeded less
    than `SUCCESS_RESOLUTION` ago writes nothing: every replica's successes would
    otherwise queue on this one row's lock, each until its transaction commits
    (measured: the bottleneck of two replicas at 90 events a second).
    """
    key = and_(webhook_health.c.tenant_id == tenant_id, webhook_health.c.webhook == webhook)
    if is_success(status_code):
        current = conn.execute(
            select(webhook_health.c.last_success_at, webhook_health.c.failing_since).where(key)
        ).first()
        if (
            current is not None
            and current.failing_since is None
            and current.last_success_at is not None
            and at - current.last_success_at < SUCCESS_RESOLUTION
        ):
            return
        values: dict[str, Any] = {"last_success_at": at, "failing_since": None}
    else:
        values = {
            "last_failure_at": at,
            "last_error": error_summary(error),
            # Keeps the first failure of a run: only a success clears it.
            "failing_since": func.coalesce(webhook_health.c.failing_since, at),
        }
    if conn.execute(update(webhook_health).where(key).values(**values)).rowcount:
        return
    first = {k: v for k, v in values.items() if k != "failing_since"}
    if not is_success(status_code):
        first["failing_since"] = at
    try:
        with conn.begin_nested():
            conn.execute(
                insert(webhook_health).values(tenant_id=tenant_id, webhook=webhook, **first)
            )
    except IntegrityError:  # another replica's attempt inserted the row first
        conn.execute(update(webhook_health).where(key).values(**values))


def restart(conn: Connection, tenant_id: int, before: State, after: State) -> None:
    """After a change set (in its transaction): forget the failing run of each webhook it
    enables, and the rows of webhooks it deletes."""
    enabled, deleted = [], []
    for addr in set(before) | set(after):
        if not addr.startswith("webhook/"):
            continue
        old, new = before.get(addr), after.get(addr)
        if new is None:
            deleted.append(addr.removeprefix("webhook/"))
        elif new.get("enabled") and not (old or {}).get("enabled"):
            enabled.append(addr.removeprefix("webhook/"))
    mine = webhook_health.c.tenant_id == tenant_id
    if enabled:
        conn.execute(
            update(webhook_health)
            .where(mine, webhook_health.c.webhook.in_(enabled))
            .values(failing_since=None)
        )
    if deleted:
        conn.execute(delete(webhook_health).where(mine, webhook_health.c.webhook.in_(deleted)))


def failing_since(conn: Connection, tenant_id: int, webhook: str) -> datetime | None:
    found: datetime | None = conn.execute(
        select(webhook_health.c.failing_since).where(
            webhook_health.c.tenant_id == tenant_id, webhook_health.c.webhook == webhook
        )
    ).scalar()
    return found


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_utc(moment)


def _success_rate(conn: Connection, tenant_id: int, webhook: str, now: datetime) -> float | None:
    ok = case((webhook_attempts.c.status_code.between(200, 299), 1), else_=0)
    total, succeeded = conn.execute(
        select(func.count(), func.coalesce(func.sum(ok), 0)).where(
            webhook_attempts.c.tenant_id == tenant_id,
            webhook_attempts.c.webhook == webhook,
            webhook_attempts.c.attempted_at >= now - RATE_WINDOW,
        )
    ).one()
    return None if not total else round(int(succeeded) / int(total), 4)


@dataclass(frozen=True)
class Figures:
    """One webhook's health, as the state API (`health`) and the console show it."""

    success_rate_24h: float | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failing_since: datetime | None

    def body(self) -> dict[str, Any]:
        return {
            "successRate24h": self.success_rate_24h,
            "lastSuccessAt": _time(self.last_success_at),
            "lastFailureAt": _time(self.last_failure_at),
            "lastError": self.last_error,
            "failingSince": _time(self.failing_since),
        }


def figures(
    conn: Connection, tenant_id: int, webhooks: list[str], now: datetime
) -> dict[str, Figures]:
    """Each named webhook's figures (a webhook never attempted has all of them None)."""
    if not webhooks:
        return {}
    rows = {
        row.webhook: row
        for row in conn.execute(
            select(webhook_health).where(
                webhook_health.c.tenant_id == tenant_id, webhook_health.c.webhook.in_(webhooks)
            )
        )
    }
    out = {}
    for name in webhooks:
        row = rows.get(name)
        out[name] = Figures(
            success_rate_24h=_success_rate(conn, tenant_id, name, now),
            last_success_at=row.last_success_at if row else None,
            last_failure_at=row.last_failure_at if row else None,
            last_error=row.last_error if row else None,
            failing_since=row.failing_since if row else None,
        )
    return out


def annotate(conn: Connection, tenant_id: int, state: State, now: datetime) -> None:
    """Add `health` to every webhook body of `state` (in place)."""
    names = [a.removeprefix("webhook/") for a in state if a.startswith("webhook/")]
    for name, found in figures(conn, tenant_id, names, now).items():
        state[f"webhook/{name}"]["health"] = found.body()
