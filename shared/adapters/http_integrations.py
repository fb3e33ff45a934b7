"""Integrations over HTTP: an SSRF-safe httpx transport and a cached Secrets Manager JSON reader.

`HttpxTransport` vets every URL with `shared.services.webhook_security.check_target` (https on an allowed
port, and every address the host resolves to must be public: loopback, private, link-local, the cloud
metadata address 169.254.169.254, CGNAT and their IPv6 forms are refused) and then connects to one of the
vetted addresses (the URL carries the IP, the Host header and TLS SNI carry the name, the certificate is
verified against the name), so DNS is not asked again between the check and the connection (DNS
rebinding). Redirects are never followed (a 3xx is returned as is), proxies from the environment are
ignored, connections are not kept alive, the response body is capped and the whole exchange has a
deadline. `allow_private` holds "host:port" entries that may use http and private addresses: local tests.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
from botocore.exceptions import ClientError

from shared.adapters.http_webhooks import resolve_host
from shared.services.integrations import (
    BlockedTarget,
    HttpResponse,
    ResponseTooLarge,
    TransportError,
    TransportTimeout,
)
from shared.services.webhook_security import Resolver, UnsafeTarget, check_target

USER_AGENT = "omnichannel-integrations/1.0"
DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_ALLOWED_PORTS = frozenset({443, 8443})


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _merge_headers(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers win, names compared case-insensitively (one entry per name)."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


class HttpxTransport:
    """Satisfies shared.services.integrations.HttpTransport."""

    def __init__(self, allow_private: frozenset[str] = frozenset(), resolver: Resolver = resolve_host, *,
                 allowed_ports: Iterable[int] = DEFAULT_ALLOWED_PORTS, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._allowed_ports = frozenset(allowed_ports)
        self._max_body_bytes = max_body_bytes
        self._http = httpx.Client(follow_redirects=False, trust_env=False, transport=transport,
                                  limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, *, headers: Mapping[str, str], params: Mapping[str, str],
                json_body: Any, timeout_s: float) -> HttpResponse:
        deadline = time.monotonic() + timeout_s
        try:
            full_url = str(httpx.URL(url).copy_merge_params(dict(params))) if params else url
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise BlockedTarget(f"invalid URL ({type(exc).__name__})") from None
        try:
            target = check_target(full_url, resolver=self._resolver, allow_private=self._allow_private,
                                  allowed_ports=self._allowed_ports)
        except UnsafeTarget as exc:
            raise BlockedTarget(str(exc)) from None

        default_port = 443 if target.scheme == "https" else 80
        host_header = _url_host(target.host) + ("" if target.port == default_port else f":{target.port}")
        is_literal = target.host in target.addresses
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and not is_literal else {}
        content = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        send_headers = _merge_headers({"User-Agent": USER_AGENT, "Accept": "application/json"},
                                      {"Content-Type": "application/json"} if content is not None else {},
                                      headers, {"Host": host_header})

        last: Exception | None = None
        for address in target.addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout("deadline exceeded before connecting")
            request_url = f"{target.scheme}://{_url_host(address)}:{target.port}{target.path}"
            try:
                with self._http.stream(method, request_url, content=content, headers=send_headers,
                                       timeout=httpx.Timeout(remaining), extensions=extensions) as response:
                    body = self._read(response, deadline)
                    return HttpResponse(status=response.status_code, body=body,
                                        headers={k.lower(): v for k, v in response.headers.items()})
            except httpx.ConnectTimeout as exc:  # nothing was sent: the next address may answer in time
                last = exc
            except httpx.ConnectError as exc:
                last = exc
            except httpx.TimeoutException as exc:
                raise TransportTimeout(type(exc).__name__) from None
            except httpx.HTTPError as exc:
                raise TransportError(type(exc).__name__) from None
        if isinstance(last, httpx.ConnectTimeout):
            raise TransportTimeout("connect timeout")
        raise TransportError(f"connection failed ({type(last).__name__ if last else 'no address'})")

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_body_bytes:
            raise ResponseTooLarge(f"content-length {declared} above {self._max_body_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_body_bytes:
                raise ResponseTooLarge(f"body above {self._max_body_bytes} bytes")
            if time.monotonic() > deadline:
                raise TransportTimeout("deadline exceeded while reading the body")
            chunks.append(chunk)
        return b"".join(chunks)


class SecretsManagerJsonReader:
    """Satisfies shared.services.integrations.SecretReader: JSON-object secrets, cached for `ttl_s`.

    A secret that does not exist reads as None (not cached, so a newly created one is seen at once); any
    other error (throttling, access denied, a value that is not a JSON object) raises. Values never
    appear in exceptions or logs.
    """

    def __init__(self, client: Any, ttl_s: float = 300, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def read_json(self, name: str) -> dict[str, Any] | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return copy.deepcopy(cached[1])
        try:
            response = self._client.get_secret_value(SecretId=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                with self._lock:
                    self._cache.pop(name, None)
                return None
            raise
        raw = response.get("SecretString")
        if raw is None:
            raise ValueError(f"secret {name} has no string value")
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValueError(f"secret {name} is not JSON") from None
        if not isinstance(value, dict):
            raise ValueError(f"secret {name} is not a JSON object")
        with self._lock:
            self._cache[name] = (now + self._ttl_s, value)
        return copy.deepcopy(value)

    def invalidate(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)
