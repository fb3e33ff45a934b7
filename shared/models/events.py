"""Domain events published to the EventBridge bus. The detail-type is the class name."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class TenantEvent(BaseModel):
    """Every event belongs to one tenant; integrator webhooks are routed by it."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str

    @property
    def detail_type(self) -> str:
        return type(self).__name__


class DomainEvent(TenantEvent):
    """An event about a conversation on one channel."""

    channel_id: str


class MessageReceived(DomainEvent):
    message_id: str  # provider message id (wamid)
    contact_key: str
    contact_id: str | None = None  # the CRM contact (None only when the contact could not be resolved)
    reply_to_address: str  # where a reply is addressed (wa_id or BSUID)
    conversation_id: str
    message_type: str
    text: str | None = None
    sent_at: str
    has_media: bool = False
    media: dict[str, Any] | None = None
    within_window: bool = True
    reply_id: str | None = None  # the id of the reply button / list row tapped (interactive replies)


class ConversationOpened(DomainEvent):
    conversation_id: str
    contact_key: str
    contact_id: str | None = None
    opened_by_message_id: str
    opened_at: str


class MessageStatusChanged(DomainEvent):
    message_id: str  # our message id
    provider_message_id: str | None = None
    contact_key: str | None = None
    status: str
    previous_status: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None


class ConversationClosed(DomainEvent):
    conversation_id: str
    contact_id: str | None = None
    closed_at: str
    closed_by: str


class ContactEvent(TenantEvent):
    contact_id: str


class ContactCreated(ContactEvent):
    source: str  # api, inbound, import
    over_cap: bool = False


class ContactUpdated(ContactEvent):
    changes: tuple[str, ...] = ()


class ContactMerged(ContactEvent):
    merged_contact_id: str
    merge_id: str


class ContactDeleted(ContactEvent):
    """Erasure: the contact and everything of theirs is gone; only this id remains in the record."""

    erasure_id: str


class HandoffRequested(DomainEvent):
    """The bot hands the conversation to a team of people (the contact center picks it up)."""

    conversation_id: str
    contact_id: str | None = None
    contact_key: str
    bot_id: str
    session_id: str
    team: str
    skills: tuple[str, ...] = ()
    priority: str = "normal"
    reason: str
    summary: str
    data: dict[str, Any] = {}


class BotSessionEnded(DomainEvent):
    """A bot session ended: solved by the bot, handed to an agent, or the customer stopped answering."""

    conversation_id: str
    contact_id: str | None = None
    bot_id: str
    version: int
    session_id: str
    reason: str  # solved | handoff | timeout | closed | error
    started_at: str
    ended_at: str
    turns: int
    input_tokens: int = 0
    output_tokens: int = 0


class BotTimeoutCheck(TenantEvent):
    """Not published on the bus: a delayed message the bot sends itself to end idle sessions."""

    channel_id: str
    conversation_id: str
    session_id: str
    turn: int
