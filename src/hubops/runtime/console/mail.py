"""Sending an e-mail over SMTP with the standard library (`HUBOPS_SMTP_URL`).

`smtp://HOST:PORT` sends in clear (a local relay), `smtp+starttls://HOST:PORT`
upgrades with STARTTLS first; a user and password in the URL log in. The
URL may carry a password, so neither it nor a message's text ever goes
into an exception or a log line from here.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 20


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message (no details kept)."""


def send(url: str, message: EmailMessage) -> None:
    """Send `message`; MailNotSent on any failure."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        with smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_SECONDS) as smtp:
            if parts.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        raise MailNotSent() from None
