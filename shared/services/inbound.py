"""Inbound processing: normalize, store once, track the thread and window, publish domain events."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.errors import NotYetKnown
from shared.models.comments import Comment
from shared.models.conversations import Conversation
from shared.models.envelopes import InboundUnit
from shared.models.events import CommentReceived, ConversationOpened, DomainEvent, MessageReceived, MessageStatusChanged
from shared.models.messages import MEDIA_TYPES, Identity, InboundMessage, StatusUpdate
from shared.ports import Clock, EventPublisher, MessageStore, StatusApplied, Thread, ThreadTouch
from shared.services.email_parser import parse_email_unit
from shared.services.messenger_parser import parse_comment, parse_messaging, parse_page_status
from shared.services.send_policy import WINDOWED_KINDS, window_open
from shared.services.sms_parser import parse_sms, parse_sms_status
from shared.services.telegram_parser import parse_update
from shared.services.webchat_parser import parse_webchat, parse_webchat_status
from shared.services.whatsapp_parser import parse_message, parse_status

# A status for a message we do not (yet) know is retried this many times before it is kept as an orphan:
# the sender records the outbound message right after Meta accepts it, so a very early status can race it.
UNKNOWN_STATUS_ATTEMPTS = 3


@dataclass(frozen=True)
class InboundOutcome:
    kind: str  # stored | duplicate | status_applied | status_stale | status_orphaned | account_*
    conversation_opened: bool = False
    severity: str | None = None  # account updates: info | warning | critical


def new_conversation_id(clock: Clock) -> str:
    return f"cv_{int(clock.now().timestamp() * 1000):013x}{secrets.token_hex(6)}"


def _reply_id(message: InboundMessage) -> str | None:
    """What a tapped reply button or list row (or a template quick-reply button) carries back."""
    if message.interactive is not None and message.interactive.id:
        return message.interactive.id
    if message.button is not None and message.button.payload:
        return message.button.payload
    return None


def _iso(message: InboundMessage) -> str:
    return message.sent_at.isoformat().replace("+00:00", "Z")


class ContactLinker(Protocol):
    """The CRM side of an inbound message: which contact sent it, and the conversation record."""

    def resolve_sender(self, tenant_id: str, channel_id: str, sender: Identity) -> tuple[str, bool]: ...

    def assign_thread(self, thread: Thread, contact_id: str) -> None: ...

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None: ...

    def open_conversation(self, conversation: Conversation) -> None: ...


class BroadcastHooks(Protocol):
    """Broadcast bookkeeping on the inbound path (shared.services.broadcasts.BroadcastService)."""

    def on_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> bool: ...

    def on_inbound(self, tenant_id: str, channel_id: str, contact_key: str, contact_id: str | None,
                   text: str | None, reply_payload: str | None) -> Any: ...


class CommentSink(Protocol):
    def put_comment(self, comment: Comment) -> bool:
        """Store a comment once; False when it was already stored."""


class AccountHealth(Protocol):
    def on_account_update(self, tenant_id: str, channel_id: str, field: str, value: Mapping[str, Any],
                          at: datetime) -> Any: ...


class InboundService:
    def __init__(self, *, store: MessageStore, events: EventPublisher, clock: Clock,
                 service_window: timedelta = timedelta(hours=24), crm: ContactLinker | None = None,
                 broadcasts: BroadcastHooks | None = None, health: AccountHealth | None = None,
                 comments: CommentSink | None = None) -> None:
        self._comments = comments
        self._store = store
        self._events = events
        self._clock = clock
        self._window = service_window
        self._crm = crm
        self._broadcasts = broadcasts
        self._health = health

    def process(self, unit: InboundUnit, *, attempt: int = 1) -> InboundOutcome:
        if unit.kind == "status":
            return self._status(unit, attempt)
        if unit.kind == "comment":
            return self._comment(unit, attempt)
        if unit.kind == "account":
            return self._account(unit)
        return self._message(unit, attempt)

    def _comment(self, unit: InboundUnit, attempt: int = 1) -> InboundOutcome:
        if self._comments is None or unit.provider not in ("messenger", "instagram"):
            return InboundOutcome("comment_ignored")
        comment = parse_comment(unit.payload, tenant_id=unit.tenant_id, channel_id=unit.channel_id,
                                provider=unit.provider,
                                received_at=datetime.fromtimestamp(unit.received_at_ms / 1000, UTC))
        stored = self._comments.put_comment(comment)
        if not stored and attempt <= 1:
            return InboundOutcome("comment_duplicate")  # a redelivery; on our own retry the event goes out again
        self._events.publish([CommentReceived(
            tenant_id=unit.tenant_id, channel_id=unit.channel_id, comment_id=comment.comment_id,
            post_id=comment.post_id, author_id=comment.author_id, author_name=comment.author_name,
            text=comment.text, created_at=comment.created_at.isoformat().replace("+00:00", "Z"))])
        return InboundOutcome("comment_stored")

    def _account(self, unit: InboundUnit) -> InboundOutcome:
        if self._health is None:
            return InboundOutcome("account_ignored")
        value = unit.payload.get("value")
        applied = self._health.on_account_update(unit.tenant_id, unit.channel_id, str(unit.payload.get("field")),
                                                 value if isinstance(value, dict) else {},
                                                 datetime.fromtimestamp(unit.received_at_ms / 1000, tz=UTC))
        if applied is None:
            return InboundOutcome("account_duplicate")
        return InboundOutcome("account_applied", severity=getattr(applied, "severity", None))

    def _message(self, unit: InboundUnit, attempt: int) -> InboundOutcome:
        received_at = datetime.fromtimestamp(unit.received_at_ms / 1000, UTC)
        if unit.provider == "telegram":
            message = parse_update(unit.payload, received_at=received_at)
        elif unit.provider in ("messenger", "instagram"):
            message = parse_messaging(unit.payload, provider=unit.provider, received_at=received_at)
        elif unit.provider == "sms":
            message = parse_sms(unit.payload, received_at=received_at)
        elif unit.provider == "webchat":
            message = parse_webchat(unit.payload, received_at=received_at)
        elif unit.provider == "email":
            message = parse_email_unit(unit.payload, received_at=received_at)
        else:
            message = parse_message(unit.payload, unit.contacts, unit.value_errors)
        stored = self._store.put_inbound(unit.tenant_id, unit.channel_id, message, received_at=self._clock.now())
        if not stored and attempt <= 1:
            # A provider redelivery of a message whose first delivery completed (FIFO order per thread
            # guarantees the earlier unit finished before this one). On our own retry (attempt > 1) the
            # earlier attempt may have died after the put, so the rest runs again; consumers are idempotent.
            return InboundOutcome("duplicate")
        touch = self._store.touch_thread(unit.tenant_id, unit.channel_id, message,
                                         new_conversation_id=new_conversation_id(self._clock))
        thread = touch.thread
        conversation_id = thread.conversation_id or ""
        contact_id = self._link_contact(unit.tenant_id, unit.channel_id, message, thread, touch)
        events: list[DomainEvent] = []
        if touch.conversation_opened:
            if self._crm is not None:
                self._crm.open_conversation(Conversation(
                    conversation_id=conversation_id, tenant_id=unit.tenant_id, channel_id=unit.channel_id,
                    contact_key=thread.contact_key, contact_id=contact_id, opened_at=message.sent_at,
                    opened_by_message_id=message.provider_message_id))
            events.append(ConversationOpened(
                tenant_id=unit.tenant_id, channel_id=unit.channel_id, conversation_id=conversation_id,
                contact_key=thread.contact_key, contact_id=contact_id,
                opened_by_message_id=message.provider_message_id, opened_at=_iso(message)))
        media = message.media
        attribution = self._broadcasts.on_inbound(
            unit.tenant_id, unit.channel_id, thread.contact_key, contact_id, message.text,
            message.button.payload if message.button else None) if self._broadcasts else None
        events.append(MessageReceived(
            tenant_id=unit.tenant_id, channel_id=unit.channel_id, message_id=message.provider_message_id,
            contact_id=contact_id, contact_key=thread.contact_key, reply_to_address=thread.address,
            conversation_id=conversation_id,
            message_type=message.type.value, text=message.text, sent_at=_iso(message),
            # the media fetcher copies it to S3: by Graph media id, Telegram file id or the URL the webhook carried
            has_media=(message.type in MEDIA_TYPES and media is not None
                       and (media.url if unit.provider in ("messenger", "instagram", "sms") else media.id)
                       is not None),
            media=media.model_dump(exclude_none=True) if media else None,
            within_window=unit.provider not in WINDOWED_KINDS or window_open(thread.last_inbound_at,
                                                                              self._clock.now(), self._window),
            reply_id=_reply_id(message),
            broadcast_id=attribution.broadcast_id if attribution else None,
            start_flow=attribution.start_flow if attribution else None,
        ))
        self._events.publish(events)
        return InboundOutcome("stored" if stored else "duplicate", conversation_opened=touch.conversation_opened)

    def _link_contact(self, tenant_id: str, channel_id: str, message: InboundMessage, thread: Thread,
                      touch: ThreadTouch) -> str | None:
        """The thread's CRM contact: resolved (or created) once per thread, then read from the thread."""
        if self._crm is None:
            return thread.contact_id
        contact_id = thread.contact_id
        if contact_id is None:
            contact_id, _ = self._crm.resolve_sender(tenant_id, channel_id, message.sender)
            self._crm.assign_thread(thread, contact_id)
        if touch.window_advanced:
            self._crm.touch_inbound(tenant_id, contact_id, message.sent_at)
        return contact_id

    def _status(self, unit: InboundUnit, attempt: int) -> InboundOutcome:
        if unit.provider in ("messenger", "instagram"):
            update = parse_page_status(unit.payload, provider=unit.provider,
                                       received_at=datetime.fromtimestamp(unit.received_at_ms / 1000, UTC))
            if update.watermark is not None:
                return self._watermark(unit, update)
        elif unit.provider == "sms":
            update = parse_sms_status(unit.payload,
                                      received_at=datetime.fromtimestamp(unit.received_at_ms / 1000, UTC))
        elif unit.provider == "webchat":
            update = parse_webchat_status(unit.payload,
                                          received_at=datetime.fromtimestamp(unit.received_at_ms / 1000, UTC))
        else:
            update = parse_status(unit.payload)
        broadcast = self._broadcasts.on_status(unit.tenant_id, unit.channel_id, update) if (
            self._broadcasts and update.callback_data and update.callback_data.startswith("bc:")) else False
        applied = self._store.apply_status(unit.tenant_id, unit.channel_id, update)
        if applied is None and broadcast:
            return InboundOutcome("status_applied")  # the recipient moved; its history item was never written
        if applied is None:
            if attempt < UNKNOWN_STATUS_ATTEMPTS:
                raise NotYetKnown(f"no outbound message for {update.provider_message_id} yet", delay_s=5 * attempt)
            self._store.record_orphan_status(unit.tenant_id, unit.channel_id, update)
            return InboundOutcome("status_orphaned")
        if not applied.advanced:
            return InboundOutcome("status_stale")
        self._publish_status(unit, update, applied)
        return InboundOutcome("status_applied")

    def _watermark(self, unit: InboundUnit, update: StatusUpdate) -> InboundOutcome:
        """Messenger's read receipt: every message sent to this customer before the watermark was read."""
        assert update.watermark is not None
        applied = self._store.apply_read_watermark(unit.tenant_id, unit.channel_id, update.recipient.key,
                                                   update.watermark, update)
        for one in applied:
            if one.advanced:
                self._publish_status(unit, update.model_copy(update={"provider_message_id": one.provider_message_id
                                                                     or update.provider_message_id}), one)
        return InboundOutcome("status_applied" if any(a.advanced for a in applied) else "status_stale")

    def _publish_status(self, unit: InboundUnit, update: StatusUpdate, applied: StatusApplied) -> None:
        self._events.publish([MessageStatusChanged.of(unit.tenant_id, unit.channel_id, update, applied)])
