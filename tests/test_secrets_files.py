"""Secrets files through the real sops binary: encryption checks, decryption failures, value forms.

Every test also checks that no secret value reaches the output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import Repo, default_secrets, make_age_key
from hubops.manifest.secrets import Secret
from hubops.tokens import new_token


def _assert_no_secrets(repo: Repo, text: str, extra: tuple[str, ...] = ()) -> None:
    for value in (*repo.secret_values(), *extra):
        assert value not in text


def _error_lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_plaintext_secrets_file_is_refused(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    plain = default_secrets()
    repo.file("secrets.sops.yaml").write_text(yaml.safe_dump(plain))
    repo.secrets = plain
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, "is not encrypted with sops")
    assert lines and lines[0].startswith("tenants/acme/secrets.sops.yaml:1:1: error: ")
    assert "sops encrypt --in-place" in lines[0]
    # no cascade of "missing from the secrets file" errors on top
    assert "is missing from the secrets file" not in result.out
    _assert_no_secrets(repo, result.text)


def test_value_added_after_encryption_is_refused_without_echoing_it(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    path = repo.file("secrets.sops.yaml")
    leaked = "hub_PLAINTEXT-ADDED-BY-HAND"
    path.write_text(path.read_text().replace("tokens:\n", f"tokens:\n    extra: {leaked}\n", 1))
    result = hubops("validate", "tenants")
    assert result.code == 1
    line = repo.line_of("secrets.sops.yaml", "extra:")
    lines = _error_lines(result.out, "has a value that is not encrypted")
    assert lines and lines[0].startswith(f"tenants/acme/secrets.sops.yaml:{line}:5: error: ")
    _assert_no_secrets(repo, result.text, (leaked, "PLAINTEXT"))


def test_tampered_ciphertext_fails_integrity(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    path = repo.file("secrets.sops.yaml")
    text = path.read_text()
    match = re.search(r"client_id: ENC\[AES256_GCM,data:([A-Za-z0-9+/]{4})", text)
    assert match
    swapped = match.group(1)[::-1] if match.group(1)[::-1] != match.group(1) else "AAAA"
    path.write_text(text[: match.start(1)] + swapped + text[match.end(1) :])
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, "cannot be decrypted: its integrity check failed")
    assert lines and lines[0].startswith("tenants/acme/secrets.sops.yaml:1:1: error: ")
    _assert_no_secrets(repo, result.text)


def test_removed_entry_is_a_mac_mismatch(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    path = repo.file("secrets.sops.yaml")
    data = yaml.safe_load(path.read_text())
    del data["credentials"]["opentable"]
    path.write_text(yaml.safe_dump(data))
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert _error_lines(result.out, "(MAC mismatch)"), result.out
    _assert_no_secrets(repo, result.text)


def test_key_that_is_not_a_recipient(repo: Repo, hubops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = make_age_key(tmp_path, "other.txt")
    repo.set_secrets(repo.secrets, recipient=other.recipient)
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, "none of the available age keys is a recipient")
    assert lines, result.out
    assert other.recipient in lines[0]
    assert "sops updatekeys" in lines[0]
    _assert_no_secrets(repo, result.text)


def test_no_key_at_all(repo: Repo, hubops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, "no age key is available to decrypt it")
    assert lines and "SOPS_AGE_KEY_FILE" in lines[0] and repo.key.recipient in lines[0]


def test_no_decrypt_checks_structure_without_a_key(
    repo: Repo, hubops, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    result = hubops("validate", "tenants", "--no-decrypt")
    assert result.code == 0, result.text
    assert "secrets not decrypted" in result.out
    repo.edit("api.yaml", "name: order-management", "name: order-mgmt")
    assert hubops("validate", "tenants", "--no-decrypt").code == 1


def test_mistyped_token_is_caught_offline(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    good = new_token()
    bad = good[:10] + ("a" if good[10] != "a" else "b") + good[11:]
    secrets["tokens"]["order-management"] = bad  # type: ignore[index]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    line = repo.line_of("secrets.sops.yaml", "order-management:")
    lines = _error_lines(result.out, "tokens.order-management is not a valid hub_ token")
    assert lines and lines[0].startswith(f"tenants/acme/secrets.sops.yaml:{line}:")
    assert "checksum does not match" in lines[0] and "hubops token new" in lines[0]
    _assert_no_secrets(repo, result.text, (bad, bad[4:20]))


def test_short_webhook_secret(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    secrets["webhooks"]["orders-to-pos"] = "whsec_c2hvcnQtc2VjcmV0"  # type: ignore[index]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, "webhooks.orders-to-pos is not a valid whsec_ signing secret")
    assert lines and "decodes to 12 bytes" in lines[0]
    _assert_no_secrets(repo, result.text)


def test_webhook_secret_without_prefix(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    secrets["webhooks"]["orders-to-pos"] = "not-a-whsec-value-SECRETISH"  # type: ignore[index]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert _error_lines(result.out, 'it does not start with "whsec_"')
    _assert_no_secrets(repo, result.text)


def test_missing_and_unknown_credential_fields(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    secrets["credentials"]["xero"] = {"client_id": "cid-TESTSECRET9", "secret": "sk-TESTSECRET8"}  # type: ignore[index]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    missing = _error_lines(
        result.out, 'credentials.xero lacks "secret_key", required by partner xero'
    )
    assert missing and missing[0].startswith(
        f"tenants/acme/secrets.sops.yaml:{repo.line_of('secrets.sops.yaml', 'xero:')}:"
    )
    unknown = _error_lines(
        result.out, "credentials.xero.secret is not a credential field of partner xero"
    )
    assert unknown and 'did you mean "secret_key"?' in unknown[0]
    _assert_no_secrets(repo, result.text)


def test_unknown_section_in_secrets_file(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    secrets["toekns"] = secrets.pop("tokens")
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 1
    lines = _error_lines(result.out, 'unknown field "toekns"; did you mean "tokens"?')
    assert lines and lines[0].startswith(
        f"tenants/acme/secrets.sops.yaml:{repo.line_of('secrets.sops.yaml', 'toekns:')}:1:"
    )
    _assert_no_secrets(repo, result.text)


def test_unused_secret_is_a_warning(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    secrets = repo.secrets
    secrets["tokens"]["forgotten"] = new_token()  # type: ignore[index]
    repo.set_secrets(secrets)
    result = hubops("validate", "tenants")
    assert result.code == 0, result.text
    assert _error_lines(result.out, "warning: tokens.forgotten is not used by any manifest")
    _assert_no_secrets(repo, result.text)


def test_no_secrets_file_names_where_to_create_it(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.file("secrets.sops.yaml").unlink()
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert _error_lines(
        result.out,
        "tokens.order-management is missing from the secrets file "
        "tenants/acme/secrets.sops.yaml (none exists yet)",
    )


def test_secret_wrapper_never_shows_its_value() -> None:
    secret = Secret("whsec_do-not-print")
    assert "do-not-print" not in repr(secret)
    assert "do-not-print" not in str(secret)
    assert "do-not-print" not in f"{secret} {[secret]} { ({'k': secret}) }"
    assert secret.reveal() == "whsec_do-not-print"


def test_one_token_value_in_two_tenants_is_refused(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    import shutil

    twin = repo.tenants / "twin"
    shutil.copytree(repo.tenant, twin)
    (twin / "tenant.yaml").write_text(
        (twin / "tenant.yaml").read_text().replace("  name: acme\n", "  name: twin\n")
    )
    result = hubops("validate", "tenants")
    assert result.code == 1
    line = repo.line_of("secrets.sops.yaml", "order-management:")
    rows = [
        r
        for r in result.out.splitlines()
        if r.startswith(f"tenants/twin/secrets.sops.yaml:{line}:")
    ]
    assert (
        rows
        and (
            "error: tokens.order-management of tenant twin has the same value as "
            "tokens.order-management of tenant acme"
        )
        in rows[0]
    ), result.out
    _assert_no_secrets(repo, result.text)
