"""Inbound media: Graph media id -> URL -> bytes -> S3, verified against Meta's sha256, in its own retried step.

A media failure never blocks or loses the message (it is already stored); the outcome is recorded on the
message (`media_state`: stored | retrying | failed, with the reason) so it is visible and can be retried.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from shared.errors import MediaTooLarge, RetryableError
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


def sha256_matches(data: bytes, expected: str) -> bool:
    digest = hashlib.sha256(data).digest()
    return expected in (digest.hex(), base64.b64encode(digest).decode())


def media_key(tenant_id: str, channel_id: str, message_id: str, mime_type: str | None) -> str:
    ext = _EXTENSIONS.get((mime_type or "").split(";")[0].strip(), "bin")
    safe_id = hashlib.sha256(message_id.encode()).hexdigest()[:40]
    return f"media/{tenant_id}/{channel_id}/{safe_id}.{ext}"


class MediaService:
    def __init__(self, *, directory: ChannelDirectory, client: WhatsAppClient, blobs: BlobStore,
                 store: MessageStore, limits: MediaLimits) -> None:
        self._directory = directory
        self._client = client
        self._blobs = blobs
        self._store = store
        self._limits = limits

    def fetch(self, event: MessageReceived, *, attempt: int = 1) -> MediaOutcome:
        media = event.media or {}
        media_id = media.get("id")
        if not media_id:
            return MediaOutcome("skipped", "no media id")
        channel = self._directory.get_channel(event.channel_id)
        if channel is None or channel.tenant_id != event.tenant_id:
            return MediaOutcome("skipped", "channel_not_found")
        try:
            return self._fetch(event, channel_token=self._directory.get_secrets(channel).access_token
                               .get_secret_value(), media_id=str(media_id), media=media, attempt=attempt)
        except MediaTooLarge as exc:
            return self._failed(event, str(exc), attempt)
        except ProviderSendError as exc:
            reason = f"graph error http={exc.http_status} code={exc.code}: {exc.title or ''}".strip()
            retryable = classify(exc.http_status, exc.code) is ProviderErrorKind.RETRYABLE
            if retryable and attempt < self._limits.max_attempts:
                self._store.record_media(event.tenant_id, event.channel_id, event.message_id, state="retrying",
                                         error=reason, attempts=attempt)
                raise RetryableError(reason, delay_s=backoff_seconds(
                    attempt, base_s=self._limits.base_delay_s, max_s=self._limits.max_delay_s)) from exc
            return self._failed(event, reason, attempt)

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
