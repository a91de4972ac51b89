"""What a plan costs on a large config repository: wall time, runtime requests, sops runs.

A plan against N tenants should make at most one state request per tenant
(plus one for the fingerprint key) and decrypt no secrets file whose content
is unchanged since it was last applied. This script shows whether it does,
against a real `hubops serve` on 127.0.0.1 and against the embedded runtime
(`--runtime FILE.db`):

1. the initial apply of every tenant,
2. a no-op plan right after it,
3. a plan with one tenant's displayName edited,
4. a plan after one tenant's secrets file was re-encrypted (same values, new
   bytes, so exactly that file must be decrypted).

Each step runs once in this process (`make_plan` / `apply_tenants` with a
`RuntimeClient` that tallies its requests by route) and once as the real CLI
(`hubops plan|apply ...`, end to end including interpreter start). sops runs
are counted by pointing `HUBOPS_SOPS` at a small wrapper script that logs
each call and execs the real sops, so the CLI subprocesses are counted too;
for the remote runtime the CLI's requests are read from the server's request
log. Figures only, no assertions on speed; the exit code is 1 when a step
did not behave as described above (wrong plan, more requests, more sops).

    python bench/plan_scale.py [--tenants 1000] [--stores 10] [--workdir DIR] [--fresh]

The generated repository (the generator of bench/validate_scale.py) is cached
under bench/.cache and shared with that script; --fresh regenerates it. With
--workdir everything, the repository included, goes to DIR instead.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import yaml

from hubops.client import RuntimeClient
from hubops.manifest.secrets import DecryptFailure, decrypt, encrypt, recipients, sops_binary
from hubops.reconcile import apply_tenants, make_plan

HERE = Path(__file__).resolve().parent
ADMIN_TOKEN = "bench-admin-token-5d1e"
CLI_TIMEOUT = 3600.0
SERVER_START_TIMEOUT = 30.0
# The runtime's request log: one "METHOD /route/{template} STATUS 1.2ms" line per request.
ACCESS_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/admin/\S*) \d{3} [\d.]+ms$", re.M)
KIND_ORDER = ("state", "key", "change sets", "list", "other")


def _validate_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_scale", HERE / "validate_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- counting --------------------------------------------------------------


def request_kind(method: str, path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    if path == "/admin/v1/fingerprint-key":
        return "key"
    if path == "/admin/v1/tenants":
        return "list"
    rest = path.removeprefix("/admin/v1/tenants/")
    if rest != path and "/" not in rest and method == "GET":
        return "state"
    if rest != path and method == "POST" and rest.endswith("/changes"):
        return "change sets"
    return "other"


def describe_requests(kinds: Counter[str]) -> str:
    total = sum(kinds.values())
    parts = " + ".join(f"{kinds[k]} {k}" for k in KIND_ORDER if kinds[k])
    return f"{total} requests ({parts or 'none'})"


class CountingClient(RuntimeClient):
    """The real client, tallying each request it sends by route (client side)."""

    def __init__(self, http: httpx.AsyncClient, target: str) -> None:
        super().__init__(http, target)
        self.kinds: Counter[str] = Counter()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.kinds[request_kind(method, path)] += 1
        return await super()._request(method, path, **kwargs)


@dataclass
class SopsCounter:
    """A `sops` wrapper that appends its first argument to a log, then execs the real sops."""

    script: Path
    log: Path

    @classmethod
    def install(cls, folder: Path) -> SopsCounter:
        real = sops_binary()
        log = folder / "sops-calls.log"
        script = folder / "sops"
        script.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "$1" >> {shlex.quote(str(log))}\n'
            f'exec {shlex.quote(real)} "$@"\n'
        )
        script.chmod(0o755)
        return cls(script, log)

    def reset(self) -> None:
        self.log.write_text("")

    def decryptions(self) -> int:
        if not self.log.exists():
            return 0
        calls = self.log.read_text().split()
        return sum(1 for first in calls if first in ("--decrypt", "-d", "decrypt"))


@contextmanager
def patched_environ(values: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    for name in drop:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- runtimes ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Runtime:
    """Where plan/apply go: a URL (with the server's access log) or an embedded SQLite file."""

    target: str
    access_log: Path | None = None

    def log_size(self) -> int:
        return self.access_log.stat().st_size if self.access_log else 0

    def requests_since(self, offset: int) -> Counter[str] | None:
        if self.access_log is None:
            return None
        with self.access_log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return Counter(request_kind(m[1], m[2]) for m in ACCESS_LINE.finditer(text))


def hubops_command() -> list[str]:
    script = Path(sys.executable).parent / "hubops"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hubops"]


@contextmanager
def serve(db: Path, env: dict[str, str]) -> Iterator[Runtime]:
    """`hubops serve` on 127.0.0.1 and a free port; always terminated on the way out."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = db.with_suffix(".log")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*hubops_command(), "serve", "--db", f"sqlite:///{db}", "--port", str(port)],
            cwd=db.parent,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hubops serve exited:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"hubops serve did not answer /healthz at {url}")
            time.sleep(0.05)
        yield Runtime(url, log_path)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


# --- measurements -------------------------------------------------------------


@dataclass
class Figures:
    seconds: float
    kinds: Counter[str]
    decryptions: int
    outcome: str
    ok: bool
    split: str = ""


@dataclass
class CliFigures:
    seconds: float
    exit_code: int
    kinds: Counter[str] | None
    decryptions: int
    outcome: str


@dataclass
class Bench:
    tenants: int
    env: dict[str, str]
    sops: SopsCounter
    failures: list[str] = field(default_factory=list)

    def inprocess_plan(self, runtime: Runtime, root: Path) -> Figures:
        async def run() -> tuple[int, str, Counter[str]]:
            async with CountingClient.open(runtime.target) as client:
                assert isinstance(client, CountingClient)
                planned = await make_plan(client, root, None, None)
                assert client.requests == sum(client.kinds.values())
                counts = planned.plan.counts
                line = (
                    f"Plan: {counts.add} to add, {counts.change} to change, "
                    f"{counts.destroy} to destroy."
                    if counts.total
                    else "No changes."
                )
                return len(planned.plan.tenants), line, client.kinds

        self.sops.reset()
        with patched_environ(self.env, drop=("HUBOPS_RUNTIME",)):
            started = time.perf_counter()
            planned_tenants, line, kinds = asyncio.run(run())
            seconds = time.perf_counter() - started
        return Figures(
            seconds, kinds, self.sops.decryptions(), line, planned_tenants == self.tenants
        )

    def inprocess_apply(self, runtime: Runtime, root: Path) -> Figures:
        async def run() -> tuple[float, float, int, int, Counter[str]]:
            async with CountingClient.open(runtime.target) as client:
                assert isinstance(client, CountingClient)
                started = time.perf_counter()
                planned = await make_plan(client, root, None, None)
                planning = time.perf_counter() - started
                work = [t for t in planned.plan.tenants if t.has_work]
                started = time.perf_counter()
                results = await apply_tenants(client, work, planned.project.tenants, None)
                applying = time.perf_counter() - started
                failed = sum(1 for r in results if r.error is not None)
                return planning, applying, len(results), failed, client.kinds

        self.sops.reset()
        with patched_environ(self.env, drop=("HUBOPS_RUNTIME",)):
            started = time.perf_counter()
            planning, applying, applied, failed, kinds = asyncio.run(run())
            seconds = time.perf_counter() - started
        outcome = f"{applied} tenants applied, {failed} failed"
        split = f"plan {secs(planning)} + change sets {secs(applying)}"
        return Figures(
            seconds,
            kinds,
            self.sops.decryptions(),
            outcome,
            applied == self.tenants and not failed,
            split,
        )

    def cli(self, runtime: Runtime, args: list[str]) -> CliFigures:
        self.sops.reset()
        offset = runtime.log_size()
        started = time.perf_counter()
        proc = subprocess.run(
            [*hubops_command(), *args, "--runtime", runtime.target, "--no-color"],
            env={k: v for k, v in self.env.items() if k != "HUBOPS_RUNTIME"},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        outcome = lines[-1] if lines else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return CliFigures(
            seconds,
            proc.returncode,
            runtime.requests_since(offset),
            self.sops.decryptions(),
            outcome,
        )

    def check(self, ok: bool, what: str) -> str:
        if not ok:
            self.failures.append(what)
        return f"    check: {what}: {'ok' if ok else 'NOT MET'}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def secs(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def show(name: str, tenants: int, fig: Figures) -> str:
    split = f" ({fig.split})" if fig.split else ""
    return (
        f"  {name}: {tenants} tenants, {secs(fig.seconds)}{split}, "
        f"{describe_requests(fig.kinds)}, "
        f"{plural(fig.decryptions, 'sops decryption')}; {fig.outcome}"
    )


def show_cli(command: str, fig: CliFigures) -> str:
    requests = (
        f", {describe_requests(fig.kinds)} in the server's access log"
        if fig.kinds is not None
        else ""
    )
    return (
        f"      CLI `{command}`: {secs(fig.seconds)} end to end, "
        f"exit {fig.exit_code}{requests}, "
        f"{plural(fig.decryptions, 'sops decryption')}; {fig.outcome}"
    )


# --- the repository edits -----------------------------------------------------


def copy_repository(source: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy(source / "catalog.yaml", dest / "catalog.yaml")
    shutil.copytree(source / "tenants", dest / "tenants")
    return dest / "tenants"


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


def reencrypt_secrets(folder: Path) -> None:
    """Decrypt and encrypt again to the same recipients: same values, different bytes."""
    path = folder / "secrets.sops.yaml"
    before = path.read_bytes()
    tree = yaml.safe_load(before)
    plain = decrypt(path, tree)
    assert not isinstance(plain, DecryptFailure), plain
    path.write_bytes(encrypt(yaml.safe_dump(plain).encode(), recipients(tree)))
    assert path.read_bytes() != before


# --- one runtime mode -------------------------------------------------------


def run_mode(bench: Bench, remote: bool, source: Path, work: Path) -> list[str]:
    name = "remote" if remote else "embedded"
    root = copy_repository(source, work / name / "repo")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    n = bench.tenants

    @contextmanager
    def runtime(db: Path) -> Iterator[Runtime]:
        if remote:
            with serve(db, bench.env) as served:
                yield served
        else:
            yield Runtime(str(db))

    out: list[str] = []
    db = work / name / "state.db"
    with runtime(db) as main_rt:
        if remote:
            out.append(f"remote runtime: `hubops serve --db sqlite:///{db}` at {main_rt.target}")
        else:
            out.append(f"embedded runtime: `--runtime {db}`")

        fig = bench.inprocess_apply(main_rt, root)
        out.append(show("initial apply", n, fig))
        # The CLI's initial apply goes to a second, empty runtime of the same kind.
        with runtime(work / name / "cli-apply.db") as fresh:
            cli = bench.cli(fresh, ["apply", str(root), "--auto-approve"])
        out.append(show_cli("hubops apply ROOT --auto-approve", cli))
        out.append(bench.check(fig.ok and cli.exit_code == 0, "every tenant applied"))

        plan_args = ["plan", str(root), "--detailed-exitcode"]
        plan_cmd = "hubops plan ROOT --detailed-exitcode"

        fig = bench.inprocess_plan(main_rt, root)
        cli = bench.cli(main_rt, plan_args)
        out.append(show("no-op plan", n, fig))
        out.append(show_cli(plan_cmd, cli))
        out.append(
            bench.check(
                fig.ok and fig.outcome == cli.outcome == "No changes." and cli.exit_code == 0,
                'no-op plan exits 0 with "No changes."',
            )
        )
        limit = Counter({"state": n, "key": 1})
        out.append(
            bench.check(
                all(fig.kinds[k] <= limit[k] for k in fig.kinds)
                and (cli.kinds is None or all(cli.kinds[k] <= limit[k] for k in cli.kinds)),
                f"no-op plan makes at most {n} state + 1 key requests",
            )
        )
        out.append(
            bench.check(
                fig.decryptions == cli.decryptions == 0, "no-op plan decrypts no secrets file"
            )
        )

        original = rename_tenant(folders[0])
        try:
            fig = bench.inprocess_plan(main_rt, root)
            cli = bench.cli(main_rt, plan_args)
        finally:
            (folders[0] / "tenant.yaml").write_bytes(original)
        out.append(show(f"one tenant renamed ({folders[0].name})", n, fig))
        out.append(show_cli(plan_cmd, cli))
        expected = "Plan: 0 to add, 1 to change, 0 to destroy."
        out.append(
            bench.check(
                fig.outcome == cli.outcome == expected
                and cli.exit_code == 2
                and fig.decryptions == cli.decryptions == 0
                and sum(fig.kinds.values()) <= n + 1,
                f"{expected!r}, {n + 1} requests at most, 0 sops decryptions",
            )
        )

        with patched_environ(bench.env):
            reencrypt_secrets(folders[-1])
        fig = bench.inprocess_plan(main_rt, root)
        cli = bench.cli(main_rt, plan_args)
        out.append(show(f"one secrets file re-encrypted ({folders[-1].name})", n, fig))
        out.append(show_cli(plan_cmd, cli))
        out.append(
            bench.check(
                fig.outcome == cli.outcome == "No changes."
                and cli.exit_code == 0
                and fig.decryptions == cli.decryptions == 1
                and sum(fig.kinds.values()) <= n + 1,
                f'"No changes.", {n + 1} requests at most, exactly 1 sops decryption',
            )
        )
    return out


@contextmanager
def scratch(workdir: Path | None) -> Iterator[Path]:
    """--workdir as given, else a temporary directory removed afterwards."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="hubops-plan-scale-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="put the repository, databases and logs here (default: cache + a temp dir)",
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached repository")
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
        sops = SopsCounter.install(work)
        env = {
            **os.environ,
            "SOPS_AGE_KEY_FILE": str(key_file),
            "HUBOPS_SOPS": str(sops.script),
            "HUBOPS_ADMIN_TOKEN": ADMIN_TOKEN,
            "NO_COLOR": "1",
        }
        bench = Bench(args.tenants, env, sops)
        print(
            f"plan at scale: {args.tenants} tenants x {args.stores} stores, "
            f"{os.cpu_count()} cores, repository {source}"
        )
        for remote in (True, False):
            for line in run_mode(bench, remote, source, work):
                print(line, flush=True)
    if bench.failures:
        print(f"{len(bench.failures)} checks not met: " + "; ".join(bench.failures))
        return 1
    print("all checks met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
