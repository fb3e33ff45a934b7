"""The files library: upload once through a pre-signed PUT, confirm, then send by pre-signed link.

Life of a file:
  create   -> a `pending` record whose declared size is reserved against the tenant's quota, and a pre-signed
              PUT bound to the object key, the content type and the exact length;
  confirm  -> HEAD (and the first bytes of) the object: size, type and magic bytes must match what was declared
              and WhatsApp's limits, else the object and the record are deleted; otherwise `ready`;
  send     -> `as_media_content` gives the senders a MediaContent whose `link` is a pre-signed GET;
  delete   -> object first, then the record (which releases the quota): a retried DELETE converges.
Abandoned pending uploads keep their reservation until `sweep_expired` removes them, which `create` does by
itself when the quota is reached.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.errors import Conflict, InvalidInput, NotFound, PlanLimitReached
from shared.models.envelopes import MediaContent
from shared.models.files import (
    CAPTION_MAX_CHARS,
    FILE_ID,
    MEDIA_RULES,
    STATIC_STICKER_MAX_BYTES,
    FileDownload,
    FileInput,
    FilePage,
    FileRecord,
    FileUpload,
    LibraryFile,
    MediaKind,
    normalize_content_type,
    size_problem,
)
from shared.ports import Clock, Page

SNIFF_BYTES = 1024


# -- ports -----------------------------------------------------------------------------------------------------
class FileQuotaExceeded(Exception):
    """Storing this file would take the tenant over its files quota."""


class FileStore(Protocol):
    def create(self, record: FileRecord, *, quota_bytes: int) -> None:
        """Store a new pending file and reserve its size; FileQuotaExceeded when that would pass `quota_bytes`."""

    def get(self, tenant_id: str, file_id: str) -> FileRecord | None: ...

    def mark_ready(self, file: LibraryFile) -> bool:
        """Store the ready file if it is still pending; False when it is not (gone, or confirmed meanwhile)."""

    def delete(self, record: FileRecord) -> bool:
        """Remove the file and release its size; False when it was already gone."""

    def list_files(self, tenant_id: str, *, limit: int, cursor: str | None, kind: str | None = None,
             tag: str | None = None, folder: str | None = None) -> Page:
        """LibraryFiles, newest first."""

    def expired_pending(self, tenant_id: str, *, before: datetime) -> list[FileRecord]:
        """Pending files whose upload URL expired before `before`."""


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    headers: dict[str, str]  # what the client must send with the PUT (signed)


@dataclass(frozen=True)
class StoredObject:
    size_bytes: int
    content_type: str


class ObjectStorage(Protocol):
    def presign_put(self, key: str, *, content_type: str, size_bytes: int, expires_s: int) -> PresignedUpload: ...

    def presign_get(self, key: str, *, expires_s: int, download_name: str | None = None) -> str: ...

    def head(self, key: str) -> StoredObject | None: ...

    def read_prefix(self, key: str, size: int) -> bytes: ...

    def delete(self, key: str) -> None: ...


# -- pure helpers ----------------------------------------------------------------------------------------------
def new_file_id(now: datetime) -> str:
    """Time-ordered and unguessable, so the store can list newest first by id."""
    return f"fl_{int(now.timestamp() * 1000):012x}{secrets.token_hex(8)}"


def safe_name(name: str) -> str:
    """An S3-key-safe ASCII version of a file name that keeps its extension: `Menú (v2).PDF` -> `Menu_v2.PDF`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    split = re.fullmatch(r"(.*)\.([A-Za-z0-9]{1,10})", ascii_name)
    stem, ext = (split.group(1), split.group(2)) if split else (ascii_name, "")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-")[:100] or "file"
    return f"{stem}.{ext}" if ext else stem


def object_key(tenant_id: str, file_id: str, name: str) -> str:
    return f"files/{tenant_id}/{file_id}/{safe_name(name)}"


