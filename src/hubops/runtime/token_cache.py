"""The Partner API's token rows, kept per process for at most `TOKEN_CACHE_SECONDS`.

Reading a token's applied row on every request was a transaction and a
worker-thread hop per request, a third of what `GET /v1/orders` cost. A
row read here is reused by this process for at most TOKEN_CACHE_SECONDS,
and only while no change set was applied through this process since it
was read (`forget_all`, called once an apply committed): an apply that
removes, narrows or expires a token takes effect on this replica's next
request, and on every other replica within TOKEN_CACHE_SECONDS. Expiry is
compared with the clock on every request, cached or not. Unknown tokens
are not kept, so a token applied a moment ago works at once everywhere.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from hubops.runtime.db import reading
from hubops.runtime.tables import api_tokens

# How long another replica may still accept a token after an apply removed or narrowed it.
TOKEN_CACHE_SECONDS = 1.0
_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class TokenRow:
    """What the Partner API checks of a token: its applied row, less what it never reads."""

    id: int
    tenant_id: int
    token_hash: str
    scopes: frozenset[str]
    stores: tuple[str, ...] | None
    expires_at: datetime | None


class TokenCache:
    def __init__(self, seconds: float = TOKEN_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._rows: dict[str, tuple[TokenRow, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def cached(self, digest: str) -> TokenRow | None:
        """The row of a token hash read less than `seconds` ago, if any: no I/O."""
        found = self._rows.get(digest)
        if found is None or time.monotonic() - found[1] >= self.seconds:
            return None
        return found[0]

    def load(self, engine: Engine, digest: str) -> TokenRow | None:
        """The applied row of a token hash, read now (and kept); None when unknown."""
        with self._lock:
            generation = self._generation
        read_at = time.monotonic()
        with reading(engine) as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == digest)).first()
        if row is None:
            return None
        token = TokenRow(
            id=row.id,
            tenant_id=row.tenant_id,
            token_hash=row.token_hash,
            scopes=frozenset(row.scopes),
            stores=None if row.stores is None else tuple(row.stores),
            expires_at=row.expires_at,
        )
        with self._lock:
            # A row read while an apply committed may be the old one: not kept.
            if generation == self._generation:
                if len(self._rows) >= _MAX_ENTRIES:
                    self._rows.clear()
                self._rows[digest] = (token, read_at)
        return token

    def forget(self, digest: str) -> None:
        """Drop one row: its token turned out to be gone (see `partner.auth`)."""
        with self._lock:
            self._rows.pop(digest, None)

    def forget_all(self) -> None:
        """Called after this process committed a change set: every row is read again."""
        with self._lock:
            self._generation += 1
            self._rows.clear()
