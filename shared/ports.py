"""Ports: what the services need from the outside world. Adapters in shared/adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.models.channel import Channel, ChannelSecrets
from shared.models.crm import Activity, Contact, CustomFieldDef, Identity, MergeRecord
from shared.models.envelopes import InboundUnit, OutboundRequest
from shared.models.events import TenantEvent
from shared.models.messages import InboundMessage, StatusUpdate


class Clock(Protocol):
    def now(self) -> datetime: ...


class ChannelDirectory(Protocol):
    def get_channel(self, channel_id: str) -> Channel | None: ...

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None:
        """Messenger/Instagram: the channel of a Page or Instagram account id."""

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets: ...


@dataclass(frozen=True)
class QueuedUnit:
    unit: InboundUnit
    group_id: str
    dedup_id: str


class InboundQueue(Protocol):
    def enqueue(self, units: list[QueuedUnit]) -> None:
        """Durably enqueue every unit or raise EnqueueFailed."""


class OutboundQueue(Protocol):
    def enqueue(self, request: OutboundRequest, *, group_id: str, dedup_id: str) -> None: ...


class Quarantine(Protocol):
    def put(self, *, tenant_id: str, channel_id: str, reasons: list[str], raw_body: bytes, received_at: datetime
            ) -> str:
        """Store a webhook (or the parts of it) we could not accept, with the reasons, visibly; returns its id."""


@dataclass(frozen=True)
class Thread:
    """One contact on one channel: identity, current conversation and the customer-service window."""

    tenant_id: str
    channel_id: str
    contact_key: str
    address: str  # what replies are addressed to (wa_id when known, else the BSUID)
    conversation_id: str | None = None
    conversation_opened_at: datetime | None = None
    last_inbound_at: datetime | None = None
    name: str | None = None
    phone: str | None = None
    contact_id: str | None = None
    last_inbound_id: str | None = None  # the provider id of the newest inbound message (by Meta's timestamp)
    last_inbound_type: str | None = None


@dataclass(frozen=True)
class ThreadTouch:
    thread: Thread
    conversation_opened: bool
    window_advanced: bool


class OutboundClaim(StrEnum):
    NEW = "new"  # first time we see this request: send it
    IN_FLIGHT = "in_flight"  # a previous attempt did not record an outcome: send again (at-least-once)
    DONE = "done"  # already sent, failed or refused: do nothing


@dataclass(frozen=True)
class StatusApplied:
    message_id: str
    contact_key: str | None
    previous_status: str | None
    advanced: bool  # False when the stored status was already at or past this one
    provider_message_id: str | None = None


class MessageStore(Protocol):
    def put_inbound(self, tenant_id: str, channel_id: str, message: InboundMessage, *, received_at: datetime
                    ) -> bool:
        """Store an inbound message once; False when this provider id was already stored."""

    def touch_thread(self, tenant_id: str, channel_id: str, message: InboundMessage, *, new_conversation_id: str
                     ) -> ThreadTouch:
        """Record an inbound message on its thread: identity, window (never moved back), conversation."""

    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None: ...

    def claim_outbound(self, request: OutboundRequest, *, now: datetime) -> OutboundClaim: ...

    def record_sent(self, request: OutboundRequest, *, provider_message_id: str, now: datetime) -> None: ...

    def record_failed(self, request: OutboundRequest, *, status: str, code: int | None, title: str | None,
                      details: str | None, now: datetime) -> None: ...

    def apply_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> StatusApplied | None:
        """Move an outbound message's status forward only; None when no such message is known."""

    def record_orphan_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> None:
        """Keep a status for a message we never sent (another app on the same number), visibly."""

    def apply_read_watermark(self, tenant_id: str, channel_id: str, contact_key: str, watermark: datetime,
                             update: StatusUpdate) -> list[StatusApplied]:
        """Messenger's read receipt: move to read every recent outbound message of the thread sent before the
        watermark (forward only)."""

    def record_media(self, tenant_id: str, channel_id: str, provider_message_id: str, *, state: str,
                     s3_key: str | None = None, size: int | None = None, error: str | None = None,
                     attempts: int | None = None) -> None: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[TenantEvent]) -> None: ...


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None  # None for mark-as-read
    message_status: str | None = None


