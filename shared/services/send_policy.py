"""The one send guard every path goes through: a typed refusal instead of a call Meta would reject."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from shared.models.envelopes import OutboundContent


class Refusal(StrEnum):
    TEMPLATE_REQUIRED = "template_required"  # free-form outside the 24h customer-service window
    CHANNEL_DISABLED = "channel_disabled"
    NOT_ON_CHANNEL = "not_supported_on_channel"  # e.g. a WhatsApp template on Telegram


# Templates may be sent any time; marking a message read is not a message.
WINDOW_EXEMPT = frozenset({"template", "mark_read"})
# Channels whose free-form messages need the customer's last message within the window (a Telegram bot may write
# to whoever started it at any time).
WINDOWED_KINDS = frozenset({"whatsapp"})


def window_open(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    return last_inbound_at is not None and now < last_inbound_at + window


def needs_window(kind: str, content: OutboundContent) -> bool:
    """Whether the channel's policy depends on the customer's last message (only WhatsApp's does so far)."""
    return kind in WINDOWED_KINDS and content.type not in WINDOW_EXEMPT


def check_send(content: OutboundContent, *, last_inbound_at: datetime | None, now: datetime,
               window: timedelta = timedelta(hours=24), channel_enabled: bool = True,
               kind: str = "whatsapp") -> Refusal | None:
    """None when the content may be sent now; otherwise why not.

    WhatsApp: free-form only inside the 24h customer-service window, templates any time. Telegram: a bot may
    write to whoever started it at any time, but templates do not exist there."""
    if not channel_enabled:
        return Refusal.CHANNEL_DISABLED
    if content.type == "template" and kind != "whatsapp":
        return Refusal.NOT_ON_CHANNEL
    if needs_window(kind, content) and not window_open(last_inbound_at, now, window):
        return Refusal.TEMPLATE_REQUIRED
    return None
