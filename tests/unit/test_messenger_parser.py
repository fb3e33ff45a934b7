"""Messenger and Instagram webhooks: signature (Meta's own vector), splitting into units with dedup keys, echoes
ignored, other pages rejected, and normalization of every messaging item kind. Oracle fixtures come from
../shared/oracle-fixtures (skipped when absent); the rest are built from Meta's documented shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.models.messages import MessageType, StatusKind
from shared.services.messenger_parser import parse_messaging, parse_page_status, split_page_webhook
from shared.services.signature import verify_signature
from shared.services.webhook_units import PayloadShapeError

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "oracle-fixtures"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAGE, USER = "106195825075770", "6357858494326947"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"oracle fixture {name} not available (../shared absent)")
    return path.read_bytes()


def envelope(*items: dict[str, Any], page: str = PAGE, obj: str = "page") -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": page, "time": 1692813219204, "messaging": list(items)}]}


def item(**kind: Any) -> dict[str, Any]:
    return {"sender": {"id": USER}, "recipient": {"id": PAGE}, "timestamp": 1692813218705, **kind}


def one(body: dict[str, Any], kind: str = "messenger") -> Any:
    split = split_page_webhook(body, kind=kind, account_id=PAGE)  # type: ignore[arg-type]
    assert not split.rejected and len(split.units) == 1, split
    return split.units[0]


# --- signature and the real payloads ---------------------------------------------------------------------

def test_metas_signed_messenger_vector_verifies_and_a_changed_byte_does_not() -> None:
    raw = fixture_bytes("messenger/text_message_signed.json")
    secret = "f74a638462f975e9eadfcbb84e4aa06b"
    header = "sha256=8620d18213fa2612d16117b65168ef97404fa13189528014c5362fec31215985"
    assert verify_signature(secret, raw, header)
    assert not verify_signature(secret, raw.replace(b"asdfa", b"asdfb"), header)
    assert not verify_signature(secret + "x", raw, header)


def test_the_signed_text_message_becomes_one_text_unit_keyed_by_mid() -> None:
    body = json.loads(fixture_bytes("messenger/text_message_signed.json"))
    unit = one(body)
    assert (unit.kind, unit.contact_key) == ("message", USER)
    assert unit.dedup_key.startswith("m_kT_mWOSYh")
    message = parse_messaging(unit.payload, provider="messenger", received_at=NOW)
    assert (message.type, message.text, message.sender.key, message.sender.provider) == (
        MessageType.TEXT, "asdfa", USER, "messenger")
    assert message.provider_message_id == unit.dedup_key
    assert message.sent_at == datetime(2023, 8, 23, 17, 53, 38, 705000, tzinfo=UTC)


def test_an_image_attachment_keeps_its_cdn_url() -> None:
    raw = json.loads(fixture_bytes("messenger/event_image_attachment.json"))
    page = raw["recipient"]["id"]
    [unit] = split_page_webhook(envelope(raw, page=page), kind="messenger", account_id=page).units
    message = parse_messaging(unit.payload, provider="messenger", received_at=NOW)
    assert message.type is MessageType.IMAGE and message.media is not None
    assert message.media.url is not None and message.media.url.startswith("https://scontent.xx.fbcdn.net/")
    assert message.provider_message_id == "mid.$cAAE1UUyiiwthh1ZAO1bVhDxGk2N0"


def test_a_get_started_postback_is_a_reply_with_its_payload_and_referral() -> None:
    raw = json.loads(fixture_bytes("messenger/event_postback_get_started_referral.json"))
    page = raw["recipient"]["id"]
    [unit] = split_page_webhook(envelope(raw, page=page), kind="messenger", account_id=page).units
    message = parse_messaging(unit.payload, provider="messenger", received_at=NOW)
    assert message.type is MessageType.INTERACTIVE and message.interactive is not None
    assert (message.interactive.kind, message.interactive.id, message.text) == (
        "postback", "__GET_STARTED__", "Get Started")
    assert message.referral is not None and message.referral.source_id == "aaaa"
    # no mid: the id is stable across Meta's redeliveries, and the same for the queue and the store
    assert message.provider_message_id == unit.dedup_key


def test_an_instagram_echo_is_acknowledged_not_stored() -> None:
    body = json.loads(fixture_bytes("instagram/message_echo.json"))
    split = split_page_webhook(body, kind="instagram", account_id="90010138419114")
    assert (split.units, split.rejected, split.ignored) == ([], [], 1)


# --- splitting -------------------------------------------------------------------------------------------

def test_several_entries_and_items_become_units_and_echoes_standby_and_optins_are_ignored() -> None:
    body = envelope(item(message={"mid": "m_1", "text": "hola"}),
                    item(message={"mid": "m_echo", "text": "yo", "is_echo": True}),
                    item(optin={"ref": "x"}),
                    item(message={"mid": "m_2", "text": "otra"}))
    body["entry"].append({"id": PAGE, "time": 1, "messaging": [item(message={"mid": "m_3", "text": "3"})],
                          "standby": [item(message={"mid": "m_sb", "text": "other app"})]})
    split = split_page_webhook(body, kind="messenger", account_id=PAGE)
    assert [u.dedup_key for u in split.units] == ["m_1", "m_2", "m_3"]
    assert split.ignored == 3 and split.rejected == []


def test_entries_of_another_page_and_malformed_items_are_rejected_with_a_reason() -> None:
    body = envelope(item(message={"text": "no mid"}), {"sender": {}, "message": {"mid": "m"}}, "junk")
    body["entry"].append({"id": "999999999", "messaging": [item(message={"mid": "m_x", "text": "x"})]})
    split = split_page_webhook(body, kind="messenger", account_id=PAGE)
    assert split.units == []
    reasons = [r.reason for r in split.rejected]
    assert reasons == ["message without mid", "message without sender.id or recipient.id",
                       "messaging item is not an object", "entry for account '999999999', not this channel's"]


@pytest.mark.parametrize("body", [[1, 2], {"object": "whatsapp_business_account", "entry": []},
                                  {"object": "instagram", "entry": []}, {"object": "page", "entry": {}}])
def test_a_body_that_is_not_this_products_webhook_is_rejected(body: Any) -> None:
    split = split_page_webhook(body, kind="messenger", account_id=PAGE)
    assert split.units == [] and len(split.rejected) == 1


def test_deliveries_become_one_status_per_mid_and_reads_by_mid_or_watermark() -> None:
    body = envelope(item(delivery={"mids": ["m_a", "m_b"], "watermark": 1692813218000}),
                    item(read={"watermark": 1692813219000}), item(read={"mid": "m_a"}), item(delivery={}))
    split = split_page_webhook(body, kind="messenger", account_id=PAGE)
    assert [(u.kind, u.dedup_key) for u in split.units] == [
        ("status", "m_a:delivered"), ("status", "m_b:delivered"), ("status", f"read:{USER}:1692813219000"),
        ("status", "m_a:read")]
    assert split.ignored == 1  # a delivery without mids
    delivered = parse_page_status(split.units[0].payload, provider="messenger", received_at=NOW)
    assert (delivered.provider_message_id, delivered.status, delivered.recipient.key) == (
        "m_a", StatusKind.DELIVERED, USER)
    read = parse_page_status(split.units[2].payload, provider="messenger", received_at=NOW)
    assert read.status is StatusKind.READ and read.watermark == datetime(2023, 8, 23, 17, 53, 39, tzinfo=UTC)


# --- normalization ---------------------------------------------------------------------------------------

def parsed(kind: str = "messenger", **fields: Any) -> Any:
    return parse_messaging(item(**fields), provider=kind, received_at=NOW)  # type: ignore[arg-type]


def test_a_quick_reply_tap_is_a_button_reply_with_its_payload() -> None:
    message = parsed(message={"mid": "m_q", "text": "Saldo", "quick_reply": {"payload": "menu:saldo"}})
    assert message.type is MessageType.INTERACTIVE and message.interactive is not None
    assert (message.interactive.kind, message.interactive.id, message.interactive.title, message.text) == (
        "button_reply", "menu:saldo", "Saldo", "Saldo")


def test_a_reply_keeps_the_quoted_mid() -> None:
    message = parsed(message={"mid": "m_r", "text": "sí", "reply_to": {"mid": "m_original"}})
    assert message.context is not None and message.context.message_id == "m_original"


@pytest.mark.parametrize(("attachment", "expected"), [
    ("video", MessageType.VIDEO), ("audio", MessageType.AUDIO), ("file", MessageType.DOCUMENT)])
def test_media_attachments_map_to_their_types(attachment: str, expected: MessageType) -> None:
    message = parsed(message={"mid": "m_m", "attachments": [
        {"type": attachment, "payload": {"url": "https://cdn.fbsbx.com/x"}}]})
    assert message.type is expected and message.media is not None and message.media.url == "https://cdn.fbsbx.com/x"


def test_a_sticker_and_a_location_and_several_attachments() -> None:
    sticker = parsed(message={"mid": "m_s", "sticker_id": 369239263222822, "attachments": [
        {"type": "image", "payload": {"url": "https://x/sticker.png", "sticker_id": 369239263222822}}]})
    assert sticker.type is MessageType.STICKER and sticker.media is not None
    where = parsed(message={"mid": "m_l", "attachments": [
        {"type": "location", "title": "Oficina", "payload": {"coordinates": {"lat": -34.6, "long": -58.38}}}]})
    assert where.type is MessageType.LOCATION and where.location is not None
    assert (where.location.latitude, where.location.longitude, where.location.name) == (-34.6, -58.38, "Oficina")
    several = parsed(message={"mid": "m_2", "attachments": [
        {"type": "image", "payload": {"url": "https://x/1.jpg"}}, {"type": "image", "payload": {"url": "https://x/2"}}]})
    assert several.type is MessageType.IMAGE and several.raw is not None  # the second one is not lost


def test_instagram_shares_and_story_mentions_are_readable_and_kept_raw() -> None:
    message = parsed("instagram", message={"mid": "m_ig", "attachments": [
        {"type": "story_mention", "payload": {"url": "https://lookaside.fbsbx.com/story"}}]})
    assert message.type is MessageType.UNSUPPORTED and message.raw is not None
    assert message.text == "[story_mention] https://lookaside.fbsbx.com/story"
    assert message.sender.provider == "instagram"


def test_reactions_and_unreactions_name_the_message() -> None:
    love = parsed("instagram", reaction={"mid": "m_target", "action": "react", "reaction": "love", "emoji": "❤️"})
    assert love.type is MessageType.REACTION and love.reaction is not None
    assert (love.reaction.message_id, love.reaction.emoji, love.reaction.removed) == ("m_target", "❤️", False)
    gone = parsed("instagram", reaction={"mid": "m_target", "action": "unreact"})
    assert gone.reaction is not None and gone.reaction.removed and gone.reaction.emoji is None
    assert love.provider_message_id != gone.provider_message_id


def test_a_referral_for_an_existing_thread_is_a_system_message() -> None:
    message = parsed(referral={"ref": "promo-verano", "source": "SHORTLINK", "type": "OPEN_THREAD"})
    assert message.type is MessageType.SYSTEM and message.system is not None
    assert message.system.body == "promo-verano" and message.referral is not None


def test_an_item_without_a_sender_cannot_be_identified() -> None:
    with pytest.raises(PayloadShapeError):
        parse_messaging({"message": {"mid": "m"}}, provider="messenger", received_at=NOW)


# --- comments --------------------------------------------------------------------------------------------

def test_new_comments_become_comment_units_and_other_feed_changes_are_ignored() -> None:
    from shared.services.messenger_parser import parse_comment

    feed = {"object": "page", "entry": [{"id": PAGE, "time": 1, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "111_222", "post_id": f"{PAGE}_111",
                                    "from": {"id": "4000001", "name": "Lucía Paz"}, "message": "¿Precio?",
                                    "created_time": 1795000000}},
        {"field": "feed", "value": {"item": "comment", "verb": "edited", "comment_id": "111_222",
                                    "from": {"id": "4000001"}}},
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "from": {"id": "4000001"}}},
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "111_333",
                                    "from": {"id": PAGE, "name": "Our page"}, "message": "¡Gracias!"}}]}]}
    split = split_page_webhook(feed, kind="messenger", account_id=PAGE)
    assert [(u.kind, u.dedup_key, u.contact_key) for u in split.units] == [("comment", "comment:111_222", "4000001")]
    assert split.ignored == 3 and split.rejected == []
    comment = parse_comment(split.units[0].payload, tenant_id="t", channel_id="c", provider="messenger",
                            received_at=NOW)
    assert (comment.comment_id, comment.post_id, comment.author_name, comment.text) == (
        "111_222", f"{PAGE}_111", "Lucía Paz", "¿Precio?")
    assert comment.created_at == datetime.fromtimestamp(1795000000, tz=UTC)
    instagram = {"object": "instagram", "entry": [{"id": PAGE, "time": 1, "changes": [
        {"field": "comments", "value": {"id": "17865799348089039", "text": "info", "media": {"id": "1789"},
                                        "from": {"id": "8000009", "username": "lupaz"}}}]}]}
    [unit] = split_page_webhook(instagram, kind="instagram", account_id=PAGE).units
    ig = parse_comment(unit.payload, tenant_id="t", channel_id="c", provider="instagram", received_at=NOW)
    assert (ig.comment_id, ig.post_id, ig.author_id, ig.author_name, ig.created_at) == (
        "17865799348089039", "1789", "8000009", "lupaz", NOW)
