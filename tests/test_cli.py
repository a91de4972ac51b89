"""The installed `hubops` command: exit codes and no tracebacks, as CI sees them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Repo

HUBOPS = str(Path(sys.executable).parent / "hubops")


def _run(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUBOPS, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def test_console_script_validates_examples() -> None:
    proc = _run(
        "validate",
        "examples/tenants",
        env={"SOPS_AGE_KEY_FILE": str(REPO / "examples" / "demo.agekey")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Valid: 3 tenants." in proc.stdout


def test_invalid_manifest_exits_1_without_traceback(repo: Repo) -> None:
    repo.edit("tenant.yaml", "plan: enterprise", "plan: [")
    proc = _run("validate", "tenants", cwd=repo.root)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "tenants/acme/tenant.yaml:" in proc.stdout


def test_usage_errors_exit_1() -> None:
    for args in (["no-such-command"], ["validate", "--format", "xml"], ["token"]):
        proc = _run(*args)
        assert proc.returncode == 1, args
        assert "Traceback" not in proc.stderr


def test_help_and_version() -> None:
    assert _run("--help").returncode == 0
    version = _run("--version")
    assert version.returncode == 0 and "hubops" in version.stdout
