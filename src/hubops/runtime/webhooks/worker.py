"""The delivery worker: an asyncio task in the runtime process that works off the outbox.

It polls for due deliveries (so the first attempt follows an event within
a tenth of a second), sends each as a Standard Webhooks request to the checked,
pinned address, and records every attempt. Only a 2xx is success;
redirects are not followed; a 429/503 `Retry-After` is honoured; a 410
switches the webhook off. Other failures retry on the configured schedule
with jitter, and when it is exhausted the delivery is marked failed and
kept for redelivery; after each, `autodisable` decides whether the endpoint
has failed long enough to be switched off. Database work runs in threads; sending is async.

The worker takes its `httpx.AsyncClient` and its `Resolver` (by default a
keep-alive client per endpoint, `clients.EndpointClients`, and the system's
resolver), so the rules are tested in-process with `httpx.MockTransport` and
names that resolve as a test says. The rules
do not depend on the client given: redirects are never followed and every
request carries the worker's own timeout. An unexpected error is logged by
its type and place only (`errors.exception_summary`): a database error's
message may hold SQL and its values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from hubops import __version__, utc
from hubops.addresses import loopback_allowed
from hubops.runtime.context import Runtime
from hubops.runtime.errors import exception_summary
from hubops.runtime.metrics import AttemptOutcome
from hubops.runtime.settings import RuntimeConfigError
from hubops.runtime.webhooks import autodisable, deliveries, signing_keys
from hubops.runtime.webhooks.clients import EndpointClients
from hubops.runtime.webhooks.finisher import Finisher
from hubops.runtime.webhooks.signing import signature_header
from hubops.runtime.webhooks.targets import (
    Resolver,
    TargetRefused,
    resolve_target,
    system_resolver,
)

log = logging.getLogger("hubops.webhooks")

SCHEDULE_ENV = "HUBOPS_WEBHOOK_RETRY_SCHEDULE"
DEFAULT_SCHEDULE = "5,300,1800,7200,18000,36000,36000"
# Idle, a poll every 50 ms: an event another replica queued, or one whose retry is due, is
# picked up within that (a poll that finds nothing is one short indexed query).
POLL_SECONDS = 0.05
BUSY_POLL_SECONDS = 0.02
BATCH = 100
PARALLEL_SENDS = 16
MAX_RETRY_AFTER = 86_400.0
TIMEOUT_ENV = "HUBOPS_WEBHOOK_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
LEASE_ENV = "HUBOPS_WEBHOOK_LEASE_SECONDS"
DEFAULT_LEASE = 60.0


def retry_schedule(raw: str | None = None) -> list[float]:
    """Seconds between attempts, from HUBOPS_WEBHOOK_RETRY_SCHEDULE (fractions allowed)."""
    text = raw if raw is not None else os.environ.get(SCHEDULE_ENV, DEFAULT_SCHEDULE)
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        delays = []
    if not delays or any(d < 0 for d in delays):
        raise RuntimeConfigError(
            f"{SCHEDULE_ENV} must be comma-separated non-negative seconds between attempts, "
            f"e.g. {DEFAULT_SCHEDULE}"
        )
    return delays


def request_timeout() -> httpx.Timeout:
    """Seconds one attempt may take (HUBOPS_WEBHOOK_TIMEOUT, default 10); a slower endpoint
    counts as a failed attempt and is retried."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(raw) if raw.strip() else DEFAULT_TIMEOUT
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise RuntimeConfigError(f"{TIMEOUT_ENV} must be a positive number of seconds")
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def lease_time(timeout: httpx.Timeout, raw: str | None = None) -> timedelta:
    """How long a claimed delivery is this replica's (HUBOPS_WEBHOOK_LEASE_SECONDS, default 60).

    A replica that dies holds its deliveries this long before another takes
    them over, so it must be longer than one attempt may take, or a slow
    endpoint would get the same message from two replicas at once.
    """
    text = raw if raw is not None else os.environ.get(LEASE_ENV, "")
    try:
        seconds = float(text) if text.strip() else DEFAULT_LEASE
    except ValueError:
        seconds = -1.0
    attempt = timeout.read or DEFAULT_TIMEOUT
    if seconds <= attempt:
        raise RuntimeConfigError(
            f"{LEASE_ENV} must be a number of seconds longer than one attempt may take "
            f"({TIMEOUT_ENV}, {attempt:g} s); default {DEFAULT_LEASE:g}"
        )
    return timedelta(seconds=seconds)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if value is None or response.status_code not in (429, 503):
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def webhook_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A client for one endpoint identity (see `clients.EndpointClients`): its pool keeps
    connections to that endpoint alive between deliveries."""
    # No proxies from the environment: they would bypass the pinned address.
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(
            max_connections=PARALLEL_SENDS, max_keepalive_connections=4, keepalive_expiry=30
        ),
        headers={"user-agent": f"hubops-webhooks/{__version__}"},
    )


def _outcome(response: httpx.Response | None) -> AttemptOutcome:
    """What `hubops_webhook_attempts_total` counts an attempt as: only a 2xx is success."""
    if response is not None and 200 <= response.status_code < 300:
        return "success"
    return "gone" if response is not None and response.status_code == 410 else "failure"


class DeliveryWorker:
    def __init__(
        self,
        runtime: Runtime,
        schedule: list[float],
        timeout: httpx.Timeout,
        lease: timedelta = timedelta(seconds=DEFAULT_LEASE),
        http: httpx.AsyncClient | None = None,
        resolver: Resolver = system_resolver,
        allow_loopback: bool | None = None,
        disable_after: float | None = None,
    ) -> None:
        """`http` and `resolver` are the seams (defaults: a `webhook_client` per endpoint, the
        system's resolver);
        `disable_after` defaults to HUBOPS_WEBHOOK_DISABLE_AFTER."""
        self.runtime = runtime
        self.schedule = schedule
        self.disable_after = (
            autodisable.disable_after_seconds() if disable_after is None else disable_after
        )
        self.allow_loopback = loopback_allowed() if allow_loopback is None else allow_loopback
        self._task: asyncio.Task[None] | None = None
        self._busy: set[int] = set()
        self._inflight: dict[asyncio.Task[None], deliveries.Job] = {}
        self._lease = lease
        self._slots = asyncio.Semaphore(PARALLEL_SENDS)
        self._timeout = timeout
        self._deadline = timeout.read or DEFAULT_TIMEOUT
        self._http = http  # the one client for every endpoint, when a test gives it
        self._clients = EndpointClients(lambda: webhook_client(timeout))
        self._resolver = resolver
        self._signing = signing_keys.SigningCache()
        self._finisher = Finisher(runtime.engine)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hubops-webhook-worker")

    async def stop(self, grace: float = 0.0) -> None:
        """Claim nothing more; let attempts under way finish within `grace` seconds, and give
        the leases of those still running back, so another replica sends them at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        running = set(self._inflight)
        if running and grace > 0:
            _done, running = await asyncio.wait(running, timeout=grace)
        unfinished = [self._inflight[task] for task in running]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        # Attempts that were sent are written first: a delivery they finished is not handed
        # back (and so not sent a second time).
        await self._finisher.drain()
        if unfinished:
            try:
                released = await asyncio.to_thread(
                    deliveries.release, self.runtime.engine, unfinished, utc.now()
                )
                log.info("webhook worker stopped; %d deliveries handed back", released)
            except Exception as exc:  # their leases end on their own
                log.error("handing deliveries back failed: %s", exception_summary(exc))
        await self._clients.aclose()

    async def deliver_due(self) -> int:
        """Attempt every delivery due now and wait for them; how many were attempted."""
        tasks = await self._poll()
        await asyncio.gather(*tasks)
        return len(tasks)

    async def _poll(self, idle: bool = False) -> list[asyncio.Task[None]]:
        """Claim due deliveries no attempt of this worker holds, and start sending them.

        `idle` (the last poll found nothing): look first, in a read, whether anything is
        due at all; the claim is a write transaction, and idle polls are most polls."""
        engine, keys = self.runtime.engine, self.runtime.keys
        if idle and not await asyncio.to_thread(deliveries.any_due, engine, utc.now()):
            return []
        jobs = await asyncio.to_thread(
            deliveries.claim_due,
            engine,
            utc.now(),
            self._lease,
            keys,
            BATCH,
            set(self._busy),
            self._signing,
        )
        self._busy.update(job.delivery_id for job in jobs)
        tasks = []
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self._inflight[task] = job
            task.add_done_callback(self._inflight.pop)
            tasks.append(task)
        return tasks

    async def _run(self) -> None:
        running: set[asyncio.Task[None]] = set()
        found = True
        while True:
            idle, found = not found, False
            try:
                tasks = await self._poll(idle)
                found = bool(tasks)
                for task in tasks:
                    running.add(task)
                    task.add_done_callback(running.discard)
            except Exception as exc:  # keep delivering whatever one bad poll did
                log.error("webhook worker poll failed: %s", exception_summary(exc))
            # Poll again at once while there is work; idle, a few times a second.
            await asyncio.sleep(BUSY_POLL_SECONDS if found else POLL_SECONDS)

    async def _deliver(self, job: deliveries.Job) -> None:
        try:
            async with self._slots:
                await self._attempt(job)
        except Exception as exc:
            log.error(
                "webhook delivery %s failed unexpectedly: %s",
                job.delivery_id,
                exception_summary(exc),
            )
        finally:
            self._busy.discard(job.delivery_id)

    async def _attempt(self, job: deliveries.Job) -> None:
        engine, metrics = self.runtime.engine, self.runtime.metrics
        now = utc.now()
        if job.attempts == 0:
            metrics.first_attempt_lag((now - job.created_at).total_seconds())
        if job.hook is None or not job.hook.get("enabled") or not job.keys:
            if job.hook is None:
                reason = "the webhook no longer exists"
            elif not job.hook.get("enabled"):
                reason = "the webhook is disabled"
            else:
                reason = (
                    "the signing secret cannot be opened with this runtime's master key; "
                    "restore the master key or apply the webhook's secret again"
                )
            attempt = deliveries.Attempt(now, None, None, reason, None)
            metrics.attempt("failure")
            await self._finish(job, attempt, "failed", None, sent=False)
            return
        attempt, response = await self._send(job, now)
        metrics.attempt(_outcome(response))
        if response is not None and 200 <= response.status_code < 300:
            await self._finish(job, attempt, "succeeded", None)
            return
        if response is not None and response.status_code == 410:
            reason = f"410 Gone from the endpoint at {now.isoformat()}; webhook disabled"
            attempt = replace(attempt, error=reason)
            await self._finish(job, attempt, "failed", None)
            await asyncio.to_thread(
                deliveries.disable_webhook, engine, job.tenant, job.webhook, reason
            )
            return
        number = job.attempts + 1  # this attempt's number
        if number > len(self.schedule):
            await self._finish(job, attempt, "failed", None)
        else:
            delay = self.schedule[number - 1] * random.uniform(0.9, 1.1)
            wait = _retry_after(response, now) if response is not None else None
            if wait is not None:
                delay = max(delay, wait)
            next_at = now + timedelta(seconds=delay)
            await self._finish(job, attempt, "pending", next_at)
        await asyncio.to_thread(autodisable.check, engine, job, now, self.disable_after)

    async def _finish(
        self,
        job: deliveries.Job,
        attempt: deliveries.Attempt,
        status: str,
        next_at: datetime | None,
        *,
        sent: bool = True,
    ) -> None:
        await self._finisher.record(deliveries.Finished(job, attempt, status, next_at, sent))

    async def _send(
        self, job: deliveries.Job, now: datetime
    ) -> tuple[deliveries.Attempt, httpx.Response | None]:
        assert job.hook is not None
        started = time.perf_counter()
        try:
            target = await resolve_target(str(job.hook["url"]), self.allow_loopback, self._resolver)
        except TargetRefused as exc:
            return deliveries.Attempt(now, None, None, str(exc), None), None
        timestamp = int(time.time())
        headers = {
            "host": target.host_header,
            "content-type": "application/json",
            "webhook-id": job.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(job.message_id, timestamp, job.body, job.keys),
        }
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        excerpt = b""
        try:
            # One deadline for the whole attempt: a per-read timeout alone lets an endpoint
            # that trickles bytes hold a delivery slot indefinitely.
            async with asyncio.timeout(self._deadline):
                http = self._http or self._clients.get(target)
                request = http.build_request(
                    "POST",
                    target.url,
                    content=job.body,
                    headers=headers,
                    extensions=extensions,
                    timeout=self._timeout,
                )
                response = await http.send(request, stream=True, follow_redirects=False)
                try:
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= deliveries.EXCERPT:
                            break  # only an excerpt is kept; never buffer a whole reply
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            elapsed = int((time.perf_counter() - started) * 1000)
            return deliveries.Attempt(now, None, elapsed, "timed out", None), None
        except Exception as exc:  # any failure to send is a failed attempt, never a stall
            elapsed = int((time.perf_counter() - started) * 1000)
            return deliveries.Attempt(
                now, None, elapsed, f"request failed: {type(exc).__name__}", None
            ), None
        elapsed = int((time.perf_counter() - started) * 1000)
        error = None
        if 300 <= response.status_code < 400:
            error = (
                f"redirect ({response.status_code}) not followed; "
                "point the webhook at the final URL"
            )
        elif not 200 <= response.status_code < 300:
            error = f"endpoint answered {response.status_code}"
        shown = excerpt[: deliveries.EXCERPT].decode("utf-8", errors="replace") or None
        return deliveries.Attempt(now, response.status_code, elapsed, error, shown), response
