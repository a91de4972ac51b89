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
* max RSS of any hubops process (the CLI, and `hubops serve`): under 300 MB.

Plans run against the embedded runtime and against `hubops serve` on
127.0.0.1; for the latter the requests are read from the server's request
log (a no-op plan: the fingerprint key and one tenant-states request per
hundred tenants). The exit code is 1 when a step does not behave as
described (wrong plan, more requests); a missed speed target is printed, and
with --profile the step is run again under cProfile and its top entries shown.

    python bench/plan_scale.py [--tenants 1000] [--stores 10] [--workdir DIR] [--profile]
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
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import httpx
import yaml

from hubops.live import MAX_TENANT_STATES

HERE = Path(__file__).resolve().parent
ADMIN_TOKEN = "bench-admin-token-5d1e"
CLI_TIMEOUT = 3600.0
SERVER_START_TIMEOUT = 30.0
RSS_LIMIT_MB = 300.0
# The runtime's request log: one "METHOD /route/{template} STATUS 1.2ms" line per request.
ACCESS_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/admin/\S*) \d{3} [\d.]+ms$", re.M)


def _validate_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_scale", HERE / "validate_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hubops_script() -> Path:
    return Path(sys.executable).parent / "hubops"


# --- running a process ---------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    code: int
    out: str
    err: str
    rss_mb: float

    @property
    def last_line(self) -> str:
        lines = [line for line in self.out.splitlines() if line.strip()]
        return lines[-1] if lines else (self.err.strip().splitlines() or ["no output"])[-1]


def run(args: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run to completion; wall seconds and the process's own max RSS (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,  # KiB on Linux
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    log: Path
    rss_mb: float = 0.0

    def requests_since(self, offset: int) -> list[str]:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        return [f"{m[1]} {m[2]}" for m in ACCESS_LINE.finditer(text)]

    def log_size(self) -> int:
        return self.log.stat().st_size


@contextmanager
def serve(db: Path, env: dict[str, str]) -> Iterator[Served]:
    """`hubops serve` on 127.0.0.1 and a free port; terminated on the way out (RSS kept)."""
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", db.with_suffix(".log"))
    with served.log.open("wb") as log:
        proc = subprocess.Popen(
            [str(hubops_script()), "serve", "--db", f"sqlite:///{db}", "--port", str(port)],
            cwd=db.parent,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hubops serve exited:\n{served.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{served.url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"hubops serve did not answer /healthz at {served.url}")
            time.sleep(0.05)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, _, usage = os.wait4(proc.pid, 0)
            served.rss_mb = usage.ru_maxrss / 1024
        except ChildProcessError:
            pass
        proc.returncode = 0


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

    def line(self) -> str:
        target = f"at most {self.target:g}x" if self.target is not None else "no target"
        met = "" if self.target is None else ("  met" if self.ratio <= self.target else "  MISSED")
        rss = f"  max RSS {self.rss_mb:.0f} MB" if self.rss_mb is not None else ""
        return (
            f"  {self.step:<42} {self.seconds:8.2f} s  {self.ratio:6.2f}x {self.base:<13}"
            f"({target}){met}{rss}"
        )


@dataclass
class Bench:
    tenants: int
    env: dict[str, str]
    work: Path
    root: Path
    profile: bool
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)
    parsings: list[float] = field(default_factory=list)
    missed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def hubops(self, *args: str) -> Run:
        result = run([str(hubops_script()), *args], self.env, self.work)
        self.rss[args[0]] = max(self.rss.get(args[0], 0.0), result.rss_mb)
        return result

    def measure(self, step: str, target: float | None, *args: str) -> Run:
        # The baseline is taken right before each step, so both see the same machine load.
        parsing = parse_manifests(self.root)
        self.parsings.append(parsing)
        result = self.hubops(*args)
        row = Row(step, result.seconds, result.seconds / parsing, target, result.rss_mb)
        self.rows.append(row)
        if self.profile and target is not None and row.ratio > target:
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
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.stores < 3:
        parser.error("--tenants must be at least 1 and --stores at least 3")

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
        bench = Bench(args.tenants, env, work, repo / "tenants", args.profile)
        report(bench, args)
    return 1 if bench.failures else 0


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
    with serve(work / "served.db", bench.env) as served:
        applied = bench.hubops("apply", root, "--auto-approve", "--runtime", served.url)
        bench.check(applied.code == 0, "every tenant applied to `hubops serve`")
        plans(bench, served.url, "hubops serve", served)
    bench.rss["serve"] = served.rss_mb

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
        with serve(work / "served.db", bench.env) as again:  # for the steps against one
            for step, args in bench.missed:
                here = tuple(again.url if a.startswith("http://") else a for a in args)
                bench.notes.append(bench.profiled(step, here))
    for row in bench.rows:
        print(row.line())
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
