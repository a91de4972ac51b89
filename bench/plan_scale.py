"""What validate, apply and plan cost on a large config repository, as ratios to parsing it.

Every figure is the real CLI end to end (interpreter start included) on a
generated repository (the generator of bench/validate_scale.py: N tenants x
10 stores, 5 integrations, 3 tokens, 2 webhooks, every secrets file real
sops), printed next to the baseline measured in the same run: reading and
parsing every manifest file with PyYAML's C loader. The targets (SPEC 8):

* no-op plan: at most 1.5x parsing (the goal: under 1.0x, since unchanged
  tenants are not parsed); one tenant changed, without --changed-since:
  at most 2.5x; `plan --full` is shown for comparison, with no target;
* validate: at most 10x; initial apply (embedded runtime): at most 20x;
* `hubops --version` and `hubops token new`: at most 3x a bare
  `python -c "import click"` (timed with hyperfine);
* initial apply to `hubops serve`: under 60 s for 1,000 tenants (an absolute
  target, shown with its parse ratio like every step);
* max RSS of any hubops process (the CLI, and `hubops serve`): under 300 MB.

Plans run against the embedded runtime and against `hubops serve` on
127.0.0.1; for the latter the requests are read from the server's request
log (a no-op plan: the fingerprint key and one tenant-states request per
hundred tenants). `hubops serve` keeps its state in a SQLite file of the work
folder, or with `--db URL` of a PostgreSQL server in a database of its own
created on that server (a random name) and dropped afterwards, also when a
step fails. The peak RSS of the CLI and of `hubops serve` during the initial
apply to it are printed as figures next to baselines of the same run: the
CLI's peak while validating the same repository, and the server's RSS right
before the apply, idle after its start (the server's VmRSS, sampled from /proc
every 20 ms while the apply runs).

The exit code is 1 when a step does not behave as described (wrong plan,
more requests); a missed speed target is printed, and with --profile a
CLI-bound step that misses its ratio is run again under cProfile and its top
entries shown (the apply to `hubops serve` spends its time in the server, so
profile that process instead, with py-spy say).

    python bench/plan_scale.py [--tenants 1000] [--stores 10] [--workdir DIR] [--profile]
                               [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import yaml

from hubops.live import MAX_TENANT_STATES

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from processes import (  # noqa: E402
    Run,
    Served,
    hubops_script,
    is_postgresql,
    run,
    serve,
    served_database,
    shown,
)

ADMIN_TOKEN = "bench-admin-token-5d1e"
RSS_LIMIT_MB = 300.0
SERVED_APPLY_LIMIT_S = 60.0


def _validate_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_scale", HERE / "validate_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- baselines -----------------------------------------------------------------------


def parse_manifests(root: Path) -> float:
    """Seconds to read and parse every manifest file with PyYAML's C loader, once."""
    files = [p for p in sorted(root.glob("*/*.yaml")) if not p.name.endswith(".sops.yaml")]
    started = time.perf_counter()
    for path in files:
        list(yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - started


def hyperfine(commands: dict[str, str], env: dict[str, str], work: Path) -> dict[str, float]:
    """Mean seconds of each short command, from hyperfine."""
    export = work / "hyperfine.json"
    subprocess.run(
        [
            "hyperfine",
            "--warmup",
            "3",
            "--runs",
            "15",
            "--shell=none",
            "--export-json",
            str(export),
            *commands.values(),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    results = json.loads(export.read_text())["results"]
    means = {r["command"]: float(r["mean"]) for r in results}
    return {name: means[command] for name, command in commands.items()}


# --- the report ------------------------------------------------------------------------


@dataclass
class Row:
    step: str
    seconds: float
    ratio: float
    target: float | None
    rss_mb: float | None = None
    base: str = "parsing"
    limit_s: float | None = None  # an absolute target instead of a ratio

    def met(self) -> bool | None:
        if self.limit_s is not None:
            return self.seconds < self.limit_s
        return None if self.target is None else self.ratio <= self.target

    def line(self) -> str:
        if self.limit_s is not None:
            target = f"under {self.limit_s:g} s"
        else:
            target = f"at most {self.target:g}x" if self.target is not None else "no target"
        met = {None: "", True: "  met", False: "  MISSED"}[self.met()]
        rss = f"  max RSS {self.rss_mb:.0f} MB" if self.rss_mb is not None else ""
        return (
            f"  {self.step:<46} {self.seconds:8.2f} s  {self.ratio:6.2f}x {self.base:<13}"
            f"({target}){met}{rss}"
        )


@dataclass
class Peak:
    """A peak RSS figure and the baseline it is shown next to, both of the same run."""

    name: str
    mb: float
    base_name: str
    base_mb: float

    def line(self) -> str:
        ratio = self.mb / self.base_mb if self.base_mb else 0.0
        return (
            f"  peak RSS: {self.name:<56} {self.mb:6.0f} MB  {ratio:5.2f}x "
            f"{self.base_name} ({self.base_mb:.0f} MB)"
        )


@dataclass
class Bench:
    tenants: int
    env: dict[str, str]
    work: Path
    root: Path
    profile: bool
    db_url: str = ""
    rows: list[Row] = field(default_factory=list)
    peaks: list[Peak] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)
    parsings: list[float] = field(default_factory=list)
    missed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def hubops(self, *args: str) -> Run:
        result = run([str(hubops_script()), *args], self.env, self.work)
        self.rss[args[0]] = max(self.rss.get(args[0], 0.0), result.rss_mb)
        return result

    def measure(
        self, step: str, target: float | None, *args: str, limit_s: float | None = None
    ) -> Run:
        # The baseline is taken right before each step, so both see the same machine load.
        parsing = parse_manifests(self.root)
        self.parsings.append(parsing)
        result = self.hubops(*args)
        row = Row(step, result.seconds, result.seconds / parsing, target, result.rss_mb)
        row.limit_s = limit_s
        self.rows.append(row)
        if self.profile and target is not None and row.met() is False:
            self.missed.append((step, args))  # profiled at the end, not to disturb counts
        return result

    def profiled(self, step: str, args: tuple[str, ...]) -> str:
        out = self.work / "profile.out"
        if args[0] == "apply":  # an apply is profiled into a runtime of its own, empty again
            fresh = self.work / "profile-apply.db"
            for stale in self.work.glob("profile-apply.db*"):
                stale.unlink()
            args = (*args[: args.index("--runtime") + 1], str(fresh))
        run(
            [sys.executable, "-m", "cProfile", "-o", str(out), str(hubops_script()), *args],
            self.env,
            self.work,
        )
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text).sort_stats("cumulative")
        stats.print_stats(r"hubops/|importlib._bootstrap>:1165", 16)
        lines = [line for line in text.getvalue().splitlines() if line.strip()]
        body = "\n".join("    " + line for line in lines[1:])
        return f"profile of `{step}` (cumulative; hubops' own functions and imports):\n{body}"

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
        self.notes.append(f"check: {what}: {'ok' if ok else 'NOT MET'}")


def rename_tenant(folder: Path) -> bytes:
    """Edit the tenant's displayName; returns the original bytes to restore."""
    path = folder / "tenant.yaml"
    original = path.read_bytes()
    text, count = re.subn(
        r"^(  displayName: .*)$", r"\1 (renamed)", original.decode(), count=1, flags=re.M
    )
    assert count == 1, f"no displayName in {path}"
    path.write_text(text)
    return original


def plans(bench: Bench, runtime: str, label: str, served: Served | None = None) -> None:
    n, root = bench.tenants, str(bench.root)
    skipped = f"{n} tenant{'s' if n != 1 else ''} unchanged ({n} not parsed"
    offset = served.log_size() if served else 0
    noop = bench.measure(
        f"no-op plan ({label})", 1.5, "plan", root, "--detailed-exitcode", "--runtime", runtime
    )
    bench.check(
        noop.code == 0 and skipped in noop.out and noop.last_line == "No changes.",
        f"{label}: no-op plan exits 0, reports {n} tenants unchanged and not parsed",
    )
    if served is not None:
        seen = served.requests_since(offset)
        expected = 1 + math.ceil(n / MAX_TENANT_STATES)
        bench.check(
            len(seen) == expected and all("tenant-states" in r or "key" in r for r in seen),
            f"{label}: no-op plan makes {expected} requests (key + tenant-states), "
            f"made {len(seen)}",
        )
    folder = sorted(p for p in bench.root.iterdir() if p.is_dir())[0]
    original = rename_tenant(folder)
    try:
        one = bench.measure(
            f"one tenant changed ({label})", 2.5, "plan", root, "--detailed-exitcode",
            "--runtime", runtime,
        )  # fmt: skip
    finally:
        (folder / "tenant.yaml").write_bytes(original)
    expected_line = "Plan: 0 to add, 1 to change, 0 to destroy."
    bench.check(
        one.code == 2 and one.last_line == expected_line,
        f"{label}: one changed tenant plans {expected_line!r}",
    )
    full = bench.measure(
        f"plan --full ({label})", None, "plan", root, "--full", "--runtime", runtime
    )
    bench.check(
        full.code == 0 and full.last_line == "No changes." and "not parsed" not in full.out,
        f"{label}: plan --full parses every tenant and finds no change",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached repository")
    parser.add_argument("--profile", action="store_true", help="profile a step that misses")
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="a PostgreSQL server for `hubops serve` (a database of its own is created on it "
        "and dropped afterwards); default: a SQLite file in the work folder",
    )
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.stores < 3:
        parser.error("--tenants must be at least 1 and --stores at least 3")
    if args.db is not None and not is_postgresql(args.db):
        parser.error("--db must be a PostgreSQL URL, e.g. postgresql+psycopg://user@host/db")

    with scratch(args.workdir) as work:
        source = (
            work / "generated"
            if args.workdir
            else HERE / ".cache" / f"validate-{args.tenants}x{args.stores}"
        )
        if args.fresh:
            shutil.rmtree(source, ignore_errors=True)
        key_file = _validate_scale().generate(source, args.tenants, args.stores)
        repo = work / "repo"
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(source / "tenants", repo / "tenants")
        shutil.copy(source / "catalog.yaml", repo / "catalog.yaml")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HUBOPS_")},
            "SOPS_AGE_KEY_FILE": str(key_file),
            "HUBOPS_ADMIN_TOKEN": ADMIN_TOKEN,
            "NO_COLOR": "1",
        }
        parse_manifests(repo / "tenants")  # warm the page cache, as for every step after
        shutil.rmtree(work / ".hubops", ignore_errors=True)  # a key of an earlier database
        with served_database(args.db, work) as db_url:
            bench = Bench(args.tenants, env, work, repo / "tenants", args.profile, db_url)
            report(bench, args)
    return 1 if bench.failures else 0


