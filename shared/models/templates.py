"""WhatsApp message templates as Meta stores them (GET /{WABA-ID}/message_templates), and account health.

A template is identified per channel by (name, language). Components and buttons keep Meta's upper-case
vocabulary (HEADER/BODY/FOOTER/BUTTONS; QUICK_REPLY/URL/PHONE_NUMBER/COPY_CODE/OTP/FLOW/...), because
that is what the sync reads and what the create call submits. Unknown component or button kinds are kept
(extra fields allowed) so a newer Graph version never breaks the sync.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
TEMPLATE_CATEGORIES: tuple[str, ...] = ("MARKETING", "UTILITY", "AUTHENTICATION")
# Meta's template states (message_template_status_update `event` values and GET `status`).
SENDABLE_STATUSES = frozenset({"APPROVED"})
TEMPLATE_NAME = r"^[a-z0-9_]{1,512}$"
LANGUAGE = r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$"


def normalize_language(code: str) -> str:
    """Meta uses `en_US`; webhooks sometimes say `en-US` or `pt-BR`."""
    return code.replace("-", "_")


class TemplateButton(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(description="QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, MPM, CATALOG, ...")
    text: str | None = None
    url: str | None = Field(default=None, description="For URL buttons; a trailing {{1}} is a dynamic suffix")
    phone_number: str | None = None
    example: list[str] | str | None = None

    @field_validator("type")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class TemplateComponent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(description="HEADER, BODY, FOOTER or BUTTONS")
    format: str | None = Field(default=None, description="HEADER only: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION")
    text: str | None = None
    buttons: list[TemplateButton] = Field(default_factory=list)
    example: dict[str, Any] | None = None

    @field_validator("type", "format")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class LintFinding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Literal["warning", "error"]
    message: str


class MessageTemplate(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    channel_id: str
    name: str
    language: str
    template_id: str | None = Field(default=None, description="Meta's id (a string in Graph responses)")
    status: str = Field(default="PENDING", description="APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...")
    category: str = "UTILITY"
    previous_category: str | None = None
    correct_category: str | None = Field(default=None, description="Meta announced it will re-categorize to this")
    quality: str = Field(default="UNKNOWN", description="GREEN, YELLOW, RED or UNKNOWN")
    rejected_reason: str | None = None
    status_detail: str | None = Field(default=None, description="other_info / rejection_info from Meta, as text")
    parameter_format: Literal["POSITIONAL", "NAMED"] = "POSITIONAL"
    components: list[TemplateComponent] = Field(default_factory=list)
    source: Literal["sync", "created", "webhook"] = "sync"
    synced_at: datetime | None = None
    updated_at: datetime
    lint: list[LintFinding] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.name}#{self.language}"

    def component(self, kind: str) -> TemplateComponent | None:
        return next((c for c in self.components if c.type == kind), None)

    @property
    def sendable(self) -> bool:
        return self.status in SENDABLE_STATUSES


class TemplateInput(BaseModel):
    """POST /v1/channels/{channel_id}/templates: create a template and submit it to Meta for review."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TEMPLATE_NAME, description="Lower-case letters, digits and underscores")
    language: str = Field(pattern=LANGUAGE, examples=["es", "es_AR", "en_US"])
    category: TemplateCategory
    parameter_format: Literal["POSITIONAL", "NAMED"] = "POSITIONAL"
    components: list[TemplateComponent] = Field(min_length=1, max_length=4)
    allow_category_change: bool = Field(default=False, description="Let Meta re-categorize instead of rejecting")

    @field_validator("parameter_format", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class HealthEvent(BaseModel):
    """One account-health webhook as stored: what changed, when, and Meta's raw value."""

    model_config = ConfigDict(frozen=True)

    field: str  # message_template_status_update, phone_number_quality_update, ...
    at: datetime
    summary: str
    severity: Literal["info", "warning", "critical"] = "info"
    template: str | None = None  # name#language for template events
    value: dict[str, Any] = Field(default_factory=dict)


class ChannelHealth(BaseModel):
    """The latest account health of a channel's number and business, from Meta's webhooks."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    channel_id: str
    quality_event: str | None = Field(default=None, description="Last phone_number_quality_update event")
    messaging_limit: str | None = Field(default=None, description="TIER_250, TIER_2K, TIER_10K, TIER_100K, "
                                                                  "TIER_UNLIMITED, ...")
    daily_limit: int | None = Field(default=None, description="Unique users per 24 h outside the service window; "
                                                              "None = unlimited or unknown")
    throughput_mps: int = Field(default=80, description="Messages per second this number may send")
    account_event: str | None = None
    account_restricted: bool = False
    updated_at: datetime | None = None
