"""Email: customers write to a channel's address; SES receives it (receipt rule → raw MIME in S3 → a notification
on the `email` queue) and we answer through SES with threading headers.

Inbound (`EmailIngestService.receive`, run by the `email_processor` function):
* SES's verdicts first: a virus, or a DMARC failure whose domain asks to reject, is refused (logged with the
  reason, never enqueued); spam is kept and flagged.
* Auto-replies, bounces and mailing lists are not conversations (an out-of-office answering our answer would
  loop forever): counted and dropped.
* Each recipient that is one of our channels' addresses gets one unit (a message sent to two of a tenant's
  addresses is two messages, one per channel). The thread is found by Message-ID: a reply whose In-Reply-To or
  References names a message we know joins that message's thread (even from another address of the customer);
  otherwise the thread is the sender's address. The Message-ID is the dedupe key (SES may deliver twice).
* Attachments are copied out of the raw message to S3 with the message; the unit carries their keys.

Outbound (`EmailDelivery.send`, in the sender): a reply to the thread's last message, with In-Reply-To,
References (RFC 5322 §3.6.4) and "Re: <subject>", from the channel's address; buttons and lists become numbered
options. Both our Message-ID and the one SES puts on the mail are remembered, so the customer's reply threads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.models.channel import Channel
from shared.models.envelopes import OutboundRequest
from shared.ports import ChannelDirectory, Clock, InboundQueue, SendResult
from shared.services.email_mime import (
    MalformedEmail,
    attachments_bytes,
    build_email,
    make_message_id,
    parse_email,
    references_for_reply,
    reply_subject,
    ses_message_id_header,
    ses_verdicts,
)
from shared.services.queue_keys import queued_unit
from shared.services.send_policy import UnsupportedOnChannel
from shared.services.webhook_units import as_dict, nonempty_str

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
DEFAULT_SUBJECT = "Mensaje de {name}"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EmailThreadState:
    """What the next reply of a thread needs: the customer's last message and the thread's subject."""

    subject: str
    last_message_id: str
    references: tuple[str, ...] = ()
    reply_to: str | None = None


class EmailThreads(Protocol):
    def find(self, tenant_id: str, channel_id: str, message_ids: Sequence[str]) -> str | None:
        """The contact key of the thread that holds any of these Message-IDs (the first known wins)."""

    def remember(self, tenant_id: str, channel_id: str, message_ids: Sequence[str], contact_key: str) -> None: ...

    def get_state(self, tenant_id: str, channel_id: str, contact_key: str) -> EmailThreadState | None: ...

    def set_state(self, tenant_id: str, channel_id: str, contact_key: str, state: EmailThreadState) -> None: ...


class RawEmails(Protocol):
    def get(self, bucket: str, key: str) -> bytes: ...

    def put_attachment(self, tenant_id: str, key: str, data: bytes, content_type: str) -> None: ...


class EmailSender(Protocol):
    def send_raw(self, from_address: str, destinations: Sequence[str], raw: bytes) -> str:
        """Send one raw MIME message; SES's message id. Raises ProviderSendError."""


@dataclass
class EmailOutcome:
    kind: str  # enqueued | refused | ignored | no_channel | malformed
    reason: str | None = None
    units: int = 0
    channels: list[str] = field(default_factory=list)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def attachment_key(tenant_id: str, channel_id: str, message_id: str, index: int, filename: str | None) -> str:
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    name = _SAFE_NAME.sub("_", filename or f"attachment-{index}")[:100] or f"attachment-{index}"
    return f"media/{tenant_id}/{channel_id}/email/{digest}/{index}-{name}"


class EmailIngestService:
    def __init__(self, *, directory: ChannelDirectory, raw: RawEmails, threads: EmailThreads, queue: InboundQueue,
                 clock: Clock, max_text_chars: int = 20_000) -> None:
        self._directory = directory
        self._raw = raw
        self._threads = threads
        self._queue = queue
        self._clock = clock
        self._max_text_chars = max_text_chars

    def receive(self, notification: Mapping[str, Any]) -> EmailOutcome:
        """One SES receipt notification (notificationType Received, S3 action)."""
        receipt, mail = as_dict(notification.get("receipt")), as_dict(notification.get("mail"))
        action = as_dict(receipt.get("action"))
        bucket, key = nonempty_str(action.get("bucketName")), nonempty_str(action.get("objectKey"))
        if notification.get("notificationType") != "Received" or bucket is None or key is None:
            return EmailOutcome("malformed", reason="not an SES receipt notification with an S3 action")
        verdicts = ses_verdicts(receipt)
        refusal = verdicts.refusal()
        if refusal is not None:
            return EmailOutcome("refused", reason=refusal)
        recipients = [str(r).strip().lower() for r in receipt.get("recipients") or mail.get("destination") or []]
        channels = [c for c in (self._directory.channel_for_account("email", r) for r in dict.fromkeys(recipients))
                    if c is not None and c.kind == "email" and c.enabled]
        if not channels:
            return EmailOutcome("no_channel", reason=f"no email channel for {', '.join(recipients) or 'nobody'}")
        raw = self._raw.get(bucket, key)
        try:
            email = parse_email(raw, max_text_chars=self._max_text_chars)
        except MalformedEmail as exc:
            return EmailOutcome("malformed", reason=str(exc))
        if email.bounce or email.auto_submitted:
            return EmailOutcome("ignored", reason="bounce" if email.bounce else "automatic reply or bulk mail")
        spam = verdicts.spam
        now = self._clock.now()
        outcome = EmailOutcome("enqueued")
        # decoded once for every addressed channel (the parse above only measured them)
        contents = attachments_bytes(raw) if email.attachments else []
        for channel in channels:
            known = self._threads.find(channel.tenant_id, channel.channel_id,
                                       [*reversed(email.in_reply_to), *reversed(email.references)])
            contact_key = known or email.from_address
            attachments = []
            for attachment in email.attachments[:MAX_ATTACHMENTS]:
                if attachment.size > MAX_ATTACHMENT_BYTES:
                    attachments.append({"filename": attachment.filename, "content_type": attachment.content_type,
                                        "size": attachment.size, "error": "too large"})
                    continue
                filename, content_type, data = contents[attachment.index]
                s3_key = attachment_key(channel.tenant_id, channel.channel_id, email.message_id, attachment.index,
                                        filename)
                self._raw.put_attachment(channel.tenant_id, s3_key, data, content_type)
                attachments.append({"filename": filename, "content_type": content_type, "size": len(data),
                                    "s3_key": s3_key, "inline": attachment.inline})
            payload: dict[str, Any] = {
                "id": email.message_id, "from": contact_key, "from_address": email.from_address,
                "from_name": email.from_name, "subject": email.subject, "text": email.new_text or email.text,
                "sent_at_ms": _ms(email.date or now), "attachments": attachments, "spam": spam,
                "raw": {"bucket": bucket, "key": key},
            }
            # The reply goes to the thread; its state names what the next answer replies to.
            self._threads.remember(channel.tenant_id, channel.channel_id, [email.message_id], contact_key)
            self._threads.set_state(channel.tenant_id, channel.channel_id, contact_key, EmailThreadState(
                subject=email.subject, last_message_id=email.message_id, references=email.references,
                reply_to=email.reply_to))
            self._queue.enqueue([queued_unit(channel, kind="message", provider="email", payload=payload,
                                             contact_key=contact_key, dedup_key=email.message_id,
                                             received_at_ms=_ms(now))])
            outcome.units += 1
            outcome.channels.append(channel.channel_id)
        return outcome


