"""Webhooks through two replicas on PostgreSQL: a steady rate for a minute, then a replica killed.

Each of the two runs creates a database of its own on the PostgreSQL server
`--pg-url` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped
afterwards, and starts two `hubops serve` processes on it with one master key,
as two replicas behind a load balancer. The lease is short
(HUBOPS_WEBHOOK_LEASE_SECONDS, `--lease`, default 5 s; attempts time out after
2 s) so that a killed replica's deliveries are taken over within the run.

1. steady: `--rate` status changes per second (default 200) for `--seconds`
   (default 60), sent round-robin to both replicas;
2. kill: the same, and one replica gets SIGKILL halfway through; its share of
   the status changes goes on to the other, from a second before where it had
   got to, with the same Idempotency-Keys, as a partner retries what was not
   answered.

Status changes are sent by wrk (see webhook_latency.py). For each run: events
accepted and received; p50 and p99 from the event to its receipt, next to wrk
POSTing the same size straight to the same receiver; events
more than a second late; events that came under a second webhook-id and
orders whose events came out of order (both must be 0); the peak RSS of each
replica next to its RSS at rest before the run.

    python bench/webhook_replicas.py [--rate 200] [--seconds 60] [--lease 5]
                                     [--pg-url postgresql+psycopg://...]

Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webhook_latency
from figures import Figure, table
from partner_api import Served, scratch, seed_tenant, start_runtime
from processes import served_database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (`VmRSS`) or its peak (`VmHWM`), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakMemory:
    """Samples the RSS and CPU time of some processes twice a second; `peak` also reads the
    kernel's peak. A killed process keeps its last readings."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.sampled = dict.fromkeys(pids, 0.0)
        self.cpu = {pid: cpu_seconds(pid) for pid in pids}  # the latest reading while alive
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self.pids:
                self.sampled[pid] = max(self.sampled[pid], rss_mb(pid))
                self.cpu[pid] = max(self.cpu[pid], cpu_seconds(pid))

    def peak(self, pid: int) -> float:
        return max(self.sampled[pid], rss_mb(pid, "VmHWM"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def one_run(args: argparse.Namespace, work: Path, kill: bool) -> list[Figure]:
    admin_token = secrets.token_urlsafe(24)
    env = {
        "HUBOPS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUBOPS_WEBHOOK_LEASE_SECONDS": str(args.lease),
        "HUBOPS_WEBHOOK_TIMEOUT": "2",
    }
    with ExitStack() as stack:
        db_url = stack.enter_context(served_database(args.pg_url, work))
        replicas: list[Served] = []
        for name in ("a", "b"):
            replicas.append(start_runtime(work, admin_token, db_url, env, f"serve-{name}"))
            stack.callback(replicas[-1].stop)
        token = seed_tenant(replicas[0].url, admin_token, 0, 1)
        at_rest = [rss_mb(replica.proc.pid) for replica in replicas]
        memory = PeakMemory([replica.proc.pid for replica in replicas])
        cpu_before = dict(memory.cpu)
        stack.callback(memory.stop)
        victim = replicas[1]
        hooks = webhook_latency.measure(
            [replica.url for replica in replicas],
            db_url,
            admin_token,
            token,
            "bench",
            args.rate,
            args.seconds,
            kill=(lambda: victim.proc.send_signal(signal.SIGKILL)) if kill else None,
            wait=30 + args.lease,
        )
        peaks = [memory.peak(replica.proc.pid) for replica in replicas]
        memory.stop()
        used = [memory.cpu[pid] - was for pid, was in cpu_before.items()]
    how = f"{args.rate:.0f}/s for {args.seconds} s"
    if kill:
        name = f"webhooks, 2 replicas on PostgreSQL, {how}, one SIGKILLed at {args.seconds // 2} s"
    else:
        name = f"webhooks, 2 replicas on PostgreSQL, {how}"
    direct = "wrk POSTing to the receiver"
    sent = "events accepted"
    figures = [
        Figure(name, "events received", hooks.received, "", sent, hooks.sent),
        Figure(name, "event -> received, p50", hooks.p50_ms, "ms", direct, hooks.direct_p50_ms),
        Figure(name, "event -> received, p99", hooks.p99_ms, "ms", direct, hooks.direct_p99_ms),
        Figure(name, "  slowest event", hooks.max_ms, "ms", direct, hooks.direct_p99_ms),
        Figure(
            name,
            "status change answered, p50",
            hooks.answer_p50_ms,
            "ms",
            direct,
            hooks.direct_p50_ms,
        ),
        Figure(
            name,
            "status change answered, p99",
            hooks.answer_p99_ms,
            "ms",
            direct,
            hooks.direct_p99_ms,
        ),
        Figure(name, "  events more than 1 s late", hooks.late, "", sent, hooks.sent),
        Figure(name, "events accepted per second", hooks.per_second, "/s", "asked", args.rate),
        Figure(name, "status changes refused", hooks.refused, "", sent, hooks.sent),
        Figure(name, "events under a second webhook-id", hooks.new_ids, "", sent, hooks.sent),
        Figure(name, "orders with events out of order", hooks.out_of_order, "", sent, hooks.sent),
        Figure(name, "webhook-ids delivered again", hooks.repeats, "", sent, hooks.sent),
    ]
    cpu = sum(used) * 1000 / max(1, hooks.sent)
    figures.append(
        Figure(
            name,
            "replicas' CPU per event",
            cpu,
            "ms",
            "one event's share of 2 cores at the rate asked",
            2000 / args.rate,
        )
    )
    for label, rest, peak in zip(("a", "b"), at_rest, peaks, strict=True):
        gone = " (until killed)" if kill and label == "b" else ""
        figures.append(
            Figure(name, f"peak RSS, replica {label}{gone}", peak, "MB", "its RSS at rest", rest)
        )
    return figures


def measure(args: argparse.Namespace) -> list[Figure]:
    """Both runs' figures; `args` has rate, seconds, lease, pg_url (and workdir: where the
    replicas' logs stay, or None for a temporary folder)."""
    workdir: Path | None = getattr(args, "workdir", None)
    with scratch(workdir) as work:
        steady, killed = work / "steady", work / "killed"
        steady.mkdir(exist_ok=True)
        killed.mkdir(exist_ok=True)
        return one_run(args, steady, kill=False) + one_run(args, killed, kill=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=200.0, help="status changes per second")
    parser.add_argument("--seconds", type=int, default=60, help="duration of each run")
    parser.add_argument("--lease", type=float, default=5.0, help="HUBOPS_WEBHOOK_LEASE_SECONDS")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server to use")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the replicas' logs here")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds < 2 or args.lease <= 2:
        parser.error("--rate must be positive, --seconds at least 2, --lease over 2")
    print(table(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
