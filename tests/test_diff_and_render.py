"""The generic diff and the three renderings of a plan, on hand-made states."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema

from conftest import REPO
from hubops.fingerprint import marker
from hubops.plan import planfile
from hubops.plan.diff import diff_states
from hubops.plan.model import MISSING, Plan, TenantPlan
from hubops.render.markdown import render_markdown
from hubops.render.text import render_text

LIVE = {
    "tenant/acme": {
        "displayName": "Acme",
        "plan": "pro",
        "settings": {"instantOrdering": False, "termsOfServiceUrl": None},
    },
    "store/acme-001": {"name": "Downtown", "timezone": "UTC"},
    "admin/old@acme.example": {"role": "admin"},
    "token/orders": {
        "scopes": ["orders:read"],
        "stores": None,
        "expiresAt": None,
        "value": marker("hmac-sha256:aaa"),
    },
    "webhook/pos": {
        "url": "https://pos.example/h",
        "events": ["order.created"],
        "stores": None,
        "enabled": False,
        "secret": marker("hmac-sha256:w1"),
        "disabledReason": "410 Gone",
    },
    "integration/xero@acme-001": {
        "partner": "xero",
        "enabled": True,
        "config": {"companyId": "1", "legacy": "x"},
        "shopId": None,
        "credentials": "xero",
    },
}
DESIRED = {
    "tenant/acme": {
        "displayName": "Acme Burgers",
        "plan": "pro",
        "settings": {"instantOrdering": True, "termsOfServiceUrl": None},
    },
    "store/acme-001": {"name": "Downtown", "timezone": "UTC"},
    "store/acme-002": {"name": "Airport", "timezone": "UTC"},
    "token/orders": {
        "scopes": ["orders:read"],
        "stores": None,
        "expiresAt": None,
        "value": marker("hmac-sha256:bbb"),
    },
    "webhook/pos": {
        "url": "https://pos.example/h",
        "events": ["order.created"],
        "stores": None,
        "enabled": True,
        "secret": marker("hmac-sha256:w1"),
    },
    "integration/xero@acme-001": {
        "partner": "xero",
        "enabled": True,
        "config": {"companyId": "1"},
        "shopId": None,
        "credentials": "xero",
    },
}


def _plan() -> Plan:
    changes = diff_states(DESIRED, LIVE)
    tenant = TenantPlan("acme", 4, changes, sends={"token/orders#value": "hmac-sha256:bbb"})
    quiet = TenantPlan("quiet", 2, [])
    return Plan(
        [tenant, quiet], datetime(2026, 11, 25, tzinfo=UTC), "tenants", "embedded runtime at x.db"
    )


def test_diff_actions_fields_and_unmanaged_fields() -> None:
    changes = {c.address: c for c in diff_states(DESIRED, LIVE)}
    assert {a: c.action for a, c in changes.items()} == {
        "tenant/acme": "update",
        "store/acme-002": "create",
        "admin/old@acme.example": "delete",
        "token/orders": "update",
        "webhook/pos": "update",
        "integration/xero@acme-001": "update",
    }
    tenant = changes["tenant/acme"]
    assert [(f.path, f.before, f.after) for f in tenant.fields] == [
        ("displayName", "Acme", "Acme Burgers"),
        ("settings.instantOrdering", False, True),
    ]
    # a runtime-only field (disabledReason) is unmanaged; a removed config key is a change
    assert [f.path for f in changes["webhook/pos"].fields] == ["enabled"]
    config = changes["integration/xero@acme-001"].fields
    assert [(f.path, f.before, f.after) for f in config] == [("config.legacy", "x", MISSING)]
    assert diff_states(DESIRED, DESIRED) == []


def test_text_plan() -> None:
    text = render_text(_plan())
    assert text == (
        "Tenant acme (revision 4)\n"
        "  ~ tenant/acme\n"
        '      displayName: "Acme" -> "Acme Burgers"\n'
        "      settings.instantOrdering: false -> true\n"
        "  + store/acme-002\n"
        "  - admin/old@acme.example\n"
        "  ~ integration/xero@acme-001\n"
        '      config.legacy: "x" -> (absent)\n'
        "  ~ token/orders\n"
        "      value: (sensitive value changed)\n"
        "  ~ webhook/pos\n"
        "      enabled: false -> true\n"
        "  Plan: 1 to add, 4 to change, 1 to destroy.\n"
        "\n"
        "1 tenant unchanged.\n"
        "Plan: 1 to add, 4 to change, 1 to destroy.\n"
    )


def test_no_changes() -> None:
    plan = Plan([TenantPlan("quiet", 2, [])], datetime.now(UTC), "tenants", "x")
    assert render_text(plan) == "No changes.\n"
    assert render_markdown(plan).rstrip().endswith("\nNo changes.")


def test_markdown_plan_sections_and_closing_line() -> None:
    md = render_markdown(_plan())
    assert "<details><summary><b>acme</b>: 1 to add, 4 to change, 1 to destroy</summary>" in md
    assert "```diff\n~ tenant/acme\n" in md
    assert md.rstrip().splitlines()[-1] == "Plan: 1 to add, 4 to change, 1 to destroy."


def test_markdown_stays_under_the_comment_limit_with_many_tenants() -> None:
    template = _plan().tenants[0]
    tenants = [TenantPlan(f"tenant-{i:04d}", 1, list(template.changes) * 5) for i in range(1000)]
    plan = Plan(tenants, datetime.now(UTC), "tenants", "x")
    md = render_markdown(plan)
    assert len(md) < 65_536
    assert (
        md.rstrip().splitlines()[-1] == plan.counts.sentence() == render_text(plan).splitlines()[-1]
    )
    assert "more tenants with changes not shown" in md
    one = render_markdown(Plan(tenants[:1] * 1, datetime.now(UTC), "tenants", "x"), limit=1_000)
    assert len(one) <= 1_000 and "more lines not shown" in one


def test_plan_file_round_trip_and_schema() -> None:
    plan = _plan()
    text = planfile.dumps(plan)
    data = json.loads(text)
    assert data["formatVersion"] == 1
    assert data["tenants"][0]["baseRevision"] == 4
    assert data["tenants"][0]["sends"] == {"token/orders#value": "hmac-sha256:bbb"}
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    again = planfile.loads(text, "plan.json")
    assert again.tenants[0].changes == plan.tenants[0].changes
    assert again.counts == plan.counts


def test_plan_file_that_is_not_one() -> None:
    import pytest

    from hubops.errors import UsageError

    with pytest.raises(UsageError, match="is not a hubops plan file"):
        planfile.loads('{"formatVersion": 7}', "x.json")
