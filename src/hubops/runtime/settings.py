"""What the runtime needs to start, read once from the environment.

Settings are plain data handed to `create_app`, so tests and the in-process
client can build a runtime without touching `os.environ`, and nothing is
read or opened at import time. Token values are excluded from `repr` so a
stray log line or traceback cannot show them.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hubops.errors import UsageError

DEFAULT_DB_URL = "sqlite:///.hubops/state.db"
ADMIN_TOKEN_ENV = "HUBOPS_ADMIN_TOKEN"
MASTER_KEY_ENV = "HUBOPS_MASTER_KEY"
MASTER_KEY_BYTES = 32
SFTP_PORT_ENV = "HUBOPS_SFTP_PORT"
SFTP_HOST_KEY_ENV = "HUBOPS_SFTP_HOST_KEY"
VIEWER_TOKEN_ENV = "HUBOPS_VIEWER_TOKEN"
SMTP_URL_ENV = "HUBOPS_SMTP_URL"
MAIL_FROM_ENV = "HUBOPS_MAIL_FROM"
PUBLIC_URL_ENV = "HUBOPS_PUBLIC_URL"
CATALOG_ENV = "HUBOPS_CATALOG"
METRICS_TOKEN_ENV = "HUBOPS_METRICS_TOKEN"
BODY_TIMEOUT_ENV = "HUBOPS_BODY_TIMEOUT"
DEFAULT_BODY_TIMEOUT = 10.0
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


class RuntimeConfigError(UsageError):
    """The runtime's environment cannot work (no admin token, a malformed master key)."""


@dataclass(frozen=True)
class RuntimeSettings:
    """`master_key` wins over `master_key_file`; the file is created when neither exists."""

    db_url: str = DEFAULT_DB_URL
    admin_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    master_key: bytes | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    # SFTP for catalog files: off unless a port is given (`serve --sftp-port`).
    sftp_port: int | None = None
    sftp_host: str = "127.0.0.1"
    sftp_host_key_file: Path | None = None
    # The console: a read-only token, where invitations are sent from and link to, and the
    # partner catalog whose categories the tenant page groups partners by.
    viewer_token: str | None = field(default=None, repr=False)
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "hubops@localhost"
    public_url: str | None = None  # None: where `hubops serve` listens
    catalog_file: Path | None = None
    # False for the CLI's embedded runtime: it is no service, so invitations wait in the
    # database for the `hubops serve` that opens it.
    mails_invitations: bool = True
    # `/metrics` needs this bearer token when set, and is open when not.
    metrics_token: str | None = field(default=None, repr=False)
    # Seconds a request body may take to arrive (a catalog file: between two of its chunks).
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    @classmethod
    def from_env(cls, db_url: str | None = None) -> RuntimeSettings:
        """Settings from HUBOPS_ADMIN_TOKEN and HUBOPS_MASTER_KEY; raises RuntimeConfigError."""
        raw_tokens = os.environ.get(ADMIN_TOKEN_ENV, "")
        if not raw_tokens.strip():
            raise RuntimeConfigError(
                f"{ADMIN_TOKEN_ENV} is not set; set it to a token (or name=token pairs "
                "separated by commas) so the admin API is not left open."
            )
        host_key = os.environ.get(SFTP_HOST_KEY_ENV, "").strip()
        return cls(
            db_url=db_url or DEFAULT_DB_URL,
            admin_tokens=parse_admin_tokens(raw_tokens),
            master_key=parse_master_key(os.environ.get(MASTER_KEY_ENV)),
            sftp_port=parse_port(os.environ.get(SFTP_PORT_ENV), SFTP_PORT_ENV),
            sftp_host_key_file=Path(host_key) if host_key else None,
            viewer_token=_env(VIEWER_TOKEN_ENV),
            smtp_url=parse_smtp_url(_env(SMTP_URL_ENV)),
            mail_from=_env(MAIL_FROM_ENV) or cls.mail_from,
            public_url=public.rstrip("/") if (public := _env(PUBLIC_URL_ENV)) else None,
            catalog_file=Path(catalog) if (catalog := _env(CATALOG_ENV)) else None,
            metrics_token=_env(METRICS_TOKEN_ENV),
            body_timeout=parse_seconds(
                os.environ.get(BODY_TIMEOUT_ENV), BODY_TIMEOUT_ENV, DEFAULT_BODY_TIMEOUT
            ),
        )

    def key_file(self) -> Path:
        """Where a generated master key lives: beside a SQLite file, else in `.hubops/`."""
        if self.master_key_file is not None:
            return self.master_key_file
        return self.data_dir() / "master.key"

    def data_dir(self) -> Path:
        """The folder beside the database for the runtime's own files (keys, SFTP tree):
        the SQLite file's folder, else `.hubops/` in the working directory. Absolute, so
        the SFTP tree's root is one fixed path whatever the URL or folder looked like."""
        db_file = sqlite_file(self.db_url)
        return (db_file.parent if db_file is not None else Path(".hubops")).absolute()

    def host_key_file(self) -> Path:
        """The SFTP host key: HUBOPS_SFTP_HOST_KEY, else one generated beside the database."""
        return self.sftp_host_key_file or self.data_dir() / "sftp_host_key"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def parse_smtp_url(url: str | None) -> str | None:
    """An smtp:// or smtp+starttls:// URL with a host; the URL itself is never echoed
    (it may carry a password)."""
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        port_ok = (parts.port or 25) > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname or not port_ok:
        raise RuntimeConfigError(
            f"{SMTP_URL_ENV} must be smtp://HOST:PORT or smtp+starttls://HOST:PORT "
            "(optionally with USER:PASSWORD@ before the host)"
        )
    return url


