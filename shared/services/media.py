"""Inbound media -> S3, in its own retried step, for every channel:
- WhatsApp: Graph media id -> URL -> bytes, verified against Meta's sha256;
- Messenger/Instagram: the CDN URL the webhook carried (fbcdn/fbsbx/cdninstagram hosts only);
- Telegram: getFile -> the Bot API's file URL;
- SMS: the MMS URL on Twilio's hosts, with the account's credentials.
URLs are only fetched from the hosts allowed for the channel (settings.media_url_hosts), on every redirect.

A media failure never blocks or loses the message (it is already stored); the outcome is recorded on the
message (`media_state`: stored | retrying | failed, with the reason) so it is visible and can be retried.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import MediaTooLarge, RetryableError
from shared.models.channel import Channel
from shared.models.events import MessageReceived
from shared.ports import BlobStore, ChannelDirectory, MessageStore, ProviderErrorKind, ProviderSendError, WhatsAppClient
from shared.services.whatsapp_errors import backoff_seconds, classify

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "audio/ogg": "ogg",
               "audio/mpeg": "mp3", "video/mp4": "mp4", "application/pdf": "pdf"}


@dataclass(frozen=True)
class MediaOutcome:
    state: str  # stored | failed | skipped
    reason: str | None = None
    s3_key: str | None = None


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int
    allowed_mime_prefixes: tuple[str, ...]
    max_attempts: int = 5
    base_delay_s: int = 5
    max_delay_s: int = 300
    # hosts (and their subdomains) media URLs may be fetched from, per channel kind
    url_hosts: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(MEDIA_URL_HOSTS))


MEDIA_URL_HOSTS: dict[str, tuple[str, ...]] = {
    "messenger": ("fbcdn.net", "fbsbx.com"), "instagram": ("fbcdn.net", "fbsbx.com", "cdninstagram.com"),
    "sms": ("api.twilio.com", "twiliocdn.com", "twilio.com")}


def host_allowed(url: str, hosts: tuple[str, ...], *, https_only: bool = True) -> bool:
    """An https URL whose host is one of `hosts` or a subdomain of one."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and (https_only or parts.scheme != "http"):
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


def twilio_s3_redirect(url: str) -> bool:
    """Where Twilio redirects a media URL (accounts without HTTP auth on media): its bucket on S3, by path."""
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme == "https" and parts.hostname == "s3-external-1.amazonaws.com"
            and parts.path.startswith("/media.twiliocdn.com/"))


class UrlDownloader(Protocol):
    def get(self, url: str, *, allowed: Callable[[str], bool], max_bytes: int,
            auth: tuple[str, str] | None = None) -> tuple[bytes, str | None]: ...


class FileApi(Protocol):
    def call(self, token: str, method: str, params: dict[str, Any]) -> Any: ...


def sha256_matches(data: bytes, expected: str) -> bool:
    digest = hashlib.sha256(data).digest()
    return expected in (digest.hex(), base64.b64encode(digest).decode())


def media_key(tenant_id: str, channel_id: str, message_id: str, mime_type: str | None) -> str:
    ext = _EXTENSIONS.get((mime_type or "").split(";")[0].strip(), "bin")
    safe_id = hashlib.sha256(message_id.encode()).hexdigest()[:40]
    return f"media/{tenant_id}/{channel_id}/{safe_id}.{ext}"


