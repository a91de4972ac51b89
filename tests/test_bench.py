"""The benchmark scripts keep working (tiny sizes; the figures come from running them by hand)."""

from __future__ import annotations

import importlib.util
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
    assert "sops decryption" in out and "YAML parsing" in out
