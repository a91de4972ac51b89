"""The examples' sops configuration works from the repository root and from below it.

sops looks for `.sops.yaml` from the working directory upward and matches its
`path_regex` against the file's path relative to the folder of the `.sops.yaml`.
Each case runs the real sops binary where a user would, encrypts a new secrets
file of an example tenant without naming any key, and checks that the result
is encrypted to the demo recipient alone and opens with the demo key.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyrage
import pytest
import yaml

from conftest import REPO
from hubops.manifest.secrets import encrypt, sops_binary

DEMO_KEY = REPO / "examples" / "demo.agekey"
NEW_FILE = Path("examples/tenants/acme-burgers/new.sops.yaml")
PLAIN = b"tokens:\n  new-token: not-a-real-token\n"


def demo_recipient() -> str:
    identity = next(
        line for line in DEMO_KEY.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
    )
    return str(pyrage.x25519.Identity.from_str(identity).to_public())


def sops_env(**extra: str) -> dict[str, str]:
    """The environment without any sops setting of the caller: only .sops.yaml decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    return {**env, **extra}


def sops(
    cwd: Path, *args: str, stdin: bytes = b"", **env: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sops_binary(), *args],
        cwd=cwd,
        input=stdin,
        env=sops_env(**env),
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "cwd",
    [Path("."), Path("examples"), Path("examples/tenants"), Path("examples/tenants/acme-burgers")],
    ids=lambda p: str(p),
)
def test_a_new_example_secrets_file_is_encrypted_to_the_demo_recipient(
    cwd: Path, tmp_path: Path
) -> None:
    target = os.path.relpath(REPO / NEW_FILE, REPO / cwd)
    encrypt = sops(
        REPO / cwd,
        "encrypt",
        "--filename-override",
        target,
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "/dev/stdin",
        stdin=PLAIN,
    )
    assert encrypt.returncode == 0, encrypt.stderr.decode()
    assert not (REPO / NEW_FILE).exists()
    encrypted = yaml.safe_load(encrypt.stdout)
    assert [r["recipient"] for r in encrypted["sops"]["age"]] == [demo_recipient()]
    assert b"not-a-real-token" not in encrypt.stdout

    path = tmp_path / "new.sops.yaml"
    path.write_bytes(encrypt.stdout)
    decrypt = sops(tmp_path, "decrypt", str(path), SOPS_AGE_KEY_FILE=str(DEMO_KEY))
    assert decrypt.returncode == 0, decrypt.stderr.decode()
    assert yaml.safe_load(decrypt.stdout) == {"tokens": {"new-token": "not-a-real-token"}}


def test_the_sops_configuration_sits_at_the_repository_root() -> None:
    # A .sops.yaml inside examples/ would win from there and be missed from the root.
    assert (REPO / ".sops.yaml").is_file()
    assert not (REPO / "examples" / ".sops.yaml").exists()


def test_files_outside_the_example_tenants_get_no_rule(tmp_path: Path) -> None:
    # The rule is anchored at the repository root: nothing else is encrypted to the demo key.
    refused = sops(
        REPO,
        "encrypt",
        "--filename-override",
        "elsewhere/tenants/x/secrets.sops.yaml",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "/dev/stdin",
        stdin=PLAIN,
    )
    assert refused.returncode != 0
    assert b"no matching creation rules found" in refused.stderr


def test_encrypting_to_given_recipients_ignores_the_sops_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hubops' own encrypt (tooling, tests, benchmarks) names its recipients; run from a
    # repository whose .sops.yaml has no rule for the document, it must still encrypt.
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: ^tenants/.*\\.sops\\.yaml$\n"
        f"    age: {demo_recipient()}\n"
    )
    monkeypatch.chdir(tmp_path)
    encrypted = yaml.safe_load(encrypt(PLAIN, [demo_recipient()]))
    assert [r["recipient"] for r in encrypted["sops"]["age"]] == [demo_recipient()]
