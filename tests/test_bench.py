"""The benchmark scripts keep working (tiny sizes; the figures come from running them by hand)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import REPO
from databases import on_postgresql, pg_server, query


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reachable_pg_server() -> str:
    """The test PostgreSQL server's URL; skips when it does not answer (fails on a PostgreSQL run)."""
    server = pg_server()
    try:
        query(server, "SELECT 1")
    except sa.exc.OperationalError:
        if on_postgresql():
            raise
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database test)")
    return server


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
        ("initial apply (hubops serve)", "under 60 s"),
        ("one tenant changed (hubops serve)", "at most 2.5x"),
        ("plan --full (hubops serve)", "no target"),
    ):
        line = next(line for line in out.splitlines() if line.startswith(f"  {step} "))
        assert "x parsing" in line and f"({target})" in line and "max RSS" in line, line
    assert "x hubops validate (" in peak_line(out, "CLI, initial apply (hubops serve)")
    assert "x hubops serve idle before the apply (" in peak_line(
        out, "hubops serve, initial apply (SQLite)"
    )
    if shutil.which("hyperfine"):
        assert "x import click (at most 3x)" in out
    assert "hubops serve: no-op plan makes 2 requests (key + tenant-states), made 2: ok" in out
    assert "(target: under 300 MB)" in out
    assert "NOT MET" not in out and "all checks met" in out


def peak_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"  peak RSS: {name} "))


def test_plan_scale_on_postgresql_drops_its_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = reachable_pg_server()
    for name in ("SOPS_AGE_KEY_FILE", "HUBOPS_SOPS", "HUBOPS_RUNTIME", "HUBOPS_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("plan_scale", REPO / "bench" / "plan_scale.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "plan_scale", bench)
    spec.loader.exec_module(bench)
    args = ["--tenants", "3", "--stores", "3", "--workdir", str(tmp_path), "--db", server]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    assert "all checks met" in out
    assert "every tenant applied to `hubops serve, PostgreSQL`: ok" in out
    name = re.search(r"a database of its own, \S+/(hubops_bench_[0-9a-f]+), dropped", out)
    assert name is not None, out
    assert query(server, "SELECT count(*) FROM pg_database WHERE datname = ?", name[1]) == [(0,)]
    # bench/run.py's table takes the apply on PostgreSQL and the RSS figures from it
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    figures = _load("run").plan_rows(out, "plan/apply on PostgreSQL", True)
    assert [f.name for f in figures] == [
        "initial apply (hubops serve, PostgreSQL)",
        "peak RSS, CLI, initial apply (hubops serve, PostgreSQL)",
        "peak RSS, hubops serve, initial apply (PostgreSQL)",
    ]
    assert [f.baseline_name for f in figures] == [
        "parsing the manifests (PyYAML C)",
        "hubops validate",
        "hubops serve idle before the apply",
    ]
    assert all(f.value > 0 and f.baseline > 0 for f in figures)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_partner_api_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    spec = importlib.util.spec_from_file_location("partner_api", REPO / "bench" / "partner_api.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "partner_api", bench)
    spec.loader.exec_module(bench)
    args = ["--orders", "120", "--seconds", "1", "--connections", "2", "--events", "20"]
    assert bench.main([*args, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "seeded 120 orders through the store" in out
    assert "non-2xx" not in out  # every request of every wrk run was answered 2xx
    rows = [line for line in out.splitlines() if line.startswith(("Partner API", "webhooks"))]
    assert len(rows) == 9
    assert sum("FastAPI hello world" in row for row in rows) == 6
    assert "events received within 30 s" in rows[-1] and rows[-1].endswith("1.00x")  # all 20
    orders = sqlite_count(tmp_path / "state.db", "SELECT count(*) FROM orders")
    assert orders >= 120  # the seed, plus the orders of the webhook run


def sqlite_count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as conn:
        value: int = conn.execute(sql).fetchone()[0]
        return value


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_run_prints_one_table_of_every_benchmark(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SOPS_AGE_KEY_FILE", "HUBOPS_SOPS", "HUBOPS_RUNTIME", "HUBOPS_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    bench = _load("run")
    args = ["--tenants", "3", "--stores", "3", "--orders", "50", "--seconds", "1"]
    # --pg-url '' leaves out the second plan_scale run (covered above, on PostgreSQL)
    assert bench.main([*args, "--connections", "2", "--events", "10", "--pg-url", ""]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("benchmark"))
    assert "baseline (same run)" in header and "ratio" in header
    for bench_name in ("validate (3 tenants", "plan/apply (3 tenants", "Partner API", "webhooks"):
        assert bench_name in out, bench_name
    assert "initial apply (embedded)" in out and "GET /v1/orders?limit=50" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_webhook_replay_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("webhook_replay")
    args = ["--messages", "20", "--seconds", "2", "--connections", "2"]
    assert bench.main([*args, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "webhook replay over loopback: 20 messages" in out
    assert "replay (only: all) queued 20 messages in" in out
    assert "replay delivered all 20 again in" in out
    assert "baseline (no replay):" in out and "during the replay:" in out
    assert "webhook-ids received twice (same id on replay): 20 of 20" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_webhook_replicas_lose_nothing_when_one_is_killed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = reachable_pg_server()
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    bench = _load("webhook_replicas")
    created: list[str] = []
    served_database = bench.served_database

    @contextlib.contextmanager
    def noted(*args: object) -> Iterator[str]:
        with served_database(*args) as url:
            created.append(sa.engine.make_url(url).database)
            yield url

    monkeypatch.setattr(bench, "served_database", noted)
    args = argparse.Namespace(rate=20.0, seconds=4, lease=3.0, pg_url=server)
    figures = bench.measure(args)
    runs = {f.bench for f in figures}
    assert len(runs) == 2 and any("SIGKILLed" in run for run in runs), runs
    for run in runs:
        got = {f.name: f for f in figures if f.bench == run}
        received = got["events received"]
        # none lost, the kill included: every event a replica accepted arrived
        assert received.baseline > 0 and received.value == received.baseline, run
        assert got["events under a second webhook-id"].value == 0, run
        assert got["orders with events out of order"].value == 0, run
        assert got["peak RSS, replica a"].value > 0, run
    assert len(created) == 2  # a database for each run, both dropped
    for name in created:
        assert query(server, "SELECT count(*) FROM pg_database WHERE datname = ?", name) == [(0,)]
