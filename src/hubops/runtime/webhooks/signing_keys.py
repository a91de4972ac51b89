"""What a delivery is signed with: the webhook's body as applied and its signing keys.

The current secret comes first, then those retired less than
`ROTATION_OVERLAP` ago, so an endpoint that still checks with the old secret
keeps accepting messages while it switches (Standard Webhooks' several
signatures in one header). `SigningCache` keeps them per tenant revision for
a few seconds, so a busy outbox does not read and unseal them per claim.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from hubops.runtime import crypto
from hubops.runtime.tables import resources, secret_values, webhook_secret_history
from hubops.state import secret_address
from hubops.tokens import webhook_secret_key

log = logging.getLogger("hubops.webhooks")

ROTATION_OVERLAP = timedelta(hours=24)

# A webhook's body as applied (None if deleted) and its signing keys, current first.
Hook = tuple[dict[str, Any] | None, list[bytes]]


class SigningCache:
    """Each webhook's body and signing keys as of a tenant revision, for a few seconds.

    Every write to a tenant's state moves its revision, so an entry of an
    older revision is never used; the time limit ends a retired secret's
    overlap within seconds of when it ends. Saves a claim three queries and
    the unsealing of the secrets per webhook.
    """

    SECONDS = 10.0

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], tuple[int, datetime, Hook]] = {}

    def get(self, tenant_id: int, webhook: str, revision: int, now: datetime) -> Hook | None:
        found = self._entries.get((tenant_id, webhook))
        if found is None or found[0] != revision or (now - found[1]).total_seconds() > self.SECONDS:
            return None
        return found[2]

    def put(self, tenant_id: int, webhook: str, revision: int, now: datetime, hook: Hook) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()  # bounded: a runtime with more webhooks just reads again
        self._entries[(tenant_id, webhook)] = (revision, now, hook)


def hook_and_keys(
    conn: Connection, keys: crypto.Keys, tenant_id: int, tenant: str, webhook: str, now: datetime
) -> Hook:
    """The webhook as applied now, and its signing keys: current first, then rotated ones."""
    address = f"webhook/{webhook}"
    hook = conn.execute(
        select(resources.c.body).where(
            resources.c.tenant_id == tenant_id, resources.c.address == address
        )
    ).scalar()
    sealed = conn.execute(
        select(secret_values.c.sealed).where(
            secret_values.c.tenant_id == tenant_id,
            secret_values.c.address == address,
            secret_values.c.path == "secret",
        )
    ).scalar()
    history = conn.execute(
        select(webhook_secret_history.c.sealed)
        .where(
            webhook_secret_history.c.tenant_id == tenant_id,
            webhook_secret_history.c.webhook == webhook,
            webhook_secret_history.c.retired_at > now - ROTATION_OVERLAP,
        )
        .order_by(webhook_secret_history.c.retired_at.desc())
    ).scalars()
    signing = []
    for blob in [sealed, *history]:
        if blob is None:
            continue
        try:
            value = crypto.unseal(
                keys.encryption_key, tenant, secret_address(address, "secret"), blob
            )
        except Exception:  # another master key, or a damaged row: fail this webhook only
            log.warning("tenant %s webhook %s: a signing secret cannot be opened", tenant, webhook)
            return hook, []
        signing.append(webhook_secret_key(value))
    return hook, signing
