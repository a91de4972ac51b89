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
    assert "remote runtime: `hubops serve" in out and "embedded runtime: `--runtime" in out
    for step in (
        "initial apply:",
        "no-op plan:",
        "one tenant renamed",
        "one secrets file re-encrypted",
    ):
        assert out.count(f"  {step}") == 2, step
    assert out.count("3 tenants, ") == 8
    # three plans per runtime, counted by the client; the remote CLI ones also by the server
    assert out.count("4 requests (3 state + 1 key)") == 3 * 2 + 3
    assert "NOT MET" not in out and "all checks met" in out


def test_partner_api_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    spec = importlib.util.spec_from_file_location("partner_api", REPO / "bench" / "partner_api.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "partner_api", bench)
    spec.loader.exec_module(bench)
    args = ["--orders", "20", "--requests", "40", "--concurrency", "2", "--events", "20"]
    assert bench.main([*args, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "seeded 20 orders" in out
    assert "GET /v1/orders (page of 50, 20 orders):" in out
    assert "bare FastAPI hello world" in out
    assert out.count("req/s") == 2 and out.count(" p99 ") == 3
    assert "webhook end to end (status change -> received, 20 events at 100/s)" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_catalog_upload_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    spec = importlib.util.spec_from_file_location(
        "catalog_upload", REPO / "bench" / "catalog_upload.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "catalog_upload", bench)
    spec.loader.exec_module(bench)
    args = ["--rows", "300", "--seconds", "1", "--connections", "2", "--orders", "10"]
    assert bench.main([*args, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "catalog upload over loopback: 300 rows" in out
    assert out.count("succeeded in") == 2 and "(300 accepted, 0 rejected)" in out
    assert out.count(" p99 ") == 3 and "baseline (no upload):" in out
    assert "runtime RSS:" in out and "peak" in out
