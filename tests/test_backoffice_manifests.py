"""SftpUser and RetailerConnections manifests: validation with file:line:col, normalized state,
plan, apply and import round trip on the embedded runtime."""

from __future__ import annotations

import json

import pytest

from conftest import Repo
from ssh_keys import key_pair, public_line


def sftp_user(name: str, keys: list[str], stores: str | None = None) -> str:
    lines = [
        "apiVersion: hubops/v1",
        "kind: SftpUser",
        f"metadata: {{name: {name}}}",
        "spec:",
        "  publicKeys:",
        *[f"    - {json.dumps(k)}" for k in keys],
    ]
    if stores is not None:
        lines.append(f"  stores: {stores}")
    return "\n".join(lines) + "\n"


def connections(approved: str, rejected: str, name: str = "default") -> str:
    return (
        f"apiVersion: hubops/v1\nkind: RetailerConnections\nmetadata: {{name: {name}}}\n"
        f"spec:\n  approved: {approved}\n  rejected: {rejected}\n"
    )


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        (
            lambda: sftp_user("feed", [public_line(key_pair("ssh-rsa", 2048))]),
            "public key 1 is an RSA key of 2048 bits; RSA keys need at least 3072 bits",
            6,
            7,
        ),
        (
            lambda: sftp_user("feed", [public_line(key_pair()), "ssh-ed25519 AAAAnotakey"]),
            "public key 2 is not a readable OpenSSH public key",
            7,
            7,
        ),
        (
            lambda: sftp_user("feed", [public_line(key_pair()), public_line(key_pair(), "again")]),
            "this public key is listed twice",
            7,
            7,
        ),
        (
            lambda: sftp_user("feed", [public_line(key_pair())], "[acme-001, acme-009]"),
            'store "acme-009" is not declared',
            7,
            22,
        ),
        (
            lambda: connections("[r-1, r-2]", "[r-2]"),
            'retailer "r-2" is both approved and rejected',
            6,
            14,
        ),
        (
            lambda: connections("[r-1]", "[]", name="mine"),
            'the RetailerConnections document is named "default"',
            3,
            18,
        ),
        (
            lambda: connections("[r 1]", "[]"),
            'spec.approved[0] "r 1" is not a retailer id',
            5,
            14,
        ),
    ],
)
def test_bad_backoffice_manifests_are_reported_with_their_place(
    repo: Repo,
    hubops,
    text,
    message: str,
    line: int,
    column: int,  # type: ignore[no-untyped-def]
) -> None:
    repo.write("backoffice.yaml", text())
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert f"backoffice.yaml:{line}:{column}: error: {message}" in result.text, result.text


def test_two_connection_documents_are_refused(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.write("backoffice.yaml", connections("[r-1]", "[]") + "---\n" + connections("[]", "[r-2]"))
    result = hubops("validate", "tenants")
    assert result.code == 1 and "a tenant has one RetailerConnections document" in result.text


def test_sftp_users_plan_apply_and_import_round_trip(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    ed, ec, rsa = key_pair(), key_pair("ecdsa-sha2-nistp256"), key_pair("ssh-rsa", 3072)

    def write(second: str, comment: str = "tester@laptop") -> None:
        repo.write(
            "backoffice.yaml",
            sftp_user("feed", [public_line(ed, comment), second], "[acme-002]")
            + "---\n"
            + sftp_user("ops", [public_line(rsa, comment)])
            + "---\n"
            + connections("[r-1]", "[r-2]"),
        )

    write(public_line(ec))
    assert hubops("validate", "tenants").code == 0
    plan = hubops("plan", "tenants", "--runtime", "state.db", "--no-color")
    assert "+ sftp-user/feed" in plan.out and "+ sftp-user/ops" in plan.out
    assert "+ connections/default" in plan.out
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", "state.db").code == 0
    write(public_line(ec, "renamed"), comment="someone@else")  # a changed comment is no change
    assert hubops("plan", "tenants", "--runtime", "state.db").out.endswith("No changes.\n")
    write(public_line(key_pair("ssh-ed25519", seed=1)))  # a changed key is
    plan = hubops("plan", "tenants", "--runtime", "state.db", "--no-color")
    assert "~ sftp-user/feed" in plan.out and "publicKeys:" in plan.out
    write(public_line(ec))
    out = repo.root / "imported" / "acme"
    assert (
        hubops("import", "--tenant", "acme", "--out", str(out), "--runtime", "state.db").code == 0
    )
    imported = (out / "backoffice.yaml").read_text()
    assert "kind: SftpUser" in imported and "stores: [acme-002]" in imported
    (out / "backoffice.yaml").replace(repo.tenant / "backoffice.yaml")
    assert hubops("plan", "tenants", "--runtime", "state.db").out.endswith("No changes.\n")
