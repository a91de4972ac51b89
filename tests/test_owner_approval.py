"""Which changes need an owner's approval, and how each plan format says so (SPEC 12).

The rule is checked clause by clause on hand-made changes; the formats on a
hand-made plan; the whole path (catalog -> plan -> text, Markdown, JSON, a
saved plan and `apply PLANFILE`) through the CLI against the embedded runtime.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import REPO, UNCHANGED_SINCE_APPLY, Repo
from hubops.fingerprint import marker
from hubops.manifest.models import Partner
from hubops.plan import planfile
from hubops.plan.approval import ApprovalContext, credential_partners, needs_owner_approval
from hubops.plan.model import PartnerInfo, Plan, ResourceChange, TenantPlan
from hubops.render.links import markdown_link
from hubops.render.markdown import render_markdown
from hubops.render.text import render_text
from hubops.state import Action, Body

PARTNERS = {
    "xero": Partner(id="xero", name="Xero", category="accounting"),
    "stampme": Partner(id="stampme", name="StampMe", category="loyalty"),
    "ubereats": Partner(id="ubereats", name="Uber Eats", category="online-ordering"),
    "hubspot": Partner(id="hubspot", name="HubSpot", category="crm"),
    "opentable": Partner(id="opentable", name="OpenTable", category="reservations"),
    "marketman": Partner(id="marketman", name="MarketMan", category="inventory"),
    "resy": Partner(id="resy", name="Resy", category="reservations", live_operations=True),
}


def integration(partner: str, credentials: str | None = None, enabled: bool = True) -> Body:
    return {
        "partner": partner,
        "enabled": enabled,
        "config": {},
        "shopId": None,
        "credentials": credentials,
    }


def token(*scopes: str, fp: str = "hmac-sha256:t1") -> Body:
    return {"scopes": list(scopes), "stores": None, "expiresAt": None, "value": marker(fp)}


def change(address: str, action: Action, before: Body | None, after: Body | None) -> ResourceChange:
    return ResourceChange(address, action, before, after)


def context(*states: dict[str, Body]) -> ApprovalContext:
    return ApprovalContext(PARTNERS, credential_partners(states))


# --- the rule, clause by clause --------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "expected"),
    [
        ("xero", True),  # accounting
        ("stampme", True),  # loyalty
        ("ubereats", True),  # online-ordering
        ("hubspot", False),  # crm
        ("opentable", False),  # reservations
        ("marketman", False),  # inventory
        ("resy", True),  # reservations, but liveOperations: true
    ],
)
@pytest.mark.parametrize("action", ["create", "update"])
def test_integrations_by_partner_category_and_live_operations(
    partner: str, expected: bool, action: Action
) -> None:
    before = integration(partner) if action == "update" else None
    after = integration(partner, enabled=False)
    addr = f"integration/{partner}@acme-001"
    assert needs_owner_approval(change(addr, action, before, after), context()) is expected


@pytest.mark.parametrize(
    ("partner", "expected"),
    [("xero", True), ("stampme", True), ("ubereats", True), ("hubspot", False), ("resy", True)],
)
def test_credentials_take_the_partner_of_the_integrations_naming_them(
    partner: str, expected: bool
) -> None:
    desired = {"integration/books@acme-001": integration(partner, credentials="books")}
    rotated = change(
        "credentials/books",
        "update",
        {"fields": {"key": marker("hmac-sha256:1")}},
        {"fields": {"key": marker("hmac-sha256:2")}},
    )
    assert needs_owner_approval(rotated, context(desired, {})) is expected
    created = change("credentials/books", "create", None, {"fields": {"key": marker("f")}})
    assert needs_owner_approval(created, context(desired, {})) is expected


def test_credentials_moving_away_from_a_sensitive_partner_still_need_approval() -> None:
    # Live: the credentials belong to Xero; desired: to HubSpot. Either side counts.
    live = {"integration/shared@acme-001": integration("xero", credentials="shared")}
    desired = {"integration/shared@acme-001": integration("hubspot", credentials="shared")}
    creds = change(
        "credentials/shared",
        "update",
        {"fields": {"key": marker("a")}},
        {"fields": {"key": marker("b")}},
    )
    assert needs_owner_approval(creds, context(desired, live))
    moved = change(
        "integration/shared@acme-001",
        "update",
        live["integration/shared@acme-001"],
        desired["integration/shared@acme-001"],
    )
    assert needs_owner_approval(moved, context(desired, live))
    # Only HubSpot on both sides: no approval.
    calm = {"integration/shared@acme-001": integration("hubspot", credentials="shared")}
    assert not needs_owner_approval(creds, context(calm, calm))


def test_a_partner_missing_from_the_catalog_counts_as_needing_approval() -> None:
    gone = change(
        "integration/old@acme-001",
        "update",
        integration("retired-partner"),
        integration("retired-partner", enabled=False),
    )
    assert needs_owner_approval(gone, context())


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, token("orders:read", "catalog:read"), False),  # a read-only token, created
        (token("orders:read"), token("orders:read", fp="hmac-sha256:t2"), False),  # rotated
        (None, token("orders:read", "orders:write"), True),  # a write token, created
        (token("catalog:write"), token("catalog:write", fp="hmac-sha256:t2"), True),
        (token("orders:read", "promotions:write"), token("orders:read"), True),  # write before
        (token("orders:read"), token("orders:read", "catalog:write"), True),  # write after
    ],
)
def test_tokens_with_a_write_scope_before_or_after(
    before: Body | None, after: Body, expected: bool
) -> None:
    action: Action = "create" if before is None else "update"
    assert needs_owner_approval(change("token/app", action, before, after), context()) is expected


def test_every_webhook_change_and_the_license() -> None:
    hook = {"url": "https://pos.example/h", "events": ["order.created"], "stores": None}
    assert needs_owner_approval(change("webhook/pos", "create", None, hook), context())
    assert needs_owner_approval(
        change("webhook/pos", "update", hook, {**hook, "enabled": True}), context()
    )
    license_ = {"quantity": 2, "stores": ["acme-001"]}
    assert needs_owner_approval(
        change("license/integrationHub", "create", None, license_), context()
    )
    assert needs_owner_approval(
        change("license/integrationHub", "update", license_, {**license_, "quantity": 3}),
        context(),
    )


@pytest.mark.parametrize(
    ("address", "before"),
    [
        ("store/acme-002", {"name": "Airport", "timezone": "UTC"}),
        ("admin/ops@acme.example", {"role": "admin"}),
        ("integration/hubspot@acme-001", integration("hubspot")),
        ("token/readonly", token("orders:read")),
        ("credentials/hubspot", {"fields": {"k": marker("x")}}),
        ("sftp-user/warehouse", {"publicKeys": ["ssh-ed25519 AAAA"]}),  # any kind, even new ones
    ],
)
def test_every_delete_needs_approval(address: str, before: Body) -> None:
    assert needs_owner_approval(change(address, "delete", before, None), context())


@pytest.mark.parametrize(
    ("address", "action", "before", "after"),
    [
        ("tenant/acme", "update", {"displayName": "A"}, {"displayName": "Acme"}),
        ("store/acme-002", "create", None, {"name": "Airport", "timezone": "UTC"}),
        ("admin/new@acme.example", "create", None, {"role": "owner"}),
        ("integration/hubspot@acme-001", "create", None, integration("hubspot")),
    ],
)
def test_changes_that_need_no_approval(
    address: str, action: Action, before: Body | None, after: Body
) -> None:
    assert not needs_owner_approval(change(address, action, before, after), context())


# --- the three formats, on a hand-made plan --------------------------------------------


def _plan() -> Plan:
    acme = TenantPlan(
        "acme",
        3,
        [
            ResourceChange("store/acme-002", "create", after={"name": "Airport"}),
            ResourceChange(
                "integration/xero@acme-001",
                "create",
                after=integration("xero"),
                owner_approval=True,
            ),
            ResourceChange(
                "webhook/pos", "delete", before={"url": "https://x.example"}, owner_approval=True
            ),
        ],
        partners={
            "xero": PartnerInfo("Xero", "https://developer.xero.com/documentation/"),
            "hubspot": PartnerInfo("HubSpot CRM", None),
        },
    )
    bella = TenantPlan(
        "bella",
        1,
        [ResourceChange("license/integrationHub", "update", owner_approval=True)],
    )
    calm = TenantPlan("calm", 2, [ResourceChange("tenant/calm", "update")])
    quiet = TenantPlan("quiet", 5, [])
    return Plan([acme, bella, calm, quiet], datetime(2026, 11, 25, tzinfo=UTC), "tenants", "x")


def test_text_plan_marks_the_lines() -> None:
    text = render_text(_plan())
    assert "  + store/acme-002\n" in text
    assert "  + integration/xero@acme-001  (owner approval)\n" in text
    assert "  - webhook/pos  (owner approval)\n" in text
    assert "  ~ license/integrationHub  (owner approval)\n" in text
    assert "  ~ tenant/calm\n" in text
    assert text.endswith("1 tenant unchanged.\nPlan: 2 to add, 2 to change, 1 to destroy.\n")
    coloured = render_text(_plan(), color=True)
    assert any(
        line.endswith("integration/xero@acme-001\x1b[0m  (owner approval)")
        for line in coloured.splitlines()
    ), coloured


def test_markdown_plan_marks_counts_and_links() -> None:
    md = render_markdown(_plan())
    assert "\n+ integration/xero@acme-001  (owner approval)\n" in md
    assert "\n+ store/acme-002\n" in md
    lines = md.rstrip("\n").splitlines()
    assert lines[-1] == "Plan: 2 to add, 2 to change, 1 to destroy."
    assert lines[-3] == "Needs owner approval: 3 changes in 2 tenants."
    assert md.count("Needs owner approval:") == 1
    # Partners link to their guides (sorted by name); one without a guide is plain text.
    assert (
        "Partners: HubSpot CRM, [Xero](https://developer.xero.com/documentation/)\n\n</details>"
        in md
    )


def test_markdown_without_approvals_has_no_count_line() -> None:
    plan = Plan(
        [TenantPlan("calm", 2, [ResourceChange("tenant/calm", "update")])], _now(), "t", "x"
    )
    md = render_markdown(plan)
    assert "owner approval" not in md.lower()
    assert md.rstrip().splitlines()[-1] == "Plan: 0 to add, 1 to change, 0 to destroy."


def test_markdown_singular_count() -> None:
    plan = Plan(
        [TenantPlan("a", 1, [ResourceChange("webhook/x", "create", owner_approval=True)])],
        _now(),
        "t",
        "x",
    )
    assert "\nNeeds owner approval: 1 changes in 1 tenants.\n\nPlan: 1 to add" in render_markdown(
        plan
    )


def _now() -> datetime:
    return datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        ("Xero", "https://developer.xero.com/docs", "[Xero](https://developer.xero.com/docs)"),
        # markup in the name is escaped, so it cannot open a link, an image or HTML
        ("](javascript:alert(1)) <b>", None, r"\]\(javascript:alert\(1\)\) &lt;b&gt;"),
        # only https becomes a link
        ("Evil", "javascript:alert(1)", "Evil"),
        ("Plain", "http://partner.example/docs", "Plain"),
        ("Data", "data:text/html,<script>", "Data"),
        ("NoHost", "https:///path", "NoHost"),
        # characters that could end the link or start markup are percent-encoded
        (
            "P",
            'https://p.example/a)(b "c" <d>\\e',
            "[P](https://p.example/a%29%28b%20%22c%22%20%3Cd%3E%5Ce)",
        ),
        ("Ü", "https://p.example/ü?q=1#x", "[Ü](https://p.example/%C3%BC?q=1#x)"),
    ],
)
def test_partner_links_are_safe(name: str, url: str | None, expected: str) -> None:
    assert markdown_link(name, url) == expected


def test_json_plan_carries_flags_counts_and_partners_and_round_trips() -> None:
    plan = _plan()
    text = planfile.dumps(plan)
    data = json.loads(text)
    jsonschema.validate(data, json.loads((REPO / "schemas" / "plan.schema.json").read_text()))
    assert data["ownerApprovals"] == 3
    by_name = {t["name"]: t for t in data["tenants"]}
    assert [t["ownerApprovals"] for t in data["tenants"]] == [2, 1, 0, 0]
    assert [c["ownerApproval"] for c in by_name["acme"]["changes"]] == [False, True, True]
    assert by_name["acme"]["partners"]["xero"] == {
        "name": "Xero",
        "docsUrl": "https://developer.xero.com/documentation/",
    }
    again = planfile.loads(text, "plan.json")
    assert [t.changes for t in again.tenants] == [t.changes for t in plan.tenants]
    assert again.owner_approvals == 3 and again.approval_tenants == 2
    assert render_markdown(again) == render_markdown(plan)
    assert render_text(again) == render_text(plan)


def test_a_plan_file_without_the_flags_is_refused() -> None:
    data = json.loads(planfile.dumps(_plan()))
    del data["tenants"][0]["changes"][0]["ownerApproval"]
    with pytest.raises(Exception, match=r"ownerApproval: Field required; make it with"):
        planfile.loads(json.dumps(data), "old.json")


# --- the catalog ------------------------------------------------------------------------


def test_the_example_catalog_links_every_partner_and_marks_live_operations() -> None:
    doc = yaml.safe_load((REPO / "examples" / "catalog.yaml").read_text())
    partners = doc["spec"]["partners"]
    assert all(str(p.get("docsUrl", "")).startswith("https://") for p in partners), partners
    assert any(p.get("liveOperations") is True for p in partners)


# --- end to end: catalog -> plan -> formats, saved plan, apply --------------------------

DB = "state.db"


def plan(hubops: Any, *extra: str) -> Any:
    return hubops("plan", "tenants", "--runtime", DB, "--no-color", *extra)


def test_the_cli_plan_in_every_format_and_apply_of_the_saved_plan(repo: Repo, hubops: Any) -> None:
    catalog = repo.root / "catalog.yaml"
    text = catalog.read_text()
    text = text.replace(
        "      name: OpenTable\n",
        "      name: OpenTable\n      docsUrl: https://docs.opentable.example/guide\n",
    )
    text = text.replace(
        "      name: Xero\n", "      name: Xero\n      docsUrl: https://xero.example/\n"
    )
    catalog.write_text(text)
    first = plan(hubops, "--detailed-exitcode")
    assert first.code == 2, first.text
    out = first.out
    # accounting, a write token, a webhook and the license need approval; a reservations
    # partner, stores, the tenant and its admin do not
    for needed in [
        "+ license/integrationHub",
        "+ integration/xero@acme-001",
        "+ credentials/xero",
        "+ token/order-management",
        "+ webhook/orders-to-pos",
    ]:
        assert f"  {needed}  (owner approval)\n" in out, out
    for calm in [
        "+ tenant/acme",
        "+ store/acme-001",
        "+ admin/ops@acme.example",
        "+ integration/opentable@acme-001",
        "+ credentials/opentable",
    ]:
        assert f"  {calm}\n" in out, out
    assert out.count("(owner approval)") == 6

    md = plan(hubops, "--format", "markdown").out
    assert "Needs owner approval: 6 changes in 1 tenants.\n\nPlan: 13 to add" in md
    assert (
        "Partners: [OpenTable](https://docs.opentable.example/guide), [Xero](https://xero.example/)"
        in md
    )

    saved = plan(hubops, "--out", "plan.json", "--format", "json")
    data = json.loads(Path("plan.json").read_text())
    assert json.loads(saved.out) == data
    assert data["ownerApprovals"] == data["tenants"][0]["ownerApprovals"] == 6
    flags = {c["address"]: c["ownerApproval"] for c in data["tenants"][0]["changes"]}
    assert flags["integration/opentable@acme-001"] is False and flags["token/order-management"]

    applied = hubops("apply", "plan.json", "--runtime", DB)
    assert applied.code == 0, applied.text
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY

    # liveOperations: true turns the reservations partner's changes into approvals
    catalog.write_text(
        catalog.read_text().replace(
            "      category: reservations\n",
            "      category: reservations\n      liveOperations: true\n",
        )
    )
    repo.edit("integrations.yaml", "acme-001: OT-1", "acme-001: OT-2")
    again = plan(hubops, "--detailed-exitcode")
    assert again.code == 2
    assert "  ~ integration/opentable@acme-001  (owner approval)\n" in again.out
    # a read-only token is no approval; the exit code stays 2 for changes either way
    repo.edit("integrations.yaml", "acme-001: OT-2", "acme-001: OT-1")
    repo.edit("api.yaml", "scopes: [orders:read, orders:write]", "scopes: [orders:read]")
    write_removed = plan(hubops, "--detailed-exitcode")
    assert "  ~ token/order-management  (owner approval)\n" in write_removed.out  # write before
    assert hubops("apply", "tenants", "--runtime", DB, "--auto-approve").code == 0
    repo.edit("api.yaml", "expiresAt: 2099-12-31T00:00:00Z", "expiresAt: 2098-12-31T00:00:00Z")
    read_only = plan(hubops, "--detailed-exitcode")
    assert read_only.code == 2
    assert "  ~ token/order-management\n" in read_only.out
    assert "owner approval" not in plan(hubops, "--format", "markdown").out.lower()


def test_catalog_docs_url_must_be_https(repo: Repo, hubops: Any) -> None:
    catalog = repo.root / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "      name: Xero\n", "      name: Xero\n      docsUrl: javascript:alert(1)\n"
        )
    )
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert "catalog.yaml" in result.text and "docsUrl" in result.text
