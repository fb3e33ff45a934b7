"""Conversations: list and filter, read with messages, close and reopen; and sending to a contact."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from shared.errors import Conflict, InvalidInput, NotFound, TemplateRequired, WindowClosed
from shared.models.channel import Channel
from shared.models.contact_center import CloseNote
from shared.models.conversations import (
    Conversation,
    ConversationDetail,
    MessageView,
    SendAccepted,
    SendMessageInput,
)
from shared.models.crm import Contact
from shared.models.envelopes import OutboundRequest
from shared.ports import Clock, OutboundQueue, Page, Thread
from shared.services.queue_keys import dedup_id, thread_group_id
from shared.services.send_policy import Refusal, check_send


class ConversationStore(Protocol):
    def open(self, conversation: Conversation) -> None: ...

    def get(self, tenant_id: str, conversation_id: str) -> Conversation | None: ...

    def page(self, tenant_id: str, *, status: str | None, channel_id: str | None, contact_id: str | None,
             limit: int, cursor: str | None) -> Page: ...

    def messages(self, conversation: Conversation, *, limit: int = 200) -> list[MessageView]: ...


class Closer(Protocol):
    """Closes a conversation and releases whoever held it (the contact center's RoutingService)."""

    def close(self, tenant_id: str, conversation_id: str, *, actor: str, note: CloseNote | None = None
              ) -> Conversation: ...


class ThreadReader(Protocol):
    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None: ...


class ContactReader(Protocol):
    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None: ...

    def contact_threads(self, tenant_id: str, contact_id: str) -> list[Thread]: ...


class TenantChannels(Protocol):
    def list_for_tenant(self, tenant_id: str) -> list[Channel]: ...


class ConversationService:
    def __init__(self, *, store: ConversationStore, threads: ThreadReader, contacts: ContactReader,
                 channels: TenantChannels, closer: Closer,
                 outbound: OutboundQueue, clock: Clock,
                 service_window: timedelta = timedelta(hours=24)) -> None:
        self._store = store
        self._closer = closer
        self._threads = threads
        self._contacts = contacts
        self._channels = channels
        self._outbound = outbound
        self._clock = clock
        self._window = service_window

    def page(self, tenant_id: str, *, status: str | None = None, channel_id: str | None = None,
             contact_id: str | None = None, limit: int = 50, cursor: str | None = None) -> Page:
        return self._store.page(tenant_id, status=status, channel_id=channel_id, contact_id=contact_id, limit=limit,
                                cursor=cursor)

    def get(self, tenant_id: str, conversation_id: str) -> Conversation:
        conversation = self._store.get(tenant_id, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id}")
        return conversation

    def detail(self, tenant_id: str, conversation_id: str, *, limit: int = 200) -> ConversationDetail:
        conversation = self.get(tenant_id, conversation_id)
        thread = self._threads.get_thread(tenant_id, conversation.channel_id, conversation.contact_key)
        last = thread.last_inbound_at if thread else None
        now = self._clock.now()
        closes = last + self._window if last else None
        return ConversationDetail(conversation=conversation, messages=self._store.messages(conversation, limit=limit),
                                  window_open=bool(closes and closes > now), window_closes_at=closes)

    def close(self, tenant_id: str, conversation_id: str, *, actor: str, note: CloseNote | None = None
              ) -> Conversation:
        """Close it (freeing the thread, so the next inbound message opens a new one) and release its agent or
        queue place; ConversationClosed is published."""
        return self._closer.close(tenant_id, conversation_id, actor=actor, note=note)

    # -- sending -------------------------------------------------------------------------------------
    def _route(self, tenant_id: str, contact: Contact, channel_id: str | None
               ) -> tuple[Channel, str, str, Thread | None]:
        """(channel, contact_key, address, thread) for a send to this contact."""
        channels = {c.channel_id: c for c in self._channels.list_for_tenant(tenant_id)}
        if channel_id is not None and channel_id not in channels:
            raise NotFound(f"no channel {channel_id}")
        threads = sorted(self._contacts.contact_threads(tenant_id, contact.contact_id),
                         key=lambda t: t.last_inbound_at.timestamp() if t.last_inbound_at else 0, reverse=True)
        for thread in threads:
            if (channel_id is None or thread.channel_id == channel_id) and thread.channel_id in channels:
                return channels[thread.channel_id], thread.contact_key, thread.address, thread
        whatsapp = [c for c in channels.values() if c.kind == "whatsapp"]
        channel = channels[channel_id] if channel_id else (whatsapp[0] if len(whatsapp) == 1 else None)
        if channel is None:
            raise InvalidInput("the contact has no conversation yet: say which channel_id to use")
        if channel.kind == "sms":  # SMS threads are keyed on the E.164 number, as Twilio's From gives it
            if not contact.phones:
                raise InvalidInput("the contact has no phone to text")
            number = "+" + contact.phones[0].lstrip("+")
            return channel, number, number, self._threads.get_thread(tenant_id, channel.channel_id, number)
        if channel.kind != "whatsapp":
            raise InvalidInput(f"the contact has no conversation on {channel.kind} channel {channel.channel_id} yet: "
                               "on this channel the customer writes first")
        wa_ids = contact.identity_values("whatsapp") or [p.lstrip("+") for p in contact.phones]
        if not wa_ids:
            raise InvalidInput("the contact has no WhatsApp number or phone to write to")
        existing = self._threads.get_thread(tenant_id, channel.channel_id, wa_ids[0])
        return channel, wa_ids[0], wa_ids[0], existing

    def send(self, tenant_id: str, data: SendMessageInput, *, actor: str, request_id: str) -> SendAccepted:
        contact = self._contacts.get_contact(tenant_id, data.contact_id)
        if contact is None:
            raise NotFound(f"no contact {data.contact_id}")
        if contact.merged_into:
            raise Conflict(f"contact {data.contact_id} was merged into {contact.merged_into}")
        channel, contact_key, address, thread = self._route(tenant_id, contact, data.channel_id)
        refusal = check_send(data.content, last_inbound_at=thread.last_inbound_at if thread else None,
                             now=self._clock.now(), window=self._window, channel_enabled=channel.enabled,
                             kind=channel.kind, human_agent=data.human_agent)
        if refusal is Refusal.TEMPLATE_REQUIRED:
            raise TemplateRequired("outside the 24-hour customer-service window only a template can be sent")
        if refusal is Refusal.WINDOW_CLOSED:
            raise WindowClosed("more than 24 hours since the customer's last message: only a person may reply "
                               "(set human_agent, up to 7 days)")
        if refusal is Refusal.NOT_ON_CHANNEL:
            raise InvalidInput(f"templates are WhatsApp-only; channel {channel.channel_id} is {channel.kind}")
        if refusal is Refusal.CHANNEL_DISABLED:
            raise Conflict("the channel is disabled")
        request = OutboundRequest(
            request_id=f"api:{tenant_id}:{data.client_reference}" if data.client_reference else request_id,
            tenant_id=tenant_id, channel_id=channel.channel_id, contact_key=contact_key, to=address,
            content=data.content, reply_to=data.reply_to, origin=actor, human_agent=data.human_agent)
        self._outbound.enqueue(request, group_id=thread_group_id(tenant_id, channel.channel_id, contact_key),
                               dedup_id=dedup_id(channel.channel_id, request.request_id))
        return SendAccepted(message_id=request.message_id, channel_id=channel.channel_id, contact_id=contact.contact_id,
                            to=address)
