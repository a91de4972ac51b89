"""Webhook URL rules, checked offline, including the usual SSRF bypass notations."""

from __future__ import annotations

import ipaddress

import pytest

from hubops.addresses import ip_problem, parse_ipv4_literal, webhook_url_problem

REFUSED = [
    ("http://pos.example.com/hooks", "must use https"),
    ("ftp://pos.example.com/", "absolute https:// URL"),
    ("https:///nohost", "absolute https:// URL"),
    ("https://localhost/x", "is local"),
    ("https://LOCALHOST./x", "is local"),
    ("https://api.localhost/x", "is local"),
    ("https://127.0.0.1/x", "loopback"),
    ("https://127.1/x", "loopback"),
    ("https://2130706433/x", "loopback"),
    ("https://0x7f000001/x", "loopback"),
    ("https://0177.0.0.01/x", "loopback"),
    ("https://[::1]/x", "loopback"),
    ("https://[::ffff:127.0.0.1]/x", "loopback"),
    ("https://[::ffff:7f00:1]/x", "loopback"),
    ("https://[::ffff:10.0.0.1]/x", "private"),
    ("https://[2002:a00:1::]/x", "private"),  # 6to4 wrapping 10.0.0.1
    ("https://0.0.0.0/x", "unspecified"),
    ("https://0/x", "unspecified"),
    ("https://[::]/x", "unspecified"),
    ("https://10.0.0.8/x", "private"),
    ("https://172.16.5.4/x", "private"),
    ("https://192.168.1.1:8443/x", "private"),
    ("https://[fd00::1]/x", "private"),
    ("https://100.64.0.1/x", "non-public"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/x", "link-local"),
    ("https://224.0.0.1/x", "multicast"),
    ("https://[ff02::1]/x", "multicast"),
    ("https://1.2.3.4.5/x", "not a valid one"),
    ("https://256.1.1.1/x", "not a valid one"),
    ("https://user:pass@pos.example.com/x", "user name or password"),
    ("https://127\u30020\u30020\u30021/x", "loopback"),
    ("https://127.0.0.1%2e/x", "loopback"),
    ("https://%6cocalhost/x", "is local"),
    ("https://pos.example.com:99999/x", "not a valid URL"),
]

ACCEPTED = [
    "https://pos.example.com/hooks/orders",
    "https://pos.example.com./hooks",
    "https://8.8.8.8/hooks",
    "https://[2606:4700:4700::1111]/hooks",
    "https://no-such-name.invalid/hooks",  # offline: a name that may not resolve is fine
    "https://1password.example/hooks",  # a label starting with digits is still a name
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused(url: str, reason: str) -> None:
    problem = webhook_url_problem(url, allow_loopback=False)
    assert problem is not None and reason in problem, problem


@pytest.mark.parametrize("url", ACCEPTED)
def test_accepted(url: str) -> None:
    assert webhook_url_problem(url, allow_loopback=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:9000/hook",
        "https://127.0.0.1/x",
        "http://[::1]:81/",
    ],
)
def test_loopback_allowed_only_in_development(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert webhook_url_problem(url, allow_loopback=True) is None
    monkeypatch.setenv("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", "1")
    assert webhook_url_problem(url) is None
    monkeypatch.setenv("HUBOPS_ALLOW_LOOPBACK_WEBHOOKS", "0")
    assert webhook_url_problem(url) is not None


def test_loopback_switch_does_not_open_private_ranges_or_plain_http() -> None:
    assert webhook_url_problem("http://10.0.0.1:80/", allow_loopback=True) is not None
    assert webhook_url_problem("https://192.168.0.1/", allow_loopback=True) is not None
    assert webhook_url_problem("http://pos.example.com/", allow_loopback=True) is not None


def test_parse_ipv4_literal_forms() -> None:
    assert parse_ipv4_literal("127.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_ipv4_literal("0x7f.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_ipv4_literal("10.0.258") == ipaddress.IPv4Address("10.0.1.2")
    assert parse_ipv4_literal("example.com") is None
    assert parse_ipv4_literal("0xzz") is None
    assert parse_ipv4_literal("08.1.1.1") is False


def test_ip_problem_for_resolved_addresses() -> None:
    assert ip_problem(ipaddress.ip_address("93.184.216.34")) is None
    assert ip_problem(ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    assert ip_problem(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert ip_problem(ipaddress.ip_address("::ffff:192.168.0.1")) is not None
