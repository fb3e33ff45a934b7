"""Email units (built by shared.services.email_channel.EmailIngestService) as the inbound processor normalizes
them: kept apart from the email channel so the processor's cold start does not load the MIME machinery."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.models.messages import Identity, InboundMessage, MessageType
from shared.services.webhook_units import PayloadShapeError, nonempty_str


def parse_email_unit(payload: Mapping[str, Any], *, received_at: datetime) -> InboundMessage:
    """Normalize an email unit (built by EmailIngestService): the new text of the message, the subject and the
    attachments (already in S3) in `raw`."""
    message_id, contact_key = nonempty_str(payload.get("id")), nonempty_str(payload.get("from"))
    if message_id is None or contact_key is None:
        raise PayloadShapeError("email unit without Message-ID or sender")
    sent_ms = payload.get("sent_at_ms")
    sent_at = datetime.fromtimestamp(sent_ms / 1000, UTC) if isinstance(sent_ms, int) else received_at
    subject = nonempty_str(payload.get("subject"))
    text = nonempty_str(payload.get("text"))
    attachments = [a for a in payload.get("attachments") or [] if isinstance(a, dict)]
    if text is None:
        names = ", ".join(str(a.get("filename") or "adjunto") for a in attachments)
        text = f"[{names}]" if names else (subject or "(sin texto)")
    sender = Identity(key=contact_key, provider="email", email=nonempty_str(payload.get("from_address")),
                      name=nonempty_str(payload.get("from_name")))
    raw = {k: payload.get(k) for k in ("subject", "attachments", "spam", "raw", "from_address")
           if payload.get(k) not in (None, [], False)}
    return InboundMessage(provider="email", provider_message_id=message_id, type=MessageType.TEXT, raw_type="email",
                          sender=sender, sent_at=sent_at, text=text, raw=raw or None)
