"""The files library: documents and images a tenant uploads once and sends many times (agents, bots, broadcasts).

What may be stored is what WhatsApp can send by link (reference/channels.md, Meta's "supported media types"):
each content type belongs to exactly one media kind, and each kind has its own size limit. Sizes are decimal
(5 MB = 5,000,000 bytes): Meta does not say which it means, and the smaller reading never lets through a file
Meta would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.models.crm import TAG

MediaKind = Literal["image", "audio", "video", "document", "sticker"]
FileStatus = Literal["pending", "ready"]

KB = 1000
MB = 1000 * KB


@dataclass(frozen=True)
class KindRule:
    content_types: tuple[str, ...]
    max_bytes: int
    captions: bool  # WhatsApp refuses a caption on audio and stickers


MEDIA_RULES: dict[MediaKind, KindRule] = {
    "image": KindRule(("image/jpeg", "image/png"), 5 * MB, captions=True),
    "audio": KindRule(("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB, captions=False),
    "video": KindRule(("video/mp4", "video/3gpp"), 16 * MB, captions=True),
    "document": KindRule((
        "application/pdf", "text/plain", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ), 100 * MB, captions=True),
    # Animated stickers may be 500 KB, static ones 100 KB: which one it is shows in the bytes (checked on confirm).
    "sticker": KindRule(("image/webp",), 500 * KB, captions=False),
}
STATIC_STICKER_MAX_BYTES = 100 * KB
CAPTION_MAX_CHARS = 1024

ContentType = Literal[
    "image/jpeg", "image/png",
    "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg",
    "video/mp4", "video/3gpp",
    "application/pdf", "text/plain", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/webp",
]
_KIND_OF: dict[str, MediaKind] = {ct: kind for kind, rule in MEDIA_RULES.items() for ct in rule.content_types}

Tag = Annotated[str, Field(pattern=TAG)]
FILE_ID = r"^fl_[0-9a-f]{12,40}$"
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


def normalize_content_type(raw: str) -> str:
    """`Image/JPEG; charset=x` -> `image/jpeg` (parameters are not part of the allow-list)."""
    return raw.split(";", 1)[0].strip().lower()


def media_kind_of(content_type: str) -> MediaKind | None:
    return _KIND_OF.get(normalize_content_type(content_type))


def size_problem(kind: MediaKind, size_bytes: int) -> str | None:
    limit = MEDIA_RULES[kind].max_bytes
    if size_bytes > limit:
        return f"a WhatsApp {kind} may be at most {limit:,} bytes; this one is {size_bytes:,}"
    return None


class FileInput(BaseModel):
    """POST /v1/files: declare the file; the answer carries the URL to PUT its bytes to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Shown to agents; documents are sent with it")
    content_type: ContentType = Field(description="Decides the WhatsApp media kind and its size limit")
    size_bytes: int = Field(gt=0, description="Exact size; the upload must match it")
    folder: str | None = Field(default=None, min_length=1, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=20)

    @field_validator("content_type", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return normalize_content_type(value) if isinstance(value, str) else value

    @field_validator("name", "folder")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if any(ch in _CONTROL for ch in value):
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _within_kind_limit(self) -> FileInput:
        problem = size_problem(self.media_kind, self.size_bytes)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def media_kind(self) -> MediaKind:
        return _KIND_OF[self.content_type]


class LibraryFile(BaseModel):
    """A file of the library as the API shows it. Where its bytes live is not part of it."""

    model_config = ConfigDict(frozen=True)

    file_id: str
    tenant_id: str
    name: str
    content_type: str
    size_bytes: int
    media_kind: MediaKind
    status: FileStatus
    folder: str | None = None
    tags: tuple[str, ...] = ()
    created_at: datetime
    created_by: str
    ready_at: datetime | None = None


class FileUpload(BaseModel):
    """PUT the bytes to `upload_url` with exactly `headers` before `expires_at`, then POST .../confirm."""

    file: LibraryFile
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime


class FileDownload(BaseModel):
    url: str
    expires_at: datetime


class FilePage(BaseModel):
    items: list[LibraryFile]
    next_cursor: str | None = None


@dataclass(frozen=True)
class FileRecord:
    """What the store keeps: the file, where its bytes are, and until when the upload URL works. Never an answer."""

    file: LibraryFile
    object_key: str
    upload_expires_at: datetime
