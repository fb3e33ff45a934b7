"""SMS and MMS through Twilio: split a webhook's form into a unit, normalize inbound messages and status callbacks.

Twilio posts one form per event (application/x-www-form-urlencoded, signed with X-Twilio-Signature, see
twilio_signature): an inbound message (`MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrl{N}`,
`MediaContentType{N}`, `SmsStatus=received`) to the number's messaging webhook, or a status callback
(`MessageSid`, `MessageStatus`, `ErrorCode`, ...) to the `StatusCallback` URL of a message we sent. Twilio retries
on failure, so a message is deduplicated on its `MessageSid` and a status on `<MessageSid>:<MessageStatus>`.

A form of another account, or for another number than the channel's, is rejected (quarantined): a channel never
stores what arrived for somebody else. The initial statuses (queued, accepted, scheduled, sending) say nothing
the send's own answer did not, and are acknowledged and counted as ignored.

Media is only referenced by URL when it is on a Twilio media host over https: anything else would have the
platform fetch an arbitrary URL a form named. Such media is dropped, the text kept, and the form stays in `raw`
with the reason, so nothing is silently lost. SMS has no send timestamps: messages and statuses are dated when
the webhook was received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from shared.models.messages import (
    Identity,
    InboundMessage,
    Media,
    MessageType,
    ProviderError,
    StatusKind,
    StatusUpdate,
)
from shared.services.webhook_units import PayloadShapeError, Rejection, SplitResult, UnitDraft

TWILIO_MEDIA_HOSTS = frozenset({"api.twilio.com"})
TWILIO_MEDIA_HOST_SUFFIXES = (".twilio.com", ".twiliocdn.com")
# No callback is sent for the initial status; a "sending" callback adds nothing to the send's own answer.
INITIAL_STATUSES = frozenset({"queued", "accepted", "scheduled", "sending"})
STATUS_KINDS = {"sent": StatusKind.SENT, "delivered": StatusKind.DELIVERED, "read": StatusKind.READ,
                "undelivered": StatusKind.FAILED, "failed": StatusKind.FAILED}
# Readable titles of the delivery errors a status callback commonly carries (Twilio's error dictionary).
ERROR_TITLES = {
    21211: "Invalid 'To' phone number",
    21408: "Permission to send an SMS has not been enabled for the region of the 'To' number",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30001: "Queue overflow",
    30002: "Account suspended",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered by the carrier",
    30008: "Unknown error",
    30010: "Message price exceeds max price",
}
_DIGITS = frozenset("0123456789")
_PHONE_CHARS = _DIGITS | frozenset("+ -().")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def is_twilio_media_url(url: str) -> bool:
    """An https URL on api.twilio.com or a host under twilio.com or twiliocdn.com (no credentials, no port
    other than 443): the only media URLs the platform will fetch from an inbound form."""
    if not isinstance(url, str) or any(c.isspace() or c == "\\" or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme != "https" or "@" in parts.netloc or port not in (None, 443) or not set(host) <= _HOST_CHARS:
        return False
    return host in TWILIO_MEDIA_HOSTS or host.endswith(TWILIO_MEDIA_HOST_SUFFIXES)


def _canonical_number(value: str) -> str:
    """`+<digits>` for a phone number however it is written (short codes too); anything else as it is."""
    stripped = value.strip()
    digits = "".join(c for c in stripped if c in _DIGITS)
    return "+" + digits if digits and set(stripped) <= _PHONE_CHARS else stripped


def _phone(value: str) -> str | None:
    """E.164 without "+" (Identity.phone) for a "+<digits>" address; None for short codes and sender ids."""
    digits = value[1:]
    return digits if value.startswith("+") and 6 <= len(digits) <= 15 and set(digits) <= _DIGITS else None


def _is_status(payload: dict[str, str]) -> bool:
    return payload.get("SmsStatus") != "received" and payload.get("MessageStatus") not in (None, "received")


def split_sms_webhook(params: list[tuple[str, str]], *, account_sid: str, number: str) -> SplitResult:
    """One unit for an inbound SMS/MMS or a status callback of this channel's account and number."""
    result = SplitResult()
    payload = dict(params)  # a repeated name keeps its last value (the signature was checked over all of them)
    sid = payload.get("MessageSid")
    if not sid:
        result.rejected.append(Rejection("not a Twilio message webhook (no MessageSid)", payload))
        return result
    if not account_sid or payload.get("AccountSid") != account_sid:
        result.rejected.append(Rejection(f"form of account {payload.get('AccountSid')!r}, not this channel's",
                                         payload))
        return result
    ours = _canonical_number(number)
    if _is_status(payload):
        status = payload["MessageStatus"]
        if status in INITIAL_STATUSES:
            result.ignored += 1
            return result
        if _canonical_number(payload.get("From", "")) != ours:
            result.rejected.append(Rejection("status of a message not sent from this channel's number", payload))
            return result
        if not payload.get("To"):
            result.rejected.append(Rejection("status callback without To", payload))
            return result
        result.units.append(UnitDraft(kind="status", payload=payload, contacts=[], value_errors=[],
                                      dedup_key=f"{sid}:{status}", contact_key=payload["To"]))
        return result
    if _canonical_number(payload.get("To", "")) != ours:
        result.rejected.append(Rejection("message not sent to this channel's number", payload))
        return result
    if not payload.get("From"):
        result.rejected.append(Rejection("message without From", payload))
        return result
    result.units.append(UnitDraft(kind="message", payload=payload, contacts=[], value_errors=[], dedup_key=sid,
                                  contact_key=payload["From"]))
    return result


