"""SMS through Twilio end to end on the local stack: X-Twilio-Signature over the public URL, dedupe on MessageSid,
the demo bot's menu as numbered text and a numbered answer continuing the flow, one CRM contact with the
WhatsApp contact that has the same phone, status callbacks moving the sent message forward (an undelivered one
stored with Twilio's code), an unsubscribed number stored as a failure, and onboarding through the platform API."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from infra.local.provision import DemoSms, seed_sms_channel
from infra.local.stack import LocalStack
from shared.services.twilio_signature import compute_signature
from tests.integration.api_client import call
from tests.integration.conftest import BANK, wait_for

pytestmark = pytest.mark.integration

SMS = DemoSms(tenant_id=BANK.tenant_id, channel_id="banco-sms", account_sid="AC" + "7" * 32,
              auth_token="banco-twilio-auth-token-77", number="+15550100077")
KEY = "banco-api-key"


@pytest.fixture(scope="module")
def sms(stack: LocalStack, bank: Any) -> DemoSms:
    seed_sms_channel(stack.resources, SMS, webhook_base=stack.url)
    stack.twilio.accounts[SMS.account_sid] = SMS.auth_token
    return SMS


def post(stack: LocalStack, form: list[tuple[str, str]], *, token: str | None = None, channel_id: str | None = None,
         sign_url: str | None = None) -> tuple[int, str]:
    url = f"{stack.url}/webhooks/sms/{channel_id or SMS.channel_id}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token != "":
        headers["X-Twilio-Signature"] = compute_signature(token or SMS.auth_token, sign_url or url, form)
    request = urllib.request.Request(url, method="POST", data=urllib.parse.urlencode(form).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def inbound(sid: str, sender: str, body: str) -> list[tuple[str, str]]:
    return [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
            ("SmsStatus", "received"), ("Body", body), ("To", SMS.number), ("NumSegments", "1"),
            ("MessageSid", sid), ("AccountSid", SMS.account_sid), ("From", sender), ("ApiVersion", "2010-04-01")]


def sends_to(stack: LocalStack, number: str) -> list[dict[str, Any]]:
    return [c for c in list(stack.twilio.calls) if c.get("form", {}).get("To") == number]


def conversation_of(stack: LocalStack, number: str) -> dict[str, Any]:
    found = call(stack, "GET", f"/v1/conversations?channel_id={SMS.channel_id}&limit=100", key=KEY).body
    return next((c for c in found["items"] if c["contact_key"] == number), None)  # type: ignore[return-value]


def test_webhooks_are_verified_against_the_public_url_before_anything_else(stack: LocalStack, sms: DemoSms) -> None:
    form = inbound("SM" + "a" * 32, "+15559990001", "hola")
    assert post(stack, form, token="")[0] == 401
    assert post(stack, form, token="another-auth-token-000")[0] == 401
    assert post(stack, form, sign_url="https://elsewhere.example/webhooks/sms/banco-sms")[0] == 401
    assert post(stack, form, channel_id=BANK.channel_id)[0] == 404  # a WhatsApp channel
    tampered = [(k, "chau" if k == "Body" else v) for k, v in form]
    signature = compute_signature(SMS.auth_token, f"{stack.url}/webhooks/sms/{SMS.channel_id}", form)
    request = urllib.request.Request(f"{stack.url}/webhooks/sms/{SMS.channel_id}", method="POST",
                                     data=urllib.parse.urlencode(tampered).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "X-Twilio-Signature": signature})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    # another account's form is kept in quarantine, answered 200 so Twilio does not retry it
    other = [(k, "AC" + "9" * 32 if k == "AccountSid" else v) for k, v in form]
    status, body = post(stack, other)
    assert status == 200 and "<Response>" in body
    assert sends_to(stack, "+15559990001") == []


def test_the_demo_bot_answers_by_sms_with_numbered_options_and_follows_a_number(
        stack: LocalStack, sms: DemoSms) -> None:
    number = "+15559990002"
    form = inbound("SM" + "b" * 32, number, "hola")
    assert post(stack, form) == (200, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>')
    assert post(stack, form)[0] == 200  # Twilio retries: answered once
    menu = wait_for(lambda: [c for c in sends_to(stack, number) if "1. " in c["form"].get("Body", "")])
    assert len(menu) == 1 and menu[0]["status"] == 201
    assert menu[0]["form"]["From"] == SMS.number
    assert menu[0]["form"]["StatusCallback"] == f"{stack.url}/webhooks/sms/{SMS.channel_id}"
    lines = menu[0]["form"]["Body"].splitlines()
    choice = next(line.split(".", 1)[0] for line in lines if "Solicitar un crédito" in line)
    assert post(stack, inbound("SM" + "c" * 32, number, choice))[0] == 200
    wait_for(lambda: any("DNI" in c["form"].get("Body", "") for c in sends_to(stack, number)))


def test_status_callbacks_move_the_sent_message_forward_and_keep_twilios_error(
        stack: LocalStack, sms: DemoSms) -> None:
    number = "+15559990003"
    assert post(stack, inbound("SM" + "d" * 32, number, "hola"))[0] == 200
    conversation = wait_for(lambda: conversation_of(stack, number))

    def outbound() -> list[dict[str, Any]]:
        detail = call(stack, "GET", f"/v1/conversations/{conversation['conversation_id']}", key=KEY).body
        return [m for m in detail.get("messages", []) if m.get("direction") == "out" and m.get("provider_message_id")]

    [sent] = wait_for(outbound)[:1]
    sid = sent["provider_message_id"]
    assert sid.startswith("SM")

    def callback(status: str, **extra: str) -> list[tuple[str, str]]:
        return [("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("SmsStatus", status),
                ("AccountSid", SMS.account_sid), ("From", SMS.number), ("To", number),
                ("ApiVersion", "2010-04-01"), *extra.items()]

    assert post(stack, callback("sent"))[0] == 200
    assert post(stack, callback("delivered"))[0] == 200
    wait_for(lambda: any(m["provider_message_id"] == sid and m["status"] == "delivered" for m in outbound()))
    assert post(stack, callback("sent"))[0] == 200  # late: never moves it back
    # a later message of the thread that the carrier filtered
    assert post(stack, inbound("SM" + "e" * 32, number, "asesor"))[0] == 200
    second = wait_for(lambda: [m for m in outbound() if m["provider_message_id"] != sid])
    other = second[0]["provider_message_id"]
    undelivered = [(k, other if k in ("MessageSid", "SmsSid") else v) for k, v in callback("undelivered")]
    assert post(stack, [*undelivered, ("ErrorCode", "30007")])[0] == 200
    failed = wait_for(lambda: [m for m in outbound() if m["provider_message_id"] == other
                               and m["status"] == "undelivered"])
    assert failed[0]["error_code"] == 30007
    assert next(m for m in outbound() if m["provider_message_id"] == sid)["status"] == "delivered"


def test_a_number_that_replied_stop_is_a_stored_failure_with_twilios_code(stack: LocalStack, sms: DemoSms) -> None:
    number = "+15559990004"
    stack.twilio.unsubscribed.add(number)
    try:
        assert post(stack, inbound("SM" + "f" * 32, number, "hola"))[0] == 200
        conversation = wait_for(lambda: conversation_of(stack, number))
        failed = wait_for(lambda: [m for m in call(
            stack, "GET", f"/v1/conversations/{conversation['conversation_id']}", key=KEY).body.get("messages", [])
            if m.get("status") == "failed"])
        assert failed[0]["error_code"] == 21610 and "unsubscribed" in failed[0]["error_title"]
    finally:
        stack.twilio.unsubscribed.discard(number)


def test_an_operator_connects_a_twilio_number_through_the_platform_api(stack: LocalStack, bank: Any) -> None:
    path = f"/platform/v1/tenants/{BANK.tenant_id}/channels/sms"
    data = {"account_sid": "AC" + "8" * 32, "auth_token": "operator-twilio-token-88", "number": "+15550100088",
            "channel_id": "banco-sms-api"}
    refused = call(stack, "POST", path, data, key="local-platform-key")
    assert refused.status == 422 and "Authenticate" in refused.text
    stack.twilio.accounts["AC" + "8" * 32] = "operator-twilio-token-88"
    connected = call(stack, "POST", path, data, key="local-platform-key")
    assert connected.status == 201, connected.text
    assert connected.body["webhook_url"].endswith("/webhooks/sms/banco-sms-api")
    assert "operator-twilio-token-88" not in connected.text


def test_one_customer_on_sms_and_messenger_is_offered_as_a_merge_and_then_has_one_history(
        stack: LocalStack, sms: DemoSms) -> None:
    from infra.local.provision import seed_page_channel
    from tests.integration.test_messenger import FB, text
    from tests.integration.test_messenger import post as post_page

    number = "+15559990005"
    seed_page_channel(stack.resources, FB)
    stack.graph.pages.pages[FB.page_token] = FB.token_owner
    assert post(stack, inbound("SM" + "1" * 32, number, "hola"))[0] == 200
    assert post_page(stack, FB, text(FB, "7000008", "m_merge_1", "hola"))[0] == 200
    by_sms = wait_for(lambda: conversation_of(stack, number))["contact_id"]
    by_messenger = wait_for(lambda: next((c for c in call(
        stack, "GET", f"/v1/conversations?channel_id={FB.channel_id}&limit=100", key=KEY).body["items"]
        if c["contact_key"] == "7000008"), None))["contact_id"]
    assert by_sms != by_messenger
    # the agent learns the Messenger customer's phone: the two contacts are offered as one
    added = call(stack, "POST", f"/v1/contacts/{by_messenger}/identities", {"kind": "phone", "value": number},
                 key=KEY)
    assert added.status in (200, 201), added.text
    groups = call(stack, "GET", "/v1/duplicates", key=KEY).body["items"]
    assert any(set(g["contact_ids"]) == {by_sms, by_messenger} for g in groups), groups
    merged = call(stack, "POST", "/v1/merges", {"survivor_id": by_sms, "merged_id": by_messenger}, key=KEY)
    assert merged.status == 201, merged.text
    survivor = call(stack, "GET", f"/v1/contacts/{by_sms}", key=KEY).body
    assert {i["kind"] for i in survivor["identities"]} >= {"messenger", "phone"}
    # one history: both channels' conversations belong to the survivor
    mine = call(stack, "GET", f"/v1/conversations?contact_id={by_sms}&limit=100", key=KEY).body["items"]
    assert {c["channel_id"] for c in mine} >= {SMS.channel_id, FB.channel_id}, mine
