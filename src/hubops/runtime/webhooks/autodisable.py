"""Switching off a webhook whose endpoint has failed for days, and telling the others.

After every failed attempt the worker asks `check`: when the endpoint has
not answered a single attempt with a 2xx for `HUBOPS_WEBHOOK_DISABLE_AFTER`
seconds (default five days), the webhook is disabled exactly as a 410 does
it (`deliveries.disable_webhook`: the store's runtime-side write, a new
revision, an audit record, `disabledReason`), and a `webhook.disabled`
event is queued for the tenant's other webhooks that subscribe to it. Only
the attempt that actually switched it off queues the event, so concurrent
failures on several replicas tell the others once.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from sqlalchemy import Engine

from hubops.runtime.db import reading, writing
from hubops.runtime.settings import RuntimeConfigError
from hubops.runtime.webhooks import deliveries, endpoint_health, outbox
from hubops.utc import format_utc

log = logging.getLogger("hubops.webhooks")

DISABLE_AFTER_ENV = "HUBOPS_WEBHOOK_DISABLE_AFTER"
DEFAULT_DISABLE_AFTER = 432_000.0  # five days
DISABLED_EVENT = "webhook.disabled"


def disable_after_seconds(raw: str | None = None) -> float:
    """HUBOPS_WEBHOOK_DISABLE_AFTER: seconds without a success before a webhook is disabled."""
    text = raw if raw is not None else os.environ.get(DISABLE_AFTER_ENV, "")
    try:
        seconds = float(text) if text.strip() else DEFAULT_DISABLE_AFTER
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise RuntimeConfigError(
            f"{DISABLE_AFTER_ENV} must be a positive number of seconds "
            f"(default {DEFAULT_DISABLE_AFTER:g}, five days)"
        )
    return seconds


def check(engine: Engine, job: deliveries.Job, now: datetime, after: float) -> bool:
    """Disable the job's webhook if it has failed without a success for `after` seconds;
    True when this call disabled it."""
    with reading(engine) as conn:
        since = endpoint_health.failing_since(conn, job.tenant_id, job.webhook)
    if since is None or now - since < timedelta(seconds=after):
        return False
    reason = (
        f"no successful delivery since {format_utc(since)} "
        f"({DISABLE_AFTER_ENV}={after:g} s); webhook disabled"
    )
    if deliveries.disable_webhook(engine, job.tenant, job.webhook, reason) is None:
        return False
    data = {
        "tenant": job.tenant,
        "webhook": job.webhook,
        "reason": reason,
        "failingSince": format_utc(since),
    }
    with writing(engine) as conn:
        outbox.enqueue_event(
            conn,
            job.tenant_id,
            DISABLED_EVENT,
            data,
            store=None,
            ordering_key=f"webhook:{job.webhook}",
            at=now,
        )
    log.warning("tenant %s webhook %s disabled: %s", job.tenant, job.webhook, reason)
    return True
