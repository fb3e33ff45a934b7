"""Joins the inbound pipeline to the CRM: the sender's contact, the thread link and the conversation record."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.models.conversations import Conversation
from shared.models.messages import Identity
from shared.ports import Thread
from shared.services.contacts import ContactService


class _Links(Protocol):
    def assign_thread(self, thread: Thread, contact_id: str) -> None: ...

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None: ...


class _Opener(Protocol):
    def open(self, conversation: Conversation) -> None: ...


class InboundCrm:
    """Satisfies services.inbound.ContactLinker."""

    def __init__(self, *, contacts: ContactService, links: _Links, conversations: _Opener) -> None:
        self._contacts = contacts
        self._links = links
        self._conversations = conversations

    def resolve_sender(self, tenant_id: str, channel_id: str, sender: Identity) -> tuple[str, bool]:
        return self._contacts.resolve_sender(tenant_id, channel_id, sender)

    def assign_thread(self, thread: Thread, contact_id: str) -> None:
        self._links.assign_thread(thread, contact_id)

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None:
        self._links.touch_inbound(tenant_id, contact_id, at)

    def open_conversation(self, conversation: Conversation) -> None:
        self._conversations.open(conversation)
