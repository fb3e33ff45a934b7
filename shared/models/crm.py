"""CRM entities: contacts with identities per channel, typed custom fields, tags, consent, segments.

These are the contracts shared by the services, the adapters and the REST API. API input models are
explicit (`extra="forbid"`): a request can never set tenant, owner-of-record bookkeeping or audit fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IdentityKind = Literal["whatsapp", "whatsapp_bsuid", "messenger", "instagram", "telegram", "webchat", "email",
                       "phone"]
# Channel identities are unique per tenant (one contact owns a WhatsApp id). Phone and email are soft:
# two contacts may share them (a family phone); shared values produce duplicate suggestions instead.
UNIQUE_IDENTITY_KINDS: frozenset[str] = frozenset({"whatsapp", "whatsapp_bsuid", "messenger", "instagram", "telegram",
                                                   "webchat"})
SOFT_IDENTITY_KINDS: frozenset[str] = frozenset({"email", "phone"})

LifecycleStage = Literal["new", "lead", "qualified", "customer", "churned"]
ConsentPurpose = Literal["marketing", "utility"]
ConsentStatus = Literal["opted_in", "opted_out"]
FieldType = Literal["text", "number", "date", "boolean", "list"]

FIELD_KEY = r"^[a-z][a-z0-9_]{0,39}$"
TAG = r"^[\w][\w .:/-]{0,49}$"
FieldValue = str | int | float | bool | list[str] | None

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    value = raw.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("not a valid email address")
    return value


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=254)
    channel_id: str | None = Field(default=None, max_length=64)


class ConsentRecord(BaseModel):
    """Opt-in or opt-out for one purpose, with the evidence of how it was given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ConsentStatus
    at: datetime
    source: str = Field(min_length=1, max_length=64, description="Through what: whatsapp, web_form, import, api, ...")
    text: str | None = Field(default=None, max_length=2000, description="The wording the contact agreed to")
    actor: str | None = Field(default=None, max_length=128)


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    contact_id: str
    name: str | None = None
    identities: tuple[Identity, ...] = ()
    tags: tuple[str, ...] = ()
    lifecycle: LifecycleStage = "new"
    owner_agent_id: str | None = None
    language: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    consent: dict[str, ConsentRecord] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    # Admitted over the plan's contact cap: stored and visible, but flagged until the plan allows it.
    over_cap: bool = False
    merged_into: str | None = None
    version: int = 1

    def identity_values(self, kind: str) -> list[str]:
        return [i.value for i in self.identities if i.kind == kind]

    @property
    def phones(self) -> list[str]:
        return self.identity_values("phone")

    @property
    def emails(self) -> list[str]:
        return self.identity_values("email")


class ContactInput(BaseModel):
    """POST /v1/contacts. Phones and emails are normalized; channel ids are attached as identities."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="Any common format; stored as E.164")
    email: str | None = Field(default=None, max_length=254)
    identities: list[Identity] = Field(default_factory=list, max_length=20)
    tags: list[Annotated[str, Field(pattern=TAG)]] = Field(default_factory=list, max_length=50)
    lifecycle: LifecycleStage = "new"
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    owner_agent_id: str | None = Field(default=None, max_length=128)
    fields: dict[str, FieldValue] = Field(default_factory=dict, max_length=100)
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$",
                                        description="ISO country for phones written in national format")


class ContactPatch(BaseModel):
    """PATCH /v1/contacts/{id}: only the listed attributes; null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    lifecycle: LifecycleStage | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    owner_agent_id: str | None = Field(default=None, max_length=128)
    fields: dict[str, FieldValue] | None = Field(default=None, max_length=100,
                                                 description="Merged into the existing fields; null values remove")


class ConsentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose
    status: ConsentStatus
    source: str = Field(min_length=1, max_length=64)
    text: str | None = Field(default=None, max_length=2000)
    at: datetime | None = Field(default=None, description="When the contact gave it; defaults to now")


class CustomFieldDef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=FIELD_KEY)
    label: str = Field(min_length=1, max_length=100)
    type: FieldType
    options: tuple[str, ...] = Field(default=(), max_length=200, description="Allowed values of a list field")
    required: bool = False

    @field_validator("options")
    @classmethod
    def _options(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("options must be unique")
        return value

    def coerce(self, value: Any) -> FieldValue:
        """Validate one value against this definition; raise ValueError with a reason."""
        if value is None:
            return None
        if self.type == "text":
            if not isinstance(value, str) or len(value) > 2000:
                raise ValueError(f"{self.key}: expected text up to 2000 characters")
            return value
        if self.type == "number":
            if isinstance(value, bool):
                raise ValueError(f"{self.key}: expected a number")
            if isinstance(value, int | float):
                return value
            if isinstance(value, str):
                try:
                    number = float(value.replace(",", "."))
                except ValueError:
                    raise ValueError(f"{self.key}: expected a number") from None
                return int(number) if number.is_integer() else number
            raise ValueError(f"{self.key}: expected a number")
        if self.type == "date":
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value).isoformat()
                except ValueError:
                    pass
            raise ValueError(f"{self.key}: expected a date as YYYY-MM-DD")
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in {"true", "false", "si", "sí", "no", "1", "0", "yes"}:
                return value.strip().lower() in {"true", "si", "sí", "1", "yes"}
            raise ValueError(f"{self.key}: expected true or false")
        # list: one or more of the options
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else None
        if items is None or not all(isinstance(v, str) for v in items):
            raise ValueError(f"{self.key}: expected a list of options")
        unknown = [v for v in items if self.options and v not in self.options]
        if unknown:
            raise ValueError(f"{self.key}: not an option: {', '.join(unknown)}")
        return list(dict.fromkeys(items))


class Activity(BaseModel):
    """One entry of a contact's timeline."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    kind: str  # message_in, message_out, created, updated, tag_added, consent, merged, split, imported, ...
    summary: str
    data: dict[str, Any] = Field(default_factory=dict)


class MergeRecord(BaseModel):
    """Audit of a merge, and everything needed to undo it (split)."""

    model_config = ConfigDict(frozen=True)

    merge_id: str
    tenant_id: str
    survivor_id: str
    merged_id: str
    merged_snapshot: dict[str, Any]
    survivor_snapshot: dict[str, Any]
    moved_threads: tuple[str, ...] = ()
    at: datetime
    actor: str
    undone_at: datetime | None = None
