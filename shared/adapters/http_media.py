"""Downloads of inbound media by URL (Messenger/Instagram CDN links, Twilio media, Telegram files) over httpx.

Only hosts the caller allows are ever fetched, on every redirect hop (Twilio answers its media URL with a redirect
to its CDN): a webhook must never make the platform fetch an arbitrary URL. Credentials go only to the host they
were given for. The body is streamed and cut at the size limit.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import httpx

from shared.errors import MediaTooLarge
from shared.ports import ProviderSendError

MAX_REDIRECTS = 3


class HttpMediaDownloader:
    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False,
                                  headers={"User-Agent": "omnichannel/0.1"})

    def get(self, url: str, *, allowed: Callable[[str], bool], max_bytes: int,
            auth: tuple[str, str] | None = None) -> tuple[bytes, str | None]:
        """(bytes, content type) of the URL; ProviderSendError for a refused host, an HTTP error or no answer
        (a 4xx is permanent, 5xx/429/no answer retryable: the same classification as sends)."""
        auth_host = urllib.parse.urlsplit(url).hostname
        for _ in range(MAX_REDIRECTS + 1):
            if not allowed(url):
                raise ProviderSendError(http_status=400, code=None, title="media URL host is not allowed",
                                        details=urllib.parse.urlsplit(url).hostname)
            same_host = urllib.parse.urlsplit(url).hostname == auth_host
            try:
                with self._http.stream("GET", url, auth=auth if same_host else None) as response:
                    if response.is_redirect:
                        url = urllib.parse.urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise ProviderSendError(http_status=response.status_code, code=None,
                                                title=f"media download answered {response.status_code}",
                                                details=urllib.parse.urlsplit(url).hostname)
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise MediaTooLarge(f"media exceeds {max_bytes} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks), response.headers.get("content-type")
            except httpx.TimeoutException as exc:
                raise ProviderSendError(http_status=None, code=None, title="timeout", details=None) from exc
            except httpx.TransportError as exc:
                raise ProviderSendError(http_status=None, code=None, title="connection error",
                                        details=type(exc).__name__) from exc
        raise ProviderSendError(http_status=400, code=None, title="too many redirects", details=None)