class ProviderErrorKind(StrEnum):
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


class ProviderSendError(Exception):
    """The provider refused or could not be reached (http_status None: timeout or connection error).

    Whether to retry is the service's decision (shared.services.whatsapp_errors.classify).
    """

    def __init__(self, *, http_status: int | None, code: int | None, title: str | None, details: str | None,
                 retry_after_s: int | None = None, ambiguous: bool = False) -> None:
        super().__init__(f"http={http_status} code={code} {title or ''}".strip())
        self.ambiguous = ambiguous  # the request was sent and no answer came: the provider may have accepted it
        self.http_status = http_status
        self.code = code
        self.title = title
        self.details = details
        self.retry_after_s = retry_after_s


class TelegramClient(Protocol):
    def send(self, token: str, method: str, params: dict[str, Any]) -> SendResult:
        """One Bot API sending method (sendMessage, sendPhoto, ...); raises ProviderSendError."""


class SmsClient(Protocol):
    def send(self, account_sid: str, auth_token: str, form: dict[str, str | list[str]]) -> SendResult:
        """Twilio's Messages.json (form-encoded, Basic auth); raises ProviderSendError."""


class PageMessagingClient(Protocol):
    def send_page(self, access_token: str, body: dict[str, Any]) -> SendResult:
        """Messenger/Instagram Send API (POST /me/messages with the Page token); raises ProviderSendError."""


class WhatsAppClient(Protocol):
    def send(self, phone_number_id: str, access_token: str, payload: dict[str, Any]) -> SendResult:
        """POST /{phone_number_id}/messages; raises ProviderSendError."""

    def media_info(self, media_id: str, access_token: str) -> dict[str, Any]: ...

    def download(self, url: str, access_token: str, *, max_bytes: int) -> bytes: ...


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str] | None = None) -> None: ...


# --- CRM -------------------------------------------------------------------------------------------------

class IdentityTaken(Exception):
    """A unique channel identity already belongs to another contact."""

    def __init__(self, kind: str, value: str, owner: str | None) -> None:
        super().__init__(f"{kind} identity already belongs to another contact")
        self.kind, self.value, self.owner = kind, value, owner


class ContactCapReached(Exception):
    """The tenant's plan admits no more contacts."""


class StaleContact(Exception):
    """The contact changed since it was read (optimistic concurrency)."""


@dataclass(frozen=True)
class Page:
    items: list[Any]
    cursor: str | None


class ContactStore(Protocol):
    def create_contact(self, contact: Contact, *, cap: int | None) -> None:
        """Store a new contact with its identities; counted against `cap` (None: flagged, not counted)."""

    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None: ...

    def save_contact(self, contact: Contact, *, expected_version: int, added: Sequence[Identity] = (),
                     removed: Sequence[Identity] = ()) -> None: ...

    def find_identity(self, tenant_id: str, kind: str, value: str) -> str | None: ...

    def find_soft(self, tenant_id: str, kind: str, value: str) -> list[str]: ...

    def list_contacts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page: ...

    def cursor_after(self, contact: Contact) -> str:
        """A listing cursor that resumes right after this contact."""

    def soft_index(self, tenant_id: str) -> list[tuple[str, str, str]]:
        """Every (kind, value, contact_id) row of the phone/email index, sorted by kind and value."""

    def delete_contact(self, contact: Contact) -> None: ...

    def add_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None: ...

    def activities(self, tenant_id: str, contact_id: str, *, limit: int, cursor: str | None) -> Page: ...

    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]: ...

    def put_field_def(self, tenant_id: str, definition: CustomFieldDef) -> None: ...

    def delete_field_def(self, tenant_id: str, key: str) -> bool: ...

    def merge_contacts(self, record: MergeRecord, survivor: Contact, merged: Contact, *,
                       moved: Sequence[Identity]) -> None: ...

    def split_contacts(self, record: MergeRecord, survivor: Contact, restored: Contact, *,
                       moved: Sequence[Identity], undone_at: datetime) -> None: ...

    def get_merge(self, tenant_id: str, merge_id: str) -> MergeRecord | None: ...

    def contact_threads(self, tenant_id: str, contact_id: str) -> list[Thread]: ...

    def assign_thread(self, thread: Thread, contact_id: str) -> None: ...

    def relink_conversations(self, thread: Thread, contact_id: str) -> int:
        """Point the thread's existing conversations at this contact (a merge or split moved the thread)."""


