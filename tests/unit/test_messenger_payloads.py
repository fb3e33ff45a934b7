"""Send API bodies for Messenger/Instagram and the send guard's Messenger policy: 24-hour standard window, a
person's reply with HUMAN_AGENT up to 7 days, no templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    ListRow,
    ListSection,
    MarkReadContent,
    MediaContent,
    OutboundRequest,
    ReactionContent,
    ReplyButton,
    TemplateContent,
    TextContent,
)
from shared.services.messenger_payloads import build_bodies
from shared.services.send_policy import Refusal, UnsupportedOnChannel, check_send, message_tag

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def request(content: Any) -> OutboundRequest:
    return OutboundRequest(request_id="r1", tenant_id="t", channel_id="c", contact_key="psid-1", to="psid-1",
                           content=content)


def test_text_inside_the_window_is_a_response_and_with_a_tag_a_message_tag() -> None:
    [body] = build_bodies(request(TextContent(body="Hola")), kind="messenger")
    assert body == {"recipient": {"id": "psid-1"}, "messaging_type": "RESPONSE", "message": {"text": "Hola"}}
    [tagged] = build_bodies(request(TextContent(body="Hola")), kind="messenger", tag="HUMAN_AGENT")
    assert (tagged["messaging_type"], tagged["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_text_over_the_channels_limit_is_refused_not_cut() -> None:
    with pytest.raises(UnsupportedOnChannel, match="2000"):
        build_bodies(request(TextContent(body="x" * 2001)), kind="messenger")
    assert build_bodies(request(TextContent(body="ñ" * 500)), kind="instagram")  # 1,000 bytes
    with pytest.raises(UnsupportedOnChannel, match="1000"):
        build_bodies(request(TextContent(body="ñ" * 501)), kind="instagram")


def test_media_by_link_or_attachment_id_and_the_caption_as_a_second_message() -> None:
    first, caption = build_bodies(request(MediaContent(type="document", link="https://x/f.pdf", caption="Tu PDF")),
                                  kind="instagram")
    assert first["message"] == {"attachment": {"type": "file", "payload": {"url": "https://x/f.pdf",
                                                                             "is_reusable": True}}}
    assert caption["message"] == {"text": "Tu PDF"}
    [by_id] = build_bodies(request(MediaContent(type="image", media_id="123")), kind="messenger")
    assert by_id["message"]["attachment"] == {"type": "image", "payload": {"attachment_id": "123"}}
    with pytest.raises(UnsupportedOnChannel):
        build_bodies(request(MediaContent(type="image")), kind="messenger")


def test_buttons_become_quick_replies_carrying_the_option_id() -> None:
    content = ButtonsContent(body="¿Qué necesitás?", header="Banco",
                             buttons=[ReplyButton(id="saldo", title="Saldo"), ReplyButton(id="asesor", title="Asesor")])
    [body] = build_bodies(request(content), kind="messenger")
    assert body["message"] == {"text": "Banco\n\n¿Qué necesitás?", "quick_replies": [
        {"content_type": "text", "title": "Saldo", "payload": "saldo"},
        {"content_type": "text", "title": "Asesor", "payload": "asesor"}]}


def test_a_list_is_quick_replies_with_long_titles_shortened_and_over_13_rows_numbered_text() -> None:
    rows = [ListRow(id=f"r{i}", title=f"Opción {i}") for i in range(1, 4)]
    [fits] = build_bodies(request(ListContent(body="Elegí", button="Ver", sections=[ListSection(rows=rows)])),
                          kind="instagram")
    assert [q["payload"] for q in fits["message"]["quick_replies"]] == ["r1", "r2", "r3"]
    long_title = [ListRow(id="humano", title="Hablar con una persona")]
    [shortened] = build_bodies(request(ListContent(body="Elegí", button="Ver",
                                                   sections=[ListSection(rows=rows + long_title)])), kind="messenger")
    assert shortened["message"]["quick_replies"][-1] == {"content_type": "text", "title": "Hablar con una pers…",
                                                         "payload": "humano"}
    many = [ListRow(id=f"x{i}", title=f"O{i}") for i in range(14)]
    [numbered] = build_bodies(request(ListContent(body="Elegí", button="Ver", sections=[ListSection(rows=many)])),
                              kind="messenger")
    assert "quick_replies" not in numbered["message"]
    assert numbered["message"]["text"].endswith("13. O12\n14. O13")


def test_reactions_exist_on_instagram_only() -> None:
    [react] = build_bodies(request(ReactionContent(message_id="m_1", emoji="❤️")), kind="instagram")
    assert react == {"recipient": {"id": "psid-1"}, "sender_action": "react",
                     "payload": {"message_id": "m_1", "reaction": "love"}}
    [unreact] = build_bodies(request(ReactionContent(message_id="m_1", emoji="")), kind="instagram")
    assert unreact["sender_action"] == "unreact"
    with pytest.raises(UnsupportedOnChannel, match="no reactions"):
        build_bodies(request(ReactionContent(message_id="m_1", emoji="👍")), kind="messenger")


def test_a_read_receipt_is_mark_seen_and_its_typing_indicator_typing_on() -> None:
    bodies = build_bodies(request(MarkReadContent(message_id="m_1", typing_indicator=True)), kind="messenger")
    assert [b["sender_action"] for b in bodies] == ["mark_seen", "typing_on"]
    assert all("messaging_type" not in b for b in bodies)


def test_templates_do_not_exist_on_messenger() -> None:
    with pytest.raises(UnsupportedOnChannel, match="WhatsApp-only"):
        build_bodies(request(TemplateContent(name="promo", language="es")), kind="messenger")


# --- the send guard --------------------------------------------------------------------------------------

TEXT = TextContent(body="hola")


@pytest.mark.parametrize("kind", ["messenger", "instagram"])
def test_the_messenger_window_is_24_hours_and_a_person_may_reply_for_7_days(kind: str) -> None:
    def refusal(ago: timedelta, human: bool) -> Refusal | None:
        return check_send(TEXT, last_inbound_at=NOW - ago, now=NOW, kind=kind, human_agent=human)

    def tag(ago: timedelta, human: bool) -> str | None:
        return message_tag(kind, TEXT, last_inbound_at=NOW - ago, now=NOW, human_agent=human)

    assert refusal(timedelta(hours=23), False) is None and tag(timedelta(hours=23), True) is None
    assert refusal(timedelta(hours=25), False) is Refusal.WINDOW_CLOSED
    assert refusal(timedelta(hours=25), True) is None and tag(timedelta(hours=25), True) == "HUMAN_AGENT"
    assert tag(timedelta(hours=25), False) is None
    assert refusal(timedelta(days=7, seconds=1), True) is Refusal.WINDOW_CLOSED
    assert check_send(TEXT, last_inbound_at=None, now=NOW, kind=kind, human_agent=True) is Refusal.WINDOW_CLOSED
    assert check_send(TemplateContent(name="p", language="es"), last_inbound_at=NOW, now=NOW,
                      kind=kind) is Refusal.NOT_ON_CHANNEL
    # a read receipt is not a message
    assert check_send(MarkReadContent(message_id="m"), last_inbound_at=None, now=NOW, kind=kind) is None


def test_whatsapp_and_telegram_are_unchanged_by_the_human_agent_flag() -> None:
    old = NOW - timedelta(hours=30)
    assert check_send(TEXT, last_inbound_at=old, now=NOW, human_agent=True) is Refusal.TEMPLATE_REQUIRED
    assert message_tag("whatsapp", TEXT, last_inbound_at=old, now=NOW, human_agent=True) is None
    assert check_send(TEXT, last_inbound_at=None, now=NOW, kind="telegram") is None


def test_a_private_reply_is_addressed_to_the_comment_and_is_text_only() -> None:
    reply = OutboundRequest(request_id="r", tenant_id="t", channel_id="c", contact_key="u", to="comment:111_222",
                            content=TextContent(body="¡Hola! Te escribimos por privado"))
    assert build_bodies(reply, kind="messenger") == [{"recipient": {"comment_id": "111_222"},
                                                      "message": {"text": "¡Hola! Te escribimos por privado"}}]
    with pytest.raises(UnsupportedOnChannel, match="private reply"):
        build_bodies(reply.model_copy(update={"content": MediaContent(type="image", link="https://x/a.jpg")}),
                     kind="instagram")
