"""Contracts carried by the queues between functions."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models.channel import ChannelKind


class InboundUnit(BaseModel):
    """One message or one status from a webhook, as the ingest function enqueues it.

    The ingest function splits a batched POST into units so that each gets its own FIFO group
    (tenant + contact) and deduplication id; the raw provider object travels untouched and is
    normalized by the inbound processor.
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    channel_id: str
    kind: Literal["message", "status", "account", "comment"]
    provider: ChannelKind = "whatsapp"
    phone_number_id: str
    payload: dict[str, Any]  # messages[i] or statuses[i] as Meta sent it; a Telegram Update
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    value_errors: list[dict[str, Any]] = Field(default_factory=list)
    received_at_ms: int


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    body: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class MediaContent(BaseModel):
    type: Literal["image", "audio", "video", "document", "sticker"]
    media_id: str | None = None
    link: str | None = None
    caption: str | None = None
    filename: str | None = None


class TemplateContent(BaseModel):
    type: Literal["template"] = "template"
    name: str
    language: str
    components: list[dict[str, Any]] = Field(default_factory=list)


class ReplyButton(BaseModel):
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class ButtonsContent(BaseModel):
    type: Literal["buttons"] = "buttons"
    body: str = Field(min_length=1, max_length=1024)
    buttons: list[ReplyButton] = Field(min_length=1, max_length=3)
    header: str | None = None
    footer: str | None = None


class ListRow(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=72)


class ListSection(BaseModel):
    title: str | None = Field(default=None, max_length=24)
    rows: list[ListRow] = Field(min_length=1)


class ListContent(BaseModel):
    type: Literal["list"] = "list"
    body: str = Field(min_length=1, max_length=4096)
    button: str = Field(min_length=1, max_length=20)
    sections: list[ListSection] = Field(min_length=1, max_length=10)
    header: str | None = None
    footer: str | None = None


class ReactionContent(BaseModel):
    type: Literal["reaction"] = "reaction"
    message_id: str
    emoji: str = ""  # empty removes the reaction


class MarkReadContent(BaseModel):
    type: Literal["mark_read"] = "mark_read"
    message_id: str
    typing_indicator: bool = False


OutboundContent = Annotated[
    TextContent | MediaContent | TemplateContent | ButtonsContent | ListContent | ReactionContent | MarkReadContent,
    Field(discriminator="type"),
]


class OutboundRequest(BaseModel):
    """Something any part of the platform (bot, agent, workflow, broadcast, API) wants sent."""

    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=200)  # idempotency key: the same id is sent once
    tenant_id: str
    channel_id: str
    contact_key: str  # the thread's opaque identity (BSUID or wa_id)
    to: str  # what the provider addresses: phone/wa_id or BSUID
    content: OutboundContent
    reply_to: str | None = None  # provider message id to quote
    origin: str = "api"
    human_agent: bool = False  # a person wrote it (Messenger/Instagram: may use the HUMAN_AGENT tag, 7 days)

    @property
    def message_id(self) -> str:
        """Our id for the outbound message; Meta echoes it on statuses as biz_opaque_callback_data."""
        return outbound_message_id(self.request_id)


def outbound_message_id(request_id: str) -> str:
    """The message id of an outbound request id (broadcast sends echo their request id as callback data)."""
    return "out_" + hashlib.sha256(request_id.encode()).hexdigest()[:32]
