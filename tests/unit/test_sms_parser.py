"""SMS/MMS through Twilio: what becomes a unit, what is ignored or rejected, and how forms are normalized."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.models.messages import MessageType, StatusKind
from shared.services.sms_parser import is_twilio_media_url, parse_sms, parse_sms_status, split_sms_webhook
from shared.services.webhook_units import PayloadShapeError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = "AC" + "a1" * 16
NUMBER = "+14155550100"
CUSTOMER = "+5491155550000"
SID = "SM" + "0123456789abcdef" * 2
MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'1' * 32}/Media/ME{'2' * 32}"


def inbound(**fields: str) -> list[tuple[str, str]]:
    form = {"ToCountry": "US", "SmsMessageSid": SID, "NumMedia": "0", "SmsSid": SID, "SmsStatus": "received",
            "Body": "Hola, quiero saber mi saldo", "To": NUMBER, "NumSegments": "1", "MessageSid": SID,
            "AccountSid": ACCOUNT, "From": CUSTOMER, "FromCountry": "AR", "FromCity": "", "ApiVersion": "2010-04-01",
            **fields}
    return [(k, v) for k, v in form.items() if v != "<absent>"]


def status(value: str, **fields: str) -> list[tuple[str, str]]:
    form = {"SmsSid": SID, "SmsStatus": value, "MessageStatus": value, "To": CUSTOMER, "MessageSid": SID,
            "AccountSid": ACCOUNT, "From": NUMBER, "ApiVersion": "2010-04-01", **fields}
    return [(k, v) for k, v in form.items() if v != "<absent>"]


def split(pairs: list[tuple[str, str]], number: str = NUMBER) -> Any:
    return split_sms_webhook(pairs, account_sid=ACCOUNT, number=number)


def test_an_inbound_sms_is_one_message_unit_keyed_by_its_sid_and_sender() -> None:
    result = split(inbound())
    [unit] = result.units
    assert unit.kind == "message" and unit.dedup_key == SID and unit.contact_key == CUSTOMER
    assert not result.rejected and result.ignored == 0
    message = parse_sms(unit.payload, received_at=NOW)
    assert message.provider == "sms" and message.provider_message_id == SID
    assert message.type is MessageType.TEXT and message.raw_type == "sms"
    assert message.text == "Hola, quiero saber mi saldo" and message.sent_at == NOW
    assert message.sender.key == CUSTOMER and message.sender.phone == "5491155550000"
    assert message.sender.provider == "sms" and message.media is None and message.raw is None


def test_the_channel_number_may_be_written_with_separators() -> None:
    assert len(split(inbound(), number="+1 (415) 555-0100").units) == 1


def test_a_repeated_name_keeps_its_last_value() -> None:
    [unit] = split([*inbound(), ("Body", "segunda")]).units
    assert unit.payload["Body"] == "segunda"


def test_an_mms_on_a_twilio_host_keeps_its_media_and_caption() -> None:
    [unit] = split(inbound(NumMedia="1", MediaUrl0=MEDIA, MediaContentType0="image/jpeg", Body="mi DNI")).units
    message = parse_sms(unit.payload, received_at=NOW)
    assert message.type is MessageType.IMAGE and message.raw_type == "mms"
    assert message.media is not None and message.media.url == MEDIA and message.media.mime_type == "image/jpeg"
    assert message.media.caption == "mi DNI" and message.text == "mi DNI" and message.raw is None


@pytest.mark.parametrize(("mime", "mtype"), [
    ("video/mp4", MessageType.VIDEO), ("audio/ogg", MessageType.AUDIO), ("IMAGE/PNG", MessageType.IMAGE),
    ("application/pdf", MessageType.DOCUMENT), ("text/vcard", MessageType.DOCUMENT), ("", MessageType.DOCUMENT)])
def test_the_media_type_follows_the_mime_prefix(mime: str, mtype: MessageType) -> None:
    form = dict(inbound(NumMedia="1", MediaUrl0=MEDIA, MediaContentType0=mime, Body=""))
    message = parse_sms(form, received_at=NOW)
    assert message.type is mtype and message.text is None
    assert message.media is not None and message.media.mime_type == (mime or None)


def test_media_off_twilio_is_dropped_and_kept_raw_with_the_reason() -> None:
    # given an MMS whose media URL is not Twilio's (a forged or relayed form)
    form = dict(inbound(NumMedia="1", MediaUrl0="https://attacker.example/x.jpg", MediaContentType0="image/jpeg",
                        Body="mirá esto"))
    # when it is normalized
    message = parse_sms(form, received_at=NOW)
    # then the text stays, the URL is never referenced as media, and the form is kept with why
    assert message.type is MessageType.TEXT and message.text == "mirá esto" and message.media is None
    assert message.raw is not None and message.raw["payload"] == form
    assert "not an https URL on a Twilio media host" in message.raw["reason"]


def test_dropped_media_without_text_is_unsupported_not_an_empty_text() -> None:
    form = dict(inbound(NumMedia="1", MediaUrl0="http://api.twilio.com/x", Body=""))
    message = parse_sms(form, received_at=NOW)
    assert message.type is MessageType.UNSUPPORTED and message.text is None and message.media is None
    assert message.raw is not None and "Twilio media host" in message.raw["reason"]


def test_more_than_one_media_keeps_the_first_and_the_whole_form() -> None:
    second = MEDIA.replace("ME2", "ME3")
    form = dict(inbound(NumMedia="2", MediaUrl0=MEDIA, MediaContentType0="image/png", MediaUrl1=second,
                        MediaContentType1="application/pdf", Body=""))
    message = parse_sms(form, received_at=NOW)
    assert message.type is MessageType.IMAGE and message.media is not None and message.media.url == MEDIA
    assert message.raw is not None and message.raw["payload"]["MediaUrl1"] == second
    assert "2 media" in message.raw["reason"]


@pytest.mark.parametrize(("url", "ok"), [
    (MEDIA, True),
    ("https://media.twiliocdn.com/ACx/abc", True),
    ("https://s3-external-1.twilio.com/x", True),
    ("https://API.TWILIO.COM/x", True),
    ("https://api.twilio.com:443/x", True),
    ("http://api.twilio.com/x", False),
    ("https://api.twilio.com:8443/x", False),
    ("https://twilio.com.attacker.example/x", False),
    ("https://eviltwilio.com/x", False),
    ("https://attacker.example/api.twilio.com", False),
    ("https://attacker.example@api.twilio.com/x", False),
    ("https://api.twilio.com@attacker.example/x", False),
    ("https://attacker.example\\@api.twilio.com/x", False),
    ("https://api.twilio.com.", False),
    ("ftp://api.twilio.com/x", False),
    ("", False),
])
def test_only_https_urls_on_twilio_media_hosts_are_trusted(url: str, ok: bool) -> None:
    assert is_twilio_media_url(url) is ok


@pytest.mark.parametrize(("pairs", "says"), [
    (inbound(MessageSid="<absent>"), "no MessageSid"),
    (inbound(AccountSid="AC" + "f" * 32), "not this channel's"),
    (inbound(AccountSid="<absent>"), "not this channel's"),
    (inbound(To="+14155550199"), "not sent to this channel's number"),
    (inbound(To="whatsapp:" + NUMBER), "not sent to this channel's number"),
    (inbound(From=""), "without From"),
    (status("delivered", From="+14155550199"), "not sent from this channel's number"),
    (status("delivered", To="<absent>"), "without To"),
])
def test_forms_of_someone_else_or_without_ids_are_rejected(pairs: list[tuple[str, str]], says: str) -> None:
    result = split(pairs)
    assert not result.units and result.ignored == 0
    [rejection] = result.rejected
    assert says in rejection.reason and rejection.fragment == dict(pairs)


def test_a_whatsapp_over_twilio_form_is_not_an_sms_for_this_channel(oracle_fixtures: Path) -> None:
    form = json.loads((oracle_fixtures / "twilio" / "inbound_whatsapp_ctwa_referral_form.json").read_text("utf-8"))
    # Chatwoot's form only has the deprecated SmsSid: rejected
    [no_sid] = split_sms_webhook(list(form.items()), account_sid=form["AccountSid"], number=NUMBER).rejected
    assert "no MessageSid" in no_sid.reason
    # with a MessageSid, its whatsapp: addresses are still not this SMS number
    form |= {"MessageSid": form["SmsSid"], "To": "whatsapp:" + NUMBER}
    [other] = split_sms_webhook(list(form.items()), account_sid=form["AccountSid"], number=NUMBER).rejected
    assert "not sent to this channel's number" in other.reason


@pytest.mark.parametrize("value", ["queued", "accepted", "scheduled", "sending"])
def test_initial_statuses_are_ignored(value: str) -> None:
    result = split(status(value))
    assert not result.units and not result.rejected and result.ignored == 1


@pytest.mark.parametrize(("value", "kind"), [
    ("sent", StatusKind.SENT), ("delivered", StatusKind.DELIVERED), ("read", StatusKind.READ)])
def test_status_callbacks_are_keyed_by_sid_and_status_on_the_recipients_thread(value: str,
                                                                               kind: StatusKind) -> None:
    [unit] = split(status(value)).units
    assert unit.kind == "status" and unit.dedup_key == f"{SID}:{value}" and unit.contact_key == CUSTOMER
    update = parse_sms_status(unit.payload, received_at=NOW)
    assert update.provider == "sms" and update.provider_message_id == SID
    assert update.status is kind and update.raw_status == value and update.at == NOW and not update.errors
    assert update.recipient.key == CUSTOMER and update.recipient.provider == "sms"
    assert update.recipient.phone == "5491155550000"


def test_undelivered_with_30007_is_failed_with_a_readable_error() -> None:
    [unit] = split(status("undelivered", ErrorCode="30007")).units
    update = parse_sms_status(unit.payload, received_at=NOW)
    assert update.status is StatusKind.FAILED and update.raw_status == "undelivered"
    [error] = update.errors
    assert error.code == 30007 and error.title == "Message filtered by the carrier"
    assert error.href == "https://www.twilio.com/docs/errors/30007"


def test_failed_keeps_twilios_error_message_and_unknown_codes_get_a_title() -> None:
    failed = parse_sms_status(dict(status("failed", ErrorCode="30410", ErrorMessage="Provider timeout")),
                              received_at=NOW)
    assert failed.status is StatusKind.FAILED
    assert [(e.code, e.title) for e in failed.errors] == [(30410, "Provider timeout")]
    unknown_code = parse_sms_status(dict(status("failed", ErrorCode="39999")), received_at=NOW)
    assert [(e.code, e.title) for e in unknown_code.errors] == [(39999, "Twilio error 39999")]
    no_code = parse_sms_status(dict(status("undelivered")), received_at=NOW)
    assert [(e.code, e.title) for e in no_code.errors] == [(None, "message undelivered")]


def test_the_two_deliveries_of_one_message_have_distinct_dedup_keys_and_retries_the_same() -> None:
    keys = [u.dedup_key for p in (status("sent"), status("delivered"), status("delivered")) for u in split(p).units]
    assert keys == [f"{SID}:sent", f"{SID}:delivered", f"{SID}:delivered"]


def test_an_unknown_status_is_kept_raw_without_a_kind() -> None:
    [unit] = split(status("canceled")).units
    update = parse_sms_status(unit.payload, received_at=NOW)
    assert update.status is None and update.raw_status == "canceled" and update.rank == 0


def test_a_short_code_sender_has_no_phone() -> None:
    message = parse_sms(dict(inbound(From="22395")), received_at=NOW)
    assert message.sender.key == "22395" and message.sender.phone is None


def test_an_empty_sms_is_unsupported_and_kept() -> None:
    message = parse_sms(dict(inbound(Body="")), received_at=NOW)
    assert message.type is MessageType.UNSUPPORTED and message.raw is not None
    assert message.raw["reason"] == "no Body and no media"


def test_forms_that_cannot_be_identified_raise() -> None:
    with pytest.raises(PayloadShapeError):
        parse_sms({"Body": "hola", "From": CUSTOMER}, received_at=NOW)
    with pytest.raises(PayloadShapeError):
        parse_sms({"MessageSid": SID}, received_at=NOW)
    with pytest.raises(PayloadShapeError):
        parse_sms_status({"MessageSid": SID, "MessageStatus": "sent"}, received_at=NOW)
