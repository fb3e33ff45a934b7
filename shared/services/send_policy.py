"""The one send guard every path goes through: a typed refusal instead of a call Meta would reject."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from shared.models.envelopes import OutboundContent


class Refusal(StrEnum):
    TEMPLATE_REQUIRED = "template_required"  # free-form outside the 24h customer-service window
    CHANNEL_DISABLED = "channel_disabled"


# Templates may be sent any time; marking a message read is not a message.
WINDOW_EXEMPT = frozenset({"template", "mark_read"})


def window_open(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    return last_inbound_at is not None and now < last_inbound_at + window


def check_send(content: OutboundContent, *, last_inbound_at: datetime | None, now: datetime,
               window: timedelta = timedelta(hours=24), channel_enabled: bool = True) -> Refusal | None:
    """None when the content may be sent now; otherwise why not."""
    if not channel_enabled:
        return Refusal.CHANNEL_DISABLED
    if content.type in WINDOW_EXEMPT:
        return None
    if not window_open(last_inbound_at, now, window):
        return Refusal.TEMPLATE_REQUIRED
    return None
