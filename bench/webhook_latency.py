"""End-to-end webhook latency: an order's status change -> the signed webhook received.

Used by bench/partner_api.py (one `hubops serve`) and bench/webhook_replicas.py
(two on one database), against runtimes that admit loopback webhooks
(HUBOPS_ALLOW_LOOPBACK_WEBHOOKS=1). It applies a webhook pointing at a receiver
in this process on 127.0.0.1 and seeds orders through the runtime's own store
function. Then `wrk` (Debian package `wrk`) moves them through the status
machine at a steady rate, each runtime taking its share as behind a load
balancer: a Lua script sends `POST /v1/orders/{id}/status` on a schedule of
its own clock, so the rate holds whatever the answers' latency, and no Python
client is what gets measured. Each status change carries an Idempotency-Key.

Latency is from the event (its `updatedAt`, stamped by the runtime in the
transaction that changed the status) to its first arrival at the receiver,
both on this machine's wall clock. What was sent is what the database holds:
every delivery queued for the webhook, so an event is lost only if the
runtime accepted it and it never arrived. The baseline is wrk POSTing an
event of the same size straight to the receiver at the same rate.
"""

from __future__ import annotations

import base64
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Select, func, select

from hubops.fingerprint import fingerprint, marker, tenant_key
from hubops.runtime.db import make_engine, reading
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.partner.models import OrderIn, OrderItem
from hubops.runtime.partner.orders import create_orders
from hubops.runtime.tables import webhook_deliveries, webhook_messages
from hubops.state import secret_address
from hubops.tokens import new_webhook_secret

sys.path.insert(0, str(Path(__file__).resolve().parent))
from receiver import Receiver
from wrk import Wrk, parse_wrk

STEPS = ("ACCEPTED", "PREPARING", "READY_FOR_PICKUP", "PICKED_UP", "DELIVERED")
WEBHOOK = "latency"

# Both Lua scripts are str.format templates; this part reads CLOCK_MONOTONIC through
# LuaJIT's ffi (wrk has no clock of its own finer than a second).
CLOCK = """\
local ffi = require("ffi")
ffi.cdef[[ typedef struct {{ long tv_sec; long tv_nsec; }} hb_timespec;
           int clock_gettime(int, hb_timespec *); ]]
local ts = ffi.new("hb_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end
"""
# Request number i of a wrk process is due
# at start + i / rate, so a slow answer does not slow the schedule (there are enough
# connections for the answers in flight). After the last status change it sends GET /healthz.
SCHEDULE = (
    CLOCK
    + """\
local orders = {{ {orders} }}
local steps = {{ "ACCEPTED", "PREPARING", "READY_FOR_PICKUP", "PICKED_UP", "DELIVERED" }}
local rate, first, last = {rate}, {first}, {last}
local token = "{token}"
local start = nil
local i = first
function delay()
  if start == nil then start = now() end
  local wait = (start + (i - first) / rate - now()) * 1000
  if wait < 1 then return 0 end
  return math.floor(wait)
end
function request()
  local n = i
  i = i + 1
  if n >= last then
    return wrk.format("GET", "/healthz")
  end
  local order = orders[(n % #orders) + 1]
  local status = steps[math.floor(n / #orders) + 1]
  local headers = {{
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = order .. "-" .. status,
  }}
  return wrk.format("POST", "/v1/orders/" .. order .. "/status", headers,
                    '{{"status":"' .. status .. '"}}')
end
"""
)
DIRECT = (
    CLOCK
    + """\
local rate, start, i = {rate}, nil, 0
function delay()
  if start == nil then start = now() end
  local wait = (start + i / rate - now()) * 1000
  if wait < 1 then return 0 end
  return math.floor(wait)
end
function request()
  i = i + 1
  return wrk.format("POST", "/hooks", {{ ["Content-Type"] = "application/json" }}, '{body}')
end
"""
)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def add_webhook(
    admin: httpx.Client,
    tenant: str,
    url: str,
    name: str = WEBHOOK,
    events: tuple[str, ...] = ("order.status_changed",),
) -> None:
    """Apply webhook `name` of `tenant`, pointing at `url`, with a fresh secret."""
    key = base64.b64decode(admin.get("/admin/v1/fingerprint-key").json()["key"])
    revision = admin.get(f"/admin/v1/tenants/{tenant}").json()["revision"]
    secret = new_webhook_secret()
    address = f"webhook/{name}"
    fp = fingerprint(tenant_key(key, tenant), secret_address(address, "secret"), secret)
    body = {
        "url": url,
        "events": list(events),
        "stores": None,
        "enabled": True,
        "integration": None,
        "secret": marker(fp),
    }
    change = {"address": address, "action": "create", "body": body, "secrets": {"secret": secret}}
    response = admin.post(
        f"/admin/v1/tenants/{tenant}/changes",
        json={"baseRevision": revision, "changes": [change]},
    )
    response.raise_for_status()


