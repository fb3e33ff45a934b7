"""Web chat units (built by shared.services.webchat) as the inbound processor normalizes them: kept apart from the
web chat service so the processor's cold start does not load it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.models.messages import Identity, InboundMessage, InteractiveReply, MessageType, StatusKind, StatusUpdate
from shared.services.webhook_units import PayloadShapeError, as_dict, nonempty_str

USER_PREFIX = "user:"  # a signed-in customer's contact key: user:<the site's user id>


def parse_webchat(payload: Mapping[str, Any], *, received_at: datetime) -> InboundMessage:
    """Normalize a web chat message unit (built by WebChatService.post_message)."""
    message_id, sender = nonempty_str(payload.get("id")), nonempty_str(payload.get("from"))
    if message_id is None or sender is None:
        raise PayloadShapeError("web chat message without id or sender")
    profile = as_dict(payload.get("profile"))
    identity = Identity(key=sender, provider="webchat", name=nonempty_str(profile.get("name")),
                        email=nonempty_str(profile.get("email")), phone=nonempty_str(profile.get("phone")),
                        user_id=sender.removeprefix(USER_PREFIX) if sender.startswith(USER_PREFIX) else None)
    sent_ms = payload.get("sent_at_ms")
    sent_at = datetime.fromtimestamp(sent_ms / 1000, UTC) if isinstance(sent_ms, int) else received_at
    reply = as_dict(payload.get("reply"))
    if reply:
        return InboundMessage(provider="webchat", provider_message_id=message_id, type=MessageType.INTERACTIVE,
                              raw_type="button_reply", sender=identity, sent_at=sent_at,
                              text=nonempty_str(reply.get("title")) or nonempty_str(reply.get("id")),
                              interactive=InteractiveReply(kind="button_reply", id=nonempty_str(reply.get("id")),
                                                           title=nonempty_str(reply.get("title"))))
    text = nonempty_str(payload.get("text"))
    if text is None:
        raise PayloadShapeError("web chat message without text or reply")
    return InboundMessage(provider="webchat", provider_message_id=message_id, type=MessageType.TEXT,
                          raw_type="text", sender=identity, sent_at=sent_at, text=text)


def parse_webchat_status(payload: Mapping[str, Any], *, received_at: datetime) -> StatusUpdate:
    message_id, recipient = nonempty_str(payload.get("id")), nonempty_str(payload.get("recipient"))
    if message_id is None or recipient is None or payload.get("status") != "read":
        raise PayloadShapeError("web chat status without id, recipient or a known status")
    return StatusUpdate(provider="webchat", provider_message_id=message_id, status=StatusKind.READ, raw_status="read",
                        at=received_at, recipient=Identity(key=recipient, provider="webchat"))
