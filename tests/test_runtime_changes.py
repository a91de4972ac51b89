"""The runtime's own changes and change sets share one write path, so none is lost.

Webhooks switched off by 410s (`deliveries.disable_webhook`, through
`store.change_by_runtime`) race change sets applied from several threads,
on SQLite and on PostgreSQL (where the writers really overlap): every
disable and every change set ends up applied and audited, and the audit's
revisions run 1, 2, 3, ... without a gap or a repeat.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from databases import pg_database
from hubops.runtime import migrate, store
from hubops.runtime.api_models import ChangeSetIn
from hubops.runtime.crypto import Keys
from hubops.runtime.db import make_engine, reading
from hubops.runtime.errors import StaleRevision
from hubops.runtime.tables import change_sets
from hubops.runtime.webhooks import deliveries
from runtime_server import Changes, with_action

HOOKS = 6
APPLIERS = 3
APPLIES_EACH = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            url = stack.enter_context(pg_database())
        engine = make_engine(url)
        stack.callback(engine.dispose)
        migrate.upgrade(engine)
        yield engine


def _apply(engine: Engine, keys: Keys, changes: list[dict[str, Any]], by: str) -> int:
    """Apply as `hubops apply` does: on a stale revision, read it again and retry."""
    while True:
        base = dict(store.list_tenants(engine)).get("acme", 0)
        change_set = ChangeSetIn.model_validate({"baseRevision": base, "changes": changes})
        try:
            return store.apply_change_set(engine, keys, "acme", change_set, by)[0]
        except StaleRevision:
            continue


def test_disables_racing_change_sets_are_all_applied_in_contiguous_revisions(
    engine: Engine,
) -> None:
    keys = Keys.from_master(os.urandom(32))
    builder = Changes("acme", keys.fingerprint_key)
    hooks = [with_action(builder.webhook(f"h{i}"), "create") for i in range(HOOKS)]
    assert _apply(engine, keys, [*builder.bootstrap(), *hooks], "setup") == 1
    start = threading.Barrier(HOOKS + APPLIERS)

    def disable(i: int) -> int | None:
        start.wait()
        return deliveries.disable_webhook(engine, "acme", f"h{i}", f"410 Gone from h{i}")

    def applier(t: int) -> list[int]:
        start.wait()
        revisions = []
        for k in range(APPLIES_EACH):
            store_change = {
                "address": f"store/s-{t}-{k}",
                "action": "create",
                "body": {"name": f"Store {t}-{k}", "timezone": "UTC"},
            }
            revisions.append(_apply(engine, keys, [store_change], f"ci-{t}"))
        return revisions

    with ThreadPoolExecutor(HOOKS + APPLIERS) as pool:
        disabled = [pool.submit(disable, i) for i in range(HOOKS)]
        applied = [pool.submit(applier, t) for t in range(APPLIERS)]
        disable_revisions = [f.result() for f in disabled]
        apply_revisions = [r for f in applied for r in f.result()]

    total = 1 + HOOKS + APPLIERS * APPLIES_EACH
    assert sorted([1, *disable_revisions, *apply_revisions]) == list(range(1, total + 1))  # type: ignore[list-item]
    with reading(engine) as conn:
        audit = conn.execute(
            select(change_sets.c.revision, change_sets.c.applied_by, change_sets.c.changes)
        ).all()
    assert sorted(r.revision for r in audit) == list(range(1, total + 1))
    by_runtime = [r for r in audit if r.applied_by == "runtime"]
    assert sorted(r.changes[0]["address"] for r in by_runtime) == [
        f"webhook/h{i}" for i in range(HOOKS)
    ]
    assert all(r.changes[0]["reason"].startswith("410 Gone from h") for r in by_runtime)
    tenant = store.read_tenant(engine, "acme")
    assert tenant.revision == total
    assert all(tenant.state[f"webhook/h{i}"]["enabled"] is False for i in range(HOOKS))
    assert all(
        f"store/s-{t}-{k}" in tenant.state for t in range(APPLIERS) for k in range(APPLIES_EACH)
    )
    # A second 410 for a webhook already off changes nothing and leaves no record.
    assert deliveries.disable_webhook(engine, "acme", "h0", "410 again") is None
    assert store.read_tenant(engine, "acme").revision == total
