"""Conversations and messages as the REST API shows them, and the send request an integrator makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models.envelopes import OutboundContent


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True)

    conversation_id: str
    tenant_id: str
    channel_id: str
    contact_key: str
    contact_id: str | None = None
    status: Literal["open", "closed"] = "open"
    opened_at: datetime
    opened_by_message_id: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    origin: Literal["in", "out"] = Field(default="in", description="Who started it: the customer or the business")
    routing: Literal["none", "waiting", "assigned", "desk", "overflow", "out_of_hours"] = Field(
        default="none", description="The contact center's state: none (a bot or nobody), waiting in a campaign's "
                                    "queue, assigned to an agent, held by an external desk, overflow (the queue "
                                    "was full), out_of_hours")
    campaign_id: str | None = None
    assignee: str | None = Field(default=None, description="The agent's user id, or desk:<campaign>")
    agents: list[str] = Field(default_factory=list, description="Every agent who held it")
    queued_at: datetime | None = None
    queue_sk: str | None = Field(default=None, exclude=True)  # internal: its place in the queue
    assigned_at: datetime | None = None
    first_response_at: datetime | None = Field(default=None, description="The first reply of a person")
    transfers: int = 0
    closing_note: dict[str, Any] | None = None
    reopened_at: datetime | None = None


class MessageView(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    direction: Literal["in", "out"]
    type: str
    text: str | None = None
    status: str | None = None
    at: datetime
    provider_message_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    media: dict[str, Any] | None = None
    media_stored: bool = Field(default=False, description="The media's bytes are kept: GET "
                               "/v1/conversations/{id}/media/{message_id} gives a short-lived link to them")
    media_key: str | None = Field(default=None, exclude=True)  # internal: where the bytes are
    origin: str | None = Field(default=None, description="Who sent an outgoing message: bot:<id>, user:<id>, "
                                                         "key:<id>, system, auto_reply")
    subject: str | None = Field(default=None, description="Email: the message's subject")
    sentiment: str | None = Field(default=None, description="A customer message's sentiment (POSITIVE, NEGATIVE, "
                                  "NEUTRAL, MIXED), once reports scored it")
    attachments: list[dict[str, Any]] | None = Field(
        default=None, description="Email: filename, content_type, size and s3_key of each attachment")


class ConversationDetail(BaseModel):
    conversation: Conversation
    messages: list[MessageView]
    window_open: bool
    window_closes_at: datetime | None = None


class SendMessageInput(BaseModel):
    """POST /v1/messages: send to a contact on a channel, through the outbound sender and the 24h guard."""

    model_config = ConfigDict(extra="forbid")

    contact_id: str = Field(min_length=1, max_length=64)
    channel_id: str | None = Field(default=None, max_length=64,
                                   description="Which channel; defaults to the contact's most recent thread")
    content: OutboundContent
    reply_to: str | None = Field(default=None, max_length=200, description="Provider message id to quote")
    client_reference: str | None = Field(default=None, max_length=200,
                                         description="Your id for this send; the same value is sent once")
    human_agent: bool = Field(default=False, description="A person wrote this message. On Messenger and Instagram "
                              "it may then be sent up to 7 days after the customer's last message (HUMAN_AGENT tag) "
                              "instead of 24 hours; never set it for automated messages")


class SendAccepted(BaseModel):
    message_id: str
    status: Literal["queued"] = "queued"
    channel_id: str
    contact_id: str
    to: str
