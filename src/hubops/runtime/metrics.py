"""The runtime's Prometheus metrics: one registry per app, served at `/metrics`.

Each app owns its `CollectorRegistry` (never prometheus-client's global
one), so two runtimes in one process (tests, the in-process client) count
apart. Labels hold only bounded, non-secret values: the method, the route
template (`/v1/orders/{order_id}`, never the path asked for), the status,
an outcome. Tenant names, tokens and order ids never become labels.

Who counts what: `request_log.RequestLog` the HTTP requests, the webhook
worker each attempt and the lag of first attempts, the admin route each
change set's outcome; the pending gauge is a count read at scrape time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from hubops.runtime.errors import ApiError, StaleRevision

AttemptOutcome = Literal["success", "failure", "gone"]

# Request latencies of an API answering from one database: 1 ms to 10 s.
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Event to first attempt: the worker polls a few times a second; retries are not counted.
_LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class ChangeSetTally:
    def __init__(self) -> None:
        self.final = True

    def kept(self) -> None:
        """This request only kept a part of a change set sent in parts."""
        self.final = False


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "hubops_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "hubops_http_request_duration_seconds",
            "Time from a request's arrival to the start of its answer.",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "hubops_webhook_attempts_total",
            "Webhook delivery attempts, by outcome (gone: the endpoint answered 410).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_pending = Gauge(
            "hubops_webhook_pending",
            "Webhook deliveries waiting for an attempt (every replica's, from the database).",
            registry=self.registry,
        )
        self.webhook_lag = Histogram(
            "hubops_webhook_delivery_lag_seconds",
            "Time from an event to the first attempt to deliver it.",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.change_sets = Counter(
            "hubops_change_sets_total",
            "Change sets sent to the admin API, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        for outcome in ("success", "failure", "gone"):
            self.webhook_attempts.labels(outcome)
        for outcome in ("applied", "stale", "rejected"):
            self.change_sets.labels(outcome)

    def count_pending_with(self, count: Callable[[], int]) -> None:
        """Where the pending gauge reads its value at each scrape; NaN when it cannot be
        read (a database outage must not take the other figures down with it)."""

        def read() -> float:
            try:
                return float(count())
            except Exception:
                return math.nan

        self.webhook_pending.set_function(read)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        # Each request's children are looked up once and kept: `labels()` validates and
        # locks on every call, a share of each request's cost. The keys are bounded, as
        # the labels are (methods, route templates, statuses).
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.http_requests.labels(method, route, str(status)),
                self.http_duration.labels(method, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def attempt(self, outcome: AttemptOutcome) -> None:
        self.webhook_attempts.labels(outcome).inc()

    def first_attempt_lag(self, seconds: float) -> None:
        self.webhook_lag.observe(max(0.0, seconds))

    @contextmanager
    def change_set(self) -> Iterator[ChangeSetTally]:
        """Counts the change set sent inside as applied, stale (409) or rejected; a part
        that was only kept (`tally.kept()`) is not an outcome yet."""
        tally = ChangeSetTally()
        try:
            yield tally
        except StaleRevision:
            self.change_sets.labels("stale").inc()
            raise
        except ApiError:
            self.change_sets.labels("rejected").inc()
            raise
        if tally.final:
            self.change_sets.labels("applied").inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper accepts (Prometheus text, or OpenMetrics)
        and its content type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
