"""InboundService with the CRM linked in (InboundCrm over ContactService and in-memory stores): the sender's
contact is resolved once per thread, the thread is linked, conversations are recorded as they open, and the
published events carry the contact."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.models.conversations import Conversation
from shared.models.crm import ContactInput
from shared.models.envelopes import InboundUnit
from shared.models.events import ContactCreated, ConversationOpened, MessageReceived
from shared.models.messages import Identity as Sender
from shared.ports import Thread
from shared.services.contacts import ContactService
from shared.services.crm_link import InboundCrm
from shared.services.inbound import InboundService
from tests.unit.conftest import read_event
from tests.unit.fakes_crm import (
    FakeClock,
    FakeTenants,
    InMemoryContactStore,
    InMemoryMessageStore,
    RecordingConversations,
    RecordingPublisher,
    ThreadBook,
)

T = "acme"
CH = "acme-wa-1"
WA_ID = "5491155550101"
SENT = datetime.fromtimestamp(1772560800, tz=UTC)  # text.json's timestamp


class RecordingLinker:
    """A ContactLinker that records every call and delegates to the real InboundCrm."""

    def __init__(self, inner: InboundCrm) -> None:
        self.inner = inner
        self.resolved: list[Sender] = []
        self.assigned: list[tuple[str, str]] = []
        self.touched: list[tuple[str, datetime]] = []
        self.opened: list[str] = []

    def resolve_sender(self, tenant_id: str, channel_id: str, sender: Sender) -> tuple[str, bool]:
        self.resolved.append(sender)
        return self.inner.resolve_sender(tenant_id, channel_id, sender)

    def assign_thread(self, thread: Thread, contact_id: str) -> None:
        self.assigned.append((thread.contact_key, contact_id))
        self.inner.assign_thread(thread, contact_id)

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None:
        self.touched.append((contact_id, at))
        self.inner.touch_inbound(tenant_id, contact_id, at)

    def open_conversation(self, conversation: Conversation) -> None:
        self.opened.append(conversation.conversation_id)
        self.inner.open_conversation(conversation)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(SENT + timedelta(seconds=2), step=timedelta(seconds=1))
        threads = ThreadBook()
        self.messages = InMemoryMessageStore(threads)
        self.crm_store = InMemoryContactStore(threads)
        tenants = FakeTenants()
        tenants.add(T)
        self.events = RecordingPublisher()
        self.contacts = ContactService(store=self.crm_store, tenants=tenants, events=self.events, clock=self.clock)
        self.conversations = RecordingConversations()
        self.linker = RecordingLinker(InboundCrm(contacts=self.contacts, links=self.crm_store,
                                                 conversations=self.conversations))
        self.svc = InboundService(store=self.messages, events=self.events, clock=self.clock, crm=self.linker)

    def thread(self, key: str = WA_ID) -> Thread:
        thread = self.messages.get_thread(T, CH, key)
        assert thread is not None
        return thread


@pytest.fixture
def w() -> World:
    return World()


def unit(event: str = "whatsapp/text.json", *, n: int = 0, later_s: int = 0) -> InboundUnit:
    """The event's first message; `n` gives it another message id, `later_s` a later timestamp."""
    value = read_event(event)["entry"][0]["changes"][0]["value"]
    payload: dict[str, Any] = copy.deepcopy(value["messages"][0])
    if n:
        payload["id"] = f"{payload['id']}.{n}"
    payload["timestamp"] = str(int(payload["timestamp"]) + later_s)
    return InboundUnit(tenant_id=T, channel_id=CH, kind="message", phone_number_id="100000000000001",
                       payload=payload, contacts=value.get("contacts", []), received_at_ms=1772560800000)


# --- resolving and linking -------------------------------------------------------------------------------

def test_the_first_message_of_a_thread_resolves_its_contact_once_and_links_the_thread(w: World) -> None:
    w.svc.process(unit())

    assert [s.wa_id for s in w.linker.resolved] == [WA_ID]
    contact_id = w.thread().contact_id
    assert contact_id is not None
    assert w.linker.assigned == [(WA_ID, contact_id)]
    contact = w.contacts.get(T, contact_id)
    assert contact.name == "María González"
    assert contact.identity_values("whatsapp") == [WA_ID]
    assert contact.phones == ["+" + WA_ID]
    assert [e.contact_id for e in w.events.of_type(ContactCreated)] == [contact_id]


def test_later_messages_on_the_thread_do_not_resolve_again(w: World) -> None:
    w.svc.process(unit())
    contact_id = w.thread().contact_id

    for n in range(1, 4):
        w.svc.process(unit(n=n, later_s=60 * n))

    assert len(w.linker.resolved) == 1
    assert len(w.linker.assigned) == 1
    assert w.thread().contact_id == contact_id
    assert len(w.crm_store.contacts) == 1


