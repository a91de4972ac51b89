"""The apply guards and the drift labels, as pure functions over plans and live tenants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hubops.errors import DestroyRefused, SavedPlanOutdated
from hubops.live import LiveTenant
from hubops.plan.drift import drift
from hubops.plan.guards import DestroyLimit, check_destroy, check_runtime, check_saved
from hubops.plan.model import Plan, ResourceChange, TenantPlan

HELD = {
    "tenant/acme": {},
    "store/s-1": {},
    "store/s-2": {},
    "admin/ops@acme.example": {},
    "token/orders": {},
}


def _plan(*tenants: TenantPlan, runtime: str = "embedded runtime at x.db") -> Plan:
    return Plan(list(tenants), datetime(2026, 1, 1, tzinfo=UTC), "tenants", runtime)


def _deleting(*addresses: str, name: str = "acme", revision: int = 3) -> TenantPlan:
    return TenantPlan(name, revision, [ResourceChange(a, "delete", before={}) for a in addresses])


LIVE = {"acme": LiveTenant("acme", 3, dict(HELD))}


@pytest.mark.parametrize(
    ("deletes", "max_destroy", "refusal"),
    [
        (("store/s-1",), 10, None),
        (
            ("store/s-1", "token/orders"),
            1,
            "would destroy 2 resources, more than --max-destroy (1)",
        ),
        (("store/s-1", "store/s-2"), 10, "would delete every store of tenant acme (2 deletions)"),
        (
            ("store/s-1", "admin/ops@acme.example", "token/orders"),
            10,
            None,
        ),
        (
            ("store/s-1", "store/s-2", "admin/ops@acme.example", "token/orders"),
            10,
            "would delete every store of tenant acme (4 deletions)",
        ),
    ],
)
def test_destroy_guard(deletes: tuple[str, ...], max_destroy: int, refusal: str | None) -> None:
    plan = _plan(_deleting(*deletes))
    if refusal is None:
        check_destroy(plan, LIVE, DestroyLimit(max_destroy))
    else:
        with pytest.raises(DestroyRefused, match=refusal.replace("(", r"\(").replace(")", r"\)")):
            check_destroy(plan, LIVE, DestroyLimit(max_destroy))
        check_destroy(
            plan, LIVE, DestroyLimit(max_destroy, allowed=True)
        )  # --allow-destroy says it is meant


def test_deleting_every_resource_of_a_storeless_tenant_is_refused() -> None:
    live = {
        "acme": LiveTenant("acme", 2, {"tenant/acme": {}, "admin/a@b.example": {}, "token/t": {}})
    }
    plan = _plan(_deleting("admin/a@b.example", "token/t"))
    with pytest.raises(DestroyRefused, match="every resource of tenant acme"):
        check_destroy(plan, live, DestroyLimit())


def test_saved_plan_must_match_a_fresh_one() -> None:
    saved = _plan(_deleting("token/orders"))
    check_saved(saved, _plan(_deleting("token/orders")))
    with pytest.raises(SavedPlanOutdated, match=r"revision 3 then, 4 now"):
        check_saved(saved, _plan(_deleting("token/orders", revision=4)))
    with pytest.raises(SavedPlanOutdated, match="the manifests or secrets of tenant acme changed"):
        check_saved(saved, _plan(_deleting("token/other")))
    with pytest.raises(SavedPlanOutdated, match="no longer in tenants"):
        check_saved(saved, _plan())
    check_runtime(saved, "embedded runtime at x.db")
    with pytest.raises(SavedPlanOutdated, match="pass the same --runtime"):
        check_runtime(saved, "https://hub.example")


def test_drift_labels() -> None:
    plan = _plan(
        TenantPlan("same", 2),
        _deleting("token/orders", name="moved"),
        TenantPlan("new", 0, [ResourceChange("tenant/new", "create", after={})]),
    )
    assert drift(plan, ["same", "moved", "other"]) == {
        "same": "in-sync",
        "moved": "drifted",
        "new": "not applied",
        "other": "unmanaged",
    }
