"""A Telegram bot channel end to end on the local stack: secret token, dedupe on update_id, the demo bot's menu
as an inline keyboard, a tap answered in the webhook's response and continuing the flow, the CRM contact with
its telegram identity, and a blocked chat stored as a failure with Telegram's reason."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from infra.local.provision import DemoTelegram, seed_telegram_channel
from infra.local.stack import LocalStack
from tests.integration.api_client import call
from tests.integration.conftest import BANK, wait_for

pytestmark = pytest.mark.integration

TG = DemoTelegram(tenant_id=BANK.tenant_id, channel_id="banco-telegram",
                  bot_token="7000000077:AAbanco-telegram-token", secret_token="banco-tg-secret_1")


@pytest.fixture(scope="module")
def telegram(stack: LocalStack, bank: Any) -> DemoTelegram:
    seed_telegram_channel(stack.resources, TG)
    stack.telegram.tokens.add(TG.bot_token)
    return TG


def post(stack: LocalStack, channel_id: str, update: dict[str, Any], secret: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(f"{stack.url}/webhooks/telegram/{channel_id}", method="POST",
                                     data=json.dumps(update).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def calls_to(stack: LocalStack, chat_id: int, method: str | None = None) -> list[dict[str, Any]]:
    return [c for c in stack.telegram.calls if str(c["params"].get("chat_id")) == str(chat_id)
            and (method is None or c["method"] == method)]


def text_update(update_id: int, chat_id: int, text: str, message_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(time.time()), "text": text,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Lucía", "last_name": "Paz", "username": "lupaz"},
        "chat": {"id": chat_id, "type": "private", "first_name": "Lucía"}}}


def test_updates_are_authenticated_before_anything_else(stack: LocalStack, telegram: DemoTelegram) -> None:
    update = text_update(1, 880001, "hola", 1)
    assert post(stack, TG.channel_id, update, None)[0] == 401
    status, body = post(stack, TG.channel_id, update, TG.secret_token + "x")
    assert status == 401 and "X-Telegram-Bot-Api-Secret-Token" in body["error"]
    assert post(stack, "no-such-channel", update, TG.secret_token)[0] == 404
    assert post(stack, BANK.channel_id, update, TG.secret_token)[0] == 404  # a WhatsApp channel
    status, body = post(stack, TG.channel_id, [1, 2], TG.secret_token)
    assert status == 200 and body == {"received": 0, "quarantined": 1}  # kept in quarantine with its reason
    time.sleep(1)
    assert calls_to(stack, 880001) == []


def test_the_demo_bot_answers_on_telegram_with_an_inline_keyboard_and_follows_a_tap(
        stack: LocalStack, telegram: DemoTelegram) -> None:
    chat = 880002
    update = text_update(100, chat, "hola", 10)
    assert post(stack, TG.channel_id, update, TG.secret_token) == (200, {"received": 1, "quarantined": 0})
    assert post(stack, TG.channel_id, update, TG.secret_token)[0] == 200  # Telegram retries: answered once
    menu = wait_for(lambda: [c for c in calls_to(stack, chat, "sendMessage") if "reply_markup" in c["params"]])
    assert len(menu) == 1 and "¿En qué te puedo ayudar?" in menu[0]["params"]["text"]
    assert menu[0]["token"] == TG.bot_token
    buttons = [row[0] for row in menu[0]["params"]["reply_markup"]["inline_keyboard"]]
    credito = next(b for b in buttons if "crédito" in b["text"].lower() and "tarjeta" not in b["text"].lower())
    # when the customer taps "Solicitar un crédito"
    tap = {"update_id": 101, "callback_query": {
        "id": "cbq-880002-1", "chat_instance": "1", "data": credito["callback_data"],
        "from": {"id": chat, "is_bot": False, "first_name": "Lucía"},
        "message": {"message_id": 1001, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
                    "text": menu[0]["params"]["text"], "reply_markup": menu[0]["params"]["reply_markup"]}}}
    status, answer = post(stack, TG.channel_id, tap, TG.secret_token)
    # then the webhook's answer stops the button's spinner, and the flow goes on
    assert status == 200 and answer == {"method": "answerCallbackQuery", "callback_query_id": "cbq-880002-1"}
    wait_for(lambda: any("DNI" in c["params"].get("text", "") for c in calls_to(stack, chat, "sendMessage")))
    time.sleep(2)
    assert len([c for c in calls_to(stack, chat, "sendMessage") if "reply_markup" in c["params"]]) == 1
    # and the customer is one CRM contact with a telegram identity, its conversation on the channel
    found = call(stack, "GET", "/v1/conversations?channel_id=banco-telegram&limit=100", key="banco-api-key").body
    conversation = next(c for c in found["items"] if c["contact_key"] == str(chat))
    contact = call(stack, "GET", f"/v1/contacts/{conversation['contact_id']}", key="banco-api-key").body
    assert contact["name"] == "Lucía Paz"
    assert {"kind": "telegram", "value": str(chat)}.items() <= next(
        i for i in contact["identities"] if i["kind"] == "telegram").items()


def test_a_chat_that_blocked_the_bot_is_a_stored_failure_with_telegrams_reason(
        stack: LocalStack, telegram: DemoTelegram) -> None:
    chat = 880003
    stack.telegram.blocked.add(str(chat))
    try:
        assert post(stack, TG.channel_id, text_update(200, chat, "hola", 20), TG.secret_token)[0] == 200
        wait_for(lambda: calls_to(stack, chat, "sendMessage"))
        found = wait_for(lambda: next((c for c in call(
            stack, "GET", "/v1/conversations?channel_id=banco-telegram&limit=100", key="banco-api-key"
        ).body["items"] if c["contact_key"] == str(chat)), None))

        def failed() -> list[dict[str, Any]]:
            detail = call(stack, "GET", f"/v1/conversations/{found['conversation_id']}", key="banco-api-key").body
            return [m for m in detail.get("messages", []) if m.get("status") == "failed"]

        [message] = wait_for(failed)
        assert message["error_code"] == 403 and "blocked" in message["error_title"]
    finally:
        stack.telegram.blocked.discard(str(chat))


def test_an_operator_connects_a_bot_through_the_platform_api(stack: LocalStack, bank: Any) -> None:
    token = "7000000099:AAoperator-connects-this-bot-token"
    path = f"/platform/v1/tenants/{BANK.tenant_id}/channels/telegram"
    refused = call(stack, "POST", path, {"bot_token": token, "channel_id": "banco-tg-api"}, key="local-platform-key")
    assert refused.status == 422 and "Unauthorized" in refused.text  # Telegram does not know the token
    stack.telegram.tokens.add(token)
    connected = call(stack, "POST", path, {"bot_token": token, "channel_id": "banco-tg-api"},
                     key="local-platform-key")
    assert connected.status == 201, connected.text
    body = connected.body
    assert body["webhook_url"].endswith("/webhooks/telegram/banco-tg-api") and body["channel"]["kind"] == "telegram"
    [registered] = [c for c in stack.telegram.calls if c["token"] == token and c["method"] == "setWebhook"]
    assert registered["params"]["url"] == body["webhook_url"]
    assert registered["params"]["secret_token"] == body["verify_token"]
    assert token not in json.dumps(body["channel"])
    # the registered secret token is what the webhook now requires
    update = text_update(300, 880004, "hola", 30)
    assert post(stack, "banco-tg-api", update, "wrong")[0] == 401
    assert post(stack, "banco-tg-api", update, body["verify_token"]) == (200, {"received": 1, "quarantined": 0})
    wait_for(lambda: [c for c in calls_to(stack, 880004, "sendMessage") if c["token"] == token])


def test_a_telegram_photo_is_found_with_getfile_and_copied_to_s3(stack: LocalStack, telegram: DemoTelegram) -> None:
    import boto3

    from shared.adapters.dynamodb import DynamoMessageStore
    from tests.integration.conftest import table

    data = b"\xff\xd8\xff\xe0 telegram jpeg " * 40
    stack.telegram.files["AgADphoto-1"] = (data, "photos/file_1.jpg")
    chat = 880005
    update = {"update_id": 500, "message": {
        "message_id": 50, "date": int(time.time()), "caption": "mi DNI",
        "photo": [{"file_id": "AgADphoto-small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 10},
                  {"file_id": "AgADphoto-1", "file_unique_id": "b", "width": 800, "height": 800,
                   "file_size": len(data)}],
        "from": {"id": chat, "is_bot": False, "first_name": "Lucía"}, "chat": {"id": chat, "type": "private"}}}
    assert post(stack, TG.channel_id, update, TG.secret_token) == (200, {"received": 1, "quarantined": 0})
    messages = DynamoMessageStore(table(stack))
    stored = wait_for(lambda: (m := messages.get_message(TG.tenant_id, TG.channel_id, f"{chat}:50")) and
                      m.get("media_state") == "stored" and m)
    blob = boto3.client("s3", region_name="us-east-1").get_object(Bucket=stack.resources.bucket,
                                                                  Key=stored["media_s3_key"])["Body"].read()
    assert blob == data
