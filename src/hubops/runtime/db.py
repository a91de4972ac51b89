"""Engines and transactions that behave the same on SQLite and PostgreSQL.

SQLite gets WAL (readers never block the writer), a busy timeout (a writer
waits instead of failing), foreign keys, and explicit BEGINs: pysqlite's
own transaction handling starts transactions late, which would let a read
and the write that depends on it see different snapshots. Write
transactions begin IMMEDIATE so that two change sets queue for the write
lock up front rather than one failing half-way when it upgrades its lock.
Engines hide bound parameters from their exception texts: those are
request values, and an exception's text may end up in a log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from hubops.runtime.settings import RuntimeConfigError, sqlite_file

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT = 10  # seconds; a URL's own ?connect_timeout= wins
SQLITE_POOL_SIZE = 20
_WRITE = "hubops_write"
_WRITE_LOCKS: dict[int, threading.RLock] = {}


# The drivers the runtime ships with, by backend; a URL without a driver gets this one.
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}


def database_url(db_url: str) -> URL:
    """The URL checked and completed (`postgresql://` means psycopg 3); raises RuntimeConfigError.

    The message never repeats the URL as given: it may hold a password.
    """
    try:
        url = make_url(db_url)
    except (ArgumentError, ValueError):
        raise RuntimeConfigError(
            "the database URL is not a SQLAlchemy URL; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    wanted = DRIVERS.get(backend)
    if wanted is None or (driver != wanted and "+" in url.drivername):
        shown = f"{backend}+{driver}" if "+" in url.drivername else backend
        raise RuntimeConfigError(
            f"the database URL names {shown}, which the runtime does not support; use "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        )
    return url.set(drivername=f"{backend}+{wanted}")


def make_engine(db_url: str) -> Engine:
    """An engine for a checked URL (see `database_url`)."""
    url = database_url(db_url)
    if url.get_backend_name() != "sqlite":
        # A server that never answers (a dropped route) fails the start-up in bounded time.
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
        return create_engine(
            _utc_sessions(url),
            connect_args=timeout,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            hide_parameters=True,
        )
    db_file = sqlite_file(db_url)
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
        # Kept open for as many requests as run at once under load: a connection over
        # the pool's size is closed when it comes back, and opening one (WAL, pragmas)
        # cost more than the query it was opened for.
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=20,
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    _WRITE_LOCKS[id(engine)] = threading.RLock()
    return engine


def _utc_sessions(url: URL) -> URL:
    """PostgreSQL sessions in UTC, added to any libpq options the URL already has.

    The driver hands timestamptz values over in the session's zone, and
    0001-01-01T00:00Z seen from a zone west of UTC is in the year 0, which
    Python cannot hold (so is 9999-12-31T23:00Z seen from the east).
    """
    given = url.query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    return url.update_query_dict({"options": f"{options} -c timezone=UTC".strip()})


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One consistent snapshot for a whole response."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction that commits on success and rolls back on any exception.

    On SQLite, writers of this process queue on a lock first: waiting there
    is immediate, whereas SQLite's own busy handler sleeps in growing steps
    (up to 100 ms), which under steady load turned into second-long tails.
    """
    lock = _WRITE_LOCKS.get(id(engine))
    with lock if lock is not None else nullcontext(), engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn
