"""Where a webhook request may go: resolve the name, check every address, pin the checked one.

The manifest-side check (`hubops.addresses.webhook_url_problem`) sees only
the URL. Here the name is resolved at each delivery, every address it
resolves to must be public, and the request is then sent to that very
address (with the original Host header and TLS server name), so a DNS
answer that changes between the check and the connection (rebinding)
cannot redirect it to an internal service.

Resolving is the seam: `resolve_target` asks a `Resolver` (the system's,
`system_resolver`, unless one is given), so the rules are tested with names
that resolve to whatever a test says, without asking DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from hubops.addresses import (
    IPAddress,
    ip_problem,
    literal_host_address,
    url_host,
    webhook_url_problem,
)


class TargetRefused(Exception):
    """The webhook URL may not be called now; the message says why (no secrets in it)."""


@dataclass(frozen=True)
class Target:
    url: str  # with the checked IP address in place of the name
    host_header: str
    sni_hostname: str | None  # for https: the name the certificate must match
    address: str


# (host, port) -> the addresses the name resolves to; TargetRefused when it does not resolve.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The event loop's getaddrinfo: what the machine's resolver says now."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f'the host "{host}" does not resolve ({exc.strerror})') from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def resolve_target(
    url: str, allow_loopback: bool, resolver: Resolver = system_resolver
) -> Target:
    """Where to send a request for `url`: its checked address, pinned; TargetRefused if none."""
    problem = webhook_url_problem(url, allow_loopback)
    if problem:
        raise TargetRefused(f"the webhook URL is not allowed: {problem}")
    parts = urlsplit(url)
    # The very name the offline check judged (mapped as resolvers map it, in ASCII).
    mapped = url_host(url) or ""
    host = mapped.strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = literal_host_address(host if ":" not in host else f"[{host}]")
    addresses = [literal] if isinstance(literal, IPAddress) else await resolver(host, port)
    addresses = list(dict.fromkeys(addresses))
    if not addresses:
        raise TargetRefused(f'the host "{host}" resolves to no address')
    for ip in addresses:
        reason = ip_problem(ip, allow_loopback)
        if reason:
            raise TargetRefused(f'the host "{host}" resolves to {ip}, {reason}')
    chosen = addresses[0]
    shown = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = f"{mapped}:{parts.port}" if parts.port else mapped
    sni = host if parts.scheme == "https" and literal is None else None
    return Target(pinned, host_header, sni, str(chosen))
