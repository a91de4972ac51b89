"""The back-office users: a tenant's `admin/EMAIL` resources, with a password and an invitation.

Who is an admin, and with which role, is configuration (git, through change
sets); the runtime keeps only what people add: a password (argon2id hash)
and the invitation that lets them set it (its SHA-256; the link itself is
only ever in the e-mail). `apply_admins` is called by `store.apply_in`
inside the change set's transaction: a new admin gets a row asking for an
invitation (sent after the commit by `invitations`), a removed one loses
its row, and with it, by the foreign key, every session it had.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update

from hubops.runtime.db import reading, writing
from hubops.runtime.tables import console_users, resources, tenants
from hubops.state import State, parse_address

Status = Literal["pending", "active"]
MIN_PASSWORD = 12
INVITE_VALID = timedelta(days=7)
# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
_HASHER = PasswordHasher()


@functools.cache
def dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong e-mail takes as long.

    Made when the console is mounted (`routes.install`), not at import: hashing costs as
    much as a login, and the write path (`apply_admins`) imports this module in every
    process, the CLI's embedded runtime included, which has no console.
    """
    return _HASHER.hash("not a password of anyone")


def _admins(state: State) -> set[str]:
    return {parse_address(a)[1] for a in state if a.startswith("admin/")}


def apply_admins(conn: Connection, tenant_id: int, before: State, after: State) -> None:
    """Rows for admins a change set adds (pending, invitation wanted); none for removed ones."""
    old, new = _admins(before), _admins(after)
    gone = sorted(old - new)
    if gone:
        conn.execute(
            delete(console_users).where(
                console_users.c.tenant_id == tenant_id, console_users.c.email.in_(gone)
            )
        )
    added = sorted(new - old)
    if added:
        conn.execute(
            insert(console_users),
            [{"tenant_id": tenant_id, "email": e, "invite_wanted": True} for e in added],
        )


def statuses(conn: Connection, tenant_id: int) -> dict[str, Status]:
    """Each admin's status; an admin with no row yet (applied before the console) is pending."""
    rows = conn.execute(
        select(console_users.c.email, console_users.c.password_hash).where(
            console_users.c.tenant_id == tenant_id
        )
    )
    return {r.email: ("active" if r.password_hash else "pending") for r in rows}


def invitations_of(conn: Connection, tenant_id: int) -> dict[str, datetime | None]:
    """Each pending admin's invitation: valid until when, or None while it waits to be sent."""
    rows = conn.execute(
        select(console_users.c.email, console_users.c.invite_expires_at).where(
            console_users.c.tenant_id == tenant_id, console_users.c.password_hash.is_(None)
        )
    )
    return {r.email: r.invite_expires_at for r in rows}


def with_status(conn: Connection, tenant_id: int, state: State) -> State:
    """The state with `status` added to each admin body (informational, not managed)."""
    known = statuses(conn, tenant_id)
    return {
        addr: (
            {**body, "status": known.get(parse_address(addr)[1], "pending")}
            if addr.startswith("admin/")
            else body
        )
        for addr, body in state.items()
    }


def want_invitation(engine: Engine, tenant_id: int, email: str) -> bool:
    """Ask for a fresh invitation (the old link stops working); False: no such admin."""
    with writing(engine) as conn:
        if not _is_admin(conn, tenant_id, email):
            return False
        done = conn.execute(
            update(console_users)
            .where(console_users.c.tenant_id == tenant_id, console_users.c.email == email)
            .values(invite_wanted=True, invite_hash=None, invite_expires_at=None)
        )
        if not done.rowcount:
            conn.execute(
                insert(console_users).values(tenant_id=tenant_id, email=email, invite_wanted=True)
            )
    return True


def _is_admin(conn: Connection, tenant_id: int, email: str) -> bool:
    found = conn.execute(
        select(resources.c.address).where(
            resources.c.tenant_id == tenant_id, resources.c.address == f"admin/{email}"
        )
    ).first()
    return found is not None


@dataclass(frozen=True)
class Invitation:
    tenant_id: int
    email: str
    token: str  # goes into the e-mail only


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claim_invitations(engine: Engine, now: datetime) -> list[Invitation]:
    """Invitations to send now, each with a new one-time token (only its hash is kept).

    Claimed by a conditional UPDATE, so of several replicas one sends each.
    """
    with reading(engine) as conn:
        wanted = conn.execute(
            select(console_users.c.tenant_id, console_users.c.email).where(
                console_users.c.invite_wanted.is_(True)
            )
        ).all()
    claimed = []
    for row in wanted:
        token = secrets.token_urlsafe(32)
        with writing(engine) as conn:
            done = conn.execute(
                update(console_users)
                .where(
                    console_users.c.tenant_id == row.tenant_id,
                    console_users.c.email == row.email,
                    console_users.c.invite_wanted.is_(True),
                )
                .values(
                    invite_wanted=False,
                    invite_hash=_digest(token),
                    invite_expires_at=now + INVITE_VALID,
                )
            )
        if done.rowcount:
            claimed.append(Invitation(row.tenant_id, row.email, token))
    return claimed


def want_again(engine: Engine, invitation: Invitation) -> None:
    """An invitation that could not be sent is wanted again (sent at the next chance)."""
    with writing(engine) as conn:
        conn.execute(
            update(console_users)
            .where(console_users.c.invite_hash == _digest(invitation.token))
            .values(invite_wanted=True, invite_hash=None, invite_expires_at=None)
        )


def invited(engine: Engine, token: str, now: datetime) -> tuple[int, str] | None:
    """(tenant id, e-mail) of a valid, unused invitation token; None otherwise."""
    with reading(engine) as conn:
        row = conn.execute(
            select(console_users.c.tenant_id, console_users.c.email).where(
                console_users.c.invite_hash == _digest(token),
                console_users.c.invite_expires_at > now,
            )
        ).first()
    return None if row is None else (row.tenant_id, row.email)


def accept_invitation(engine: Engine, token: str, password: str, now: datetime) -> bool:
    """Set the password and use the invitation up; False when the link is not (or no longer)
    valid. The caller has checked the password's length."""
    hashed = _HASHER.hash(password)
    with writing(engine) as conn:
        done = conn.execute(
            update(console_users)
            .where(
                console_users.c.invite_hash == _digest(token),
                console_users.c.invite_expires_at > now,
            )
            .values(
                password_hash=hashed,
                activated_at=now,
                invite_hash=None,
                invite_expires_at=None,
                invite_wanted=False,
            )
        )
        return bool(done.rowcount)


def check_password(engine: Engine, tenant_id: int, email: str, password: str) -> bool:
    """Whether `password` is the active admin's; as slow for an unknown or pending one."""
    with reading(engine) as conn:
        stored = conn.execute(
            select(console_users.c.password_hash).where(
                console_users.c.tenant_id == tenant_id, console_users.c.email == email
            )
        ).scalar()
        admin = _is_admin(conn, tenant_id, email)
    ok: bool
    try:
        ok = _HASHER.verify(stored or dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and stored is not None and admin


def accounts(engine: Engine, email: str) -> list[tuple[int, str]]:
    """(tenant id, tenant name) of every tenant where `email` is an admin with a row."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(tenants.c.id, tenants.c.name)
            .join(console_users, console_users.c.tenant_id == tenants.c.id)
            .where(console_users.c.email == email)
            .order_by(tenants.c.name)
        )
        return [(r.id, r.name) for r in rows]
