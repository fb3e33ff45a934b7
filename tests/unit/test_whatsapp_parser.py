"""WhatsApp webhook parsing: split_webhook (ingest) and parse_message / parse_status (inbound processor).

Expected values are written out literally from the sample events in events/whatsapp/, which follow
Meta's documented webhook format (channels.md 1.4 and 1.5).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.models.messages import STATUS_RANK, InboundMessage, MessageType, StatusKind, StatusUpdate
from shared.services.whatsapp_parser import (
    ACCOUNT_FIELDS,
    ACCOUNT_GROUP,
    PayloadShapeError,
    SplitResult,
    parse_message,
    parse_status,
    split_webhook,
)
from tests.unit.conftest import EVENTS_DIR, read_event

PNI = "100000000000001"  # the demo channel's phone_number_id
BUSINESS_DISPLAY = "5491150000000"
MARIA = "5491155550101"
JOSE = "5215512345678"
CARMEN = "573001234567"
VALEN_BSUID = "AR.8472910365628401937"
VALEN_PARENT = "AR.ENT.5512093847561029384"
OUT_TO_MARIA = "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABEYFEExQjJDM0Q0RTVGNjA3MTgyOTNBAA=="
OUT_TO_JOSE = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYFEI3QzhEOUUwRjFBMkIzQzRENUU2AA=="
STATUS_WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYFEQwMEQwMDAwMDAwMDAwMDAwMDAxAA=="

ALL_EVENTS = sorted(p.stem for p in (EVENTS_DIR / "whatsapp").glob("*.json"))


def split(name: str) -> SplitResult:
    return split_webhook(read_event(f"whatsapp/{name}.json"), PNI)


def parse_units(result: SplitResult) -> list[InboundMessage | StatusUpdate]:
    parsed: list[InboundMessage | StatusUpdate] = []
    for unit in result.units:
        if unit.kind == "message":
            parsed.append(parse_message(unit.payload, unit.contacts, unit.value_errors))
        else:
            parsed.append(parse_status(unit.payload))
    return parsed


def only_message(name: str) -> InboundMessage:
    result = split(name)
    assert result.rejected == []
    assert [u.kind for u in result.units] == ["message"]
    (message,) = parse_units(result)
    assert isinstance(message, InboundMessage)
    return message


def only_status(name: str) -> StatusUpdate:
    result = split(name)
    assert result.rejected == []
    assert [u.kind for u in result.units] == ["status"]
    (status,) = parse_units(result)
    assert isinstance(status, StatusUpdate)
    return status


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


T0 = datetime(2026, 3, 3, 18, 0, 0, tzinfo=UTC)  # 1772560800, the first sample's timestamp


# --------------------------------------------------------------------------------------------------
# Sample events: every file is a valid body for the demo channel
# --------------------------------------------------------------------------------------------------


def test_there_is_one_sample_event_per_documented_case() -> None:
    expected = {
        "text", "text_reply", "image", "audio_voice", "video", "document", "sticker", "location", "contacts",
        "interactive_button_reply", "interactive_list_reply", "interactive_nfm_reply", "button", "reaction",
        "reaction_removed", "order", "system_changed_number", "referral_ctwa", "unsupported", "unknown_type",
        "username_bsuid_text", "batched", "status_sent_pmp", "status_delivered", "status_read_no_conversation",
        "status_failed_131047", "status_sent_cbp_legacy", "status_with_callback_data",
    }
    assert set(ALL_EVENTS) == expected


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_every_sample_event_splits_into_units_without_rejections_and_parses(name: str) -> None:
    result = split(name)

    assert result.rejected == []
    assert result.ignored == 0
    assert result.units
    for parsed in parse_units(result):
        assert parsed.provider == "whatsapp"
        assert parsed.provider_message_id.startswith("wamid.")


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_every_sample_event_is_rejected_by_a_channel_with_another_phone_number_id(name: str) -> None:
    result = split_webhook(read_event(f"whatsapp/{name}.json"), "999999999999999")

    assert result.units == []
    assert result.rejected
    assert all("phone_number_id" in r.reason for r in result.rejected)


# --------------------------------------------------------------------------------------------------
# Messages, one per type
# --------------------------------------------------------------------------------------------------


def test_text_message_is_normalized_with_sender_phone_name_and_utc_timestamp() -> None:
    msg = only_message("text")

    assert msg.type is MessageType.TEXT
    assert msg.raw_type == "text"
    assert msg.provider_message_id == "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABIYFDNFQjBBMUIyQzNENEU1RjYwMDAxAA=="
    assert msg.text == "Hola, ¿tienen envíos a Córdoba?"
    assert msg.sender.key == MARIA
    assert msg.sender.wa_id == MARIA
    assert msg.sender.phone == MARIA
    assert msg.sender.user_id is None
    assert msg.sender.name == "María González"
    assert msg.sent_at == T0
    assert msg.sent_at.tzinfo is not None
    assert msg.sent_at.utcoffset() == timedelta(0)
    assert msg.context is None
    assert msg.referral is None
    assert msg.errors == []
    assert msg.raw is None  # a well-formed known type is not kept raw


def test_reply_keeps_the_quoted_business_message_id_and_its_sender() -> None:
    msg = only_message("text_reply")

    assert msg.text == "Sí, el martes me queda bien"
    assert msg.sender.key == JOSE
    assert msg.sender.name == "José Hernández"
    assert msg.context is not None
    assert msg.context.message_id == OUT_TO_JOSE
    assert msg.context.from_ == BUSINESS_DISPLAY
    assert msg.context.forwarded is False
    assert msg.context.frequently_forwarded is False
    assert msg.sent_at == at(1772560860)


def test_image_keeps_media_id_mime_sha256_and_caption_as_text() -> None:
    msg = only_message("image")

    assert msg.type is MessageType.IMAGE
    assert msg.media is not None
    assert msg.media.id == "1409876543210987"
    assert msg.media.mime_type == "image/jpeg"
    assert msg.media.sha256 == "Xq3fT0pQ8mV7nB2cR5sLk9wYh1uE4aZd6gJi0oPqRsU="
    assert msg.media.caption == "Así llegó la caja 😞"
    assert msg.media.filename is None
    assert msg.media.voice is None
    assert msg.text == "Así llegó la caja 😞"


def test_voice_note_is_audio_with_voice_flag_and_no_text() -> None:
    msg = only_message("audio_voice")

    assert msg.type is MessageType.AUDIO
    assert msg.media is not None
    assert msg.media.id == "1409876543210988"
    assert msg.media.mime_type == "audio/ogg; codecs=opus"
    assert msg.media.sha256 == "bG9yZW1pcHN1bWRvbG9yc2l0YW1ldGNvbnNlY3RldHU="
    assert msg.media.voice is True
    assert msg.text is None
    assert msg.sender.key == JOSE


def test_frequently_forwarded_video_keeps_caption_and_forward_flags() -> None:
    msg = only_message("video")

    assert msg.type is MessageType.VIDEO
    assert msg.media is not None
    assert (msg.media.id, msg.media.mime_type) == ("1409876543210989", "video/mp4")
    assert msg.media.caption == "Mirá cómo quedó"
    assert msg.text == "Mirá cómo quedó"
    assert msg.sender.key == CARMEN
    assert msg.sender.name == "Carmen López"
    assert msg.context is not None
    assert msg.context.frequently_forwarded is True
    assert msg.context.message_id is None


def test_forwarded_document_keeps_filename_caption_and_forwarded_flag() -> None:
    msg = only_message("document")

    assert msg.type is MessageType.DOCUMENT
    assert msg.media is not None
    assert msg.media.id == "1409876543210990"
    assert msg.media.mime_type == "application/pdf"
    assert msg.media.filename == "factura_0042.pdf"
    assert msg.media.caption == "Factura de marzo"
    assert msg.media.sha256 == "ZmFjdHVyYTAwNDJtYXJ6bzIwMjZwZGZkb2N1bWVudG8="
    assert msg.text == "Factura de marzo"
    assert msg.context is not None
    assert msg.context.forwarded is True
    assert msg.context.frequently_forwarded is False


def test_sticker_keeps_animated_false_rather_than_dropping_it() -> None:
    msg = only_message("sticker")

    assert msg.type is MessageType.STICKER
    assert msg.media is not None
    assert msg.media.id == "1409876543210991"
    assert msg.media.mime_type == "image/webp"
    assert msg.media.animated is False
    assert msg.text is None


def test_location_keeps_numbers_as_floats_and_renders_the_place_name() -> None:
    msg = only_message("location")

    assert msg.type is MessageType.LOCATION
    assert msg.location is not None
    assert msg.location.latitude == pytest.approx(-34.6037389, abs=1e-9)
    assert msg.location.longitude == pytest.approx(-58.3815704, abs=1e-9)
    assert isinstance(msg.location.latitude, float)
    assert msg.location.name == "Obelisco de Buenos Aires"
    assert msg.location.address == "Av. 9 de Julio s/n, C1043 CABA"
    assert msg.location.url == "https://maps.google.com/?q=-34.6037389,-58.3815704"
    assert msg.text == "Obelisco de Buenos Aires"


def test_location_without_a_name_renders_its_address() -> None:
    body = read_event("whatsapp/location.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["location"]["name"]

    msg = parse_message(message, body["entry"][0]["changes"][0]["value"]["contacts"])

    assert msg.text == "Av. 9 de Julio s/n, C1043 CABA"


def test_location_with_numeric_strings_is_still_parsed_as_numbers() -> None:
    body = read_event("whatsapp/location.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["location"]["latitude"], message["location"]["longitude"] = "-34.5", "-58.25"

    msg = parse_message(message)

    assert msg.location is not None
    assert (msg.location.latitude, msg.location.longitude) == (-34.5, -58.25)


def test_location_without_coordinates_is_kept_raw_as_unknown() -> None:
    body = read_event("whatsapp/location.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["location"]["latitude"]

    msg = parse_message(message)

    assert msg.type is MessageType.UNKNOWN
    assert msg.raw_type == "location"
    assert msg.location is None
    assert msg.raw == message


def test_shared_contacts_keep_name_phones_emails_and_raw_card() -> None:
    msg = only_message("contacts")

    assert msg.type is MessageType.CONTACTS
    assert len(msg.contacts) == 1
    card = msg.contacts[0]
    assert card.formatted_name == "Carlos Ruiz"
    assert card.phones == [{"phone": "+52 55 8765 4321", "wa_id": "5215587654321", "type": "CELL"}]
    assert card.emails == [{"email": "carlos@ferreteriaruiz.mx", "type": "WORK"}]
    assert card.raw["org"] == {"company": "Ferretería Ruiz"}
    assert msg.text == "Carlos Ruiz"
    # the shared card is not the sender
    assert msg.sender.key == JOSE
    assert msg.sender.name == "José Hernández"


def test_interactive_button_reply_keeps_id_title_and_the_tapped_message() -> None:
    msg = only_message("interactive_button_reply")

    assert msg.type is MessageType.INTERACTIVE
    assert msg.interactive is not None
    assert msg.interactive.kind == "button_reply"
    assert msg.interactive.id == "confirmar_turno"
    assert msg.interactive.title == "Confirmar"
    assert msg.interactive.description is None
    assert msg.text == "Confirmar"
    assert msg.context is not None and msg.context.message_id == OUT_TO_MARIA
    assert msg.raw is None


def test_interactive_list_reply_keeps_id_title_and_description() -> None:
    msg = only_message("interactive_list_reply")

    assert msg.interactive is not None
    assert msg.interactive.kind == "list_reply"
    assert msg.interactive.id == "envio_express"
    assert msg.interactive.title == "Envío express"
    assert msg.interactive.description == "Llega en 24 horas hábiles"
    assert msg.text == "Envío express"
    assert msg.context is not None and msg.context.message_id == OUT_TO_JOSE


def test_flow_completion_parses_response_json_string_into_a_dict() -> None:
    msg = only_message("interactive_nfm_reply")

    assert msg.interactive is not None
    assert msg.interactive.kind == "nfm_reply"
    assert msg.interactive.flow_name == "flow"
    assert msg.interactive.flow_body == "Sent"
    assert msg.interactive.flow_response == {
        "flow_token": "encuesta-2026-03-0001",
        "calificacion": "5",
        "comentario": "Excelente atención",
        "recomendaria": True,
    }
    assert msg.text == "Sent"
    assert msg.context is not None and msg.context.message_id == OUT_TO_MARIA


@pytest.mark.parametrize(
    ("response_json", "expected"),
    [
        ("not json {", {"unparsed": "not json {"}),
        ("[1, 2]", {"value": [1, 2]}),
        ('"solo texto"', {"value": "solo texto"}),
    ],
)
def test_flow_completion_with_unusable_response_json_keeps_it(response_json: str, expected: dict[str, Any]) -> None:
    body = read_event("whatsapp/interactive_nfm_reply.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["nfm_reply"]["response_json"] = response_json

    msg = parse_message(message)

    assert msg.type is MessageType.INTERACTIVE
    assert msg.interactive is not None
    assert msg.interactive.flow_response == expected


def test_unknown_interactive_kind_is_kept_raw_inside_the_interactive_reply() -> None:
    body = read_event("whatsapp/interactive_button_reply.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"] = {"type": "call_permission_reply", "call_permission_reply": {"response": "accept"}}

    msg = parse_message(message)

    assert msg.type is MessageType.INTERACTIVE
    assert msg.interactive is not None
    assert msg.interactive.kind == "call_permission_reply"
    assert msg.interactive.raw == message["interactive"]
    assert msg.interactive.id is None


def test_template_quick_reply_button_keeps_payload_and_text() -> None:
    msg = only_message("button")

    assert msg.type is MessageType.BUTTON
    assert msg.button is not None
    assert msg.button.payload == "QUIERO_OFERTAS"
    assert msg.button.text == "Sí, quiero ofertas"
    assert msg.text == "Sí, quiero ofertas"
    assert msg.interactive is None
    assert msg.context is not None and msg.context.message_id == OUT_TO_JOSE


def test_reaction_keeps_the_target_message_and_emoji() -> None:
    msg = only_message("reaction")

    assert msg.type is MessageType.REACTION
    assert msg.reaction is not None
    assert msg.reaction.message_id == OUT_TO_MARIA
    assert msg.reaction.emoji == "👍"
    assert msg.reaction.removed is False
    assert msg.text == "👍"


def test_reaction_with_empty_emoji_means_removed() -> None:
    msg = only_message("reaction_removed")

    assert msg.type is MessageType.REACTION
    assert msg.reaction is not None
    assert msg.reaction.message_id == OUT_TO_MARIA
    assert msg.reaction.emoji is None
    assert msg.reaction.removed is True
    assert msg.text is None


def test_reaction_without_target_message_is_kept_raw_as_unknown() -> None:
    body = read_event("whatsapp/reaction.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["reaction"]["message_id"]

    msg = parse_message(message)

    assert msg.type is MessageType.UNKNOWN
    assert msg.raw_type == "reaction"
    assert msg.reaction is None
    assert msg.raw == message


def test_order_keeps_catalog_text_and_items_with_numeric_quantity_and_price() -> None:
    msg = only_message("order")

    assert msg.type is MessageType.ORDER
    assert msg.order is not None
    assert msg.order.catalog_id == "300000000000001"
    assert msg.order.text == "¿Lo pueden enviar hoy?"
    assert msg.text == "¿Lo pueden enviar hoy?"
    items = [(i.product_retailer_id, i.quantity, i.item_price, i.currency) for i in msg.order.items]
    assert items == [("yerba-1kg", 3, 4599.5, "COP"), ("mate-calabaza", 1, 32000.0, "COP")]
    assert isinstance(msg.order.items[0].quantity, int)


def test_system_number_change_without_contacts_is_keyed_on_from_and_keeps_new_wa_id() -> None:
    result = split("system_changed_number")
    assert result.units[0].contacts == []

    msg = only_message("system_changed_number")

    assert msg.type is MessageType.SYSTEM
    assert msg.system is not None
    assert msg.system.type == "user_changed_number"
    assert msg.system.new_wa_id == "5491155550199"
    assert msg.system.body == "User María González changed from 5491155550101 to 5491155550199"
    assert msg.text == msg.system.body
    assert msg.sender.key == MARIA
    assert msg.sender.phone == MARIA
    assert msg.sender.name is None


def test_click_to_whatsapp_referral_keeps_ctwa_clid_source_and_welcome_message() -> None:
    msg = only_message("referral_ctwa")

    assert msg.type is MessageType.TEXT
    assert msg.text == "Hola, vi el anuncio y quiero más información"
    assert msg.referral is not None
    assert msg.referral.ctwa_clid == (
        "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"
    )
    assert msg.referral.source_id == "120210000000000123"
    assert msg.referral.source_type == "ad"
    assert msg.referral.source_url == "https://fb.me/4aB7cD9eF"
    assert msg.referral.headline == "Escribinos por WhatsApp"
    assert msg.referral.body == "Ofertas de otoño en toda la tienda"
    assert msg.referral.media_type == "video"
    assert msg.referral.video_url == "https://video.xx.fbcdn.net/v/t42.1790-2/anuncio.mp4"
    assert msg.referral.thumbnail_url == "https://scontent.xx.fbcdn.net/v/t15.5256-10/miniatura.jpg"
    assert msg.referral.image_url is None
    assert msg.referral.welcome_message == "¡Hola! ¿En qué te podemos ayudar?"


def test_unsupported_message_keeps_its_error_and_raw_payload() -> None:
    result = split("unsupported")
    msg = only_message("unsupported")

    assert msg.type is MessageType.UNSUPPORTED
    assert msg.raw_type == "unsupported"
    assert msg.text is None
    assert len(msg.errors) == 1
    error = msg.errors[0]
    assert error.code == 131051
    assert error.title == "Message type unknown"
    assert error.message == "Message type unknown"
    assert error.details == "Message type is currently not supported."
    assert msg.raw == result.units[0].payload


def test_type_meta_might_add_later_is_kept_raw_as_unknown() -> None:
    result = split("unknown_type")
    msg = only_message("unknown_type")

    assert msg.type is MessageType.UNKNOWN
    assert msg.raw_type == "poll"
    assert msg.raw == result.units[0].payload
    assert msg.raw["poll"]["options"] == [{"name": "Sábado"}, {"name": "Domingo"}]
    assert msg.text is None
    assert msg.sender.key == MARIA


def test_username_user_is_keyed_on_bsuid_without_a_phone() -> None:
    result = split("username_bsuid_text")
    assert result.units[0].contact_key == VALEN_BSUID

    msg = only_message("username_bsuid_text")

    assert msg.text == "Hola, los encontré por su usuario"
    assert msg.sender.key == VALEN_BSUID
    assert msg.sender.user_id == VALEN_BSUID
    assert msg.sender.parent_user_id == VALEN_PARENT
    assert msg.sender.wa_id is None  # "" on the wire means unknown
    assert msg.sender.phone is None
    assert msg.sender.username == "@valen.rios"
    assert msg.sender.name == "Valentina Ríos"


def test_bsuid_is_preferred_over_wa_id_when_both_are_present() -> None:
    body = read_event("whatsapp/text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["user_id"] = "AR.1111111111111111111"

    result = split_webhook(body, PNI)
    msg = parse_message(result.units[0].payload, result.units[0].contacts)

    assert result.units[0].contact_key == "AR.1111111111111111111"
    assert msg.sender.key == "AR.1111111111111111111"
    assert msg.sender.wa_id == MARIA
    assert msg.sender.phone == MARIA


def test_sender_from_user_id_is_used_when_the_contact_has_none() -> None:
    body = read_event("whatsapp/username_bsuid_text.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]

    msg = parse_message(message, [])

    assert msg.sender.key == VALEN_BSUID
    assert msg.sender.parent_user_id == VALEN_PARENT
    assert msg.sender.wa_id is None


def test_message_without_any_identity_cannot_be_parsed() -> None:
    body = read_event("whatsapp/username_bsuid_text.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from_user_id"]

    with pytest.raises(PayloadShapeError):
        parse_message(message, [{"profile": {"name": "Nadie"}, "wa_id": ""}])


def test_value_level_errors_are_attached_to_the_message_and_keep_it_raw() -> None:
    body = read_event("whatsapp/interactive_button_reply.json")
    value = body["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    del message["interactive"]
    value["errors"] = [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong",
                        "error_data": {"details": "Unsupported webhook payload"}}]

    result = split_webhook(body, PNI)
    assert len(result.units) == 1
    unit = result.units[0]
    msg = parse_message(unit.payload, unit.contacts, unit.value_errors)

    assert msg.type is MessageType.INTERACTIVE
    assert msg.interactive is None
    assert [(e.code, e.title, e.details) for e in msg.errors] == [
        (131000, "Something went wrong", "Unsupported webhook payload")]
    assert msg.raw == message


def test_timestamp_as_integer_is_accepted_and_read_as_utc() -> None:
    body = read_event("whatsapp/text.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = 1772560800

    msg = parse_message(message)

    assert msg.sent_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Statuses
# --------------------------------------------------------------------------------------------------


def test_sent_status_with_per_message_pricing_and_no_conversation() -> None:
    st = only_status("status_sent_pmp")

    assert st.provider_message_id == STATUS_WAMID
    assert st.status is StatusKind.SENT
    assert st.raw_status == "sent"
    assert st.at == at(1772563800)
    assert st.recipient.key == JOSE
    assert st.recipient.phone == JOSE
    assert st.conversation is None
    assert st.pricing is not None
    assert (st.pricing.billable, st.pricing.pricing_model, st.pricing.type, st.pricing.category) == (
        True, "PMP", "regular", "utility")
    assert st.callback_data is None
    assert st.errors == []


def test_delivered_status_in_a_free_entry_point_window_keeps_conversation_without_expiry() -> None:
    st = only_status("status_delivered")

    assert st.status is StatusKind.DELIVERED
    assert st.at == at(1772563805)
    assert st.conversation is not None
    assert st.conversation.id == "f3b1c2d4e5a6978812345678abcdef01"
    assert st.conversation.origin_type == "referral_conversion"
    assert st.conversation.expires_at is None
    assert st.pricing is not None
    assert (st.pricing.billable, st.pricing.pricing_model, st.pricing.type, st.pricing.category) == (
        False, "PMP", "free_entry_point", "marketing")


def test_v24_read_status_without_conversation_or_pricing_is_accepted() -> None:
    st = only_status("status_read_no_conversation")

    assert st.status is StatusKind.READ
    assert st.provider_message_id == STATUS_WAMID
    assert st.at == at(1772563810)
    assert st.conversation is None
    assert st.pricing is None
    assert st.recipient.key == JOSE


def test_failed_status_keeps_error_code_title_details_and_href() -> None:
    st = only_status("status_failed_131047")

    assert st.status is StatusKind.FAILED
    assert st.recipient.key == MARIA
    assert len(st.errors) == 1
    error = st.errors[0]
    assert error.code == 131047
    assert error.title == "Re-engagement message"
    assert error.message == "Re-engagement message"
    assert error.details == ("Message failed to send because more than 24 hours have passed since the customer "
                             "last replied to this number.")
    assert error.href == "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def test_legacy_conversation_based_pricing_keeps_conversation_expiry_and_origin() -> None:
    st = only_status("status_sent_cbp_legacy")

    assert st.status is StatusKind.SENT
    assert st.at == datetime(2025, 6, 1, tzinfo=UTC)
    assert st.recipient.key == CARMEN
    assert st.conversation is not None
    assert st.conversation.id == "8a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert st.conversation.expires_at == datetime(2025, 6, 2, tzinfo=UTC)
    assert st.conversation.origin_type == "marketing"
    assert st.pricing is not None
    assert (st.pricing.billable, st.pricing.pricing_model, st.pricing.type, st.pricing.category) == (
        True, "CBP", None, "marketing")


def test_status_echoes_callback_data_and_is_keyed_on_recipient_user_id() -> None:
    result = split("status_with_callback_data")
    assert result.units[0].contact_key == VALEN_BSUID

    st = only_status("status_with_callback_data")

    assert st.callback_data == "campania=otono2026;segmento=vip"
    assert st.recipient.key == VALEN_BSUID
    assert st.recipient.user_id == VALEN_BSUID
    assert st.recipient.parent_user_id == VALEN_PARENT
    assert st.recipient.wa_id is None
    assert st.recipient.phone is None


def test_recipient_user_id_is_preferred_over_recipient_id() -> None:
    status = {"id": STATUS_WAMID, "status": "delivered", "timestamp": "1772563805",
              "recipient_id": JOSE, "recipient_user_id": "MX.4444444444444444444"}

    st = parse_status(status)

    assert st.recipient.key == "MX.4444444444444444444"
    assert st.recipient.wa_id == JOSE
    assert st.recipient.phone == JOSE


@pytest.mark.parametrize("value", ["deleted", "warning", "READ_BY_ROBOT"])
def test_unknown_status_value_is_kept_raw_with_no_kind(value: str) -> None:
    status = {"id": STATUS_WAMID, "status": value, "timestamp": "1772563805", "recipient_id": JOSE}

    st = parse_status(status)

    assert st.status is None
    assert st.raw_status == value
    assert st.rank == 0


def test_webhook_cannot_claim_our_internal_accepted_state() -> None:
    status = {"id": STATUS_WAMID, "status": "accepted", "timestamp": "1772563805", "recipient_id": JOSE}

    st = parse_status(status)

    assert st.status is None
    assert st.raw_status == "accepted"


def test_played_status_is_recognized() -> None:
    status = {"id": STATUS_WAMID, "status": "played", "timestamp": "1772563899", "recipient_id": JOSE}

    assert parse_status(status).status is StatusKind.PLAYED


def test_status_rank_only_moves_forward_read_over_delivered_over_sent_and_failed_highest() -> None:
    def rank(value: str) -> int:
        return parse_status({"id": STATUS_WAMID, "status": value, "timestamp": "1", "recipient_id": JOSE}).rank

    assert 0 < rank("sent") < rank("delivered") < rank("read") < rank("played") < rank("failed")
    assert STATUS_RANK[StatusKind.ACCEPTED] < STATUS_RANK[StatusKind.SENT]
    assert max(STATUS_RANK, key=STATUS_RANK.__getitem__) is StatusKind.FAILED


def test_status_errors_without_error_data_keep_code_and_title() -> None:
    status = {"id": STATUS_WAMID, "status": "failed", "timestamp": "1772563805", "recipient_id": JOSE,
              "errors": [{"code": 131026, "title": "Message undeliverable"}, "not-an-object"]}

    st = parse_status(status)

    assert [(e.code, e.title, e.details) for e in st.errors] == [(131026, "Message undeliverable", None)]


# --------------------------------------------------------------------------------------------------
# split_webhook: batching, dedup keys, routing and precise rejections
# --------------------------------------------------------------------------------------------------


def test_batched_body_splits_into_one_unit_per_message_and_status_with_dedup_and_contact_keys() -> None:
    result = split("batched")

    assert result.rejected == []
    assert result.ignored == 0
    got = [(u.kind, u.dedup_key, u.contact_key) for u in result.units]
    assert got == [
        ("message", "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABIYFDNFQjBCMDAwMDAwMDAwMDAwMEExAA==", MARIA),
        ("message", "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFDNFQjBCMDAwMDAwMDAwMDAwMEEyAA==", JOSE),
        ("status", "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABEYFEMwRkZFRTAwMDAwMDAwMDAwMEIxAA==:delivered", MARIA),
        ("status", "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABEYFEMwRkZFRTAwMDAwMDAwMDAwMEIxAA==:read", MARIA),
        ("message", "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFDNFQjBCMDAwMDAwMDAwMDAwMEEzAA==", JOSE),
        ("status", "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYFEMwRkZFRTAwMDAwMDAwMDAwMEIyAA==:sent", JOSE),
    ]
    # dedup keys are unique within the batch even when two statuses share a wamid
    assert len({u.dedup_key for u in result.units}) == len(result.units)


def test_batched_messages_are_attributed_to_their_own_contact() -> None:
    parsed = parse_units(split("batched"))
    messages = [p for p in parsed if isinstance(p, InboundMessage)]

    assert [(m.sender.key, m.sender.name, m.type, m.text) for m in messages] == [
        (MARIA, "María González", MessageType.TEXT, "¿Siguen abiertos?"),
        (JOSE, "José Hernández", MessageType.IMAGE, None),
        (JOSE, "José Hernández", MessageType.TEXT, "Gracias!"),
    ]
    assert [m.sent_at for m in messages] == [at(1772562800), at(1772562801), at(1772562804)]


def test_batched_statuses_carry_no_contacts_or_value_errors_and_parse_in_order() -> None:
    result = split("batched")
    status_units = [u for u in result.units if u.kind == "status"]
    assert all(u.contacts == [] and u.value_errors == [] for u in status_units)

    statuses = [p for p in parse_units(result) if isinstance(p, StatusUpdate)]

    assert [(s.status, s.recipient.key) for s in statuses] == [
        (StatusKind.DELIVERED, MARIA), (StatusKind.READ, MARIA), (StatusKind.SENT, JOSE)]
    assert statuses[2].pricing is not None
    assert (statuses[2].pricing.type, statuses[2].pricing.category) == ("free_customer_service", "service")


def test_message_units_carry_the_value_contacts_and_errors_untouched() -> None:
    body = read_event("whatsapp/batched.json")
    value = body["entry"][0]["changes"][0]["value"]

    unit = split_webhook(body, PNI).units[0]

    assert unit.payload == value["messages"][0]
    assert unit.contacts == value["contacts"]
    assert unit.value_errors == []


def test_wrong_phone_number_id_is_rejected_naming_it_and_produces_no_units() -> None:
    body = read_event("whatsapp/text.json")

    result = split_webhook(body, "100000000000002")

    assert result.units == []
    assert len(result.rejected) == 1
    assert "phone_number_id" in result.rejected[0].reason
    assert "100000000000001" in result.rejected[0].reason
    assert result.rejected[0].fragment == body["entry"][0]["changes"][0]


def test_missing_metadata_is_rejected_as_not_this_channel() -> None:
    body = read_event("whatsapp/text.json")
    del body["entry"][0]["changes"][0]["value"]["metadata"]

    result = split_webhook(body, PNI)

    assert result.units == []
    assert [r.reason for r in result.rejected] == ["phone_number_id None is not this channel's"]


def test_only_the_change_for_another_channel_is_rejected_in_a_batch() -> None:
    body = read_event("whatsapp/batched.json")
    body["entry"][1]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100000000000009"

    result = split_webhook(body, PNI)

    assert len(result.units) == 4
    assert len(result.rejected) == 1
    assert "'100000000000009'" in result.rejected[0].reason


@pytest.mark.parametrize("field_name", ["user_preferences", "calls", "history"])
def test_non_messages_field_is_rejected_as_unhandled_and_kept(field_name: str) -> None:
    body = read_event("whatsapp/text.json")
    change = body["entry"][0]["changes"][0]
    change["field"] = field_name

    result = split_webhook(body, PNI)

    assert result.units == []
    assert [r.reason for r in result.rejected] == [f"unhandled field: {field_name}"]
    assert result.rejected[0].fragment == change


@pytest.mark.parametrize("field_name", sorted(ACCOUNT_FIELDS))
def test_account_health_fields_become_one_account_unit_each(field_name: str) -> None:
    value = {"event": "PAUSED", "message_template_id": 1, "message_template_name": "promo",
             "message_template_language": "es"}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "time": 1, "changes": [
        {"field": field_name, "value": value}]}]}

    result = split_webhook(body, PNI)
    again = split_webhook(body, PNI)

    assert result.rejected == []
    [unit] = result.units
    assert unit.kind == "account" and unit.payload == {"field": field_name, "value": value}
    assert unit.contact_key == ACCOUNT_GROUP  # the channel's own FIFO group, never a customer's thread
    assert unit.dedup_key == again.units[0].dedup_key  # Meta's redelivery dedupes


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"object": "page", "entry": []}, id="messenger-object"),
        pytest.param({"object": "instagram", "entry": [{"id": "1", "messaging": []}]}, id="instagram-object"),
        pytest.param({"entry": []}, id="no-object"),
        pytest.param({"object": "whatsapp_business_account", "entry": {"id": "1"}}, id="entry-not-list"),
        pytest.param({"object": "whatsapp_business_account"}, id="no-entry"),
        pytest.param([{"object": "whatsapp_business_account", "entry": []}], id="list-body"),
        pytest.param("whatsapp_business_account", id="string-body"),
        pytest.param(None, id="null-body"),
    ],
)
def test_bad_envelope_is_rejected_with_nothing_split(body: Any) -> None:
    result = split_webhook(body, PNI)

    assert result.units == []
    assert len(result.rejected) == 1
    assert result.rejected[0].reason.startswith("envelope:")
    assert result.rejected[0].fragment == body


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"id": "200000000000001"}, "entry: expected changes[]"),
        ({"id": "200000000000001", "changes": {"field": "messages"}}, "entry: expected changes[]"),
        ("200000000000001", "entry: expected changes[]"),
    ],
)
def test_bad_entry_is_rejected_and_other_entries_still_split(entry: Any, reason: str) -> None:
    body = read_event("whatsapp/text.json")
    body["entry"].insert(0, entry)

    result = split_webhook(body, PNI)

    assert [r.reason for r in result.rejected] == [reason]
    assert len(result.units) == 1


@pytest.mark.parametrize(
    "change",
    [{"field": "messages"}, {"field": "messages", "value": []}, "messages", None],
)
def test_change_without_value_object_is_rejected(change: Any) -> None:
    body = read_event("whatsapp/text.json")
    body["entry"][0]["changes"].append(change)

    result = split_webhook(body, PNI)

    assert len(result.units) == 1
    assert [r.reason for r in result.rejected] == ["change: expected field and value{}"]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda m: m.pop("id"), "message: message has no id", id="no-id"),
        pytest.param(lambda m: m.update(id=""), "message: message has no id", id="empty-id"),
        pytest.param(lambda m: m.pop("type"), "message: message has no type", id="no-type"),
        pytest.param(lambda m: m.pop("timestamp"), "message: timestamp is not unix seconds", id="no-timestamp"),
        pytest.param(lambda m: m.update(timestamp="2026-03-03T18:00:00Z"),
                     "message: timestamp is not unix seconds", id="iso-timestamp"),
        pytest.param(lambda m: m.update(timestamp="-5"), "message: timestamp is not unix seconds", id="negative"),
        pytest.param(lambda m: m.update(timestamp="1772560800.5"),
                     "message: timestamp is not unix seconds", id="fractional"),
        pytest.param(lambda m: m.update(timestamp=True), "message: timestamp is not unix seconds", id="bool"),
        pytest.param(lambda m: m.update(timestamp=1772560800.0),
                     "message: timestamp is not unix seconds", id="float"),
        pytest.param(lambda m: (m.update({"from": ""}), m.pop("from_user_id", None)),
                     "message: message has neither from nor a contact user_id", id="no-identity"),
    ],
)
def test_bad_message_is_rejected_alone_while_its_siblings_pass(mutate: Any, reason: str) -> None:
    body = read_event("whatsapp/batched.json")
    value = body["entry"][0]["changes"][0]["value"]
    bad = value["messages"][0]
    mutate(bad)  # this value has two contacts, so an empty `from` cannot be guessed from them

    result = split_webhook(body, PNI)

    assert [r.reason for r in result.rejected] == [reason]
    assert result.rejected[0].fragment is bad
    assert len(result.units) == 5
    assert all(u.dedup_key != bad.get("id") for u in result.units)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda s: s.pop("id"), "status: status has no id or status", id="no-id"),
        pytest.param(lambda s: s.update(status=""), "status: status has no id or status", id="empty-status"),
        pytest.param(lambda s: s.update(timestamp="ayer"), "status: timestamp is not unix seconds", id="bad-ts"),
        pytest.param(lambda s: s.update(recipient_id=""),
                     "status: status has neither recipient_id nor recipient_user_id", id="no-recipient"),
    ],
)
def test_bad_status_is_rejected_alone_while_its_siblings_pass(mutate: Any, reason: str) -> None:
    body = read_event("whatsapp/batched.json")
    bad = body["entry"][0]["changes"][1]["value"]["statuses"][0]
    mutate(bad)

    result = split_webhook(body, PNI)

    assert [r.reason for r in result.rejected] == [reason]
    assert len(result.units) == 5


def test_non_object_message_and_status_items_are_rejected_by_name() -> None:
    body = read_event("whatsapp/batched.json")
    body["entry"][0]["changes"][0]["value"]["messages"].append("wamid.suelto")
    body["entry"][0]["changes"][1]["value"]["statuses"].append(42)

    result = split_webhook(body, PNI)

    assert sorted(r.reason for r in result.rejected) == [
        "message: message is not an object", "status: status is not an object"]
    assert len(result.units) == 6


def test_messages_that_is_not_an_array_is_rejected() -> None:
    body = read_event("whatsapp/text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"] = value["messages"][0]

    result = split_webhook(body, PNI)

    assert result.units == []
    assert [r.reason for r in result.rejected] == ["value: messages/statuses must be arrays"]


def test_value_with_contacts_only_is_ignored_not_rejected() -> None:
    body = read_event("whatsapp/text.json")
    del body["entry"][0]["changes"][0]["value"]["messages"]

    result = split_webhook(body, PNI)

    assert result.units == []
    assert result.rejected == []
    assert result.ignored == 1


def test_value_with_only_provider_errors_is_rejected_so_it_is_seen() -> None:
    body = read_event("whatsapp/text.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["errors"] = [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong",
                        "error_data": {"details": "Unsupported webhook payload"}}]

    result = split_webhook(body, PNI)

    assert result.units == []
    assert result.ignored == 0
    assert [r.reason for r in result.rejected] == ["provider errors without messages"]


def test_empty_entry_list_yields_nothing_and_no_rejection() -> None:
    result = split_webhook({"object": "whatsapp_business_account", "entry": []}, PNI)

    assert (result.units, result.rejected, result.ignored) == ([], [], 0)


def test_split_does_not_modify_the_body() -> None:
    body = read_event("whatsapp/batched.json")
    before = copy.deepcopy(body)

    result = split_webhook(body, PNI)
    parse_units(result)

    assert body == before


def test_sender_falls_back_to_the_only_contact_when_from_does_not_match_it() -> None:
    # CP4M's reply fixture has from != contacts[0].wa_id; pywa also reads contacts[0]. Documented, not endorsed.
    body = read_event("whatsapp/text.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "5491199999999"

    unit = split_webhook(body, PNI).units[0]
    msg = parse_message(unit.payload, unit.contacts)

    assert unit.contact_key == MARIA
    assert msg.sender.name == "María González"


def test_sender_with_two_unmatched_contacts_is_keyed_on_from_without_a_name() -> None:
    body = read_event("whatsapp/text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "Uno"}, "wa_id": "1"}, {"profile": {"name": "Dos"}, "wa_id": "2"}]

    unit = split_webhook(body, PNI).units[0]
    msg = parse_message(unit.payload, unit.contacts)

    assert msg.sender.key == MARIA
    assert msg.sender.name is None


# --------------------------------------------------------------------------------------------------
# Robustness: a malformed but signed body must become named rejections, never an exception
# (an exception in ingest means HTTP 500 and Meta retrying the same body for 7 days).
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("1772560800000", id="milliseconds"),
        pytest.param("\u00b2", id="superscript-digit"),
    ],
)
def test_out_of_range_message_timestamp_is_rejected_not_raised(timestamp: str) -> None:
    body = read_event("whatsapp/batched.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = timestamp

    result = split_webhook(body, PNI)

    assert [r.reason for r in result.rejected] == ["message: timestamp is not unix seconds"]
    assert len(result.units) == 5


def test_out_of_range_status_timestamp_is_rejected_not_raised() -> None:
    body = read_event("whatsapp/batched.json")
    body["entry"][0]["changes"][1]["value"]["statuses"][0]["timestamp"] = "1772563805000"

    result = split_webhook(body, PNI)

    assert [r.reason for r in result.rejected] == ["status: timestamp is not unix seconds"]
    assert len(result.units) == 5


@pytest.mark.parametrize("key", ["contacts", "errors"])
@pytest.mark.parametrize("bad", [0, 1])
def test_scalar_contacts_or_errors_in_value_do_not_crash_split(key: str, bad: Any) -> None:
    body = read_event("whatsapp/text.json")
    body["entry"][0]["changes"][0]["value"][key] = bad

    result = split_webhook(body, PNI)  # must not raise

    assert len(result.units) + len(result.rejected) >= 1


@pytest.mark.parametrize(
    ("name", "path", "bad"),
    [
        pytest.param("order", ("order", "product_items"), 3, id="order-items-int"),
        pytest.param("contacts", ("contacts", 0, "phones"), 1, id="contact-phones-int"),
        pytest.param("contacts", ("contacts", 0, "emails"), True, id="contact-emails-bool"),
        pytest.param("unsupported", ("errors",), 131051, id="message-errors-int"),
    ],
)
def test_malformed_nested_fields_do_not_crash_parse_message(name: str, path: tuple[Any, ...], bad: Any) -> None:
    body = read_event(f"whatsapp/{name}.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    target: Any = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad

    msg = parse_message(message)  # documented: raises only when the message cannot be identified

    assert msg.provider_message_id == message["id"]


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        pytest.param("errors", 131047, id="errors-int"),
        pytest.param("conversation", {"id": "c", "expiration_timestamp": "1748822400000"}, id="expiry-ms"),
    ],
)
def test_malformed_status_fields_do_not_crash_parse_status(key: str, bad: Any) -> None:
    status = {"id": STATUS_WAMID, "status": "failed", "timestamp": "1772563805", "recipient_id": JOSE, key: bad}

    st = parse_status(status)

    assert st.provider_message_id == STATUS_WAMID