def _is_mp4_family(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


def _is_mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _is_aac(head: bytes) -> bool:
    adts = len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    return adts or head.startswith((b"ADIF", b"ID3"))


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
# What the first bytes of each allowed type look like. WhatsApp refuses a mislabelled file only at send time;
# this catches the common mistakes (a GIF called .jpg, a WAV called .mp3, Vorbis in an .ogg) at confirm time.
MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
    "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda h: h.startswith(b"RIFF") and h[8:12] == b"WEBP",
    "audio/aac": _is_aac,
    "audio/amr": lambda h: h.startswith(b"#!AMR"),
    "audio/mpeg": _is_mp3,
    "audio/mp4": _is_mp4_family,
    "audio/ogg": lambda h: h.startswith(b"OggS") and b"OpusHead" in h[:128],  # WhatsApp: Opus only
    "video/mp4": _is_mp4_family,
    "video/3gpp": _is_mp4_family,
    "application/pdf": lambda h: b"%PDF-" in h,
    "text/plain": lambda h: b"\x00" not in h,
    "application/msword": lambda h: h.startswith(_OLE),
    "application/vnd.ms-excel": lambda h: h.startswith(_OLE),
    "application/vnd.ms-powerpoint": lambda h: h.startswith(_OLE),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": lambda h: h.startswith(_ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": lambda h: h.startswith(_ZIP),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": lambda h: h.startswith(_ZIP),
}


def is_animated_webp(head: bytes) -> bool:
    """An extended WebP (`VP8X` chunk) with the animation flag set."""
    return len(head) > 20 and head[12:16] == b"VP8X" and bool(head[20] & 0x02)


def upload_problems(file: LibraryFile, stored: StoredObject, head: bytes) -> list[dict[str, object]]:
    """Why the uploaded object cannot be this library file (empty when it can)."""
    problems: list[dict[str, object]] = []
    if stored.size_bytes != file.size_bytes:
        problems.append({"location": "size_bytes",
                         "message": f"{stored.size_bytes} bytes were uploaded, {file.size_bytes} were declared"})
    if normalize_content_type(stored.content_type) != file.content_type:
        problems.append({"location": "content_type",
                         "message": f"uploaded as '{stored.content_type}', declared '{file.content_type}'"})
    too_big = size_problem(file.media_kind, stored.size_bytes)
    if too_big:
        problems.append({"location": "size_bytes", "message": too_big})
    check = MAGIC.get(file.content_type)
    if check is not None and not check(head):
        problems.append({"location": "content", "message": f"the bytes are not a valid {file.content_type} file"})
    elif (file.media_kind == "sticker" and stored.size_bytes > STATIC_STICKER_MAX_BYTES
          and not is_animated_webp(head)):
        problems.append({"location": "size_bytes",
                         "message": f"a static sticker may be at most {STATIC_STICKER_MAX_BYTES:,} bytes"})
    return problems


