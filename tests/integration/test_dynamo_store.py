"""The DynamoDB adapter's conditional-write paths against moto server (what the old item looks like when a
condition fails is where the boto3 resource layer differs from normal results)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore
from shared.models.envelopes import OutboundRequest, TextContent
from shared.ports import OutboundClaim
from shared.services.whatsapp_parser import parse_message
from tests.integration.conftest import table

pytestmark = pytest.mark.integration


def _message(wa_id: str, wamid: str, at: datetime) -> object:
    return parse_message({"from": wa_id, "id": wamid, "timestamp": str(int(at.timestamp())), "type": "text",
                          "text": {"body": "hola"}}, [{"wa_id": wa_id, "profile": {"name": "Ana"}}])


def test_late_and_retried_messages_read_the_thread_back_as_plain_values(stack: LocalStack) -> None:
    store = DynamoMessageStore(table(stack))
    now = datetime.now(UTC).replace(microsecond=0)
    first = _message("5491155550190", "wamid.STORE1", now)
    opened = store.touch_thread("demo", "demo-whatsapp", first, new_conversation_id="cv_1")  # type: ignore[arg-type]
    assert opened.conversation_opened and opened.window_advanced

    late = store.touch_thread("demo", "demo-whatsapp", _message("5491155550190", "wamid.OLD", now - timedelta(
        hours=1)), new_conversation_id="cv_2")  # type: ignore[arg-type]
    assert not late.window_advanced and not late.conversation_opened
    assert late.thread.conversation_id == "cv_1"
    assert late.thread.last_inbound_at == now  # the window did not move back

    retried = store.touch_thread("demo", "demo-whatsapp", first, new_conversation_id="cv_3")  # type: ignore[arg-type]
    assert retried.conversation_opened and retried.thread.conversation_id == "cv_1"


def test_a_claimed_send_is_in_flight_until_an_outcome_is_recorded_then_done(stack: LocalStack) -> None:
    store = DynamoMessageStore(table(stack))
    request = OutboundRequest(request_id="store-test-claim", tenant_id="demo", channel_id="demo-whatsapp",
                              contact_key="5491155550191", to="5491155550191", content=TextContent(body="hola"))
    now = datetime.now(UTC)
    assert store.claim_outbound(request, now=now) is OutboundClaim.NEW
    assert store.claim_outbound(request, now=now) is OutboundClaim.IN_FLIGHT
    store.record_sent(request, provider_message_id="wamid.CLAIMED", now=now)
    assert store.claim_outbound(request, now=now) is OutboundClaim.DONE


def test_two_messages_stamped_with_the_same_second_read_back_in_the_order_they_arrived(stack: LocalStack) -> None:
    """WhatsApp stamps whole seconds and wamids are random: the timeline must not fall back to id order."""
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.models.conversations import Conversation

    store = DynamoMessageStore(table(stack))
    sent = datetime.now(UTC).replace(microsecond=0)
    wa_id = "5491155550192"
    # the ids sort the other way round from arrival
    for wamid, text, received in (("wamid.ZZZ-first", "Necesito ayuda", sent + timedelta(milliseconds=120)),
                                  ("wamid.AAA-second", "Es por una factura", sent + timedelta(milliseconds=870))):
        message = parse_message({"from": wa_id, "id": wamid, "timestamp": str(int(sent.timestamp())),
                                 "type": "text", "text": {"body": text}}, [{"wa_id": wa_id}])
        assert store.put_inbound("demo", "demo-whatsapp", message, received_at=received)  # type: ignore[arg-type]
    conversation = Conversation(conversation_id="cv_same_second", tenant_id="demo", channel_id="demo-whatsapp",
                                contact_key=wa_id, opened_at=sent)
    texts = [m.text for m in DynamoConversations(table(stack)).messages(conversation)]
    assert texts == ["Necesito ayuda", "Es por una factura"]
