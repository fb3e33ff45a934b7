"""Background jobs: contact import (CSV), contact export (CSV) and erasure, with their API inputs.

A job is created by the API, queued on the `jobs` queue and run by the `jobs_worker` Lambda. Progress is
written back every N rows so `GET /v1/jobs/{id}` shows it; links to files (report, export, upload) are
pre-signed on every read and never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JobKind = Literal["import", "export", "erasure"]
# awaiting_upload: an import created with {"upload": true} whose file has not been started yet.
JobStatus = Literal["awaiting_upload", "queued", "running", "succeeded", "failed"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed"})

MAX_INLINE_CSV_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
REJECTED_SAMPLE = 20

# Import targets a CSV column can map to (besides `fields.<custom field key>`).
IMPORT_TARGETS: tuple[str, ...] = (
    "name", "phone", "email", "whatsapp", "tags", "lifecycle", "language", "consent.marketing",
)
_FIELD_TARGET = re.compile(r"^fields\.[a-z][a-z0-9_]{0,39}$")


def is_import_target(target: str) -> bool:
    return target in IMPORT_TARGETS or bool(_FIELD_TARGET.match(target))


class JobProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    processed: int = 0  # data rows (import), contacts written (export), items removed (erasure)
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class RowProblem(BaseModel):
    """Why one CSV cell or row was refused; `message` never repeats the cell's value."""

    model_config = ConfigDict(frozen=True)

    column: str | None = None
    code: str
    message: str


class RejectedRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int = Field(description="Line of the CSV file where the row starts (the header is line 1)")
    reasons: tuple[RowProblem, ...]


class JobResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    report_url: str | None = Field(default=None, description="Rejected rows as CSV (pre-signed, expires)")
    download_url: str | None = Field(default=None, description="The exported CSV (pre-signed, expires)")
    upload_url: str | None = Field(default=None, description="PUT the CSV file here, then start the import")
    url_expires_at: datetime | None = None
    rejected_sample: tuple[RejectedRow, ...] = Field(default=(), description="The first rejected rows")
    delimiter: str | None = None
    encoding: str | None = None
    counts: dict[str, int] = Field(default_factory=dict, description="Erasure: what was removed, per kind")


class JobInputs(BaseModel):
    """What the job was asked to do (no personal data: the CSV itself lives in S3)."""

    model_config = ConfigDict(frozen=True)

    default_country: str | None = None
    columns: dict[str, str | None] = Field(default_factory=dict)
    segment_id: str | None = None
    fields: tuple[str, ...] | None = None
    delimiter: str | None = None
    contact_id: str | None = None


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str
    tenant_id: str
    kind: JobKind
    status: JobStatus
    actor: str
    inputs: JobInputs = Field(default_factory=JobInputs)
    progress: JobProgress = Field(default_factory=JobProgress)
    result: JobResult = Field(default_factory=JobResult)
    error: str | None = None
    errors: tuple[RowProblem, ...] = Field(default=(), description="Why the job failed as a whole (e.g. columns)")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # S3 keys of the job's files (source, report, export). Kept out of API answers: links are signed on read.
    files: dict[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class ImportInput(BaseModel):
    """POST /v1/imports: the CSV inline (up to 5 MB), or `upload: true` for a pre-signed PUT link."""

    model_config = ConfigDict(extra="forbid")

    csv: str | None = Field(default=None, max_length=MAX_INLINE_CSV_BYTES,
                            description="The CSV text (UTF-8); ',' or ';' delimited, header row first")
    upload: bool = Field(default=False, description="Answer with an upload link instead; then POST .../start")
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$",
                                        description="ISO country for phones written in national format")
    columns: dict[str, str | None] = Field(
        default_factory=dict, max_length=200,
        description="CSV header -> target (name, phone, email, whatsapp, tags, lifecycle, language, "
                    "consent.marketing, fields.<key>); null skips the column. Unlisted headers are recognized "
                    "by name (Spanish headers too: nombre, teléfono, correo, etiquetas).")

    @field_validator("columns")
    @classmethod
    def _targets(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        bad = sorted(t for t in value.values() if t is not None and not is_import_target(t))
        if bad:
            raise ValueError(f"unknown target(s): {', '.join(bad)}; expected one of {', '.join(IMPORT_TARGETS)} "
                             "or fields.<key>")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ImportInput:
        if (self.csv is None) == (not self.upload):
            raise ValueError("give either `csv` or `upload: true`")
        if self.csv is not None and len(self.csv.encode("utf-8")) > MAX_INLINE_CSV_BYTES:
            raise ValueError("the inline CSV is over 5 MB; use `upload: true`")
        return self


class ExportInput(BaseModel):
    """POST /v1/exports: all contacts, or a segment's; optionally only some columns."""

    model_config = ConfigDict(extra="forbid")

    segment_id: str | None = Field(default=None, max_length=64)
    fields: list[str] | None = Field(default=None, min_length=1, max_length=300,
                                     description="Columns to include (contact_id is always first)")
    delimiter: Literal[",", ";"] = Field(default=",", description="';' opens directly in Excel set to Spanish "
                                                                  "or Portuguese locales")


class ErasureRecord(BaseModel):
    """What remains of an erased contact: no personal data, only that it happened, who asked and how much."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    contact_id: str
    job_id: str
    actor: str
    requested_at: datetime
    status: Literal["queued", "running", "completed"]
    erased_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)


@dataclass(frozen=True)
class MessageRef:
    """One stored message met while erasing a thread: an opaque handle for the adapter, and its media object."""

    handle: tuple[str, str]
    media_key: str | None = None