def served_apply(bench: Bench, valid: Run) -> None:
    """The initial apply to `hubops serve` on its database, its peak RSS, then the plans."""
    on_pg = is_postgresql(bench.db_url)
    label = "hubops serve, PostgreSQL" if on_pg else "hubops serve"
    backend = "PostgreSQL" if on_pg else "SQLite"
    if on_pg:
        bench.notes.append(
            f"hubops serve on PostgreSQL: a database of its own, {shown(bench.db_url)}, "
            "dropped afterwards"
        )
    root = str(bench.root)
    with serve(bench.db_url, bench.work, bench.env) as served:
        idle = served.rss_mb()
        step = f"initial apply ({label})"
        with served.sampled_rss() as samples:
            applied = bench.measure(step, None, "apply", root, "--auto-approve", "--runtime",
                                    served.url, limit_s=SERVED_APPLY_LIMIT_S)  # fmt: skip
        if bench.rows[-1].met() is False:
            bench.notes.append(
                f"`{step}` spends its time in the server: profile that process "
                "(py-spy record --pid PID) rather than the CLI"
            )
        bench.check(
            applied.code == 0 and "Apply complete!" in applied.out,
            f"every tenant applied to `{label}`",
        )
        bench.peaks += [
            Peak(f"CLI, {step}", applied.rss_mb, "hubops validate", valid.rss_mb),
            Peak(
                f"hubops serve, initial apply ({backend})",
                max(samples),
                "hubops serve idle before the apply",
                idle,
            ),
        ]
        plans(bench, served.url, label, served)
    bench.rss["serve"] = served.max_rss_mb