# -- bots ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BotVersion:
    tenant_id: str
    bot_id: str
    version: int
    source: str  # the definition text as uploaded (YAML or JSON)
    format: str  # yaml | json
    checksum: str
    created_at: datetime
    created_by: str | None = None


@dataclass(frozen=True)
class BotRecord:
    tenant_id: str
    bot_id: str
    name: str
    latest_version: int
    active_version: int | None
    channels: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class PendingInbox:
    """What add_pending saw: whether this message was new, and when the burst started and last grew."""

    added: bool
    consumed: bool  # the message was already handled by an earlier turn
    first_at_ms: int
    last_at_ms: int
    paused: bool


@dataclass(frozen=True)
class SessionSnapshot:
    """The stored session of one conversation, as read under a lease."""

    state: dict[str, Any] | None  # SessionState.to_dict(), None before the first turn
    pending: dict[str, dict[str, Any]]  # message id -> the pending input
    rev: int
    paused: str | None  # why the bot is silent (agent, api, handoff), None when it may talk
    lease_token: str
    seen: frozenset[str] = frozenset()  # ids of the messages earlier turns answered


class BotRegistry(Protocol):
    def put_version(self, version: BotVersion, *, name: str, channels: Sequence[str]) -> None: ...

    def get_version(self, tenant_id: str, bot_id: str, version: int) -> BotVersion | None: ...

    def get_bot(self, tenant_id: str, bot_id: str) -> BotRecord | None: ...

    def list_bots(self, tenant_id: str) -> list[BotRecord]: ...

    def list_versions(self, tenant_id: str, bot_id: str) -> list[BotVersion]: ...

    def activate(self, tenant_id: str, bot_id: str, version: int, channels: Sequence[str]) -> None:
        """Point the bot at a version and bind its channels; raises ChannelTaken when another bot has one."""

    def deactivate(self, tenant_id: str, bot_id: str) -> None: ...

    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None:
        """(bot id, active version) answering this channel: its own binding, else the tenant's '*' bot."""


class VersionTaken(Exception):
    """Another upload stored the same version number first."""


class ChannelTaken(Exception):
    def __init__(self, channel_id: str, bot_id: str) -> None:
        super().__init__(f"channel {channel_id} is already answered by bot {bot_id}")
        self.channel_id, self.bot_id = channel_id, bot_id


class BotSessionStore(Protocol):
    def add_pending(self, tenant_id: str, conversation_id: str, message_id: str, item: dict[str, Any], *,
                    now_ms: int) -> PendingInbox: ...

    def acquire(self, tenant_id: str, conversation_id: str, *, now_ms: int, lease_ms: int) -> SessionSnapshot | None:
        """Take the conversation's lease; None when another turn holds it."""

    def commit(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot, *,
               state: dict[str, Any] | None, consumed: Sequence[str], paused: str | None,
               expires_at: int | None) -> None:
        """Store the new state, drop the consumed pending inputs, release the lease."""

    def release(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot) -> None: ...

    def get(self, tenant_id: str, conversation_id: str) -> SessionSnapshot | None: ...

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None: ...

    def record_session(self, tenant_id: str, record: dict[str, Any]) -> None:
        """A finished session (or one turn's usage), kept for reports and billing."""