def seed_order_ids(db_url: str, tenant: str, count: int, batch: int = 2000) -> list[str]:
    """`count` new orders of `tenant` through the runtime's store function; their ids."""
    engine = make_engine(db_url)
    try:
        with reading(engine) as conn:
            tenant_id = tenant_id_or_404(conn, tenant)
        item = OrderItem(sku="B1", name="Burger", quantity=1, unitPrice="9.50")
        made: list[str] = []
        for start in range(0, count, batch):
            bodies = [
                OrderIn(store=f"s-00{1 + n % 2}", items=[item])
                for n in range(start, min(count, start + batch))
            ]
            made += [order.id for order in create_orders(engine, tenant_id, bodies)]
        return made
    finally:
        engine.dispose()


def _count(db_url: str, query: Select[Any]) -> int:
    engine = make_engine(db_url)
    try:
        with reading(engine) as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def queued(db_url: str, webhook: str = WEBHOOK) -> int:
    """Deliveries the runtimes queued for the webhook: every event they accepted."""
    deliveries = webhook_deliveries
    return _count(
        db_url, select(func.count()).select_from(deliveries).where(deliveries.c.webhook == webhook)
    )


def accepted_of(db_url: str, orders: list[str]) -> int:
    """Status changes the runtimes accepted for these orders (their events queued)."""
    messages = webhook_messages
    return _count(
        db_url,
        select(func.count())
        .select_from(messages)
        .where(messages.c.event_type == "order.status_changed", messages.c.order_id.in_(orders)),
    )


