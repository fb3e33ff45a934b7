"""Outbound webhooks for integrators: subscriptions (the API's contract) and delivery records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.topology_names import WEBHOOK_EVENT_TYPES

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]
"""pending: first attempt or an automatic retry is due; succeeded: a 2xx answer; failed: ended without
automatic retries (410 Gone, the subscription was disabled, or a manual replay failed); dead: every automatic
attempt failed. Failed and dead deliveries are kept (30 days) and can be replayed."""

DisabledReason = Literal["manual", "gone"]


def _known_event_type(value: str) -> str:
    if value not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown event type '{value}'; one of: {', '.join(WEBHOOK_EVENT_TYPES)}")
    return value


# One list of event types (shared/topology_names.py) drives the validation, the OpenAPI enum and the
# EventBridge rule that feeds the dispatcher.
EventType = Annotated[str, AfterValidator(_known_event_type),
                      Field(json_schema_extra={"enum": list(WEBHOOK_EVENT_TYPES)})]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(WEBHOOK_EVENT_TYPES))]
TargetUrl = Annotated[str, Field(min_length=8, max_length=2048, description="https URL that receives the POSTs",
                                 examples=["https://hooks.acme.example/omnichannel"])]
Description = Annotated[str, Field(max_length=500)]


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


CampaignFilter = Annotated[str | None, Field(
    default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
    description="Only events of this contact-center campaign (those carrying its campaign_id): how an external "
                "contact center (a campaign's external desk) receives its conversations")]


class SubscriptionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: EventTypes
    description: Description | None = None
    campaign_id: CampaignFilter = None

    _dedupe = field_validator("events")(_unique)


class SubscriptionPatch(BaseModel):
    """Fields to change; omitted fields are kept. `description: null` clears the description."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | None = None
    events: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None

    _dedupe = field_validator("events")(_unique)


class Subscription(BaseModel):
    """A subscription as the API shows it. The signing secret is never part of it (see SubscriptionCreated)."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str = Field(examples=["wh_0190f2c4a8e1b7d2c3a4f5e6"])
    tenant_id: str
    url: str
    events: list[str]
    description: str | None = None
    campaign_id: str | None = None
    enabled: bool = True
    disabled_reason: DisabledReason | None = Field(
        default=None, description="manual: disabled through the API; gone: the endpoint answered 410 Gone")
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(Subscription):
    secret: str = Field(description="HMAC-SHA256 signing secret. Shown once: store it now.")


class SecretRotated(BaseModel):
    subscription_id: str
    secret: str = Field(description="The new signing secret. Shown once.")
    previous_secret_valid_until: datetime | None = Field(
        default=None, description="Until then deliveries carry a v1 signature with the old secret too")


class SubscriptionList(BaseModel):
    items: list[Subscription]
    next_cursor: str | None = None


class Delivery(BaseModel):
    """One event for one subscription: created once (id derived from both), attempted until it ends."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    tenant_id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus = "pending"
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = Field(default=None, description="When the next automatic retry is due")
    created_at: datetime
    payload: dict[str, Any] = Field(description="The JSON body POSTed to the subscriber (kept for replay)")


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = None