class MediaService:
    def __init__(self, *, directory: ChannelDirectory, client: WhatsAppClient, blobs: BlobStore,
                 store: MessageStore, limits: MediaLimits, downloader: UrlDownloader, telegram: FileApi,
                 telegram_base_url: str, insecure_local_hosts: tuple[str, ...] = ()) -> None:
        self._downloader = downloader
        self._telegram = telegram
        self._telegram_base = telegram_base_url.rstrip("/")
        self._local = insecure_local_hosts  # the local stack's emulators (plain http on loopback)
        self._directory = directory
        self._client = client
        self._blobs = blobs
        self._store = store
        self._limits = limits

    def fetch(self, event: MessageReceived, *, attempt: int = 1) -> MediaOutcome:
        media = event.media or {}
        media_id = media.get("id")
        channel = self._directory.get_channel(event.channel_id)
        if channel is None or channel.tenant_id != event.tenant_id:
            return MediaOutcome("skipped", "channel_not_found")
        by_url = channel.kind in ("messenger", "instagram", "sms")
        if not (media.get("url") if by_url else media_id):
            return MediaOutcome("skipped", "no media url" if by_url else "no media id")
        try:
            token = self._directory.get_secrets(channel).access_token.get_secret_value()
            if channel.kind == "whatsapp":
                return self._fetch(event, channel_token=token, media_id=str(media_id), media=media, attempt=attempt)
            data, mime = self._download(channel, token, media)
            return self._store_bytes(event, data, mime, attempt)
        except MediaTooLarge as exc:
            return self._failed(event, str(exc), attempt)
        except ProviderSendError as exc:
            reason = f"download error http={exc.http_status} code={exc.code}: {exc.title or ''}".strip()
            retryable = classify(exc.http_status, exc.code) is ProviderErrorKind.RETRYABLE
            if retryable and attempt < self._limits.max_attempts:
                self._store.record_media(event.tenant_id, event.channel_id, event.message_id, state="retrying",
                                         error=reason, attempts=attempt)
                raise RetryableError(reason, delay_s=backoff_seconds(
                    attempt, base_s=self._limits.base_delay_s, max_s=self._limits.max_delay_s)) from exc
            return self._failed(event, reason, attempt)

    def _allowed(self, kind: str) -> Callable[[str], bool]:
        hosts = self._limits.url_hosts.get(kind, ())
        return lambda url: (host_allowed(url, hosts) or host_allowed(url, self._local, https_only=False)
                            or (kind == "sms" and twilio_s3_redirect(url)))

    def _download(self, channel: Channel, token: str, media: dict[str, Any]) -> tuple[bytes, str | None]:
        """The bytes and content type of a non-WhatsApp media: by its URL, or Telegram's getFile."""
        if channel.kind == "telegram":
            info = self._telegram.call(token, "getFile", {"file_id": str(media["id"])})
            path = info.get("file_path") if isinstance(info, dict) else None
            if not isinstance(path, str) or not path:
                raise ProviderSendError(http_status=400, code=None, title="Telegram returned no file_path",
                                        details=None)
            size = info.get("file_size")
            if isinstance(size, int) and size > self._limits.max_bytes:
                raise MediaTooLarge(f"media is {size} bytes; the limit is {self._limits.max_bytes}")
            url = f"{self._telegram_base}/file/bot{token}/{path}"
            data, mime = self._downloader.get(url, allowed=lambda u: u.startswith(self._telegram_base + "/"),
                                              max_bytes=self._limits.max_bytes)
            # Telegram photos carry no mime type; the file path's extension names it (photos/file_1.jpg)
            return data, media.get("mime_type") or mimetypes.guess_type(path)[0] or mime
        auth = (channel.waba_id or "", token) if channel.kind == "sms" else None
        data, mime = self._downloader.get(str(media["url"]), allowed=self._allowed(channel.kind),
                                          max_bytes=self._limits.max_bytes, auth=auth)
        return data, media.get("mime_type") or mime

    def _store_bytes(self, event: MessageReceived, data: bytes, mime: str | None, attempt: int) -> MediaOutcome:
        mime = (mime or "application/octet-stream").split(";")[0].strip()
        if not mime.startswith(self._limits.allowed_mime_prefixes):
            return self._failed(event, f"mime type {mime!r} is not allowed", attempt)
        # The key from what the event says (the bot derives the same key from the same event), not from what the
        # download answered: Messenger and Telegram photos carry no mime type in the webhook.
        declared = (event.media or {}).get("mime_type")
        key = media_key(event.tenant_id, event.channel_id, event.message_id,
                        str(declared) if declared else None)
        self._blobs.put(key, data, content_type=mime,
                        metadata={"tenant-id": event.tenant_id, "channel-id": event.channel_id})
        self._store.record_media(event.tenant_id, event.channel_id, event.message_id, state="stored", s3_key=key,
                                 size=len(data), attempts=attempt)
        return MediaOutcome("stored", s3_key=key)

    def _fetch(self, event: MessageReceived, *, channel_token: str, media_id: str, media: dict[str, object],
               attempt: int) -> MediaOutcome:
        info = self._client.media_info(media_id, channel_token)
        mime = str(info.get("mime_type") or media.get("mime_type") or "")
        if not mime.startswith(self._limits.allowed_mime_prefixes):
            return self._failed(event, f"mime type {mime!r} is not allowed", attempt)
        declared = info.get("file_size")
        if declared is not None and str(declared).isdigit() and int(str(declared)) > self._limits.max_bytes:
            return self._failed(event, f"media is {declared} bytes; the limit is {self._limits.max_bytes}", attempt)
        url = info.get("url")
        if not isinstance(url, str) or not url:
            return self._failed(event, "graph returned no media url", attempt)
        data = self._client.download(url, channel_token, max_bytes=self._limits.max_bytes)
        expected = str(media.get("sha256") or info.get("sha256") or "")
        if expected and not sha256_matches(data, expected):
            return self._failed(event, "sha256 mismatch", attempt)
        key = media_key(event.tenant_id, event.channel_id, event.message_id, mime)
        self._blobs.put(key, data, content_type=mime or "application/octet-stream",
                        metadata={"tenant-id": event.tenant_id, "channel-id": event.channel_id})
        self._store.record_media(event.tenant_id, event.channel_id, event.message_id, state="stored", s3_key=key,
                                 size=len(data), attempts=attempt)
        return MediaOutcome("stored", s3_key=key)

    def _failed(self, event: MessageReceived, reason: str, attempt: int) -> MediaOutcome:
        self._store.record_media(event.tenant_id, event.channel_id, event.message_id, state="failed", error=reason,
                                 attempts=attempt)
        return MediaOutcome("failed", reason)
