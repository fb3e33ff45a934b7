"""The send guard (24h customer-service window, disabled channel) and the outbound request contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    MarkReadContent,
    MediaContent,
    OutboundContent,
    OutboundRequest,
    ReactionContent,
    TemplateContent,
    TextContent,
)
from shared.services.send_policy import Refusal, check_send, window_open

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
WAMID = "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABIYFDNFQjBBMUIyQzNENEU1RjYwMDAxAA=="

TEXT = TextContent(body="¡Hola María! Tu pedido ya salió.")
TEMPLATE = TemplateContent(name="seguimiento_pedido", language="es_AR")
MARK_READ = MarkReadContent(message_id=WAMID, typing_indicator=True)
IMAGE = MediaContent(type="image", media_id="1409876543210987", caption="Tu factura")
BUTTONS = ButtonsContent.model_validate(
    {"body": "¿Confirmás el turno?", "buttons": [{"id": "si", "title": "Sí"}, {"id": "no", "title": "No"}]})
LIST = ListContent.model_validate(
    {"body": "Elegí el envío", "button": "Ver opciones",
     "sections": [{"title": "Envíos", "rows": [{"id": "express", "title": "Express"}]}]})
REACTION = ReactionContent(message_id=WAMID, emoji="👍")
FREE_FORM = [TEXT, IMAGE, BUTTONS, LIST, REACTION]


# --------------------------------------------------------------------------------------------------
# 24-hour customer-service window
# --------------------------------------------------------------------------------------------------


def test_text_inside_the_window_is_allowed() -> None:
    assert check_send(TEXT, last_inbound_at=NOW - timedelta(hours=3), now=NOW) is None


def test_text_exactly_24_hours_after_the_last_inbound_message_is_refused() -> None:
    assert check_send(TEXT, last_inbound_at=NOW - DAY, now=NOW) is Refusal.TEMPLATE_REQUIRED


def test_text_just_before_the_24_hour_boundary_is_allowed() -> None:
    assert check_send(TEXT, last_inbound_at=NOW - DAY + timedelta(microseconds=1), now=NOW) is None
    assert check_send(TEXT, last_inbound_at=NOW - DAY + timedelta(seconds=1), now=NOW) is None


def test_text_long_after_the_window_is_refused() -> None:
    assert check_send(TEXT, last_inbound_at=NOW - timedelta(days=3), now=NOW) is Refusal.TEMPLATE_REQUIRED


def test_contact_who_never_wrote_requires_a_template() -> None:
    assert check_send(TEXT, last_inbound_at=None, now=NOW) is Refusal.TEMPLATE_REQUIRED


@pytest.mark.parametrize("last_inbound_at", [None, NOW - timedelta(days=30), NOW - timedelta(minutes=1)])
def test_template_is_always_allowed(last_inbound_at: datetime | None) -> None:
    assert check_send(TEMPLATE, last_inbound_at=last_inbound_at, now=NOW) is None


@pytest.mark.parametrize("last_inbound_at", [None, NOW - timedelta(days=30)])
def test_mark_read_is_not_a_message_and_is_allowed_outside_the_window(last_inbound_at: datetime | None) -> None:
    assert check_send(MARK_READ, last_inbound_at=last_inbound_at, now=NOW) is None


@pytest.mark.parametrize("content", FREE_FORM, ids=lambda c: c.type)
def test_free_form_content_outside_the_window_is_refused(content: Any) -> None:
    assert check_send(content, last_inbound_at=NOW - DAY - timedelta(minutes=5), now=NOW) is Refusal.TEMPLATE_REQUIRED
    assert check_send(content, last_inbound_at=None, now=NOW) is Refusal.TEMPLATE_REQUIRED


@pytest.mark.parametrize("content", FREE_FORM, ids=lambda c: c.type)
def test_free_form_content_inside_the_window_is_allowed(content: Any) -> None:
    assert check_send(content, last_inbound_at=NOW - timedelta(hours=23, minutes=59), now=NOW) is None


@pytest.mark.parametrize("content", [TEXT, TEMPLATE, MARK_READ, IMAGE, REACTION], ids=lambda c: c.type)
def test_disabled_channel_refuses_everything_even_templates(content: Any) -> None:
    refusal = check_send(content, last_inbound_at=NOW - timedelta(minutes=1), now=NOW, channel_enabled=False)

    assert refusal is Refusal.CHANNEL_DISABLED


def test_window_length_is_configurable() -> None:
    last = NOW - timedelta(hours=2)

    assert check_send(TEXT, last_inbound_at=last, now=NOW, window=timedelta(hours=1)) is Refusal.TEMPLATE_REQUIRED
    assert check_send(TEXT, last_inbound_at=last, now=NOW, window=timedelta(hours=3)) is None


def test_window_open_boundaries() -> None:
    assert window_open(NOW, NOW, DAY) is True
    assert window_open(NOW - DAY, NOW, DAY) is False
    assert window_open(None, NOW, DAY) is False


def test_refusals_are_stable_strings() -> None:
    assert Refusal.TEMPLATE_REQUIRED.value == "template_required"
    assert Refusal.CHANNEL_DISABLED.value == "channel_disabled"
    assert str(Refusal.TEMPLATE_REQUIRED) == "template_required"


# --------------------------------------------------------------------------------------------------
# OutboundRequest / content validation
# --------------------------------------------------------------------------------------------------

CONTENT = TypeAdapter(OutboundContent)


def request(content: dict[str, Any], **overrides: Any) -> OutboundRequest:
    data: dict[str, Any] = {"request_id": "req-0001", "tenant_id": "demo", "channel_id": "wa-demo",
                            "contact_key": "5491155550101", "to": "5491155550101", "content": content}
    data.update(overrides)
    return OutboundRequest.model_validate(data)


def buttons(*titles: str) -> dict[str, Any]:
    return {"type": "buttons", "body": "Elegí una opción",
            "buttons": [{"id": f"b{i}", "title": t} for i, t in enumerate(titles)]}


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"type": "text", "body": "Hola"}, TextContent),
        ({"type": "image", "media_id": "1409876543210987"}, MediaContent),
        ({"type": "document", "link": "https://example.com/f.pdf", "filename": "f.pdf"}, MediaContent),
        ({"type": "template", "name": "bienvenida", "language": "es"}, TemplateContent),
        (buttons("Sí", "No"), ButtonsContent),
        ({"type": "list", "body": "b", "button": "Ver", "sections": [{"rows": [{"id": "1", "title": "Uno"}]}]},
         ListContent),
        ({"type": "reaction", "message_id": WAMID, "emoji": "👍"}, ReactionContent),
        ({"type": "mark_read", "message_id": WAMID}, MarkReadContent),
    ],
)
def test_content_discriminated_union_parses_each_type_from_a_dict(data: dict[str, Any], cls: type) -> None:
    content = CONTENT.validate_python(data)
    req = request(data)

    assert type(content) is cls
    assert type(req.content) is cls
    assert req.content.type == data["type"]


def test_outbound_request_round_trips_through_json() -> None:
    req = request(buttons("Sí", "No"), reply_to=WAMID, origin="bot")

    again = OutboundRequest.model_validate_json(req.model_dump_json())

    assert again == req
    assert isinstance(again.content, ButtonsContent)


def test_unknown_content_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        request({"type": "poll", "body": "¿Sábado o domingo?"})


def test_three_buttons_are_allowed_but_four_are_rejected() -> None:
    assert len(request(buttons("Uno", "Dos", "Tres")).content.buttons) == 3  # type: ignore[union-attr]

    with pytest.raises(ValidationError):
        request(buttons("Uno", "Dos", "Tres", "Cuatro"))


def test_buttons_content_needs_at_least_one_button() -> None:
    with pytest.raises(ValidationError):
        request(buttons())


def test_button_title_of_20_characters_is_allowed_and_21_rejected() -> None:
    assert request(buttons("x" * 20)).content.buttons[0].title == "x" * 20  # type: ignore[union-attr]

    with pytest.raises(ValidationError):
        request(buttons("x" * 21))


def test_button_title_limit_counts_characters_not_bytes() -> None:
    title = "Sí, confirmo el envío"[:20]  # 20 characters, more than 20 UTF-8 bytes
    assert len(title.encode()) > 20

    assert request(buttons(title)).content.buttons[0].title == title  # type: ignore[union-attr]


@pytest.mark.parametrize("body", ["", None])
def test_empty_text_is_rejected(body: str | None) -> None:
    with pytest.raises(ValidationError):
        request({"type": "text", "body": body})


def test_text_longer_than_4096_characters_is_rejected() -> None:
    assert request({"type": "text", "body": "a" * 4096})
    with pytest.raises(ValidationError):
        request({"type": "text", "body": "a" * 4097})


def test_empty_request_id_is_rejected() -> None:
    with pytest.raises(ValidationError):
        request({"type": "text", "body": "Hola"}, request_id="")


def test_list_row_title_over_24_characters_is_rejected() -> None:
    with pytest.raises(ValidationError):
        request({"type": "list", "body": "b", "button": "Ver",
                 "sections": [{"rows": [{"id": "1", "title": "y" * 25}]}]})


def test_outbound_request_is_immutable() -> None:
    req = request({"type": "text", "body": "Hola"})

    with pytest.raises(ValidationError):
        req.to = "5215512345678"  # type: ignore[misc]