class Schedule:
    """One wrk process sending its share of the status changes to one runtime."""

    def __init__(
        self,
        work: Path,
        url: str,
        token: str,
        orders: list[str],
        rate: float,
        seconds: float,
        first: int = 0,
        name: str = "share",
    ) -> None:
        last = len(orders) * len(STEPS)
        script = work / f"{name}.lua"
        script.write_text(
            SCHEDULE.format(
                orders=", ".join(f'"{order}"' for order in orders),
                rate=rate,
                first=first,
                last=min(last, first + math.ceil(rate * seconds)),
                token=token,
            )
        )
        connections = max(4, math.ceil(rate / 10))  # an answer may take 100 ms before it lags
        self.proc = subprocess.Popen(
            [
                *("wrk", "--latency", "-t", "1", "-c", str(connections), "--timeout", "30s"),
                *("-d", f"{math.ceil(seconds)}s", "-s", str(script), url),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def result(self) -> Wrk:
        out, _ = self.proc.communicate(timeout=120)
        return parse_wrk(out)


def direct(work: Path, receiver: Receiver, rate: float, seconds: int) -> Wrk:
    """The baseline: wrk POSTing an event-sized body straight to the receiver at `rate`."""
    data = {
        "id": "direct",
        "store": "s-001",
        "status": "PREPARING",
        "items": [{"sku": "B1", "name": "Burger", "quantity": 1, "unitPrice": "9.50"}],
        "total": "9.50",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "retailer": None,
    }
    body = httpx.Request("POST", "/", json={"type": "order.status_changed", "data": data})
    script = work / "direct.lua"
    script.write_text(DIRECT.format(rate=rate, body=body.read().decode()))
    connections = max(4, math.ceil(rate / 25))
    done = subprocess.run(
        [
            *("wrk", "--latency", "-t", "1", "-c", str(connections), "-d", f"{seconds}s"),
            *("-s", str(script), receiver.url),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    return parse_wrk(done.stdout)


@dataclass(frozen=True)
class Latency:
    sent: int  # events the runtimes accepted (deliveries queued)
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    late: int  # events that arrived more than a second after they happened
    per_second: float  # events accepted per second of sending
    refused: int  # status changes answered with an error, or not at all (a killed runtime)
    new_ids: int  # events that came under more than one webhook-id (must be 0)
    out_of_order: int  # orders whose events arrived out of order (must be 0)
    repeats: int  # webhook-ids that arrived more than once (allowed: the same id again)
    direct_p50_ms: float  # the baseline: wrk POSTing straight to the same receiver
    direct_p99_ms: float
    answer_p50_ms: float  # status change answered (wrk; the slowest runtime's figure)
    answer_p99_ms: float

    def line(self) -> str:
        missing = self.sent - self.received
        tail = f", {missing} not received" if missing else ""
        return (
            f"  webhook end to end (event -> received, {self.sent} events): "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms{tail}; baseline plain POST "
            f"p50 {self.direct_p50_ms:.1f} ms, p99 {self.direct_p99_ms:.1f} ms"
        )


def _out_of_order(receiver: Receiver) -> int:
    rank = {status: number for number, status in enumerate(STEPS)}
    return sum(
        1
        for statuses in receiver.sequence.values()
        if [rank.get(s, -1) for s in statuses] != sorted(rank.get(s, -1) for s in statuses)
    )


def measure(
    urls: list[str],
    db_url: str,
    admin_token: str,
    token: str,
    tenant: str,
    rate: float,
    seconds: int,
    *,
    kill: Callable[[], None] | None = None,
    wait: float = 30.0,
) -> Latency:
    """Events at `rate` for `seconds`, shared among the runtimes at `urls`, and the baseline.

    With `kill`, it is called halfway through (it kills the last runtime); that
    runtime's share goes on to the first one, from a second before where it had
    got to, so what it may have accepted unanswered is sent again under the
    same Idempotency-Key, as a partner retries. Waits up to `wait` seconds after the
    sending for the rest to arrive.
    """
    events = math.ceil(rate * seconds)
    # Enough orders that one order's next step comes at least five seconds after its last:
    # an answer slower than that would let the next step overtake it (and get a 409).
    needed = max(math.ceil(events / len(STEPS)), math.ceil(rate * 5))
    orders = seed_order_ids(db_url, tenant, needed)
    share = rate / len(urls)
    shares = [orders[n :: len(urls)] for n in range(len(urls))]
    receiver = Receiver()
    try:
        with httpx.Client(
            base_url=urls[0], headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
        ) as admin:
            add_webhook(admin, tenant, receiver.url)
        with tempfile.TemporaryDirectory(prefix="hubops-bench-wrk-") as tmp:
            work = Path(tmp)
            baseline = direct(work, receiver, rate, min(seconds, 10))
            began = time.monotonic()
            runs = [
                Schedule(work, url, token, part, share, seconds, name=f"share-{n}")
                for n, (url, part) in enumerate(zip(urls, shares, strict=True))
            ]
            if kill is not None:
                time.sleep(seconds / 2)
                kill()
                runs.pop().kill()
                # Where the killed runtime had got to (it may have lagged its schedule), less
                # a second: what it accepted but did not answer is sent again, and replayed.
                resume = max(0, accepted_of(db_url, shares[-1]) - math.ceil(share))
                left = seconds - (time.monotonic() - began)
                runs.append(
                    Schedule(work, urls[0], token, shares[-1], share, left, resume, "takeover")
                )
            answered = [run.result() for run in runs]
            refused = sum(result.errors for result in answered)
        # Answers still on their way when wrk stopped may commit a moment later: count again.
        deadline = time.monotonic() + wait
        while receiver.events() < (sent := queued(db_url)) and time.monotonic() < deadline:
            time.sleep(0.2)
        lags = [
            (at - datetime.fromisoformat(receiver.updated[event]).timestamp()) * 1000
            for event, at in list(receiver.arrived.items())
            if event[0] != "direct"  # the baseline's posts
        ]
        new_ids = sum(1 for ids in receiver.ids_by_event.values() if len(ids) > 1)
        out_of_order = _out_of_order(receiver)
        repeats = sum(1 for count in receiver.ids.values() if count > 1)
    finally:
        receiver.close()
    return Latency(
        sent=sent,
        received=len(lags),
        p50_ms=_percentile(lags, 0.5),
        p99_ms=_percentile(lags, 0.99),
        max_ms=max(lags, default=float("nan")),
        late=sum(1 for lag in lags if lag > 1000),
        per_second=sent / seconds,
        refused=refused,
        new_ids=new_ids,
        out_of_order=out_of_order,
        repeats=repeats,
        direct_p50_ms=baseline.p50_ms,
        direct_p99_ms=baseline.p99_ms,
        answer_p50_ms=max(result.p50_ms for result in answered),
        answer_p99_ms=max(result.p99_ms for result in answered),
    )
