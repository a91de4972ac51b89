"""Sending the invitations that change sets asked for, after their transaction committed.

`apply_admins` only marks an admin as wanting an invitation, inside the
change set's transaction; `send_due` runs afterwards, in a worker thread
(never on the event loop, never inside the apply), claims each wanted
invitation with a fresh one-time token and e-mails the link (one the SMTP
server did not take is wanted again, for the next change set or start). Without
`HUBOPS_SMTP_URL` it logs once per runtime that invitations cannot be sent
(not once per change set: an apply of 1,000 tenants logged it 1,000 times) and
leaves them wanted; the link itself is never logged. The CLI's embedded runtime sends
nothing: its invitations wait for the `hubops serve` that opens the database.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from sqlalchemy import select

from hubops import utc
from hubops.runtime.console import mail, users
from hubops.runtime.context import Runtime
from hubops.runtime.db import reading
from hubops.runtime.settings import SMTP_URL_ENV
from hubops.runtime.tables import console_users, tenants

log = logging.getLogger("hubops.console")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"  # `hubops serve`'s default address
_TOLD: set[int] = set()  # the runtimes (by id) that have logged that SMTP is not set


def invite_link(public_url: str, token: str) -> str:
    return f"{public_url}/console/invite/{token}"


def _message(runtime: Runtime, tenant: str, invitation: users.Invitation) -> EmailMessage:
    message = EmailMessage()
    message["From"] = runtime.settings.mail_from
    message["To"] = invitation.email
    message["Subject"] = f"Your invitation to the {tenant} back office"
    days = users.INVITE_VALID.days
    message.set_content(
        f"You are an admin of {tenant}. Set your password (at least {users.MIN_PASSWORD} "
        f"characters) within {days} days here:\n\n"
        f"{invite_link(runtime.settings.public_url or DEFAULT_PUBLIC_URL, invitation.token)}\n\n"
        "The link works once. If you did not expect this e-mail, ignore it.\n"
    )
    return message


def send_due(runtime: Runtime) -> int:
    """Send every wanted invitation; the number sent. Blocking: run it in a thread."""
    if not runtime.settings.mails_invitations:
        return 0
    url = runtime.settings.smtp_url
    if url is None:
        if id(runtime) in _TOLD:
            return 0
        with reading(runtime.engine) as conn:
            waiting = conn.execute(
                select(console_users.c.email).where(console_users.c.invite_wanted.is_(True))
            ).first()
        if waiting is not None:
            _TOLD.add(id(runtime))
            log.warning(
                "invitations cannot be sent: %s is not set (said once; they wait until it is)",
                SMTP_URL_ENV,
            )
        return 0
    sent = 0
    for invitation in users.claim_invitations(runtime.engine, utc.now()):
        with reading(runtime.engine) as conn:
            tenant = conn.execute(
                select(tenants.c.name).where(tenants.c.id == invitation.tenant_id)
            ).scalar_one()
        try:
            mail.send(url, _message(runtime, tenant, invitation))
        except mail.MailNotSent:
            users.want_again(runtime.engine, invitation)
            log.warning("an invitation to an admin of %s could not be sent over SMTP", tenant)
            continue
        log.info("sent an invitation to an admin of %s", tenant)
        sent += 1
    return sent
