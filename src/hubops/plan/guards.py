"""What an apply refuses, decided over the plan and the live tenants: pure functions.

`apply` calls these between planning and sending; they read plain data and
raise, so the same rules hold for every caller and are tested without a
runtime. Each refusal is a `UsageError` (exit 1) whose message says how to
go ahead on purpose.

* `check_destroy`: deleting more than `DestroyLimit.most` resources in one
  apply (`--max-destroy`), or every store (or every resource) a tenant
  holds, needs `DestroyLimit.allowed` (`--allow-destroy`): a wrong tenants
  root or a deleted folder of manifests must not empty the runtime.
* `check_saved`: a saved plan applies only if planning again now gives
  exactly its changes, secrets and base revisions, against the runtime it
  was made for; otherwise it no longer says what would be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hubops.errors import DestroyRefused, SavedPlanOutdated
from hubops.live import LiveTenant
from hubops.plan.model import Plan


@dataclass(frozen=True)
class DestroyLimit:
    """How much one apply may delete unless deleting more is `allowed`."""

    most: int = 10
    allowed: bool = False


def check_destroy(plan: Plan, live: Mapping[str, LiveTenant], limit: DestroyLimit) -> None:
    """Refuse large or tenant-wide deletions unless the limit says they are intended."""
    if limit.allowed:
        return
    destroy = plan.counts.destroy
    if destroy > limit.most:
        raise DestroyRefused(
            f"this apply would destroy {destroy} resources, more than --max-destroy "
            f"({limit.most}); review the plan and pass --allow-destroy if that is intended"
        )
    for tenant in plan.tenants:
        held = live[tenant.name].state
        deleted = {c.address for c in tenant.changes if c.action == "delete"}
        stores = {a for a in held if a.startswith("store/")}
        others = {a for a in held if not a.startswith("tenant/")}
        if (stores and stores <= deleted) or (len(others) >= 2 and others <= deleted):
            what = "store" if stores and stores <= deleted else "resource"
            raise DestroyRefused(
                f"this apply would delete every {what} of tenant {tenant.name} "
                f"({len(deleted)} deletions); review the plan and pass --allow-destroy if "
                "that is intended"
            )


def check_runtime(saved: Plan, runtime: str) -> None:
    """A saved plan goes to the runtime it was made against (`runtime` as the client names it)."""
    if saved.runtime != runtime:
        raise SavedPlanOutdated(
            f"the plan was made against {saved.runtime}, not {runtime}; pass the same --runtime"
        )


def check_saved(saved: Plan, fresh: Plan) -> None:
    """A saved plan applies only if re-planning now gives exactly the same changes."""
    by_name = {t.name: t for t in fresh.tenants}
    for old in saved.tenants:
        new = by_name.get(old.name)
        if new is None:
            raise SavedPlanOutdated(
                f"tenant {old.name} of the saved plan is no longer in {saved.root}; run plan again"
            )
        if new.base_revision != old.base_revision:
            raise SavedPlanOutdated(
                f"tenant {old.name} changed in the runtime since the plan was made (revision "
                f"{old.base_revision} then, {new.base_revision} now); run plan again"
            )
        if (new.changes, new.sends, new.secrets_digest) != (
            old.changes,
            old.sends,
            old.secrets_digest,
        ):
            raise SavedPlanOutdated(
                f"the manifests or secrets of tenant {old.name} changed since the plan was made, "
                "so it no longer describes what would be applied; run plan again"
            )
