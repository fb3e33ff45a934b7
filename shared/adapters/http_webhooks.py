"""Outbound webhook HTTP: the DNS resolver the SSRF check uses and an httpx sender pinned to vetted addresses.

The sender connects to an address `check_target` already vetted (the URL carries the IP, the Host header
and TLS SNI carry the name, and the certificate is verified against the name), so DNS is not asked again
between the check and the connection. Redirects are never followed, proxies from the environment are
ignored, the response body is never read, and connections are not kept alive (a pooled connection keyed
by IP could otherwise be reused for another host name behind the same address).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

import httpx

from shared.services.webhook_security import Target
from shared.services.webhooks import WebhookSendError


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6); raises OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class HttpxWebhookSender:
    """Satisfies shared.services.webhooks.WebhookSender."""

    def __init__(self, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False, transport=transport,
                                  limits=httpx.Limits(max_keepalive_connections=0))

    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        default_port = 443 if target.scheme == "https" else 80
        host_header = _url_host(target.host) + ("" if target.port == default_port else f":{target.port}")
        is_literal = target.host in target.addresses
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and not is_literal else {}
        last: Exception | None = None
        for address in target.addresses:
            url = f"{target.scheme}://{_url_host(address)}:{target.port}{target.path}"
            try:
                with self._http.stream("POST", url, content=body, headers={**headers, "Host": host_header},
                                       extensions=extensions) as response:
                    return response.status_code
            except httpx.ConnectError as exc:  # nothing was sent: the next address may answer
                last = exc
            except httpx.TimeoutException as exc:
                raise WebhookSendError(f"timeout ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise WebhookSendError(f"transport error ({type(exc).__name__})") from exc
        raise WebhookSendError(f"connection failed ({type(last).__name__ if last else 'no address'})")
