"""Outbound requests as Twilio Messages.json forms: text, MMS by link, menus as numbered options, refusals."""

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
from shared.services.send_policy import UnsupportedOnChannel
from shared.services.sms_payloads import BODY_MAX, UnsupportedOnSms, body_length, build_form

NUMBER = "+14155550100"
CUSTOMER = "+5491155550000"
CALLBACK = "https://hooks.banco.example/webhooks/sms/ch1/status"


def request(content: Any, reply_to: str | None = None) -> OutboundRequest:
    return OutboundRequest(request_id="r1", tenant_id="t", channel_id="sms1", contact_key=CUSTOMER, to=CUSTOMER,
                           content=content, reply_to=reply_to)


def test_text_goes_to_the_customer_from_the_channel_number_with_the_status_callback() -> None:
    form = build_form(request(TextContent(body="Hola 👋")), number=NUMBER, status_callback=CALLBACK)
    assert form == {"To": CUSTOMER, "From": NUMBER, "Body": "Hola 👋", "StatusCallback": CALLBACK}
    bare = build_form(request(TextContent(body="Hola"), reply_to="SM123"), number=NUMBER, status_callback=None)
    assert bare == {"To": CUSTOMER, "From": NUMBER, "Body": "Hola"}  # SMS cannot quote: reply_to is not sent


def test_text_up_to_1600_characters_is_sent_whole_and_longer_is_refused_never_cut() -> None:
    exact = build_form(request(TextContent(body="a" * BODY_MAX)), number=NUMBER, status_callback=None)
    assert exact is not None and exact["Body"] == "a" * 1600
    with pytest.raises(UnsupportedOnSms, match="1601 characters"):
        build_form(request(TextContent(body="a" * 1601)), number=NUMBER, status_callback=None)


def test_an_emoji_counts_as_two_characters_toward_the_limit() -> None:
    assert body_length("a👋") == 3 and body_length("ñ") == 1
    with pytest.raises(UnsupportedOnSms):
        build_form(request(TextContent(body="👋" * 801)), number=NUMBER, status_callback=None)
    assert build_form(request(TextContent(body="👋" * 800)), number=NUMBER, status_callback=None) is not None


@pytest.mark.parametrize("mtype", ["image", "video", "audio", "document"])
def test_media_goes_by_link_with_its_caption_as_the_body(mtype: str) -> None:
    content = MediaContent(type=mtype, link="https://cdn.banco.example/comprobante", caption="tu comprobante",
                           filename="c.pdf")
    form = build_form(request(content), number=NUMBER, status_callback=CALLBACK)
    assert form == {"To": CUSTOMER, "From": NUMBER, "MediaUrl": ["https://cdn.banco.example/comprobante"],
                    "Body": "tu comprobante", "StatusCallback": CALLBACK}
    without_caption = build_form(request(MediaContent(type=mtype, link="https://cdn.banco.example/x")),
                                 number=NUMBER, status_callback=None)
    assert without_caption is not None and "Body" not in without_caption


def test_a_media_id_cannot_be_sent_by_sms() -> None:
    with pytest.raises(UnsupportedOnSms, match="link"):
        build_form(request(MediaContent(type="image", media_id="1234567890")), number=NUMBER, status_callback=None)


def test_buttons_become_numbered_options_after_the_text() -> None:
    content = ButtonsContent(header="Banco Demo", body="¿En qué te ayudo?", footer="Respondé con el número",
                             buttons=[ReplyButton(id="saldo", title="Saldo"), ReplyButton(id="humano", title="Asesor")])
    form = build_form(request(content), number=NUMBER, status_callback=None)
    assert form is not None
    assert form["Body"] == "Banco Demo\n\n¿En qué te ayudo?\n\nRespondé con el número\n\n1. Saldo\n2. Asesor"


def test_list_rows_of_every_section_are_numbered_in_order_with_their_descriptions() -> None:
    content = ListContent(body="Elegí", button="Ver", sections=[
        ListSection(title="Cuentas", rows=[ListRow(id="a1", title="Saldo", description="caja de ahorro")]),
        ListSection(title="Otros", rows=[ListRow(id="b1", title="Asesor")])])
    form = build_form(request(content), number=NUMBER, status_callback=None)
    assert form is not None and form["Body"] == "Elegí\n\n1. Saldo · caja de ahorro\n2. Asesor"


def test_a_menu_over_the_limit_is_refused() -> None:
    rows = [ListRow(id=f"r{i}", title=f"Opción {i}", description="d" * 72) for i in range(30)]
    with pytest.raises(UnsupportedOnSms):
        build_form(request(ListContent(body="Elegí", button="Ver", sections=[ListSection(rows=rows)])),
                   number=NUMBER, status_callback=None)


def test_a_read_receipt_sends_nothing() -> None:
    assert build_form(request(MarkReadContent(message_id="SM1", typing_indicator=True)), number=NUMBER,
                      status_callback=CALLBACK) is None


@pytest.mark.parametrize(("content", "says"), [
    (ReactionContent(message_id="SM1", emoji="👍"), "SMS has no reactions"),
    (TemplateContent(name="saldo_v2", language="es"), "WhatsApp-only"),
])
def test_reactions_and_templates_are_refused_as_not_on_this_channel(content: Any, says: str) -> None:
    with pytest.raises(UnsupportedOnChannel, match=says):
        build_form(request(content), number=NUMBER, status_callback=None)