def _identity(address: str) -> Identity:
    return Identity(key=address, provider="sms", phone=_phone(address))


def _media_type(mime_type: str | None) -> MessageType:
    for prefix, mtype in (("image/", MessageType.IMAGE), ("video/", MessageType.VIDEO),
                          ("audio/", MessageType.AUDIO)):
        if (mime_type or "").lower().startswith(prefix):
            return mtype
    return MessageType.DOCUMENT


def _count(value: Any) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and value.isascii() else 0


def parse_sms(payload: dict[str, Any], *, received_at: datetime) -> InboundMessage:
    """Normalize an inbound SMS/MMS unit of split_sms_webhook. Raises PayloadShapeError only when it cannot be
    identified (no MessageSid or From)."""
    sid, sender = payload.get("MessageSid"), payload.get("From")
    if not isinstance(sid, str) or not sid or not isinstance(sender, str) or not sender:
        raise PayloadShapeError("SMS without MessageSid or From")
    body = payload.get("Body")
    text = body if isinstance(body, str) and body else None
    count = _count(payload.get("NumMedia"))
    media: Media | None = None
    mtype = MessageType.TEXT
    reasons: list[str] = []
    if count:
        url, mime_type = payload.get("MediaUrl0"), payload.get("MediaContentType0")
        mime_type = mime_type if isinstance(mime_type, str) and mime_type else None
        if isinstance(url, str) and is_twilio_media_url(url):
            media = Media(url=url, mime_type=mime_type, caption=text)
            mtype = _media_type(mime_type)
        else:
            reasons.append("media dropped: MediaUrl0 is not an https URL on a Twilio media host")
        if count > 1:
            reasons.append(f"{count} media: only the first is kept as media")
    if media is None and text is None:
        mtype = MessageType.UNSUPPORTED  # nothing left to show; the form is in raw
        reasons = reasons or ["no Body and no media"]
    return InboundMessage(
        provider="sms", provider_message_id=sid, type=mtype, raw_type="mms" if count else "sms",
        sender=_identity(sender), sent_at=received_at, text=text, media=media,
        raw={"reason": "; ".join(reasons), "payload": payload} if reasons else None)


def _error(payload: dict[str, Any], status: str) -> ProviderError:
    raw_code, message = payload.get("ErrorCode"), payload.get("ErrorMessage")
    code = int(raw_code) if isinstance(raw_code, str) and raw_code.isdigit() and raw_code.isascii() else None
    title = message if isinstance(message, str) and message else None
    if title is None:
        title = ERROR_TITLES.get(code, f"Twilio error {code}") if code is not None else f"message {status}"
    return ProviderError(code=code, title=title,
                         href=f"https://www.twilio.com/docs/errors/{code}" if code is not None else None)


def parse_sms_status(payload: dict[str, Any], *, received_at: datetime) -> StatusUpdate:
    """Normalize a status unit of split_sms_webhook: sent, delivered, read; undelivered and failed become FAILED
    with Twilio's error. A status we do not know keeps its raw value with status None."""
    sid, recipient = payload.get("MessageSid"), payload.get("To")
    raw_status = payload.get("MessageStatus")
    if not isinstance(sid, str) or not sid or not isinstance(recipient, str) or not recipient:
        raise PayloadShapeError("status callback without MessageSid or To")
    raw_status = raw_status if isinstance(raw_status, str) else ""
    status = STATUS_KINDS.get(raw_status)
    failed = status is StatusKind.FAILED
    return StatusUpdate(
        provider="sms", provider_message_id=sid, status=status, raw_status=raw_status, at=received_at,
        recipient=_identity(recipient),
        errors=[_error(payload, raw_status)] if failed or payload.get("ErrorCode") else [])