def test_a_thread_already_linked_to_a_contact_is_not_resolved(w: World) -> None:
    existing = w.contacts.create(T, ContactInput(name="Known"), actor="api").contact_id
    w.crm_store.add_thread(T, CH, WA_ID, contact_id=existing)

    w.svc.process(unit())

    assert w.linker.resolved == []
    assert w.linker.assigned == []
    assert [e.contact_id for e in w.events.of_type(ConversationOpened)] == [existing]


def test_the_first_message_links_to_an_imported_contact_with_the_same_phone(w: World) -> None:
    imported = w.contacts.create(T, ContactInput(name="Imported", phone="011 15 5555-0101", default_country="AR"),
                                 actor="import").contact_id

    w.svc.process(unit())

    assert w.thread().contact_id == imported
    assert w.crm_store.find_identity(T, "whatsapp", WA_ID) == imported
    assert len(w.crm_store.contacts) == 1


def test_a_username_sender_is_linked_by_its_bsuid(w: World) -> None:
    w.svc.process(unit("whatsapp/username_bsuid_text.json"))

    contact_id = w.thread("AR.8472910365628401937").contact_id
    assert contact_id is not None
    assert w.crm_store.find_identity(T, "whatsapp_bsuid", "AR.8472910365628401937") == contact_id
    assert w.contacts.get(T, contact_id).phones == []


def test_a_redelivered_message_is_not_resolved_or_published_again(w: World) -> None:
    w.svc.process(unit())
    w.events.clear()

    outcome = w.svc.process(unit())

    assert outcome.kind == "duplicate"
    assert len(w.linker.resolved) == 1
    assert w.events.events == []
    assert len(w.conversations.opened) == 1


def test_the_contacts_last_inbound_time_moves_forward_only(w: World) -> None:
    w.svc.process(unit(n=1, later_s=120))
    contact_id = w.thread().contact_id
    assert contact_id is not None
    newest = w.contacts.get(T, contact_id).last_inbound_at

    w.svc.process(unit(n=2, later_s=0))  # an older message arriving late

    assert newest is not None
    assert w.contacts.get(T, contact_id).last_inbound_at == newest
    assert [at for _, at in w.linker.touched] == [newest]


# --- conversations ---------------------------------------------------------------------------------------

def test_the_conversation_record_is_opened_exactly_when_the_thread_opens_a_conversation(w: World) -> None:
    first = w.svc.process(unit())
    second = w.svc.process(unit(n=1, later_s=60))
    w.messages.close_conversation(T, CH, WA_ID)
    third = w.svc.process(unit(n=2, later_s=120))
    fourth = w.svc.process(unit(n=3, later_s=180))

    assert [o.conversation_opened for o in (first, second, third, fourth)] == [True, False, True, False]
    opened = w.conversations.opened
    assert len(opened) == 2
    assert opened[1].conversation_id == w.thread().conversation_id
    assert opened[0].conversation_id != opened[1].conversation_id
    contact_id = w.thread().contact_id
    assert [(c.contact_id, c.contact_key, c.channel_id, c.tenant_id) for c in opened] == [
        (contact_id, WA_ID, CH, T)] * 2
    assert opened[0].opened_by_message_id == unit().payload["id"]
    assert len(w.linker.resolved) == 1


def test_conversation_opened_carries_the_contact(w: World) -> None:
    w.svc.process(unit())

    contact_id = w.thread().contact_id
    opened = w.events.of_type(ConversationOpened)
    assert [(e.contact_id, e.conversation_id) for e in opened] == [(contact_id, w.thread().conversation_id)]


def test_message_received_carries_the_contact(w: World) -> None:
    w.svc.process(unit())
    w.svc.process(unit(n=1, later_s=60))

    contact_id = w.thread().contact_id
    assert contact_id is not None
    assert [e.contact_id for e in w.events.of_type(MessageReceived)] == [contact_id, contact_id]


def test_conversation_opened_is_published_before_the_message(w: World) -> None:
    w.svc.process(unit())

    assert [type(e) for e in w.events.batches[-1]] == [ConversationOpened, MessageReceived]


def test_without_a_crm_the_inbound_path_still_publishes(w: World) -> None:
    svc = InboundService(store=w.messages, events=w.events, clock=w.clock)

    outcome = svc.process(unit())

    assert outcome.conversation_opened is True
    assert [e.contact_id for e in w.events.of_type(ConversationOpened)] == [None]
    assert w.crm_store.contacts == {}