def plain_text(content: Mapping[str, Any]) -> str:
    """An outbound message as an email body: buttons and list rows as numbered options (a reply with the number
    or the title is understood by the bot like a tap), media as its link."""
    kind = str(content.get("type") or "")
    if kind == "text":
        return str(content.get("body") or "")
    if kind in ("buttons", "list"):
        options = (list(content.get("buttons") or []) if kind == "buttons"
                   else [r for s in content.get("sections") or [] for r in as_dict(s).get("rows") or []])
        head = [str(p) for p in (content.get("header"), content.get("body")) if p]
        lines = [f"{i}. {as_dict(o).get('title')}" for i, o in enumerate(options, 1)]
        foot = [str(content["footer"])] if content.get("footer") else []
        return "\n\n".join(["\n".join(head), "\n".join(lines), *foot])
    if kind in ("image", "audio", "video", "document", "sticker"):
        link = nonempty_str(content.get("link"))
        if link is None:
            raise UnsupportedOnChannel("email sends media by URL (`link`); a provider media id has no URL here")
        return "\n\n".join(p for p in (nonempty_str(content.get("caption")), link) if p)
    raise UnsupportedOnChannel(f"email has no {kind or 'such'} message")


class EmailDelivery:
    """The sender's email path: compose the reply with the thread's headers, send it through SES, remember its
    Message-IDs for the customer's next reply."""

    def __init__(self, *, threads: EmailThreads, sender: EmailSender, region: str, clock: Clock) -> None:
        self._threads = threads
        self._sender = sender
        self._region = region
        self._clock = clock

    def send(self, channel: Channel, request: OutboundRequest) -> SendResult:
        address = channel.phone_number_id
        settings = channel.email
        body = plain_text(request.content.model_dump(mode="json", exclude_none=True))
        if settings is not None and settings.signature:
            body = f"{body}\n\n-- \n{settings.signature}"
        state = self._threads.get_state(channel.tenant_id, channel.channel_id, request.contact_key)
        domain = address.rsplit("@", 1)[-1]
        message_id = make_message_id(domain, request.message_id)
        display = settings.display_name if settings else None
        to = (state.reply_to if state and state.reply_to else None) or request.to
        if state is not None:
            subject = reply_subject(state.subject)
            references = references_for_reply(state.last_message_id, state.references)
            in_reply_to: str | None = state.last_message_id
        else:
            subject, references, in_reply_to = DEFAULT_SUBJECT.format(name=display or domain), (), None
        try:
            raw = build_email(from_address=address, from_name=display, to=[to], subject=subject, text=body,
                              message_id=message_id, in_reply_to=in_reply_to, references=references,
                              auto_submitted=request.origin.startswith(("bot", "auto_reply", "system")),
                              date=self._clock.now())
        except ValueError as exc:
            raise UnsupportedOnChannel(f"cannot build the email: {exc}") from exc
        ses_id = self._sender.send_raw(address, [to], raw)
        self._threads.remember(channel.tenant_id, channel.channel_id,
                               [message_id, ses_message_id_header(ses_id, self._region)], request.contact_key)
        return SendResult(provider_message_id=ses_id)


def notification_of(body: str) -> dict[str, Any]:
    """The SES notification inside an SQS message: SNS's envelope (`Message` is the JSON string), or the
    notification itself (raw message delivery)."""
    outer = json.loads(body)
    if isinstance(outer, dict) and outer.get("Type") == "Notification" and isinstance(outer.get("Message"), str):
        inner = json.loads(outer["Message"])
        return inner if isinstance(inner, dict) else {}
    return outer if isinstance(outer, dict) else {}
