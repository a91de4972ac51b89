"""Which webhook targets are allowed: the SSRF rules shared by `validate` and the runtime.

Validation runs in CI, which may have no DNS, so the manifest-side check is
purely offline: it rejects non-https URLs, `localhost` names and literal IP
addresses in any notation a URL parser or `inet_aton` would accept (dotted,
shortened, decimal, octal, hex, IPv4-mapped IPv6), after mapping the host
the way a resolver does (`resolved_host`). The runtime resolves that same
mapped name and reuses `ip_problem` on every address it resolves to, at
delivery time.
"""

from __future__ import annotations

import ipaddress
import os
import unicodedata
from urllib.parse import unquote, urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_ENV = "HUBOPS_ALLOW_LOOPBACK_WEBHOOKS"
# Label separators that IDNA (UTS 46) treats as ".".
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# Unicode categories no host name may keep: controls, format (invisible) characters,
# unassigned and private-use code points, and every kind of space or separator.
_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})


def loopback_allowed() -> bool:
    return os.environ.get(LOOPBACK_ENV, "") == "1"


def _parse_ipv4_number(part: str) -> int | None:
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        return None


def _looks_numeric(label: str) -> bool:
    if label.isdigit():
        return True
    return label[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in label[2:])


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | bool | None:
    """Parse `host` the way URL parsers and inet_aton do.

    Returns the address; None when the host is a name; False when the host
    ends in a number but is not a valid address (such a host is refused:
    some resolvers would still treat it as an address).
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or not _looks_numeric(parts[-1]):
        return None
    if len(parts) > 4:
        return False
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return False
    nums = [n for n in numbers if n is not None]
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
        return False
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def ip_problem(ip: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not be sent to `ip`, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return ip_problem(inner, allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if (
        ip.is_private
        or ip.is_reserved
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    ):
        return "a private or reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _is_localhost_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def literal_host_address(host: str) -> IPAddress | bool | None:
    """The IP a URL host denotes without DNS: an address, None for a name, False if malformed."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            return False
    return parse_ipv4_literal(host)


def _host_text(netloc: str) -> str:
    host = netloc.rpartition("@")[2]
    return host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]


def resolved_host(host_text: str) -> str | None:
    """The name a resolver looks up for a URL's host, in ASCII; None when none would accept it.

    Percent-escapes are decoded, then the host goes through the UTS 46 mapping
    that IDNA resolvers and browsers apply: compatibility forms folded (NFKC:
    full-width digits, an ideographic full stop as a dot), upper case lowered,
    ignorable characters such as a soft hyphen or zero-width space removed. So
    "127.0.0.1" with a soft hyphen is checked as the loopback address it
    resolves to. Characters still invisible or control after that are refused.
    Non-ASCII labels come back in their xn-- form.
    """
    try:
        host = idna.uts46_remap(unquote(host_text), std3_rules=False, transitional=False)
    except idna.IDNAError:
        return None
    host = unicodedata.normalize("NFKC", host).translate(_IDNA_DOTS).lower().rstrip(".")
    if any(unicodedata.category(c) in _INVISIBLE for c in host):
        return None
    if host.startswith("["):
        return host
    try:
        return ".".join(
            label if label.isascii() else idna.alabel(label).decode() for label in host.split(".")
        )
    except idna.IDNAError:
        return None


def url_host(url: str) -> str | None:
    """`resolved_host` of a URL's host (brackets kept on an IPv6 literal)."""
    return resolved_host(_host_text(urlsplit(url).netloc))


def webhook_url_problem(url: str, allow_loopback: bool | None = None) -> str | None:
    """Why `url` may not be a webhook target, checked offline; None when acceptable."""
    if allow_loopback is None:
        allow_loopback = loopback_allowed()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is what rejects "host:99999"
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if parts.scheme not in ("https", "http") or not _host_text(parts.netloc):
        return "it must be an absolute https:// URL with a host"
    host = resolved_host(_host_text(parts.netloc))
    if host is None:
        return (
            "its host contains invisible, control or other characters no name resolver "
            "accepts; write the host name in plain letters"
        )
    if not host:
        return "it must be an absolute https:// URL with a host"
    if "@" in parts.netloc:
        return "it must not contain a user name or password; authenticate with the signature"
    address = literal_host_address(host)
    if address is False:
        return f'its host "{host}" looks like an IP address but is not a valid one'
    local = _is_localhost_name(host) or (
        not isinstance(address, bool) and address is not None and address.is_loopback
    )
    if parts.scheme == "http" and not (allow_loopback and local):
        hint = f" (http is accepted only for loopback URLs when {LOOPBACK_ENV}=1)" if local else ""
        return f"it must use https{hint}"
    if _is_localhost_name(host):
        if allow_loopback:
            return None
        return f'its host "{host}" is local; set {LOOPBACK_ENV}=1 only for development'
    if address is not None and not isinstance(address, bool):
        problem = ip_problem(address, allow_loopback)
        if problem:
            return f'its host "{host}" is {problem}; use a public https endpoint'
    return None
