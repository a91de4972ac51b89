"""Folder-level problems: empty folders, missing Tenant documents, catalog and root errors."""

from __future__ import annotations

from conftest import Repo


def test_empty_tenant_folder(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    (repo.tenants / "empty").mkdir()
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert "tenants/empty: error: tenant folder has no manifests; add a tenant.yaml" in result.out


def test_folder_without_tenant_document(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    folder = repo.tenants / "other"
    folder.mkdir()
    (folder / "api.yaml").write_text(
        "apiVersion: hubops/v1\nkind: ApiToken\nmetadata: {name: t}\nspec: {scopes: [orders:read]}\n"
    )
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert (
        "tenants/other: error: tenant folder has no Tenant document; add one (kind: Tenant, metadata.name: other)"
        in result.out
    )


def test_document_that_is_not_a_mapping(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.write("notes.yaml", "- just\n- a list\n")
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert "tenants/acme/notes.yaml:1:1: error: a manifest document must be a mapping" in result.out


def test_missing_catalog(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    (repo.root / "catalog.yaml").unlink()
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert "catalog.yaml: error: partner catalog not found" in result.out
    assert "--catalog" in result.out


def test_catalog_flag_and_duplicate_partner(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    text = (repo.root / "catalog.yaml").read_text()
    (repo.root / "catalog.yaml").unlink()
    other = repo.root / "partners.yaml"
    other.write_text(text + "    - {id: xero, name: Xero again, category: accounting}\n")
    result = hubops("validate", "tenants", "--catalog", "partners.yaml")
    assert result.code == 1
    assert f"partners.yaml:{len(text.splitlines()) + 1}:" in result.out
    assert 'partner id "xero" is listed twice' in result.out


def test_broken_catalog_does_not_cascade(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    catalog = repo.root / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("category: accounting", "category: bookkeeping"))
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert "spec.partners[0].category must be one of" in result.out
    assert "is not in the partner catalog" not in result.out


def test_root_that_does_not_exist(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("validate", "no-such-dir")
    assert result.code == 1
    assert result.err.startswith('Error: tenants root "no-such-dir" is not a folder')


def test_tenant_filter(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    (repo.tenants / "broken").mkdir()
    assert hubops("validate", "tenants", "--tenant", "acme").code == 0
    result = hubops("validate", "tenants", "--tenant", "acm")
    assert result.code == 1
    assert (
        'Error: --tenant "acm" has no folder in the tenants root; did you mean "acme"?'
        in result.err
    )


def test_hidden_files_and_sops_config_are_not_manifests(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    (repo.tenant / ".sops.yaml").write_text("creation_rules: []\n")
    (repo.tenant / "README.md").write_text("notes\n")
    (repo.tenants / ".git-keep").mkdir()
    result = hubops("validate", "tenants")
    assert result.code == 0, result.text
