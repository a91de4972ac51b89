"""Whether each tenant still matches its manifests: the labels of `hubops status --drift`.

A pure function over a plan of the tenants root and the tenants the
runtime holds: a planned tenant is `in-sync` when its plan has no change,
`drifted` when it has some, `not applied` when the runtime does not hold it
yet (base revision 0); a tenant only the runtime holds is `unmanaged`
(apply leaves it alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from hubops.plan.model import Plan

Drift = Literal["in-sync", "drifted", "not applied", "unmanaged"]


def drift(plan: Plan, live: Iterable[str]) -> dict[str, Drift]:
    """The label of every tenant of the plan and of every tenant name in `live`."""
    labels: dict[str, Drift] = dict.fromkeys(live, "unmanaged")
    for tenant in plan.tenants:
        if tenant.base_revision == 0:
            labels[tenant.name] = "not applied"
        else:
            labels[tenant.name] = "drifted" if tenant.changes else "in-sync"
    return labels
