"""`/metrics` of a served runtime, read with prometheus-client's own parser.

What a scraper sees: the SPEC's metric names and labels, routes by template
(never a raw path), no tenant name, token or order id anywhere, webhook
attempts by outcome as a real receiver answers them, change sets by outcome,
and the bearer token rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from partner_env import Tenant, assert_error
from runtime_server import Server, create, post
from webhook_receiver import Receiver, Reply

METRICS_TOKEN = "metrics-scrape-token-5d1e7a"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {
        "HUBOPS_METRICS_TOKEN": METRICS_TOKEN,
        "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS": "1",
        "HUBOPS_WEBHOOK_RETRY_SCHEDULE": "600",  # a failed delivery stays pending
        "HUBOPS_WEBHOOK_TIMEOUT": "2",
    }


def scrape(server: Server) -> tuple[str, Samples]:
    response = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(server: Server, check: Callable[[Samples], bool]) -> Samples:
    deadline = time.monotonic() + 10
    while True:
        _, samples = scrape(server)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_requests_are_counted_by_route_template_and_nothing_identifying(
    server: Server, tenant: Tenant
) -> None:
    token = tenant.token()
    order = tenant.order()
    with tenant.partner(token) as partner:
        assert partner.get(f"/v1/orders/{order['id']}").status_code == 200
        assert partner.get("/v1/orders", params={"limit": 5}).status_code == 200
        assert partner.get(f"/v1/orders/{order['id']}x").status_code == 404
    assert httpx.get(f"{server.url}/no/such/{tenant.name}").status_code == 404

    text, samples = scrape(server)
    route = "/v1/orders/{order_id}"
    assert (
        value(samples, "hubops_http_requests_total", method="GET", route=route, status="200") >= 1
    )
    assert (
        value(samples, "hubops_http_requests_total", method="GET", route=route, status="404") >= 1
    )
    assert (
        value(samples, "hubops_http_requests_total", method="GET", route="/v1/orders", status="200")
        >= 1
    )
    unrouted = value(
        samples, "hubops_http_requests_total", method="GET", route="(not routed)", status="404"
    )
    assert unrouted >= 1
    # The histogram has the same labels but the status.
    count = value(samples, "hubops_http_request_duration_seconds_count", method="GET", route=route)
    assert count >= 2
    assert (
        value(
            samples,
            "hubops_http_request_duration_seconds_bucket",
            method="GET",
            route=route,
            le="+Inf",
        )
        == count
    )
    labels = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.update(sample.labels.values())
            if sample.name.startswith("hubops_http_request_duration"):
                assert "status" not in sample.labels
    assert tenant.name not in labels
    assert not any("/no/such" in label for label in labels)
    assert token not in text and order["id"] not in text


def test_change_sets_are_counted_by_outcome(server: Server, tenant: Tenant) -> None:
    _, before = scrape(server)
    tenant.apply([create("store/s-003", {"name": "Harbour", "timezone": "UTC"})])
    stale = post(tenant.admin, tenant.name, 0, [create("store/s-004", {"name": "x"})])
    assert_error(stale, 409, "stale_revision")
    rejected = post(tenant.admin, tenant.name, tenant.revision, [create("store/s-005", {})])
    assert rejected.status_code == 422
    _, after = scrape(server)
    for outcome in ("applied", "stale", "rejected"):
        delta = value(after, "hubops_change_sets_total", outcome=outcome) - value(
            before, "hubops_change_sets_total", outcome=outcome
        )
        assert delta == 1, outcome


def test_webhook_attempts_by_outcome_pending_and_lag(
    server: Server, admin: httpx.Client, receiver: Receiver
) -> None:
    _, before = scrape(server)

    def attempts(samples: Samples, outcome: str) -> float:
        return value(samples, "hubops_webhook_attempts_total", outcome=outcome) - value(
            before, "hubops_webhook_attempts_total", outcome=outcome
        )

    for number, (reply, outcome) in enumerate(
        [(Reply(200), "success"), (Reply(503), "failure"), (Reply(410), "gone")], start=1
    ):
        shop = Tenant.create(server, admin)
        hook = shop.changes.webhook("pos", url=receiver.url, events=["order.created"])
        shop.apply([{**hook, "action": "create"}])
        receiver.script = [reply]
        shop.order()
        receiver.wait_for(number)
        samples = wait_until(server, lambda s, o=outcome: attempts(s, o) == 1)
        assert attempts(samples, outcome) == 1, outcome

    assert attempts(samples, "success") == 1 and attempts(samples, "failure") == 1
    assert value(samples, "hubops_webhook_pending") >= 1  # the 503 waits for its retry
    lag = value(samples, "hubops_webhook_delivery_lag_seconds_count") - value(
        before, "hubops_webhook_delivery_lag_seconds_count"
    )
    assert lag == 3
    within = value(samples, "hubops_webhook_delivery_lag_seconds_bucket", le="5.0") - value(
        before, "hubops_webhook_delivery_lag_seconds_bucket", le="5.0"
    )
    assert within == 3


def test_the_metrics_token_is_required_when_set(server: Server) -> None:
    assert_error(httpx.get(f"{server.url}/metrics"), 401, "unauthorized")
    wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"})
    error = assert_error(wrong, 401, "invalid_token")
    assert "nope" not in error["message"]
    assert 'realm="hubops-metrics"' in wrong.headers["www-authenticate"]


def test_metrics_are_open_without_a_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("open-metrics")
    server = Server(workdir=workdir, db_url=f"sqlite:///{workdir / 'state.db'}").start()
    try:
        response = httpx.get(f"{server.url}/metrics")
        assert response.status_code == 200
        assert "hubops_webhook_pending 0.0" in response.text
    finally:
        server.stop()
