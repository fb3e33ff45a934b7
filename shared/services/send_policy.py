"""The one send guard every path goes through: a typed refusal instead of a call Meta would reject."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from shared.models.envelopes import OutboundContent


class Refusal(StrEnum):
    TEMPLATE_REQUIRED = "template_required"  # free-form outside the 24h customer-service window
    CHANNEL_DISABLED = "channel_disabled"
    NOT_ON_CHANNEL = "not_supported_on_channel"  # e.g. a WhatsApp template on Telegram
    WINDOW_CLOSED = "window_closed"  # Messenger/Instagram: past 24h only a person may reply (7 days, HUMAN_AGENT)


class UnsupportedOnChannel(ValueError):
    """Content the channel has no form for (a template on Telegram, a reaction on Messenger): the send is stored
    as refused with this reason, never dropped."""


# Templates may be sent any time; marking a message read is not a message.
WINDOW_EXEMPT = frozenset({"template", "mark_read"})
# Channels whose free-form messages need the customer's last message within the window (a Telegram bot may write
# to whoever started it at any time).
WINDOWED_KINDS = frozenset({"whatsapp", "messenger", "instagram"})
# Channels whose window a human agent may extend with the HUMAN_AGENT message tag (they have no templates).
TAGGED_KINDS = frozenset({"messenger", "instagram"})
HUMAN_AGENT_WINDOW = timedelta(days=7)


def window_open(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    return last_inbound_at is not None and now < last_inbound_at + window


def needs_window(kind: str, content: OutboundContent) -> bool:
    """Whether the channel's policy depends on the customer's last message (WhatsApp, Messenger, Instagram)."""
    return kind in WINDOWED_KINDS and content.type not in WINDOW_EXEMPT


def message_tag(kind: str, content: OutboundContent, *, last_inbound_at: datetime | None, now: datetime,
                window: timedelta = timedelta(hours=24), human_agent: bool = False) -> str | None:
    """The Messenger/Instagram message tag a send needs: HUMAN_AGENT for a person's reply after the standard
    window (and within 7 days); None inside the window (messaging_type RESPONSE) and on other channels."""
    if kind not in TAGGED_KINDS or not human_agent or not needs_window(kind, content):
        return None
    if window_open(last_inbound_at, now, window) or not window_open(last_inbound_at, now, HUMAN_AGENT_WINDOW):
        return None
    return "HUMAN_AGENT"


def check_send(content: OutboundContent, *, last_inbound_at: datetime | None, now: datetime,
               window: timedelta = timedelta(hours=24), channel_enabled: bool = True,
               kind: str = "whatsapp", human_agent: bool = False) -> Refusal | None:
    """None when the content may be sent now; otherwise why not.

    WhatsApp: free-form only inside the 24h customer-service window, templates any time. Messenger and
    Instagram: inside the 24h standard window; after it only a person (an agent, `human_agent`) may reply, for 7
    days from the customer's last message, with the HUMAN_AGENT tag; no templates. Telegram: a bot may write to
    whoever started it at any time, but templates do not exist there."""
    if not channel_enabled:
        return Refusal.CHANNEL_DISABLED
    if content.type == "template" and kind != "whatsapp":
        return Refusal.NOT_ON_CHANNEL
    if needs_window(kind, content) and not window_open(last_inbound_at, now, window):
        if kind not in TAGGED_KINDS:
            return Refusal.TEMPLATE_REQUIRED
        if not (human_agent and window_open(last_inbound_at, now, HUMAN_AGENT_WINDOW)):
            return Refusal.WINDOW_CLOSED
    return None
