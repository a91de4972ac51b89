"""Console sessions, their CSRF tokens, and the lockout after failed logins.

A session is a random cookie value; the database keeps only its SHA-256,
who it is (an operator's admin token name, the viewer, or an admin's
tenant and e-mail) and the CSRF token every POST of the session carries.
Sessions end at logout, after `SESSION_HOURS`, or, for an admin, when the
admin leaves the manifests (the foreign key to `console_users` removes
them). Failed logins are counted per account and per address; after
`LOCK_AFTER` within `LOCK_WINDOW`, logins there are refused for `LOCK_FOR`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, delete, insert, select

from hubops.runtime.db import reading, writing
from hubops.runtime.tables import console_login_failures, console_sessions, console_users

Kind = Literal["operator", "viewer", "admin"]
COOKIE = "hubops_session"
SESSION_HOURS = 12
LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class Session:
    kind: Kind
    name: str  # the admin token's name, "viewer", or the admin's e-mail
    tenant_id: int | None  # an admin's tenant; None: every tenant
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(engine: Engine, kind: Kind, name: str, tenant_id: int | None, now: datetime) -> str:
    """A new session; its cookie value (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
        conn.execute(
            insert(console_sessions).values(
                token_hash=_digest(token),
                kind=kind,
                name=name,
                tenant_id=tenant_id,
                email=name if kind == "admin" else None,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return token


def find(engine: Engine, token: str | None, now: datetime) -> Session | None:
    """The live session of a cookie value; None when absent, ended or expired."""
    if not token:
        return None
    with reading(engine) as conn:
        row = conn.execute(
            select(console_sessions).where(
                console_sessions.c.token_hash == _digest(token),
                console_sessions.c.expires_at > now,
            )
        ).first()
        if row is not None and row.kind == "admin":
            user = conn.execute(
                select(console_users.c.password_hash).where(
                    console_users.c.tenant_id == row.tenant_id,
                    console_users.c.email == row.email,
                )
            ).scalar()
            if user is None:
                return None
    if row is None:
        return None
    return Session(row.kind, row.name, row.tenant_id, row.csrf)


def end(engine: Engine, token: str | None) -> None:
    if token:
        with writing(engine) as conn:
            conn.execute(
                delete(console_sessions).where(console_sessions.c.token_hash == _digest(token))
            )


def csrf_ok(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected.encode(), sent.encode())


def _locked(times: list[datetime], now: datetime) -> bool:
    """Whether LOCK_AFTER failures fell within LOCK_WINDOW, the last one under LOCK_FOR ago."""
    times = sorted(times)
    for i in range(LOCK_AFTER - 1, len(times)):
        if times[i] - times[i - LOCK_AFTER + 1] <= LOCK_WINDOW and now - times[i] < LOCK_FOR:
            return True
    return False


def locked_out(engine: Engine, keys: list[str], now: datetime) -> bool:
    """Whether logins for any of `keys` (`account:...`, `address:...`) are refused now."""
    since = now - LOCK_WINDOW - LOCK_FOR
    with reading(engine) as conn:
        rows = conn.execute(
            select(console_login_failures.c.key, console_login_failures.c.at).where(
                console_login_failures.c.key.in_(keys), console_login_failures.c.at > since
            )
        ).all()
    return any(_locked([r.at for r in rows if r.key == key], now) for key in keys)


def failed(engine: Engine, keys: list[str], now: datetime) -> None:
    """Count a failed login against each key; drop counts too old to matter."""
    with writing(engine) as conn:
        conn.execute(
            delete(console_login_failures).where(
                console_login_failures.c.at <= now - LOCK_WINDOW - LOCK_FOR
            )
        )
        conn.execute(insert(console_login_failures), [{"key": k, "at": now} for k in keys])
