"""The benchmark scripts keep working (tiny sizes; the figures come from running them by hand)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validate_scale_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    bench = _load("validate_scale")
    assert bench.main(["--tenants", "3", "--stores", "4", "--workdir", str(tmp_path / "repo")]) == 0
    out = capsys.readouterr().out
    assert "validate 3 tenants x 4 stores" in out
    assert "decryption" in out and "YAML parsing" in out
    assert "3 of 3 files in-process" in out and "baseline: the sops binary on 3" in out


def test_plan_scale_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SOPS_AGE_KEY_FILE", "HUBOPS_SOPS", "HUBOPS_RUNTIME", "HUBOPS_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    spec = importlib.util.spec_from_file_location("plan_scale", REPO / "bench" / "plan_scale.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "plan_scale", bench)
    spec.loader.exec_module(bench)
    assert bench.main(["--tenants", "3", "--stores", "3", "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "baseline parsing the manifests (PyYAML C): " in out
    for step, target in (
        ("validate", "at most 10x"),
        ("initial apply (embedded)", "at most 20x"),
        ("no-op plan (embedded)", "at most 1.5x"),
        ("one tenant changed (hubops serve)", "at most 2.5x"),
        ("plan --full (hubops serve)", "no target"),
    ):
        line = next(line for line in out.splitlines() if line.startswith(f"  {step} "))
        assert "x parsing" in line and f"({target})" in line and "max RSS" in line, line
    if shutil.which("hyperfine"):
        assert "x import click (at most 3x)" in out
    assert "hubops serve: no-op plan makes 2 requests (key + tenant-states), made 2: ok" in out
    assert "(target: under 300 MB)" in out
    assert "NOT MET" not in out and "all checks met" in out
