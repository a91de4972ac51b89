"""`import --out DIR` never writes through a link or over a file unasked; `--runtime` is checked.

Both take a name from the user and touch the file system or the network
with it, so what is wrong is said first, plainly, without echoing a password.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Repo

DB = "state.db"


@pytest.fixture
def applied(repo: Repo, hubops) -> Repo:  # type: ignore[no-untyped-def]
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    return repo


@pytest.mark.parametrize("name", ["acme?y=1", "nope/../acme", "acme#x", "Acme", "acme\n"])
def test_import_checks_the_tenant_name_before_any_request(
    applied: Repo, hubops, tmp_path: Path, name: str
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = hubops("import", "--tenant", name, "--out", str(out), "--runtime", "fresh.db")
    assert result.code == 1
    assert "--tenant is not a valid tenant name: use lowercase letters" in result.err
    assert not out.exists()
    assert not (applied.root / "fresh.db").exists()  # no runtime was even opened


def test_import_never_writes_through_a_link(applied: Repo, hubops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / "secrets.sops.yaml.example").symlink_to(victim)
    refused = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB)
    assert refused.code == 1
    assert "already holds manifests (secrets.sops.yaml.example)" in refused.err
    assert "--force" in refused.err
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["secrets.sops.yaml.example"]
    forced = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB, "--force")
    assert forced.code == 0, forced.text
    assert victim.read_text() == "precious\n"
    example = out / "secrets.sops.yaml.example"
    assert not example.is_symlink() and "credentials:" in example.read_text()


def test_import_does_not_overwrite_or_overlook_existing_files(
    applied: Repo, hubops, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    for existing in ("secrets.sops.yaml.example", "tenant.yml"):
        out = tmp_path / existing.replace(".", "-")
        out.mkdir()
        (out / existing).write_text("# mine\n")
        refused = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB)
        assert refused.code == 1, refused.text
        assert f"already holds manifests ({existing})" in refused.err
        assert sorted(p.name for p in out.iterdir()) == [existing]
        assert (out / existing).read_text() == "# mine\n"
    forced = hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", DB, "--force")
    assert forced.code == 0
    assert "also holds tenant.yml, which import did not write" in forced.err


@pytest.mark.parametrize(
    ("runtime", "says"),
    [
        ("/proc/x/y.db", "--runtime /proc/x/y.db: its folder /proc/x cannot be created"),
        (
            "/etc/hostname/x.db",
            "--runtime /etc/hostname/x.db: /etc/hostname is a file, not a folder",
        ),
        ("http://ci-user:S3CRET-PASS@127.0.0.1:9", "the URL holds a user name or password"),
        ("https://127.0.0.1:99999", "the URL is not valid"),
        ("ftp://127.0.0.1", '"ftp://" is not supported'),
    ],
)
def test_runtime_targets_that_cannot_work_are_explained(
    repo: Repo, hubops, runtime: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", "t")
    for args in (
        ("plan", "tenants", "--runtime", runtime),
        ("status", "--runtime", runtime),
        ("import", "--tenant", "acme", "--out", "x", "--runtime", runtime),
    ):
        result = hubops(*args)
        assert result.code == 1, args
        assert says in result.err, (args, result.err)
        assert "internal error" not in result.text
        assert "S3CRET-PASS" not in result.text and "ci-user" not in result.text
    monkeypatch.setenv("HUBOPS_RUNTIME", runtime)
    from_env = hubops("plan", "tenants")
    assert from_env.code == 1 and says in from_env.err
    assert "S3CRET-PASS" not in from_env.text
