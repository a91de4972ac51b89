"""A 100,000-row catalog file: time to `succeeded`, the runtime's peak RSS, and what it does
to the Partner API's p99 meanwhile, next to a baseline p99 measured in the same run.

Starts `hubops serve` (SQLite file, uvicorn on 127.0.0.1), applies one tenant with a token and
a few hundred simulated orders, then:

1. baseline: `wrk` sends `GET /v1/orders?limit=50` for `--seconds` on `--connections`
   keep-alive connections and reports its latency distribution;
2. the same wrk run again, while a `--rows`-row CSV file is uploaded (mode replace) a moment
   after it starts; the upload's time to `succeeded` is taken by polling its record;
3. a second replace of the same size over the first (the old generation is then purged).

Peak RSS is the runtime process's VmHWM (Linux /proc), before and after the uploads.

    python bench/catalog_upload.py [--rows 100000] [--seconds 15] [--connections 8]

Needs `wrk` (Debian package `wrk`). Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from partner_api import scratch, seed_tenant, start_runtime
from wrk import Wrk, run_wrk


def run_orders_wrk(url: str, token: str, seconds: int, connections: int) -> Wrk:
    headers = {"Authorization": f"Bearer {token}"}
    return run_wrk(f"{url}/v1/orders?limit=50", seconds, connections, headers)


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc/PID/status."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.+)$", status, re.M)}
    return values["VmRSS"] / 1024, values["VmHWM"] / 1024


def catalog_csv(rows: int, generation: int) -> bytes:
    lines = ["sku,name,price,available"]
    lines += [
        f"SKU{n:06d},Item {n} of generation {generation},{n % 50}.{n % 100:02d},"
        f"{'yes' if n % 3 else 'no'}"
        for n in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def upload(url: str, token: str, body: bytes) -> tuple[float, dict[str, object]]:
    """Seconds from sending the file to its `succeeded` record, and the record."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        response = client.post("/v1/stores/s-001/catalog/uploads", content=body)
        response.raise_for_status()
        path = f"/v1/catalog/uploads/{response.json()['id']}"
        while True:
            record: dict[str, object] = client.get(path).json()
            if record["status"] != "processing":
                return time.perf_counter() - started, record
            time.sleep(0.05)


def upload_under_load(
    url: str, token: str, body: bytes, seconds: int, connections: int
) -> tuple[Wrk, float, dict[str, object]]:
    outcome: list[tuple[float, dict[str, object]]] = []

    def send() -> None:
        time.sleep(0.5)
        outcome.append(upload(url, token, body))

    sender = threading.Thread(target=send)
    sender.start()
    figures = run_orders_wrk(url, token, seconds, connections)
    sender.join()
    took, record = outcome[0]
    return figures, took, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the catalog file")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--orders", type=int, default=300, help="orders the tenant holds")
    parser.add_argument("--workdir", type=Path, default=None, help="keep database and logs here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    if min(args.rows, args.seconds, args.connections, args.orders) < 1:
        parser.error("--rows, --seconds, --connections and --orders must be at least 1")

    admin_token = secrets.token_urlsafe(24)
    body_1, body_2 = catalog_csv(args.rows, 1), catalog_csv(args.rows, 2)
    with scratch(args.workdir) as work:
        runtime = start_runtime(work, admin_token)
        try:
            token = seed_tenant(runtime.url, admin_token, args.orders, 4)
            run_orders_wrk(runtime.url, token, 1, args.connections)  # warm-up
            baseline = run_orders_wrk(runtime.url, token, args.seconds, args.connections)
            rss_before = peak_rss_mib(runtime.proc.pid)
            first, took_1, record_1 = upload_under_load(
                runtime.url, token, body_1, args.seconds, args.connections
            )
            second, took_2, record_2 = upload_under_load(
                runtime.url, token, body_2, args.seconds, args.connections
            )
            rss_after = peak_rss_mib(runtime.proc.pid)
        finally:
            runtime.stop()

    size = len(body_1) / (1024 * 1024)
    print(
        f"catalog upload over loopback: {args.rows} rows ({size:.1f} MiB CSV), wrk -c "
        f"{args.connections} -d {args.seconds}s on GET /v1/orders?limit=50 ({args.orders} orders)"
    )
    for label, took, record in (
        ("replace into an empty catalog", took_1, record_1),
        (f"replace over {args.rows} items", took_2, record_2),
    ):
        print(
            f"  {label:<40} {record['status']} in {took:6.2f} s "
            f"({record['accepted']} accepted, {record['rejected']} rejected)"
        )
    print(baseline.line("baseline (no upload):"))
    print(first.line("during the first upload:"))
    print(second.line("during the second upload:"))
    if max(took_1, took_2) + 0.5 > args.seconds:
        print("  note: an upload outlasted its wrk run; raise --seconds to cover all of it")
    print(
        f"  runtime RSS: {rss_before[0]:.0f} MiB before the uploads (peak so far "
        f"{rss_before[1]:.0f} MiB); peak {rss_after[1]:.0f} MiB after them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
