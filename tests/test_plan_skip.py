"""A tenant unchanged since its last apply is reported so without being parsed (SPEC 8).

What makes it parsed again: a change to any one of its files, to the partner
catalog, to its live state (the revision moved), or another hubops version;
and `plan --full` always parses every tenant.
"""

from __future__ import annotations

import json

import pytest

from conftest import UNCHANGED_SINCE_APPLY, Repo

DB = "state.db"


def apply(hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("apply", "tenants", "--auto-approve", "--runtime", DB)
    assert result.code == 0, result.text


def plan_json(hubops, *extra: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = hubops("plan", "tenants", "--runtime", DB, "--format", "json", *extra)
    assert result.code == 0, result.text
    data: dict = json.loads(result.out)  # type: ignore[type-arg]
    return data


def test_unchanged_tenant_is_reported_without_parsing(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    assert plan_json(hubops)["skipped"] == 0  # not applied yet
    apply(hubops)
    assert hubops("plan", "tenants", "--runtime", DB).out == UNCHANGED_SINCE_APPLY
    data = plan_json(hubops)
    assert data["skipped"] == 1 and data["tenants"][0]["skipped"] is True
    assert data["tenants"][0]["changes"] == []
    markdown = hubops("plan", "tenants", "--runtime", DB, "--format", "markdown").out
    assert "1 tenant unchanged (1 not parsed: as at its last apply)." in markdown


def test_an_unchanged_tenant_is_not_even_read_for_errors(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    # Its files are byte-for-byte those applied, so not parsing them is exact; but the
    # moment one changes, the tenant is parsed and every error is found again.
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: [unclosed")
    failed = hubops("plan", "tenants", "--runtime", DB)
    assert failed.code == 1 and "tenant.yaml" in failed.err


@pytest.mark.parametrize("name", ["tenant.yaml", "integrations.yaml", "api.yaml"])
def test_a_change_in_any_one_file_parses_the_tenant(repo: Repo, hubops, name: str) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    path = repo.file(name)
    path.write_text(path.read_text() + "# reviewed\n")  # no change to the desired state
    data = plan_json(hubops)
    assert data["skipped"] == 0 and data["tenants"][0]["changes"] == []
    # apply records the new digest (nothing else), so the next plan skips it again
    assert data["tenants"][0]["configDigest"] is not None
    apply(hubops)
    assert hubops("plan", "tenants", "--runtime", DB).out == UNCHANGED_SINCE_APPLY


def test_a_changed_secrets_file_parses_the_tenant(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    repo.set_secrets(repo.secrets)  # encrypted again: same values, other bytes
    data = plan_json(hubops)
    assert data["skipped"] == 0 and data["tenants"][0]["secretsDigest"] is not None


def test_a_changed_catalog_parses_every_tenant(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    catalog = repo.root / "catalog.yaml"
    catalog.write_text(catalog.read_text() + "# reviewed\n")
    assert plan_json(hubops)["skipped"] == 0


def test_a_live_change_parses_the_tenant_and_shows_the_drift(repo: Repo, hubops, tmp_path) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    # Someone applies other files to the same runtime: the live revision moves.
    other = tmp_path / "other"
    (other / "tenants").mkdir(parents=True)
    (other / "catalog.yaml").write_text((repo.root / "catalog.yaml").read_text())
    copy = other / "tenants" / "acme"
    copy.mkdir()
    for path in repo.tenant.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    text = (copy / "tenant.yaml").read_text()
    (copy / "tenant.yaml").write_text(text.replace("displayName: Acme Burgers", "displayName: X"))
    result = hubops("apply", str(other / "tenants"), "--auto-approve", "--runtime", DB)
    assert result.code == 0, result.text
    planned = hubops("plan", "tenants", "--runtime", DB, "--no-color")
    assert 'displayName: "X" -> "Acme Burgers"' in planned.out, planned.out
    assert "not parsed" not in planned.out


def test_another_hubops_version_parses_the_tenant(
    repo: Repo, hubops, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    monkeypatch.setattr("hubops.manifest.snapshot.__version__", "99.0.0")
    assert plan_json(hubops)["skipped"] == 0


def test_full_parses_every_tenant(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    apply(hubops)
    assert hubops("plan", "tenants", "--runtime", DB, "--full").out == "No changes.\n"
    assert plan_json(hubops, "--full")["skipped"] == 0
    status = hubops("status", "--runtime", DB, "--drift", "tenants")
    assert status.code == 0 and "in-sync" in status.out, status.text
