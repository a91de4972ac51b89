"""Files written to cost a lot, to leak, or to confuse: each is refused quickly, naming the file.

Alias bombs, deep nesting and huge files in a tenant folder; values added in
clear that only look encrypted; links that lead out of the tenants root;
times that leave the calendar and date-like texts; a secrets file's unknown
keys. The commands run as the installed console script, with a time-out
that bounds what an unfixed build would spend (hours, for the alias bomb).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import Repo, default_secrets, sops_encrypt

HUBOPS = str(Path(sys.executable).parent / "hubops")
DB = "state.db"


def run(repo: Repo, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUBOPS, *args],
        cwd=repo.root,
        env={**os.environ, "HUBOPS_ADMIN_TOKEN": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def sops_metadata(repo: Repo) -> str:
    """The `sops:` block of the fixture's real secrets file, so a crafted file looks encrypted."""
    text = repo.file("secrets.sops.yaml").read_text()
    return text[text.index("\nsops:") + 1 :]


def test_alias_bomb_in_a_secrets_file_is_refused_before_any_work(repo: Repo) -> None:
    # Leaves that look encrypted, so nothing short-cuts a walk over the 9**9 expanded values.
    value = re.search(r"ENC\[AES256_GCM,[^\]]*\]", repo.file("secrets.sops.yaml").read_text())
    assert value is not None
    lines = [f"a0: &a0 [{', '.join([repr(value.group())] * 9)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = repo.write("bomb.sops.yaml", "\n".join(lines) + "\n" + sops_metadata(repo))
    for args in (
        ("validate", "tenants"),
        ("plan", "tenants", "--runtime", DB),
        ("check-encrypted", str(bomb)),
    ):
        result = run(repo, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        text = result.stdout + result.stderr
        assert "tenants/acme/bomb.sops.yaml:1:5: error: uses a YAML anchor or alias" in text
        assert "Traceback" not in text and "internal error" not in text


def test_deeply_nested_secrets_file_is_refused_not_a_crash(repo: Repo) -> None:
    deep = "credentials:\n  x: " + "[" * 990 + "]" * 990 + "\n" + sops_metadata(repo)
    repo.write("deep.sops.yaml", deep)
    result = run(repo, "validate", "tenants")
    assert result.returncode == 1
    assert "tenants/acme/deep.sops.yaml:2:" in result.stdout
    assert "nests mappings or lists deeper than 8 levels" in result.stdout
    assert "internal error" not in result.stdout + result.stderr


def test_deeply_nested_manifest_is_reported_at_its_real_position(repo: Repo) -> None:
    repo.edit(
        "api.yaml", "url: https://pos.acme.example/hooks/orders", "url: " + "[" * 990 + "]" * 990
    )
    result = run(repo, "validate", "tenants")
    assert result.returncode == 1
    line = repo.line_of("api.yaml", "url:")
    assert f"tenants/acme/api.yaml:{line}:8: error: spec.url must be a string" in result.stdout


def test_oversized_files_are_refused_naming_the_limit(repo: Repo) -> None:
    repo.edit("tenant.yaml", "displayName: Acme Burgers", "displayName: " + "A" * 6_000_000)
    repo.write("big.sops.yaml", "credentials:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)))
    result = run(repo, "validate", "tenants")
    assert result.returncode == 1
    assert (
        "tenants/acme/tenant.yaml: error: is larger than 5 MiB, the limit for a manifest file"
        in result.stdout
    )
    assert (
        "tenants/acme/big.sops.yaml: error: is larger than 1 MiB, the limit for a secrets file"
        in result.stdout
    )
    assert "AAAAAAAAAA" not in result.stdout


@pytest.mark.parametrize("planted", ['"ENC[CANARY-PLAINTEXT-1"', '"ENC[x] CANARY-PLAINTEXT-2"'])
def test_a_value_that_only_looks_encrypted_is_refused_unseen(
    repo: Repo, hubops, planted: str
) -> None:  # type: ignore[no-untyped-def]
    path = repo.file("secrets.sops.yaml")
    path.write_text(path.read_text().replace("tokens:\n", f"tokens:\n    extra: {planted}\n", 1))
    for args in (("validate", "tenants"), ("plan", "tenants", "--runtime", DB)):
        result = hubops(*args)
        assert result.code == 1
        line = repo.line_of("secrets.sops.yaml", "extra:")
        assert (
            f"tenants/acme/secrets.sops.yaml:{line}:5: error: has a value that is not encrypted"
            in result.out + result.err
        )
        assert "CANARY" not in result.text


def test_links_out_of_the_tenants_root_are_refused_and_not_read(
    repo: Repo, hubops, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.txt").write_text("apiVersion: hubops/v1\nkind: CANARY-OUTSIDE-CONTENT\n")
    (outside / "tenant").mkdir()
    (outside / "tenant" / "tenant.yaml").write_text("kind: CANARY-OUTSIDE-FOLDER\n")
    (repo.tenant / "leak.yaml").symlink_to(outside / "leak.txt")
    (repo.tenant / "leak.sops.yaml").symlink_to(outside / "leak.txt")
    (repo.tenants / "elsewhere").symlink_to(outside / "tenant")
    (repo.tenants / "etc").symlink_to("/etc")
    (repo.tenants / "up").symlink_to("..")
    result = hubops("validate", "tenants")
    assert result.code == 1
    for path, what in (
        ("tenants/acme/leak.yaml", "file"),
        ("tenants/acme/leak.sops.yaml", "file"),
        ("tenants/elsewhere", "folder"),
        ("tenants/etc", "folder"),
        ("tenants/up", "folder"),
    ):
        assert (
            f"{path}: error: is a symbolic link to a {what} outside the tenants root" in result.out
        )
    assert "CANARY" not in result.text
    assert str(outside) not in result.text


def test_a_time_beyond_the_calendar_in_utc_is_refused_at_validate(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("api.yaml", "expiresAt: 2099-12-31T00:00:00Z", "expiresAt: 9999-12-31T23:59:59-05:00")
    line = repo.line_of("api.yaml", "expiresAt")
    for args in (("validate", "tenants"), ("plan", "tenants", "--runtime", DB)):
        result = hubops(*args)
        assert result.code == 1
        assert (
            f"tenants/acme/api.yaml:{line}:14: error: spec.expiresAt: the time must lie between "
            "0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"
            in result.out
            + result.err
        )
        assert "internal error" not in result.text


def test_date_like_texts_keep_every_position_real(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("api.yaml", "expiresAt: 2099-12-31T00:00:00Z", "expiresAt: 2027-02-30T00:00:00Z")
    repo.edit("api.yaml", "events: [order.created,", "events: [order.creatd,")
    repo.edit("tenant.yaml", "name: Acme Airport", "name: 2027-13-45")
    repo.edit("tenant.yaml", "role: owner", "role: boss")
    result = hubops("validate", "tenants")
    assert result.code == 1
    expires, events = repo.line_of("api.yaml", "expiresAt"), repo.line_of("api.yaml", "events:")
    role = repo.line_of("tenant.yaml", "role:")
    assert f"tenants/acme/api.yaml:{expires}:14: error: spec.expiresAt must be a date" in result.out
    assert f"tenants/acme/api.yaml:{events}:" in result.out
    assert f"tenants/acme/tenant.yaml:{role}:13: error: spec.admins[0].role" in result.out
    assert ":1:1:" not in result.out


def test_unknown_keys_of_a_secrets_file_are_reported_once(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets: dict[str, dict[str, object]] = {**default_secrets(), "extras": {"note": "x"}}
    sops_encrypt(secrets, repo.file("secrets.sops.yaml"), repo.key.recipient)
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert result.out.count('unknown field "extras"') == 1, result.out
    assert yaml.safe_load(repo.file("secrets.sops.yaml").read_text())["extras"]


def test_a_link_to_something_that_never_ends_is_not_read(repo: Repo, tmp_path: Path) -> None:
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    (repo.tenant / "wait.yaml").symlink_to(fifo)
    (repo.tenant / "wait.sops.yaml").symlink_to(fifo)
    for args in (("validate", "tenants"), ("plan", "tenants", "--runtime", DB)):
        result = run(repo, *args, timeout=60)
        assert result.returncode == 1
        assert "tenants/acme/wait.sops.yaml: error: is a symbolic link to a file outside" in (
            result.stdout + result.stderr
        )
