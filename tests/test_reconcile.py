"""plan / apply / import end to end, against the embedded runtime (a SQLite file).

The remote mode (`hubops serve` under uvicorn) is covered in test_reconcile_remote.py;
both go through the same client code and HTTP routes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from conftest import UNCHANGED_SINCE_APPLY, Repo, default_secrets
from hubops.client import RuntimeClient
from hubops.plan.model import TenantPlan
from hubops.reconcile import apply_tenants, make_plan
from hubops.tokens import new_token, new_webhook_secret

DB = "state.db"


def apply(hubops, *extra: str):  # type: ignore[no-untyped-def]
    return hubops("apply", "tenants", "--auto-approve", "--runtime", DB, *extra)


def plan(hubops, *extra: str):  # type: ignore[no-untyped-def]
    return hubops("plan", "tenants", "--runtime", DB, "--no-color", *extra)


def assert_no_secrets(repo: Repo, *texts: str) -> None:
    for text in texts:
        for secret in repo.secret_values():
            assert secret not in text


def test_apply_then_plan_shows_no_changes(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    first = plan(hubops, "--detailed-exitcode")
    assert first.code == 2, first.text
    assert "Tenant acme (new)" in first.out
    assert "  + credentials/xero  (owner approval)\n" in first.out
    assert "  + integration/xero@acme-002  (owner approval)\n" in first.out
    assert first.out.endswith("Plan: 13 to add, 0 to change, 0 to destroy.\n")
    result = apply(hubops)
    assert result.code == 0, result.text
    assert "acme: applied (revision 1)" in result.out
    assert "Apply complete! Resources: 13 added, 0 changed, 0 destroyed." in result.out
    again = plan(hubops, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert again.out == UNCHANGED_SINCE_APPLY
    assert_no_secrets(repo, first.text, result.text, again.text)


def test_updates_and_deletes_of_every_kind(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: Acme Burgers GmbH")
    repo.edit("tenant.yaml", "instantOrdering: true", "instantOrdering: false")
    repo.edit(
        "tenant.yaml",
        "      name: Acme Airport\n",
        "      name: Acme Airport T2\n      timezone: Europe/Berlin\n",
    )
    repo.edit(
        "tenant.yaml",
        "    - email: ops@acme.example\n      role: owner\n",
        "    - email: boss@acme.example\n      role: owner\n",
    )
    repo.edit("tenant.yaml", "quantity: 2", "quantity: 3")
    repo.edit("integrations.yaml", 'companyId: "12345"', 'companyId: "67890"')
    repo.edit(
        "integrations.yaml", "stores: [acme-001, acme-002]", "stores: [acme-001]\n  enabled: false"
    )
    repo.edit("integrations.yaml", "  enabled: true\n", "")
    repo.edit("integrations.yaml", "acme-001: OT-1", "acme-001: OT-99")
    repo.edit("api.yaml", "scopes: [orders:read, orders:write]", "scopes: [orders:read]")
    repo.edit(
        "api.yaml",
        "https://pos.acme.example/hooks/orders",
        "https://pos2.acme.example/hooks/orders",
    )
    repo.edit("api.yaml", "  stores: [acme-001]\n  enabled: true", "  enabled: false")
    result = plan(hubops)
    out = result.out
    assert result.code == 0, result.text
    for line in [
        "  ~ tenant/acme\n",
        '      displayName: "Acme Burgers" -> "Acme Burgers GmbH"\n',
        "      settings.instantOrdering: true -> false\n",
        "  ~ store/acme-002\n",
        '      name: "Acme Airport" -> "Acme Airport T2"\n',
        '      timezone: "UTC" -> "Europe/Berlin"\n',
        "  ~ license/integrationHub  (owner approval)\n      quantity: 2 -> 3\n",
        "  + admin/boss@acme.example\n",
        "  - admin/ops@acme.example  (owner approval)\n",
        '      config.companyId: "12345" -> "67890"\n',
        "      enabled: true -> false\n",
        "  - integration/xero@acme-002  (owner approval)\n",
        '      shopId: "OT-1" -> "OT-99"\n',
        '      scopes: ["orders:read", "orders:write"] -> ["orders:read"]\n',
        '      url: "https://pos.acme.example/hooks/orders" -> "https://pos2.acme.example/hooks/orders"\n',
        '      stores: ["acme-001"] -> null\n',
    ]:
        assert line in out, f"{line!r} missing in:\n{out}"
    assert out.endswith("Plan: 1 to add, 7 to change, 2 to destroy.\n")
    assert apply(hubops).code == 0
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY
    # delete whole resources: a token, a webhook, an integration and its credentials
    repo.write("api.yaml", "")
    repo.edit(
        "integrations.yaml",
        "---\napiVersion: hubops/v1\nkind: Integration\nmetadata:\n  name: opentable",
        "---\napiVersion: hubops/v1\nkind: Integration\nmetadata:\n  name: opentable",
    )
    text = repo.file("integrations.yaml").read_text()
    repo.write("integrations.yaml", text.split("---\n")[0])
    secrets = default_secrets()
    del secrets["credentials"]["opentable"]  # type: ignore[attr-defined]
    secrets["tokens"], secrets["webhooks"] = {}, {}
    repo.set_secrets(secrets)
    result = plan(hubops)
    for line in [
        "  - credentials/opentable  (owner approval)\n",
        "  - integration/opentable@acme-001  (owner approval)\n",
        "  - token/order-management  (owner approval)\n",
        "  - webhook/orders-to-pos  (owner approval)\n",
    ]:
        assert line in result.out
    assert result.out.endswith("Plan: 0 to add, 0 to change, 4 to destroy.\n")
    assert apply(hubops).code == 0
    assert plan(hubops, "--detailed-exitcode").code == 0


def test_secret_rotation_is_sensitive_and_never_printed(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    secrets = repo.secrets
    old = list(repo.secret_values())
    secrets["credentials"]["xero"]["secret_key"] = "rotated-TESTSECRET5"  # type: ignore[index]
    secrets["tokens"]["order-management"] = new_token()  # type: ignore[index]
    secrets["webhooks"]["orders-to-pos"] = new_webhook_secret()  # type: ignore[index]
    repo.set_secrets(secrets)
    result = plan(hubops, "--out", "plan.json")
    assert result.code == 0
    assert (
        "  ~ credentials/xero  (owner approval)\n      fields.secret_key: (sensitive value changed)\n"
        in result.out
    )
    assert (
        "  ~ token/order-management  (owner approval)\n      value: (sensitive value changed)\n"
        in result.out
    )
    assert (
        "  ~ webhook/orders-to-pos  (owner approval)\n      secret: (sensitive value changed)\n"
        in result.out
    )
    markdown = plan(hubops, "--format", "markdown").out
    as_json = plan(hubops, "--format", "json").out
    saved = Path("plan.json").read_text()
    assert json.loads(saved)["tenants"][0]["sends"].keys() == {
        "credentials/xero#secret_key",
        "token/order-management#value",
        "webhook/orders-to-pos#secret",
    }
    applied = hubops("apply", "plan.json", "--runtime", DB)
    assert applied.code == 0, applied.text
    database = Path(DB).read_bytes() + b"".join(
        p.read_bytes() for p in Path(".").glob("state.db-*")
    )
    for secret in [*old, *repo.secret_values()]:
        for text in (result.text, markdown, as_json, saved, applied.text):
            assert secret not in text
        assert secret.encode() not in database


def test_saved_plan_applies_exactly_or_refuses(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: Acme One")
    assert plan(hubops, "--out", "one.json").code == 0
    # the manifests move on after the plan: the saved plan no longer describes them
    repo.edit("tenant.yaml", "displayName: Acme One", "displayName: Acme Two")
    moved = hubops("apply", "one.json", "--runtime", DB)
    assert moved.code == 1
    assert "the manifests or secrets of tenant acme changed since the plan was made" in moved.err
    repo.edit("tenant.yaml", "displayName: Acme Two", "displayName: Acme One")
    # the live state moves on after the plan: stale
    assert plan(hubops, "--out", "two.json").code == 0
    assert hubops("apply", "one.json", "--runtime", DB).code == 0
    stale = hubops("apply", "two.json", "--runtime", DB)
    assert stale.code == 1
    assert (
        "tenant acme changed in the runtime since the plan was made (revision 1 then, 2 now)"
        in stale.err
    )
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY
    other = hubops("apply", "one.json", "--runtime", "elsewhere.db")
    assert other.code == 1 and "the plan was made against" in other.err


def test_apply_needs_confirmation_or_auto_approve(
    repo: Repo, hubops, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    result = hubops("apply", "tenants", "--runtime", DB)
    assert result.code == 1
    assert "refusing to apply without confirmation" in result.err
    assert not Path(DB).exists() or plan(hubops, "--detailed-exitcode").code == 2


def test_destroy_guards(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    repo.edit("integrations.yaml", "stores: [acme-001, acme-002]", "stores: [acme-001]")
    limited = apply(hubops, "--max-destroy", "0")
    assert limited.code == 1 and "more than --max-destroy (0)" in limited.err
    assert apply(hubops, "--max-destroy", "0", "--allow-destroy").code == 0
    # renaming every store would delete everything the tenant has
    for path in repo.tenant.glob("*.yaml"):
        if not path.name.endswith(".sops.yaml"):
            path.write_text(path.read_text().replace("acme-00", "acme-10"))
    wiped = apply(hubops, "--max-destroy", "100")
    assert wiped.code == 1 and "would delete every store of tenant acme" in wiped.err


def test_unmanaged_tenants_are_left_alone(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    other = repo.tenants.parent / "other-root"
    (other / "tenants").mkdir(parents=True)
    (other / "catalog.yaml").write_text((repo.root / "catalog.yaml").read_text())
    (other / "tenants" / "beta").mkdir()
    (other / "tenants" / "beta" / "tenant.yaml").write_text(
        "apiVersion: hubops/v1\nkind: Tenant\nmetadata: {name: beta}\n"
        "spec: {displayName: Beta, plan: pro, stores: [{id: b-1, name: B}]}\n"
    )
    result = hubops("apply", str(other / "tenants"), "--auto-approve", "--runtime", DB)
    assert result.code == 0, result.text
    assert "acme" not in result.out
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY


def test_unchanged_secrets_are_not_decrypted(
    repo: Repo, hubops, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    monkeypatch.setenv("HUBOPS_SOPS", "/bin/false")  # any sops call would fail the plan
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: Acme X")
    changed = plan(hubops)
    assert changed.code == 0 and "displayName" in changed.out
    assert apply(hubops).code == 0
    # touching the secrets file means it must be decrypted again
    monkeypatch.delenv("HUBOPS_SOPS")
    repo.set_secrets(repo.secrets)
    monkeypatch.setenv("HUBOPS_SOPS", "/bin/false")
    failed = plan(hubops)
    assert failed.code == 1 and "cannot be decrypted" in failed.text


def test_one_failing_tenant_leaves_the_others_applied(repo: Repo, tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, int | None, str | None]]:
        async with RuntimeClient.open(DB) as client:
            planned = await make_plan(client, Path("tenants"), None, None)
            good = planned.plan.tenants[0]
            bad = TenantPlan("acme", 99, good.changes, sends=good.sends)
            ghost = TenantPlan("ghost", 0, [])
            results = await apply_tenants(
                client, [bad, good, ghost], {"acme": planned.project.tenants["acme"]}, None
            )
            return [(r.name, r.revision, r.error) for r in results]

    results = asyncio.run(scenario())
    assert (
        results[0][0] == "acme" and results[0][2] is not None and "run plan again" in results[0][2]
    )
    assert results[1] == ("acme", 1, None)
    assert len(results) == 2  # a tenant with nothing to do is not sent


def test_import_round_trips(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    out = repo.tenants.parent / "imported" / "tenants" / "acme"
    result = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB)
    assert result.code == 0, result.text
    assert sorted(p.name for p in out.iterdir()) == [
        "api.yaml",
        "integrations.yaml",
        "secrets.sops.yaml.example",
        "tenant.yaml",
    ]
    example = (out / "secrets.sops.yaml.example").read_text()
    assert '  xero:\n    client_id: ""\n    secret_key: ""\n' in example
    assert "order-management" in example and "orders-to-pos" in example
    assert_no_secrets(repo, example, result.text, *(p.read_text() for p in out.glob("*.yaml")))
    # with the secrets filled in (here: the original encrypted file), it plans to no changes
    (out / "secrets.sops.yaml").write_bytes(repo.file("secrets.sops.yaml").read_bytes())
    (out.parent.parent / "catalog.yaml").write_text((repo.root / "catalog.yaml").read_text())
    assert hubops("validate", str(out.parent)).code == 0
    again = hubops("plan", str(out.parent), "--runtime", DB, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert again.out == "No changes.\n"  # files written by import: parsed, and in sync
    refused = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB)
    assert refused.code == 1 and "already holds manifests" in refused.err
    missing = hubops("import", "--tenant", "nobody", "--out", "x", "--runtime", DB)
    assert missing.code == 1 and "holds no tenant named nobody" in missing.err


def test_state_in_the_database_has_no_plaintext(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    with sqlite3.connect(DB) as db:
        dump = "\n".join(db.iterdump())
    assert "order-management" in dump  # the state is there ...
    assert_no_secrets(repo, dump)  # ... but no secret value


def test_lost_master_key_is_refused_not_silently_replaced(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert apply(hubops).code == 0
    key = Path("master.key")
    assert key.exists()
    key.rename("master.key.saved")
    result = plan(hubops)
    assert result.code == 1
    assert "the master key does not open the secrets this database already holds" in result.err
    assert not key.exists()  # the refused start keeps no replacement key
    Path("master.key.saved").rename(key)
    assert plan(hubops, "--detailed-exitcode").out == UNCHANGED_SINCE_APPLY
