"""Outbound requests as Bot API calls: every content type, the 64-byte callback_data fallback, replies, refusals."""

from __future__ import annotations

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
from shared.services.telegram_payloads import UnsupportedOnTelegram, build_call


def request(content: Any, reply_to: str | None = None) -> OutboundRequest:
    return OutboundRequest(request_id="r1", tenant_id="t", channel_id="tg", contact_key="555", to="555",
                           content=content, reply_to=reply_to)


def test_text_with_and_without_link_previews_and_as_a_reply() -> None:
    call = build_call(request(TextContent(body="Hola 👋"), reply_to="555:41"))
    assert call is not None and call.method == "sendMessage"
    assert call.params == {"chat_id": "555", "text": "Hola 👋", "link_preview_options": {"is_disabled": True},
                           "reply_parameters": {"message_id": 41, "allow_sending_without_reply": True}}
    preview = build_call(request(TextContent(body="https://banco.example", preview_url=True)))
    assert preview is not None and preview.params["link_preview_options"] == {"is_disabled": False}


@pytest.mark.parametrize(("mtype", "method", "field"), [
    ("image", "sendPhoto", "photo"), ("video", "sendVideo", "video"), ("audio", "sendAudio", "audio"),
    ("document", "sendDocument", "document"), ("sticker", "sendSticker", "sticker")])
def test_media_by_link_or_file_id(mtype: str, method: str, field: str) -> None:
    call = build_call(request(MediaContent(type=mtype, link="https://cdn.example/x", caption="tu comprobante")))
    assert call is not None and call.method == method and call.params[field] == "https://cdn.example/x"
    assert ("caption" in call.params) == (mtype != "sticker")
    by_id = build_call(request(MediaContent(type=mtype, media_id="AgACAgQAAxkBAAIB")))
    assert by_id is not None and by_id.params[field] == "AgACAgQAAxkBAAIB"
    with pytest.raises(UnsupportedOnTelegram):
        build_call(request(MediaContent(type=mtype)))


def test_buttons_become_an_inline_keyboard_whose_taps_come_back_as_the_ids() -> None:
    content = ButtonsContent(header="Banco Demo", body="¿En qué te ayudo?", footer="Elegí una opción",
                             buttons=[ReplyButton(id="credito", title="Crédito"), ReplyButton(id="humano",
                                                                                              title="Persona")])
    call = build_call(request(content))
    assert call is not None and call.params["text"] == "Banco Demo\n\n¿En qué te ayudo?\n\nElegí una opción"
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "Crédito", "callback_data": "credito"}],
                                                               [{"text": "Persona", "callback_data": "humano"}]]}


def test_a_list_keeps_every_row_and_its_description() -> None:
    content = ListContent(body="Elegí", button="Ver", sections=[
        ListSection(title="A", rows=[ListRow(id="a1", title="Uno", description="el primero")]),
        ListSection(title="B", rows=[ListRow(id="b1", title="Dos")])])
    call = build_call(request(content))
    assert call is not None
    assert [row[0] for row in call.params["reply_markup"]["inline_keyboard"]] == [
        {"text": "Uno · el primero", "callback_data": "a1"}, {"text": "Dos", "callback_data": "b1"}]


def test_option_ids_over_64_bytes_fall_back_to_numbered_options() -> None:
    long_id = "opcion-" + "ñ" * 40  # 87 bytes in UTF-8
    call = build_call(request(ButtonsContent(body="Elegí", buttons=[ReplyButton(id=long_id, title="Larga"),
                                                                    ReplyButton(id="corta", title="Corta")])))
    assert call is not None and "reply_markup" not in call.params
    assert call.params["text"] == "Elegí\n\n1. Larga\n2. Corta"


def test_reactions_receipts_and_templates() -> None:
    react = build_call(request(ReactionContent(message_id="555:40", emoji="👍")))
    assert react is not None and react.method == "setMessageReaction"
    assert react.params == {"chat_id": "555", "message_id": 40, "reaction": [{"type": "emoji", "emoji": "👍"}]}
    unreact = build_call(request(ReactionContent(message_id="555:40", emoji="")))
    assert unreact is not None and unreact.params["reaction"] == []
    with pytest.raises(UnsupportedOnTelegram, match="not a Telegram message id"):
        build_call(request(ReactionContent(message_id="wamid.X", emoji="👍")))
    assert build_call(request(MarkReadContent(message_id="555:40"))) is None
    typing = build_call(request(MarkReadContent(message_id="555:40", typing_indicator=True)))
    assert typing is not None and typing.method == "sendChatAction" and typing.params["action"] == "typing"
    with pytest.raises(UnsupportedOnTelegram, match="WhatsApp-only"):
        build_call(request(TemplateContent(name="aviso", language="es")))
