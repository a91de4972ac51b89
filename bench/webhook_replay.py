"""Replaying 10,000 webhook messages: time to enqueue, time to deliver to a loopback receiver,
and the Partner API's p99 meanwhile, next to a baseline p99 measured in the same run.

Starts `hubops serve` (SQLite file, uvicorn on 127.0.0.1), applies one tenant with a token
and a webhook (`order.created`) pointing at a receiver in this process, then simulates
`--messages` orders, each one message, and waits until all were delivered once. Then:

1. baseline: `wrk` sends `GET /v1/orders?limit=50` for `--seconds` on `--connections`
   keep-alive connections;
2. the same wrk run again, while `POST …/webhooks/replay/replay {"only": "all"}` queues
   every message again a moment after it starts: the request's duration is the time to
   enqueue, and the time until the receiver has had every message a second time is the
   time to deliver (the worker sends 16 at a time, one connection each).

    python bench/webhook_replay.py [--messages 10000] [--seconds 30] [--connections 8]

Needs `wrk` (Debian package `wrk`). Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog_upload import run_orders_wrk
from partner_api import _simulate_orders, scratch, seed_tenant, start_runtime
from receiver import Receiver
from webhook_latency import add_webhook
from wrk import Wrk

WEBHOOK = "replay"


def replay_under_load(
    url: str, admin_token: str, token: str, receiver: Receiver, seconds: int, connections: int
) -> tuple[Wrk, int, float, float | None]:
    """(wrk figures, messages queued, seconds to enqueue, seconds to deliver them all)."""
    before = receiver.deliveries()
    outcome: list[tuple[int, float, float | None]] = []

    def replay() -> None:
        time.sleep(0.5)
        headers = {"Authorization": f"Bearer {admin_token}"}
        started = time.time()  # the receiver stamps arrivals with the wall clock
        response = httpx.post(
            f"{url}/admin/v1/tenants/bench/webhooks/{WEBHOOK}/replay",
            json={"since": "2000-01-01T00:00:00Z", "only": "all"},
            headers=headers,
            timeout=300,
        )
        enqueued = time.time() - started
        response.raise_for_status()
        count = int(response.json()["count"])
        done = receiver.wait_for(before + count, timeout=600)
        outcome.append((count, enqueued, receiver.last - started if done else None))

    sender = threading.Thread(target=replay)
    sender.start()
    figures = run_orders_wrk(url, token, seconds, connections)
    sender.join()
    count, enqueued, delivered = outcome[0]
    return figures, count, enqueued, delivered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages to replay")
    parser.add_argument("--seconds", type=int, default=30, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workdir", type=Path, default=None, help="keep database and logs here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    if min(args.messages, args.seconds, args.connections) < 1:
        parser.error("--messages, --seconds and --connections must be at least 1")

    admin_token = secrets.token_urlsafe(24)
    receiver = Receiver()
    with scratch(args.workdir) as work:
        runtime = start_runtime(work, admin_token)
        try:
            token = seed_tenant(runtime.url, admin_token, 0, 1)
            headers = {"Authorization": f"Bearer {admin_token}"}
            with httpx.Client(base_url=runtime.url, headers=headers, timeout=60) as admin:
                add_webhook(admin, "bench", receiver.url, WEBHOOK, ("order.created",))
            started = time.perf_counter()
            asyncio.run(_simulate_orders(runtime.url, headers, args.messages, 4))
            if not receiver.wait_for(args.messages, timeout=600):
                raise RuntimeError("the first deliveries did not all arrive within 10 minutes")
            first = time.perf_counter() - started
            run_orders_wrk(runtime.url, token, 1, args.connections)  # warm-up
            baseline = run_orders_wrk(runtime.url, token, args.seconds, args.connections)
            during, count, enqueued, delivered = replay_under_load(
                runtime.url, admin_token, token, receiver, args.seconds, args.connections
            )
        finally:
            runtime.stop()
            receiver.close()

    print(
        f"webhook replay over loopback: {args.messages} messages of one webhook, wrk -c "
        f"{args.connections} -d {args.seconds}s on GET /v1/orders?limit=50"
    )
    print(f"  first delivery of {args.messages} orders as they were made: {first:6.2f} s")
    print(f"  replay (only: all) queued {count} messages in {enqueued:6.2f} s")
    if delivered is None:
        print("  replay: not every message arrived again within 10 minutes")
    else:
        rate = count / delivered if delivered else 0.0
        print(f"  replay delivered all {count} again in {delivered:6.2f} s ({rate:.0f}/s)")
    print(baseline.line("baseline (no replay):"))
    print(during.line("during the replay:"))
    if delivered is not None and delivered + 0.5 > args.seconds:
        print("  note: the replay outlasted its wrk run; raise --seconds to cover all of it")
    twice = sum(1 for n in receiver.ids.values() if n >= 2)
    print(f"  webhook-ids received twice (same id on replay): {twice} of {len(receiver.ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