def report(bench: Bench, args: argparse.Namespace) -> None:
    n, root, work = bench.tenants, str(bench.root), bench.work
    print(
        f"plan at scale: {n} tenants x {args.stores} stores, {os.cpu_count()} cores; each "
        "step as a ratio to parsing the manifests (PyYAML C), timed right before it"
    )
    valid = bench.measure("validate", 10, "validate", root)
    bench.check(valid.code == 0 and f"Valid: {n} tenant" in valid.out, "every tenant validates")
    for stale in (*work.glob("embedded.db*"), *work.glob("served.db*"), *work.glob("*.key")):
        stale.unlink()
    db = str(work / "embedded.db")
    applied = bench.measure("initial apply (embedded)", 20, "apply", root, "--auto-approve",
                            "--runtime", db)  # fmt: skip
    bench.check(applied.code == 0 and "Apply complete!" in applied.out, "every tenant applied")
    plans(bench, db, "embedded")
    served_apply(bench, valid)

    click = f'{sys.executable} -c "import click"'
    script = str(hubops_script())
    means: dict[str, float] = {}
    if shutil.which("hyperfine") is None:
        bench.notes.append("hyperfine is not installed (apt-get install hyperfine): "
                           "`hubops --version` and `token new` not timed")  # fmt: skip
    else:
        means = hyperfine(
            {"click": click, "version": f"{script} --version", "token": f"{script} token new"},
            bench.env,
            work,
        )
        for name, command in (("version", "hubops --version"), ("token", "hubops token new")):
            bench.rows.append(
                Row(command, means[name], means[name] / means["click"], 3, base="import click")
            )

    if bench.missed:
        with serve(bench.db_url, work, bench.env) as again:  # for the steps against one
            for step, step_args in bench.missed:
                here = tuple(again.url if a.startswith("http://") else a for a in step_args)
                bench.notes.append(bench.profiled(step, here))
    for row in bench.rows:
        print(row.line())
    for peak in bench.peaks:
        print(peak.line())
    low, high = min(bench.parsings), max(bench.parsings)
    print(f"  baseline parsing the manifests (PyYAML C): {low:.3f} s to {high:.3f} s")
    if means:
        print(f'  baseline `python -c "import click"` (hyperfine mean): {means["click"]:.3f} s')
    worst = max(bench.rss, key=bench.rss.__getitem__)
    verdict = "met" if bench.rss[worst] < RSS_LIMIT_MB else "MISSED"
    rss = ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(bench.rss.items()))
    print(f"  max RSS per command: {rss} (target: under {RSS_LIMIT_MB:g} MB) {verdict}")
    for note in bench.notes:
        print(f"  {note}")
    if bench.failures:
        print(f"{len(bench.failures)} checks not met: " + "; ".join(bench.failures))
    else:
        print("all checks met")


@contextmanager
def scratch(workdir: Path | None) -> Iterator[Path]:
    """--workdir as given, else a temporary directory removed afterwards."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="hubops-plan-scale-") as tmp:
        yield Path(tmp)


if __name__ == "__main__":
    sys.exit(main())
