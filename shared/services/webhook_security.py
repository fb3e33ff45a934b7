"""Outbound webhook safety: SSRF checks on integrators' URLs, and the signature integrators verify.

Target URLs are checked when a subscription is saved AND before every delivery (a name that resolved to a
public address yesterday may resolve to 169.254.169.254 today: DNS rebinding). `check_target` returns the
addresses it vetted and the sender connects to one of them, so no second, unchecked lookup happens between
the check and the connection. Redirects are never followed (a 3xx is a failed attempt).

Signing (what integrators implement; `verify` below is the reference):

    X-Omnichannel-Signature: t=1718000000,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>
    X-Omnichannel-Timestamp: 1718000000
    X-Omnichannel-Event:     MessageReceived
    X-Omnichannel-Delivery:  whd_...   (the same on every retry and replay: deduplicate on it)

After a secret rotation the header carries one `v1=` per valid secret (new first) for a grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Omnichannel-Signature"
TIMESTAMP_HEADER = "X-Omnichannel-Timestamp"
EVENT_HEADER = "X-Omnichannel-Event"
DELIVERY_HEADER = "X-Omnichannel-Delivery"

Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) -> the IP addresses it resolves to; raises OSError when it does not resolve."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"https": 443, "http": 80}
_DOTTED_QUAD = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")  # starts with a letter: no inet_aton form can pass
# Ranges named explicitly even where `is_global` already covers them, so the intent is readable.
_BLOCKED_NETWORKS: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = (
    ("link-local (cloud metadata)", ipaddress.ip_network("169.254.0.0/16")),
    ("shared address space (CGNAT)", ipaddress.ip_network("100.64.0.0/10")),
    ("this network", ipaddress.ip_network("0.0.0.0/8")),
    ("unique local", ipaddress.ip_network("fc00::/7")),
    ("link-local", ipaddress.ip_network("fe80::/10")),
    ("site-local", ipaddress.ip_network("fec0::/10")),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks (scheme, credentials, port, host form or a non-public address)."""


@dataclass(frozen=True)
class Target:
    """A vetted destination: connect to one of `addresses`, send `Host: host` (and SNI `host` over TLS)."""

    url: str  # normalized: lower-case scheme and host, no fragment
    scheme: str
    host: str  # ASCII (IDNA) host name, or the IP literal without brackets
    port: int
    path: str  # path and query, at least "/"
    addresses: tuple[str, ...]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through mapping, 6to4, Teredo or NAT64, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why this address may not receive webhooks, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = blocked_reason(embedded)
            return f"{reason} (embedded in {ip})" if reason else None
    for name, network in _BLOCKED_NETWORKS:
        if ip.version == network.version and ip in network:
            return name
    for name, flag in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if flag:
            return name
    return None if ip.is_global else "not globally routable"


def _host_form(host: str, *, bracketed: bool, allowlisted: bool) -> tuple[str, IPAddress | None]:
    """(ASCII host, IP literal or None). Only DNS names, dotted quads and bracketed IPv6 are accepted:
    decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1) and short (127.1) forms are refused."""
    if bracketed:
        if "%" in host:
            raise UnsafeTarget("IPv6 zone ids are not allowed")
        try:
            return host, ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeTarget("invalid IPv6 literal") from None
    if _DOTTED_QUAD.match(host):
        try:
            return host, ipaddress.IPv4Address(host)
        except ValueError:
            raise UnsafeTarget("invalid IPv4 literal (octets above 255 or with leading zeros)") from None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeTarget("invalid host name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeTarget("the host is neither a DNS name nor a dotted-quad IPv4 address")
    if not _TLD.match(labels[-1]):
        raise UnsafeTarget("numeric host forms other than a dotted quad are not allowed")
    if len(labels) < 2 and not allowlisted:
        raise UnsafeTarget("the host must be a fully qualified domain name")
    return ascii_host, None


def check_target(url: str, *, resolver: Resolver, allow_private: Iterable[str] = frozenset(),
                 allowed_ports: Iterable[int] = frozenset({443})) -> Target:
    """Vet a webhook URL and resolve it; raises UnsafeTarget.

    `allow_private` holds "host:port" (or bare "host") entries that may use http, any port and private
    addresses: local testing only. Every other URL must be https on an allowed port (443 by default) and
    EVERY address its host resolves to must be public.
    """
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        raise UnsafeTarget("whitespace, control characters and backslashes are not allowed in the URL")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeTarget("the URL must use https")
    if "@" in parts.netloc:
        raise UnsafeTarget("credentials (user:password@) are not allowed in the URL")
    raw_host = (parts.hostname or "").rstrip(".")
    if not raw_host:
        raise UnsafeTarget("the URL has no host")
    try:
        explicit_port = parts.port
    except ValueError:
        raise UnsafeTarget("invalid port") from None
    port = explicit_port or _DEFAULT_PORTS[scheme]
    bracketed = parts.netloc.rsplit("@", 1)[-1].startswith("[")
    allowed = {entry.strip().lower() for entry in allow_private}
    allowlisted = raw_host.lower() in allowed or f"{raw_host.lower()}:{port}" in allowed
    host, literal = _host_form(raw_host, bracketed=bracketed, allowlisted=allowlisted)
    if scheme != "https" and not allowlisted:
        raise UnsafeTarget("the URL must use https")
    if port not in set(allowed_ports) and not allowlisted:
        raise UnsafeTarget(f"port {port} is not allowed (use 443)")
    if literal is not None:
        addresses: tuple[str, ...] = (str(literal),)
    else:
        try:
            addresses = tuple(dict.fromkeys(resolver(host, port)))
        except (OSError, UnicodeError):
            raise UnsafeTarget(f"the host {host} does not resolve") from None
        if not addresses:
            raise UnsafeTarget(f"the host {host} does not resolve")
    if not allowlisted:
        for address in addresses:
            try:
                reason = blocked_reason(ipaddress.ip_address(address))
            except ValueError:
                reason = "not an IP address"
            if reason:
                raise UnsafeTarget(f"the host resolves to a non-public address ({reason})")
    netloc = f"[{host}]" if bracketed else host
    if explicit_port is not None:
        netloc = f"{netloc}:{explicit_port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url=f"{scheme}://{netloc}{path}", scheme=scheme, host=host, port=port, path=path,
                  addresses=addresses)


def validate_target_url(url: str, *, resolver: Resolver, allow_private: frozenset[str] = frozenset()) -> str:
    """The normalized URL when it may receive webhooks; raises UnsafeTarget otherwise."""
    return check_target(url, resolver=resolver, allow_private=allow_private).url


# --- signatures ------------------------------------------------------------------------------------------

def _bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _mac(secret: str, timestamp: int, body: bytes | str) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + _bytes(body), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The X-Omnichannel-Signature value: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def sign_many(secrets: Sequence[str], timestamp: int, body: bytes | str) -> str:
    """One `v1=` per secret (during a rotation's grace period the old secret signs too)."""
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, header: str | None, body: bytes | str, now: float | datetime, tolerance_s: int = 300
           ) -> bool:
    """Integrators' check of a delivery, over the raw request body exactly as received:

        ok = verify(secret, request.headers["X-Omnichannel-Signature"], request.body, time.time())

    True when the timestamp is within `tolerance_s` of `now` (replay protection) and any `v1` signature
    matches (constant-time). Unknown schemes in the header are ignored, so new ones can be added.
    """
    if not header or not secret:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body).encode()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates)
