"""The canonical message model: every WhatsApp message type and status normalized into one shape."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.models.channel import ChannelKind


class MessageType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


MEDIA_TYPES = frozenset({MessageType.IMAGE, MessageType.AUDIO, MessageType.VIDEO, MessageType.DOCUMENT,
                         MessageType.STICKER})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ProviderError(_Model):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    href: str | None = None


class Identity(_Model):
    """Who a message is from or to. `key` is the opaque identity the contact is keyed on."""

    key: str  # WhatsApp: the BSUID or wa_id; Telegram: the private chat's id (the user's id)
    provider: ChannelKind = "whatsapp"
    wa_id: str | None = None  # phone-based WhatsApp id; may be "" / absent for username users
    user_id: str | None = None  # business-scoped user id (BSUID)
    parent_user_id: str | None = None
    phone: str | None = None  # E.164 without "+", when known
    name: str | None = None
    username: str | None = None
    email: str | None = None  # email: the From address; web chat: what the pre-chat form or the site gave


class Media(_Model):
    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None
    voice: bool | None = None
    animated: bool | None = None


class Location(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedContact(_Model):
    formatted_name: str | None = None
    phones: list[dict[str, Any]] = Field(default_factory=list)
    emails: list[dict[str, Any]] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict)


class InteractiveReply(_Model):
    kind: str  # button_reply | list_reply | nfm_reply | <other, kept raw>
    id: str | None = None
    title: str | None = None
    description: str | None = None
    flow_name: str | None = None
    flow_body: str | None = None
    flow_response: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None


class TemplateButtonReply(_Model):
    payload: str | None = None
    text: str | None = None


class Reaction(_Model):
    message_id: str
    emoji: str | None = None
    removed: bool = False


class OrderItem(_Model):
    product_retailer_id: str
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class Order(_Model):
    catalog_id: str | None = None
    text: str | None = None
    items: list[OrderItem] = Field(default_factory=list)


class SystemEvent(_Model):
    type: str | None = None
    body: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None


class Referral(_Model):
    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: str | None = None


class ReplyContext(_Model):
    message_id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: dict[str, Any] | None = None


class InboundMessage(_Model):
    """One inbound message, whatever its type."""

    provider: ChannelKind = "whatsapp"
    provider_message_id: str
    type: MessageType
    raw_type: str
    sender: Identity
    sent_at: datetime  # Meta's timestamp, not our processing time
    text: str | None = None  # text body / caption / button title: a searchable rendering
    media: Media | None = None
    location: Location | None = None
    contacts: list[SharedContact] = Field(default_factory=list)
    interactive: InteractiveReply | None = None
    button: TemplateButtonReply | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    system: SystemEvent | None = None
    referral: Referral | None = None
    context: ReplyContext | None = None
    errors: list[ProviderError] = Field(default_factory=list)
    raw: dict[str, Any] | None = None  # kept for unsupported/unknown types and for messages with errors


class StatusKind(StrEnum):
    ACCEPTED = "accepted"  # our own state after the Graph API accepted the send
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


# Statuses only move forward. failed is terminal; played (voice note played) comes after read.
STATUS_RANK: dict[StatusKind, int] = {
    StatusKind.ACCEPTED: 10,
    StatusKind.SENT: 20,
    StatusKind.DELIVERED: 30,
    StatusKind.READ: 40,
    StatusKind.PLAYED: 50,
    StatusKind.FAILED: 90,
}


class Pricing(_Model):
    billable: bool | None = None
    pricing_model: str | None = None  # CBP (legacy) | PMP
    type: str | None = None  # regular | free_customer_service | free_entry_point (PMP)
    category: str | None = None


class ConversationInfo(_Model):
    id: str | None = None
    expires_at: datetime | None = None
    origin_type: str | None = None


class StatusUpdate(_Model):
    provider: ChannelKind = "whatsapp"
    provider_message_id: str
    status: StatusKind | None  # None for a status value we do not know (kept raw)
    raw_status: str
    at: datetime
    recipient: Identity
    callback_data: str | None = None
    conversation: ConversationInfo | None = None
    pricing: Pricing | None = None
    errors: list[ProviderError] = Field(default_factory=list)
    # Messenger's read receipt: every message sent to the recipient before this time was read (no message id)
    watermark: datetime | None = None

    @property
    def rank(self) -> int:
        return STATUS_RANK[self.status] if self.status else 0
