"""Choosing tenants for a run: --changed-since (git), --shard K/N; and status, check-encrypted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import Repo, default_secrets, sops_encrypt
from hubops.selection import in_shard

DB = "state.db"


def _add_tenant(repo: Repo, name: str) -> Path:
    folder = repo.tenants / name
    shutil.copytree(repo.tenant, folder)
    tenant = folder / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("  name: acme\n", f"  name: {name}\n"))
    # API tokens are unique across the runtime: each tenant gets its own secrets
    sops_encrypt(default_secrets(), folder / "secrets.sops.yaml", repo.key.recipient)
    return folder


def _git(repo: Repo, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo.root, check=True, capture_output=True)


def _init_git(repo: Repo) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", ".")
    _git(repo, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "base")


def test_changed_since_plans_only_changed_tenants(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    for name in ("beta", "gamma"):
        _add_tenant(repo, name)
    _init_git(repo)
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    nothing = hubops("plan", "tenants", "--runtime", DB, "--changed-since", "HEAD")
    assert nothing.code == 0 and nothing.out == "No changes.\n"
    assert "no tenant folder changed since HEAD" in nothing.err
    # an uncommitted edit in one tenant plans that tenant alone
    beta = repo.tenants / "beta" / "tenant.yaml"
    beta.write_text(beta.read_text().replace("displayName: Acme Burgers", "displayName: Beta"))
    one = hubops("plan", "tenants", "--runtime", DB, "--changed-since", "HEAD", "--format", "json")
    assert one.code == 0
    assert [t["name"] for t in json.loads(one.out)["tenants"]] == ["beta"]
    assert "1 tenant(s) changed since HEAD: beta" in one.err
    # an untracked new tenant counts too
    _add_tenant(repo, "delta")
    two = hubops("plan", "tenants", "--runtime", DB, "--changed-since", "HEAD", "--format", "json")
    assert [t["name"] for t in json.loads(two.out)["tenants"]] == ["beta", "delta"]
    # a catalog change plans every tenant
    catalog = repo.root / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("name: StampMe", "name: StampMe Loyalty"))
    every = hubops(
        "plan", "tenants", "--runtime", DB, "--changed-since", "HEAD", "--format", "json"
    )
    assert [t["name"] for t in json.loads(every.out)["tenants"]] == [
        "acme",
        "beta",
        "delta",
        "gamma",
    ]
    assert "the catalog catalog.yaml changed since HEAD" in every.err


def test_deleted_tenant_is_reported(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    _add_tenant(repo, "beta")
    _init_git(repo)
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    shutil.rmtree(repo.tenants / "beta")
    result = hubops(
        "apply", "tenants", "--auto-approve", "--runtime", DB, "--changed-since", "HEAD"
    )
    assert result.code == 0
    assert "tenant beta was deleted since HEAD" in result.err
    assert "untouched in the runtime" in result.err
    status = json.loads(hubops("status", "--runtime", DB, "--format", "json").out)
    assert {t["name"] for t in status["tenants"]} == {"acme", "beta"}


def test_changed_since_needs_a_known_commit(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    plain = hubops("plan", "tenants", "--runtime", DB, "--changed-since", "HEAD")
    assert plain.code == 1 and "is not inside a git repository" in plain.err
    _init_git(repo)
    unknown = hubops("plan", "tenants", "--runtime", DB, "--changed-since", "no-such-ref")
    assert unknown.code == 1 and '"no-such-ref" is not a commit here' in unknown.err
    assert "fetch-depth" in unknown.err


def test_shards_cover_every_tenant_once_and_stay_put() -> None:
    names = [f"tenant-{i:04d}" for i in range(1000)]
    for n in (1, 3, 8):
        shards = [[t for t in names if in_shard(t, (k, n))] for k in range(1, n + 1)]
        assert sorted(t for shard in shards for t in shard) == names  # each in exactly one
        if n == 8:
            assert all(90 < len(s) < 160 for s in shards)  # and roughly even
    more = names + [f"new-{i}" for i in range(200)]
    for name in names:  # adding tenants moves none of the existing ones
        assert [k for k in range(1, 9) if in_shard(name, (k, 8))] == [
            k for k in range(1, 9) if in_shard(name, (k, 8)) and name in more
        ]


def test_shard_option(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    for name in ("beta", "gamma", "delta", "epsilon"):
        _add_tenant(repo, name)
    seen: list[str] = []
    for k in (1, 2, 3):
        result = hubops("plan", "tenants", "--runtime", DB, "--shard", f"{k}/3", "--format", "json")
        assert result.code == 0, result.text
        seen += [t["name"] for t in json.loads(result.out)["tenants"]]
        assert f"shard {k}/3:" in result.err
    assert sorted(seen) == ["acme", "beta", "delta", "epsilon", "gamma"]
    bad = hubops("plan", "tenants", "--runtime", DB, "--shard", "4/3")
    assert bad.code == 1 and "must be K/N with 1 <= K <= N" in bad.err


def test_status_before_and_after_drift(repo: Repo, hubops, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    empty = hubops("status", "--runtime", DB)
    assert empty.code == 0 and "holds no tenants yet" in empty.out
    monkeypatch.setenv("HUBOPS_COMMIT", "0123456789abcdef")
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    synced = hubops("status", "--runtime", DB, "--drift", "tenants")
    lines = synced.out.splitlines()
    assert lines[0].split() == ["TENANT", "REVISION", "LAST", "APPLIED", "BY", "COMMIT", "DRIFT"]
    assert lines[1].split()[:2] == ["acme", "1"] and lines[1].split()[3:] == [
        "local",
        "0123456789ab",
        "in-sync",
    ]
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: Acme Drifted")
    drifted = json.loads(
        hubops("status", "--runtime", DB, "--drift", "tenants", "--format", "json").out
    )
    assert drifted["tenants"][0]["drift"] == "drifted"
    assert drifted["tenants"][0]["lastApplied"]["commit"] == "0123456789abcdef"
    plain = json.loads(hubops("status", "--runtime", DB, "--format", "json").out)
    assert "drift" not in plain["tenants"][0]


def test_check_encrypted(repo: Repo, hubops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = repo.file("secrets.sops.yaml")
    config = tmp_path / ".sops.yaml"
    config.write_text("creation_rules: []\n")
    ok = hubops("check-encrypted", str(good), str(config))
    assert ok.code == 0 and "1 secrets file(s) are sops-encrypted." in ok.out
    leaked = tmp_path / "new.sops.yaml"
    leaked.write_text("tokens:\n  orders: hub_plaintext\n")
    bad = hubops("check-encrypted", str(good), str(leaked))
    assert bad.code == 1 and "new.sops.yaml: error: is not encrypted with sops" in bad.err
    assert "hub_plaintext" not in bad.text