def parse_seconds(raw: str | None, source: str, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        seconds = float(raw.strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise RuntimeConfigError(f"{source} must be a positive number of seconds")
    return seconds


def parse_port(raw: str | None, source: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not (text.isdigit() and 0 <= int(text) <= 65535):
        raise RuntimeConfigError(f"{source} must be a TCP port number (0-65535)")
    return int(text)


def parse_admin_tokens(raw: str) -> dict[str, str]:
    """`token` -> {"admin": token}; `ci=t1,alice=t2` -> named tokens. Never echoes a value.

    A lone entry is read as `name=token` only when the part before the first
    `=` is a plain name and the rest is non-empty and does not start with
    `=`; so a single base64 token ending in `=` padding stays one token.
    """
    items = [item.strip() for item in raw.split(",")]
    pairs = [_as_pair(item) for item in items]
    if len(items) == 1 and pairs[0] is None:
        return {"admin": items[0]}
    tokens: dict[str, str] = {}
    for position, pair in enumerate(pairs, start=1):
        if pair is None:
            raise RuntimeConfigError(
                f"{ADMIN_TOKEN_ENV}: entry {position} is not of the form name=token "
                "(use either one token or comma-separated name=token pairs)."
            )
        name, token = pair
        if name in tokens:
            raise RuntimeConfigError(f'{ADMIN_TOKEN_ENV}: the name "{name}" appears twice.')
        if token in tokens.values():
            raise RuntimeConfigError(
                f'{ADMIN_TOKEN_ENV}: "{name}" reuses another entry\'s token, so audit '
                "records could not tell them apart."
            )
        tokens[name] = token
    return tokens


def _as_pair(item: str) -> tuple[str, str] | None:
    name, sep, token = item.partition("=")
    if sep and _TOKEN_NAME.match(name) and token and not token.startswith("="):
        return name, token
    return None


def parse_master_key(raw: str | None) -> bytes | None:
    if raw is None or not raw.strip():
        return None
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise RuntimeConfigError(
            f"{MASTER_KEY_ENV} must be the base64 encoding of exactly {MASTER_KEY_BYTES} "
            'random bytes (e.g. the output of `python -c "import os,base64;'
            'print(base64.b64encode(os.urandom(32)).decode())"`).'
        )
    return key


def sqlite_file(db_url: str) -> Path | None:
    """The database file of a file-backed SQLite URL, None for other databases or memory."""
    from sqlalchemy.engine import make_url  # only a runtime that opens a database needs it

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite database file, as the CLI's `--runtime PATH` needs."""
    return f"sqlite:///{path}"
