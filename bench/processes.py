"""The hubops processes the benchmarks run: the CLI timed end to end, and `hubops serve`.

`run` times one CLI command to completion with its own max RSS (wait4);
`serve` starts the runtime on 127.0.0.1 for the duration of a `with`, with
its request log and its RSS readable meanwhile from /proc; `served_database`
is the database it keeps its state in: a SQLite file, or a database of its
own on a PostgreSQL server, created with a random name and dropped on the
way out whatever happened.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

SERVER_START_TIMEOUT = 30.0
# The runtime's request log: one "METHOD /route/{template} STATUS 1.2ms" line per request.
ACCESS_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/admin/\S*) \d{3} [\d.]+ms$", re.M)


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
    pid: int = 0
    max_rss_mb: float = 0.0  # from wait4, once it has exited

    def rss_mb(self) -> float:
        """The running server's RSS now (VmRSS)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        assert found is not None, f"no VmRSS in /proc/{self.pid}/status"
        return int(found[1]) / 1024

    @contextmanager
    def sampled_rss(self, every: float = 0.02) -> Iterator[list[float]]:
        """VmRSS sampled every `every` s meanwhile, into the list yielded (VmHWM would
        not do: the server's start peaks higher than it then runs, hiding later peaks)."""
        samples: list[float] = [self.rss_mb()]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(every):
                samples.append(self.rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield samples
        finally:
            done.set()
            sampler.join()
            samples.append(self.rss_mb())

    def requests_since(self, offset: int) -> list[str]:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        return [f"{m[1]} {m[2]}" for m in ACCESS_LINE.finditer(text)]

    def log_size(self) -> int:
        return self.log.stat().st_size


@contextmanager
def serve(db_url: str, work: Path, env: dict[str, str]) -> Iterator[Served]:
    """`hubops serve` on 127.0.0.1 and a free port; terminated on the way out (RSS kept)."""
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", work / "served.log")
    with served.log.open("wb") as log:
        proc = subprocess.Popen(
            [str(hubops_script()), "serve", "--db", db_url, "--port", str(port)],
            cwd=work,  # a generated master key lands beside a SQLite file, else in .hubops/
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served.pid = proc.pid
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
            served.max_rss_mb = usage.ru_maxrss / 1024
        except ChildProcessError:
            pass
        proc.returncode = 0


def is_postgresql(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except sa.exc.ArgumentError:
        return False


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def served_database(server: str | None, work: Path) -> Iterator[str]:
    """The database URL for `hubops serve`: a SQLite file in `work`, or a new database
    created on the PostgreSQL `server` and dropped on the way out, whatever happened."""
    if server is None:
        yield f"sqlite:///{work / 'served.db'}"
        return
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"hubops_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
