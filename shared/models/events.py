"""Domain events published to the EventBridge bus. The detail-type is the class name."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    channel_id: str

    @property
    def detail_type(self) -> str:
        return type(self).__name__


class MessageReceived(DomainEvent):
    message_id: str  # provider message id (wamid)
    contact_key: str
    reply_to_address: str  # where a reply is addressed (wa_id or BSUID)
    conversation_id: str
    message_type: str
    text: str | None = None
    sent_at: str
    has_media: bool = False
    media: dict[str, Any] | None = None
    within_window: bool = True


class ConversationOpened(DomainEvent):
    conversation_id: str
    contact_key: str
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
