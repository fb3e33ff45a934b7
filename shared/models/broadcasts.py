"""Broadcasts: one approved template sent to an audience, paced, priced, with a status per recipient.

Lifecycle: draft → preparing → ready → (scheduled) → sending → completed. `paused` can be entered from
preparing/scheduled/sending (by a person, or by Meta pausing the template) and left with resume; `cancelled`
is final; `failed` means the audience could not be prepared (the reason is in `error`).

Recipient statuses move forward only: queued → sending → sent → delivered → read → replied. `failed` carries
Meta's code, title and details and an error class; `unconfirmed` is a recipient whose send a worker started
and never finished (it may or may not have reached Meta; it is never resent automatically).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.models.crm import TAG

BroadcastStatus = Literal["draft", "preparing", "ready", "scheduled", "sending", "paused", "completed",
                          "cancelled", "failed"]
FINAL_STATUSES = frozenset({"completed", "cancelled", "failed"})
RecipientStatus = Literal["queued", "sending", "unconfirmed", "sent", "delivered", "read", "replied", "failed"]
RECIPIENT_RANK: dict[str, int] = {"queued": 0, "sending": 1, "unconfirmed": 2, "failed": 3, "sent": 4,
                                  "delivered": 5, "read": 6, "replied": 7}
ErrorClass = Literal["transient", "throttled", "pair_limit", "marketing_cap", "permanent", "template",
                     "unconfirmed", "opted_out"]
BROADCAST_ID = r"^bc_[a-z0-9]{6,40}$"


class VariableSource(BaseModel):
    """Where one template variable's value comes from, per recipient."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = Field(default=None, max_length=60, description=(
        "A contact attribute (name, phone, email, language, lifecycle), a custom field key, or a column of "
        "the uploaded list"))
    value: Any = Field(default=None, description="A literal for every recipient (e.g. a header image URL)")
    default: str | None = Field(default=None, max_length=1024, description="Used when the field is empty")

    @model_validator(mode="after")
    def _one(self) -> VariableSource:
        if (self.field is None) == (self.value is None):
            raise ValueError("give exactly one of field or value")
        return self


class Audience(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segment_id: str | None = Field(default=None, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=20, description="Contacts with any of these tags")
    contact_ids: list[str] = Field(default_factory=list, max_length=1000)
    list_file_id: str | None = Field(default=None, max_length=64, description=(
        "An uploaded CSV (files API) with a phone or whatsapp column; other columns can fill variables"))
    exclude_tags: list[str] = Field(default_factory=list, max_length=20)
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$",
                                        description="For list phones written in national format")

    @field_validator("tags", "exclude_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        import re

        bad = [t for t in value if not re.match(TAG, t)]
        if bad:
            raise ValueError(f"not a valid tag: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Audience:
        sources = [bool(self.segment_id), bool(self.tags), bool(self.contact_ids), bool(self.list_file_id)]
        if sum(sources) != 1:
            raise ValueError("give exactly one audience source: segment_id, tags, contact_ids or list_file_id")
        return self


class OnReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_flow: str | None = Field(default=None, max_length=100,
                                 description="Bot node the reply starts (the bot must be bound to the channel)")
    tag: str | None = Field(default=None, pattern=TAG, description="Tag added to contacts who reply")


class BroadcastInput(BaseModel):
    """POST /v1/broadcasts (a draft) and PUT /v1/broadcasts/{id} (while still a draft or ready)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    channel_id: str = Field(min_length=1, max_length=64)
    template_name: str = Field(min_length=1, max_length=512)
    template_language: str = Field(min_length=2, max_length=12)
    audience: Audience
    variables: dict[str, VariableSource] = Field(default_factory=dict, max_length=40, description=(
        "Slot → source. Slots: header, header.1, body.1, body.<name>, button.<index>"))
    rate_mps: int | None = Field(default=None, ge=1, le=1000,
                                 description="Messages per second; default: the number's throughput (80)")
    on_reply: OnReply | None = None
    attribution_hours: int = Field(default=72, ge=1, le=720, description="Replies within this window count")


class ScheduleInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(default=None, description="Local time in time_zone (or with an offset); "
                                                          "omitted = now")
    time_zone: str = Field(default="America/Argentina/Buenos_Aires", max_length=64)
    allow_over_tier: bool = Field(default=False, description="Start even if the audience exceeds the messaging "
                                                             "limit tier (Meta will refuse the excess)")


class RetryInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_classes: list[ErrorClass] | None = Field(
        default=None, description="Only these classes; default: every failed and unconfirmed recipient except "
                                  "marketing_cap ones still inside their waiting period and opted_out ones")
    include_waiting: bool = Field(default=False, description="Also marketing_cap recipients still waiting")


class Counts(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int = 0  # eligible recipients written
    queued: int = 0
    sent: int = 0  # accepted by Meta (includes those delivered/read later)
    delivered: int = 0
    read: int = 0
    replied: int = 0
    failed: int = 0
    unconfirmed: int = 0
    excluded: int = 0


class Broadcast(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    broadcast_id: str
    name: str
    channel_id: str
    template_name: str
    template_language: str
    category: str = "MARKETING"
    audience: Audience
    variables: dict[str, VariableSource] = Field(default_factory=dict)
    rate_mps: int | None = None
    on_reply: OnReply | None = None
    attribution_hours: int = 72
    status: BroadcastStatus = "draft"
    then: Literal["stop", "start", "schedule"] = Field(default="stop", description="After preparing")
    schedule_at: datetime | None = None
    time_zone: str | None = None
    allow_over_tier: bool = False
    paused_from: str | None = None
    paused_reason: str | None = None
    error: str | None = None
    buckets: int = 0
    prepared: dict[str, Any] | None = Field(default=None, description="Audience, exclusions, cost and tier")
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    version: int = 1


class BroadcastView(Broadcast):
    counts: Counts = Field(default_factory=Counts)
    progress: float = 0.0  # (sent + failed + unconfirmed) / total


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: str  # wa_id (digits)
    bucket: int
    contact_id: str | None = None
    contact_key: str
    market: str
    params: dict[str, Any] = Field(default_factory=dict)  # slot → value, resolved when prepared
    status: RecipientStatus = "queued"
    attempt: int = 0
    message_id: str | None = None
    provider_message_id: str | None = None
    error_class: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    retry_at: datetime | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    billable: bool | None = None


class Exclusion(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: str | None
    contact_id: str | None
    reason: str
    detail: str | None = None
