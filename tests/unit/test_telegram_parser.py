"""Telegram updates: secret token, split (what becomes a unit, what is ignored or rejected) and normalization,
on Telegram's own payloads (../shared/oracle-fixtures/telegram, skipped when absent) and hand-written edges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.models.messages import MessageType
from shared.services.telegram_parser import (
    PayloadShapeError,
    parse_update,
    split_update,
    valid_secret_token,
    verify_secret_token,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fixture(oracle: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((oracle / "telegram" / name).read_text(encoding="utf-8")))


def update(**fields: Any) -> dict[str, Any]:
    message = {"message_id": 7, "from": {"id": 555, "is_bot": False, "first_name": "Lucía", "last_name": "Paz",
                                         "username": "lupaz"},
               "chat": {"id": 555, "type": "private"}, "date": 1795000000, **fields}
    return {"update_id": 1001, "message": message}


def test_the_secret_token_is_compared_exactly() -> None:
    assert verify_secret_token("s3cr3t_T0ken-x", "s3cr3t_T0ken-x")
    assert not verify_secret_token("s3cr3t_T0ken-x", "s3cr3t_T0ken-y")
    assert not verify_secret_token("s3cr3t_T0ken-x", None)
    assert not verify_secret_token("s3cr3t_T0ken-x", "")
    assert not verify_secret_token("", "")
    assert not verify_secret_token("abc", "ábc")
    assert valid_secret_token("A-z_09") and not valid_secret_token("con espacio") and not valid_secret_token("x" * 257)


def test_a_text_message_from_the_oracle(oracle_fixtures: Path) -> None:
    body = fixture(oracle_fixtures, "text_message.json")
    [unit] = split_update(body).units
    assert unit.dedup_key == "update:123456789" and unit.contact_key == "12345678"
    message = parse_update(unit.payload, received_at=NOW)
    assert message.provider == "telegram" and message.type is MessageType.TEXT and message.text == "aaaaaaaaaa"
    assert message.provider_message_id == "12345678:123456"
    assert message.sender.key == "12345678" and message.sender.name == "Mario Bros"
    assert message.sender.username == "MarioLovesPeach"
    assert message.sent_at == datetime.fromtimestamp(1631818904, tz=UTC)


def test_a_photo_keeps_the_largest_size_and_the_caption(oracle_fixtures: Path) -> None:
    message = parse_update(fixture(oracle_fixtures, "photo_with_caption.json"), received_at=NOW)
    assert message.type is MessageType.IMAGE and message.media is not None
    assert message.media.id == "SEES" and message.media.caption == "asdasdasdasdasdasd"  # 104,893 bytes wins
    assert message.text == "asdasdasdasdasdasd"


def test_an_inline_keyboard_tap_is_a_button_reply_with_the_buttons_label(oracle_fixtures: Path) -> None:
    body = fixture(oracle_fixtures, "callback_query.json")
    body["callback_query"]["data"] = "b"
    [unit] = split_update(body).units
    assert unit.contact_key == "222222222"
    message = parse_update(unit.payload, received_at=NOW)
    assert message.type is MessageType.INTERACTIVE and message.interactive is not None
    assert message.interactive.id == "b" and message.interactive.title == "dsa" and message.text == "dsa"
    assert message.provider_message_id == "cb:666728699048485871" and message.sent_at == NOW
    assert message.context is not None and message.context.message_id == "222222222:69587"
    # a tap on data no longer on the keyboard keeps the data as its text
    body["callback_query"]["data"] = "thedata"
    assert parse_update(body, received_at=NOW).text == "thedata"


@pytest.mark.parametrize(("fields", "mtype", "check"), [
    ({"document": {"file_id": "D1", "file_name": "dni.pdf", "mime_type": "application/pdf"}, "caption": "mi DNI"},
     MessageType.DOCUMENT, lambda m: m.media.filename == "dni.pdf" and m.text == "mi DNI"),
    ({"voice": {"file_id": "V1", "mime_type": "audio/ogg", "duration": 3}}, MessageType.AUDIO,
     lambda m: m.media.voice is True and m.media.id == "V1"),
    ({"audio": {"file_id": "A1"}}, MessageType.AUDIO, lambda m: m.media.voice is False),
    ({"video_note": {"file_id": "VN"}}, MessageType.VIDEO, lambda m: m.media.id == "VN"),
    ({"sticker": {"file_id": "S1", "is_animated": True}}, MessageType.STICKER, lambda m: m.media.animated is True),
    ({"location": {"latitude": -34.6, "longitude": -58.38}}, MessageType.LOCATION,
     lambda m: m.location.latitude == -34.6),
    ({"venue": {"location": {"latitude": -34.6, "longitude": -58.38}, "title": "Sucursal Centro",
                "address": "Florida 100"}, "location": {"latitude": -34.6, "longitude": -58.38}},
     MessageType.LOCATION, lambda m: m.location.name == "Sucursal Centro" and m.location.address == "Florida 100"),
    ({"contact": {"phone_number": "+54 9 11 5555-0000", "first_name": "Lucía", "user_id": 555}},
     MessageType.CONTACTS, lambda m: m.sender.phone == "5491155550000" and m.contacts[0].formatted_name == "Lucía"),
    ({"contact": {"phone_number": "+54 9 11 4444-0000", "first_name": "Otro", "user_id": 999}},
     MessageType.CONTACTS, lambda m: m.sender.phone is None),  # someone else's card does not identify the sender
    ({"dice": {"emoji": "🎲", "value": 3}}, MessageType.UNSUPPORTED, lambda m: m.raw is not None),
    ({"text": "sí", "reply_to_message": {"message_id": 3, "chat": {"id": 555}}}, MessageType.TEXT,
     lambda m: m.context.message_id == "555:3"),
])
def test_every_private_message_type_is_normalized(fields: dict[str, Any], mtype: MessageType, check: Any) -> None:
    message = parse_update(update(**fields), received_at=NOW)
    assert message.type is mtype and check(message)


def test_a_reaction_points_at_the_message_and_an_empty_one_removes_it() -> None:
    body = {"update_id": 9, "message_reaction": {"chat": {"id": 555, "type": "private"}, "message_id": 40,
                                                 "user": {"id": 555}, "date": 1795000000,
                                                 "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    [unit] = split_update(body).units
    reaction = parse_update(unit.payload, received_at=NOW).reaction
    assert reaction is not None and reaction.message_id == "555:40" and reaction.emoji == "👍"
    body["message_reaction"]["new_reaction"] = []
    removed = parse_update(body, received_at=NOW).reaction
    assert removed is not None and removed.removed


@pytest.mark.parametrize("body", [
    {"update_id": 1, "edited_message": {"message_id": 1, "chat": {"id": 1, "type": "private"}}},
    {"update_id": 1, "channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"}}},
    {"update_id": 1, "message": {"message_id": 1, "from": {"id": 2}, "chat": {"id": -5, "type": "group"}}},
    {"update_id": 1, "message": {"message_id": 1, "from": {"id": 2, "is_bot": True}, "chat": {"id": 2}}},
    {"update_id": 1, "my_chat_member": {"chat": {"id": 2}}},
])
def test_what_is_not_a_customer_conversation_is_acknowledged_and_ignored(body: dict[str, Any]) -> None:
    result = split_update(body)
    assert result.units == [] and result.rejected == [] and result.ignored == 1


@pytest.mark.parametrize("body", [[], {"message": {}}, {"update_id": "x"},
                                  {"update_id": 1, "message": {"message_id": 1, "chat": {"type": "private"}}}])
def test_what_cannot_be_identified_is_rejected_with_a_reason(body: Any) -> None:
    result = split_update(body)
    assert result.units == [] and len(result.rejected) == 1 and result.rejected[0].reason


def test_parse_refuses_an_update_it_cannot_identify() -> None:
    with pytest.raises(PayloadShapeError):
        parse_update({"update_id": 1, "message": {"chat": {"id": 5}}}, received_at=NOW)
    with pytest.raises(PayloadShapeError):
        parse_update({"update_id": 1, "callback_query": {"message": {"chat": {"id": 5}}}}, received_at=NOW)
