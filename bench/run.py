"""Every benchmark of bench/ in one run, printed as one table of figures next to baselines.

Runs, in this order, each with its baseline measured in the same run:

* validate (`validate_scale.py`): a generated repository of `--tenants` x
  `--stores`, against libyaml parsing the same manifests, and in-process
  decryption against the sops binary;
* plan and apply (`plan_scale.py`): its steps (initial apply, no-op plan, one
  tenant changed, ...), each next to parsing the same manifests timed right before,
  and the peak RSS of the CLI and of `hubops serve` during the initial apply to
  `hubops serve`, next to the CLI's peak validating the same repository and the
  server's peak before the apply began;
* the same on PostgreSQL (`plan_scale.py --db`, run a second time): the initial
  apply to `hubops serve` keeping its state in a database of its own on the
  `--pg-url` server (created and dropped by plan_scale), and its RSS figures;
  `--pg-url ''` leaves it out;
* the Partner API and webhooks (`partner_api.py`): wrk against
  `GET /v1/orders?limit=50` over `--orders` orders and the token check,
  next to a bare FastAPI hello world under the same uvicorn and wrk load;
  webhook end-to-end latency (one runtime on SQLite) next to wrk POSTing to the
  same receiver;
* webhooks through two replicas on PostgreSQL (`webhook_replicas.py`, on the
  `--pg-url` server): `--hook-rate` events/s for `--hook-seconds`, then again
  with one replica SIGKILLed halfway; lost, late, duplicate and out-of-order
  events, latency next to wrk POSTing to the receiver, peak RSS per replica.

    python bench/run.py [--tenants 1000] [--stores 10] [--orders 100000]
                        [--seconds 10] [--connections 16] [--events 1000] [--rate 100]
                        [--hook-rate 200] [--hook-seconds 60]
                        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Needs `wrk` (Debian package `wrk`). Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
sys.path.insert(0, str(HERE))
import partner_api  # noqa: E402
import webhook_replicas  # noqa: E402
from figures import Figure, table  # noqa: E402


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _find(pattern: str, text: str) -> list[float]:
    found = [float(value) for value in re.findall(pattern, text, re.MULTILINE)]
    if not found:
        raise RuntimeError(f"no figure matches {pattern!r} in:\n{text}")
    return found


def validate_figures(tenants: int, stores: int) -> list[Figure]:
    out = _run("validate_scale.py", "--tenants", str(tenants), "--stores", str(stores))
    name = f"validate ({tenants} tenants x {stores} stores)"
    wall = _find(r"^validate .*: ([\d.]+) s wall", out)[0]
    libyaml = _find(r"^parsers on the same \d+ manifest files: libyaml ([\d.]+) s", out)[0]
    decrypt = _find(r"^  decryption\s+([\d.]+) s", out)[0]
    binary = _find(r"\(all \d+: about ([\d.]+) s", out)[0]
    return [
        Figure(name, "hubops validate, wall", wall, "s", "libyaml parse of the manifests", libyaml),
        Figure(name, "  secrets decryption", decrypt, "s", "the sops binary (estimated)", binary),
    ]


def plan_figures(tenants: int, stores: int, pg_url: str = "") -> list[Figure]:
    """plan_scale run once (`hubops serve` on PostgreSQL with `pg_url`), as figures."""
    db = ["--db", pg_url] if pg_url else []
    with tempfile.TemporaryDirectory(prefix="hubops-bench-plan-") as work:
        out = _run(
            "plan_scale.py", "--tenants", str(tenants), "--stores", str(stores),
            "--workdir", work, *db,
        )  # fmt: skip
    on = " on PostgreSQL" if pg_url else ""
    return plan_rows(out, f"plan/apply{on} ({tenants} tenants x {stores} stores)", bool(pg_url))


def plan_rows(out: str, name: str, postgresql: bool) -> list[Figure]:
    """plan_scale's steps, each next to parsing the same manifests timed right before it,
    and its peak RSS figures; on PostgreSQL only the apply to it and the RSS figures,
    since its other steps repeat those of the first run."""
    rows = re.findall(r"^  (\S.*?)\s+([\d.]+) s\s+([\d.]+)x parsing", out, re.MULTILINE)
    peaks = re.findall(
        r"^  peak RSS: (\S.*?)\s+([\d.]+) MB\s+[\d.]+x (.*) \(([\d.]+) MB\)$", out, re.MULTILINE
    )
    if postgresql:
        rows = [row for row in rows if row[0] == "initial apply (hubops serve, PostgreSQL)"]
    if not rows or not peaks:
        raise RuntimeError(f"no plan_scale step or peak RSS found in:\n{out}")
    parsing = "parsing the manifests (PyYAML C)"
    figures = [
        Figure(name, step, float(seconds), "s", parsing, float(seconds) / float(ratio))
        for step, seconds, ratio in rows
    ]
    figures += [
        Figure(name, f"peak RSS, {what}", float(mb), "MB", base, float(base_mb))
        for what, mb, base, base_mb in peaks
    ]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--events", type=int, default=1000, help="status changes for webhooks")
    parser.add_argument("--rate", type=float, default=100.0, help="status changes per second")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="PostgreSQL server for the runs on PostgreSQL ('' leaves them out)",
    )
    parser.add_argument("--hook-rate", type=float, default=200.0, help="events/s, two replicas")
    parser.add_argument("--hook-seconds", type=int, default=60, help="each two-replica run")
    args = parser.parse_args(argv)
    if min(args.tenants, args.orders, args.seconds, args.connections, args.events) < 1:
        parser.error("every size must be at least 1")
    if args.stores < 3:
        parser.error("--stores must be at least 3")
    if args.hook_rate <= 0 or args.hook_seconds < 2:
        parser.error("--hook-rate must be positive and --hook-seconds at least 2")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    figures = validate_figures(args.tenants, args.stores)
    figures += plan_figures(args.tenants, args.stores)
    if args.pg_url:
        figures += plan_figures(args.tenants, args.stores, args.pg_url)
    with tempfile.TemporaryDirectory(prefix="hubops-bench-partner-") as work:
        figures += partner_api.measure(args, Path(work))
    if args.pg_url:
        replicas = argparse.Namespace(
            rate=args.hook_rate, seconds=args.hook_seconds, lease=5.0, pg_url=args.pg_url
        )
        figures += webhook_replicas.measure(replicas)
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