# -- the service -----------------------------------------------------------------------------------------------
class FileService:
    def __init__(self, *, store: FileStore, storage: ObjectStorage, clock: Clock, quota_bytes: int,
                 upload_ttl_s: int = 900, download_ttl_s: int = 900, link_ttl_s: int = 3600,
                 abandon_grace_s: int = 3600) -> None:
        self._store = store
        self._storage = storage
        self._clock = clock
        self._quota = quota_bytes
        self._upload_ttl_s = upload_ttl_s
        self._download_ttl_s = download_ttl_s
        self._link_ttl_s = link_ttl_s  # WhatsApp fetches a link when the message is sent; 1 h covers retries
        self._grace = timedelta(seconds=abandon_grace_s)  # an upload that started just before expiry may finish

    # -- writes --------------------------------------------------------------------------------------------
    def create(self, tenant_id: str, data: FileInput, *, actor: str) -> FileUpload:
        if data.size_bytes > self._quota:
            raise PlanLimitReached(f"the files quota is {self._quota:,} bytes; this file alone is larger")
        now = self._clock.now()
        file_id = new_file_id(now)
        file = LibraryFile(file_id=file_id, tenant_id=tenant_id, name=data.name, content_type=data.content_type,
                           size_bytes=data.size_bytes, media_kind=data.media_kind, status="pending",
                           folder=data.folder, tags=tuple(dict.fromkeys(data.tags)), created_at=now,
                           created_by=actor)
        record = FileRecord(file=file, object_key=object_key(tenant_id, file_id, data.name),
                            upload_expires_at=now + timedelta(seconds=self._upload_ttl_s))
        try:
            self._store.create(record, quota_bytes=self._quota)
        except FileQuotaExceeded:
            if not self.sweep_expired(tenant_id):
                raise PlanLimitReached(f"the files quota of {self._quota:,} bytes is used up; delete files first"
                                       ) from None
            try:
                self._store.create(record, quota_bytes=self._quota)
            except FileQuotaExceeded:
                raise PlanLimitReached(f"the files quota of {self._quota:,} bytes is used up; delete files first"
                                       ) from None
        upload = self._storage.presign_put(record.object_key, content_type=file.content_type,
                                           size_bytes=file.size_bytes, expires_s=self._upload_ttl_s)
        return FileUpload(file=file, upload_url=upload.url, headers=upload.headers,
                          expires_at=record.upload_expires_at)

    def confirm(self, tenant_id: str, file_id: str) -> LibraryFile:
        """Check the uploaded bytes and make the file sendable; a file that does not match is deleted."""
        record = self._record(tenant_id, file_id)
        if record.file.status == "ready":
            return record.file
        stored = self._storage.head(record.object_key)
        if stored is None:
            raise Conflict("nothing has been uploaded for this file yet: PUT it to its upload_url, then confirm")
        problems = upload_problems(record.file, stored, self._storage.read_prefix(record.object_key, SNIFF_BYTES))
        if problems:
            self._remove(record)
            raise InvalidInput("the upload does not match the file; it was deleted: create the file again",
                               errors=problems)
        ready = record.file.model_copy(update={"status": "ready", "ready_at": self._clock.now()})
        if not self._store.mark_ready(ready):
            return self.get(tenant_id, file_id)  # confirmed by a concurrent call (or deleted: NotFound)
        return ready

    def delete(self, tenant_id: str, file_id: str) -> None:
        self._remove(self._record(tenant_id, file_id))

    def sweep_expired(self, tenant_id: str) -> int:
        """Remove pending files whose upload URL expired (plus a grace period); how many were removed."""
        removed = 0
        for record in self._store.expired_pending(tenant_id, before=self._clock.now() - self._grace):
            self._remove(record)
            removed += 1
        return removed

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, tenant_id: str, file_id: str) -> LibraryFile:
        return self._record(tenant_id, file_id).file

    def list(self, tenant_id: str, *, limit: int = 50, cursor: str | None = None, kind: MediaKind | None = None,
             tag: str | None = None, folder: str | None = None) -> FilePage:
        page = self._store.list_files(tenant_id, limit=limit, cursor=cursor, kind=kind, tag=tag, folder=folder)
        return FilePage(items=page.items, next_cursor=page.cursor)

    def download_url(self, tenant_id: str, file_id: str) -> FileDownload:
        record = self._ready(tenant_id, file_id)
        return self.object_download(record.object_key, download_name=record.file.name)

    def object_download(self, key: str, *, download_name: str | None = None,
                        expires_s: int | None = None) -> FileDownload:
        """A short-lived link to an object of the media bucket (a library file, a customer's stored media). The
        caller has checked the key belongs to the tenant."""
        ttl = expires_s or self._download_ttl_s
        url = self._storage.presign_get(key, expires_s=ttl, download_name=download_name)
        return FileDownload(url=url, expires_at=self._clock.now() + timedelta(seconds=ttl))

    def as_media_content(self, tenant_id: str, file_id: str, caption: str | None = None) -> MediaContent:
        """What a sender puts in an OutboundRequest: the file by pre-signed link. Call it close to the send."""
        record = self._ready(tenant_id, file_id)
        file = record.file
        caption = caption or None
        if caption is not None:
            if not MEDIA_RULES[file.media_kind].captions:
                raise InvalidInput(f"WhatsApp does not show a caption on {file.media_kind} messages")
            if len(caption) > CAPTION_MAX_CHARS:
                raise InvalidInput(f"a caption may be at most {CAPTION_MAX_CHARS} characters")
        link = self._storage.presign_get(record.object_key, expires_s=self._link_ttl_s)
        return MediaContent(type=file.media_kind, link=link, caption=caption,
                            filename=file.name if file.media_kind == "document" else None)

    # -- internals -----------------------------------------------------------------------------------------
    def read(self, tenant_id: str, file_id: str, *, max_bytes: int) -> bytes:
        """The content of a ready file (InvalidInput when it is larger than `max_bytes`)."""
        record = self._ready(tenant_id, file_id)
        if record.file.size_bytes > max_bytes:
            raise InvalidInput(f"file {file_id} is {record.file.size_bytes} bytes; the limit here is {max_bytes}")
        return self._storage.read_prefix(record.object_key, record.file.size_bytes)

    def _record(self, tenant_id: str, file_id: str) -> FileRecord:
        record = self._store.get(tenant_id, file_id) if re.match(FILE_ID, file_id) else None
        if record is None:
            raise NotFound(f"no file {file_id}")
        return record

    def _ready(self, tenant_id: str, file_id: str) -> FileRecord:
        record = self._record(tenant_id, file_id)
        if record.file.status != "ready":
            raise Conflict(f"file {file_id} is not ready: upload it and confirm it first")
        return record

    def _remove(self, record: FileRecord) -> None:
        self._storage.delete(record.object_key)  # first: if the record delete fails, a retry still finds it
        self._store.delete(record)
