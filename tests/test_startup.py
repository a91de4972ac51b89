"""Commands that need no runtime start without importing one.

Each command runs in a fresh interpreter, which then reports every module it
imported: `--version`, `token new`, `webhook-secret new`, `validate` and
`check-encrypted` must not load the runtime, its web and database stack, or
the HTTP client. `serve --help` shows the check sees such imports. `plan`
and `apply` against the embedded runtime load its admin API only: no console
pages (nor Jinja2), no Partner API routes, no SFTP server, no webhook worker.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Repo

RUNTIME_STACK = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "httpx")
HUBOPS_RUNTIME = ("hubops.runtime", "hubops.client", "hubops.reconcile")
# What only `hubops serve` mounts: the embedded runtime answers the admin API without them.
SERVED_ONLY = (
    "jinja2",
    "asyncssh",
    "hubops.runtime.console.routes",
    "hubops.runtime.console.pages",
    "hubops.runtime.console.login_routes",
    "hubops.runtime.console.render",
    "hubops.runtime.partner.order_routes",
    "hubops.runtime.partner.catalog_routes",
    "hubops.runtime.partner.promotion_routes",
    "hubops.runtime.sftp.server",
    "hubops.runtime.webhooks.worker",
)

# Runs the CLI like the console script, then prints the imported modules on stderr.
PROBE = """
import json, sys
from hubops.cli import run
code = run(sys.argv[1:])
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def _start(*args: str, cwd: Path | None = None) -> tuple[int, str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    return proc.returncode, proc.stdout, modules


def _runtime_imports(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in RUNTIME_STACK or name.startswith(HUBOPS_RUNTIME)
    )


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (("--version",), "hubops, version"),
        (("token", "new"), "hub_"),
        (("webhook-secret", "new"), "whsec_"),
    ],
)
def test_key_commands_and_version_load_no_runtime(args: tuple[str, ...], printed: str) -> None:
    code, out, modules = _start(*args)
    assert code == 0 and out.startswith(printed)
    assert _runtime_imports(modules) == []
    # nor the manifest models' validation library: these start in about `import click`'s time
    assert not any(name.split(".")[0] in ("pydantic", "yaml") for name in modules)


def test_validate_and_check_encrypted_load_no_runtime(repo: Repo) -> None:
    code, out, modules = _start("validate", "tenants", cwd=repo.root)
    assert code == 0 and "Valid: 1 tenant." in out
    assert _runtime_imports(modules) == []
    code, out, modules = _start("check-encrypted", "tenants/acme/secrets.sops.yaml", cwd=repo.root)
    assert code == 0 and "1 secrets file(s) are sops-encrypted." in out
    assert _runtime_imports(modules) == []


def test_commands_that_use_the_runtime_load_it() -> None:
    code, out, modules = _start("serve", "--help")
    assert code == 0 and "--db" in out
    assert "sqlalchemy" in _runtime_imports(modules)


def test_help_lists_every_command() -> None:
    code, out, _ = _start("--help")
    assert code == 0
    for name in ("validate", "plan", "apply", "import", "schema", "token", "webhook-secret"):
        assert f"  {name} " in out
    for name in ("serve", "status", "check-encrypted"):
        assert f"  {name} " in out


def test_plan_against_a_served_runtime_loads_no_web_or_database_stack(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBOPS_ADMIN_TOKEN", "some-admin-token")
    code, _, modules = _start("plan", "tenants", "--runtime", "http://127.0.0.1:1", cwd=repo.root)
    assert code == 1  # nothing listens there; what matters is what it loaded to find out
    stack = {name.split(".")[0] for name in _runtime_imports(modules)}
    assert stack == {"httpx", "hubops"}, sorted(stack)
    assert not any(name.startswith("hubops.runtime.") for name in modules if "settings" not in name)


def test_plan_and_apply_on_the_embedded_runtime_load_its_admin_api_only(repo: Repo) -> None:
    assert all(importlib.util.find_spec(name) is not None for name in SERVED_ONLY)
    code, out, modules = _start("plan", "tenants", cwd=repo.root)
    assert code == 0 and "Plan: " in out and "to add" in out
    assert "sqlalchemy" in _runtime_imports(modules)  # it did run the runtime in-process
    assert sorted(name for name in SERVED_ONLY if name in modules) == []
    code, out, modules = _start("apply", "tenants", "--auto-approve", cwd=repo.root)
    assert code == 0 and "Apply complete" in out, out
    assert sorted(name for name in SERVED_ONLY if name in modules) == []
