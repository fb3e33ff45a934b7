"""Messenger and Instagram channels end to end on the local stack: signature and handshake, dedupe on mid, the
demo bot's menu as quick replies and a tap continuing the flow, the CRM identity, delivery and read receipts
moving the outbound message forward, a blocked recipient stored as a failure with Meta's reason, the 24-hour
window with a person's HUMAN_AGENT reply, and onboarding through the platform API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.provision import DemoPage, seed_page_channel
from infra.local.stack import LocalStack
from shared.services.signature import sign
from tests.integration.api_client import call
from tests.integration.conftest import BANK, table, wait_for

pytestmark = pytest.mark.integration

FB = DemoPage(tenant_id=BANK.tenant_id, channel_id="banco-messenger", account_id="300000000000001",
              page_token="EAAbanco-messenger-page-token", app_secret="banco-fb-app-secret",
              verify_token="banco-fb-verify", name="Banco Demo")
IG = DemoPage(tenant_id=BANK.tenant_id, channel_id="banco-instagram", kind="instagram",
              account_id="17841400000000077", page_id="300000000000002",
              page_token="EAAbanco-instagram-page-token", app_secret="banco-ig-app-secret",
              verify_token="banco-ig-verify", name="Banco Demo IG")
KEY = "banco-api-key"


@pytest.fixture(scope="module")
def pages(stack: LocalStack, bank: Any) -> tuple[DemoPage, DemoPage]:
    for page in (FB, IG):
        seed_page_channel(stack.resources, page)
        stack.graph.pages.pages[page.page_token] = page.token_owner
    return FB, IG


def post(stack: LocalStack, page: DemoPage, body: Any, *, secret: str | None = None,
         channel_id: str | None = None) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret != "":
        headers["X-Hub-Signature-256"] = sign(secret or page.app_secret, raw)
    request = urllib.request.Request(f"{stack.url}/webhooks/{page.kind}/{channel_id or page.channel_id}",
                                     method="POST", data=raw, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def envelope(page: DemoPage, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page" if page.kind == "messenger" else "instagram",
            "entry": [{"id": page.account_id, "time": int(time.time() * 1000), "messaging": list(items)}]}


def text(page: DemoPage, psid: str, mid: str, body: str, **extra: Any) -> dict[str, Any]:
    return envelope(page, {"sender": {"id": psid}, "recipient": {"id": page.account_id},
                           "timestamp": int(time.time() * 1000), "message": {"mid": mid, "text": body, **extra}})


def sends_to(stack: LocalStack, psid: str) -> list[dict[str, Any]]:
    return [c for c in list(stack.graph.pages.calls) if c["path"].endswith("/me/messages")
            and ((c["body"] or {}).get("recipient") or {}).get("id") == psid]


def conversation_of(stack: LocalStack, page: DemoPage, psid: str) -> dict[str, Any]:
    found = call(stack, "GET", f"/v1/conversations?channel_id={page.channel_id}&limit=100", key=KEY).body
    return next((c for c in found["items"] if c["contact_key"] == psid), None)  # type: ignore[return-value]


def messages_of(stack: LocalStack, conversation_id: str) -> list[dict[str, Any]]:
    return list(call(stack, "GET", f"/v1/conversations/{conversation_id}", key=KEY).body.get("messages", []))


def test_webhooks_are_verified_before_anything_else(stack: LocalStack, pages: Any) -> None:
    update = text(FB, "7000001", "m_auth_1", "hola")
    assert post(stack, FB, update, secret="")[0] == 401
    assert post(stack, FB, update, secret="wrong-secret")[0] == 401
    assert post(stack, FB, update, channel_id=BANK.channel_id)[0] == 404  # a WhatsApp channel
    assert post(stack, FB, update, channel_id=IG.channel_id)[0] in (401, 404)  # another product's channel
    # another page's entry and a body that is not a Messenger webhook are kept in quarantine with the reason
    other = text(FB, "7000001", "m_auth_2", "hola")
    other["entry"][0]["id"] = "399999999999999"
    assert post(stack, FB, other) == (200, {"received": 0, "quarantined": 1})
    assert post(stack, FB, [1, 2]) == (200, {"received": 0, "quarantined": 1})
    # Meta's GET handshake
    query = f"hub.mode=subscribe&hub.verify_token={FB.verify_token}&hub.challenge=1158201444"
    with urllib.request.urlopen(f"{stack.url}/webhooks/messenger/{FB.channel_id}?{query}", timeout=10) as answer:
        assert answer.read() == b"1158201444"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack.url}/webhooks/messenger/{FB.channel_id}?{query.replace('verify', 'x')}",
                               timeout=10)
    assert refused.value.code == 403
    time.sleep(1)
    assert sends_to(stack, "7000001") == []


def test_the_demo_bot_answers_on_messenger_with_quick_replies_and_follows_a_tap(
        stack: LocalStack, pages: Any) -> None:
    psid = "7000002"
    update = text(FB, psid, "m_menu_1", "hola")
    assert post(stack, FB, update) == (200, {"received": 1, "quarantined": 0})
    assert post(stack, FB, update)[0] == 200  # Meta retries: answered once
    menu = wait_for(lambda: [c for c in sends_to(stack, psid) if "quick_replies" in c["body"]["message"]])
    assert len(menu) == 1 and "¿En qué te puedo ayudar?" in menu[0]["body"]["message"]["text"]
    assert menu[0]["status"] == 200 and menu[0]["page_id"] == FB.account_id
    assert menu[0]["body"]["messaging_type"] == "RESPONSE"
    credito = next(q for q in menu[0]["body"]["message"]["quick_replies"] if q["payload"] == "credito")
    # when the customer taps "Solicitar un crédito"
    assert post(stack, FB, text(FB, psid, "m_menu_2", credito["title"],
                                quick_reply={"payload": credito["payload"]}))[0] == 200
    wait_for(lambda: any("DNI" in (c["body"].get("message") or {}).get("text", "") for c in sends_to(stack, psid)))
    time.sleep(2)
    assert len([c for c in sends_to(stack, psid) if "quick_replies" in c["body"]["message"]]) == 1
    # and the customer is one CRM contact with a messenger identity
    conversation = wait_for(lambda: conversation_of(stack, FB, psid))
    contact = call(stack, "GET", f"/v1/contacts/{conversation['contact_id']}", key=KEY).body
    assert {"kind": "messenger", "value": psid}.items() <= next(
        i for i in contact["identities"] if i["kind"] == "messenger").items()


def test_delivery_and_read_receipts_move_the_sent_message_forward(stack: LocalStack, pages: Any) -> None:
    psid = "7000003"
    assert post(stack, FB, text(FB, psid, "m_rcpt_1", "hola"))[0] == 200
    first = wait_for(lambda: sends_to(stack, psid))[0]
    conversation = wait_for(lambda: conversation_of(stack, FB, psid))

    def outbound() -> list[dict[str, Any]]:
        return [m for m in messages_of(stack, conversation["conversation_id"])
                if m.get("direction") == "out" and m.get("provider_message_id")]

    sent = wait_for(outbound)
    mid = sent[0]["provider_message_id"]
    assert mid.startswith("m_LOCAL") and first["status"] == 200
    now_ms = int(time.time() * 1000)
    delivery = envelope(FB, {"sender": {"id": psid}, "recipient": {"id": FB.account_id}, "timestamp": now_ms,
                             "delivery": {"mids": [mid], "watermark": now_ms}})
    assert post(stack, FB, delivery) == (200, {"received": 1, "quarantined": 0})
    wait_for(lambda: any(m["provider_message_id"] == mid and m["status"] == "delivered" for m in outbound()))
    read = envelope(FB, {"sender": {"id": psid}, "recipient": {"id": FB.account_id}, "timestamp": now_ms + 5000,
                         "read": {"watermark": now_ms + 5000}})
    assert post(stack, FB, read)[0] == 200
    wait_for(lambda: all(m["status"] == "read" for m in outbound()))
    # a late delivery never moves it back
    assert post(stack, FB, delivery)[0] == 200
    time.sleep(1.5)
    assert all(m["status"] == "read" for m in outbound())


def test_a_recipient_meta_will_not_deliver_to_is_a_stored_failure_with_metas_reason(
        stack: LocalStack, pages: Any) -> None:
    psid = "7000004"
    stack.graph.pages.blocked.add(psid)
    try:
        assert post(stack, FB, text(FB, psid, "m_block_1", "hola"))[0] == 200
        conversation = wait_for(lambda: conversation_of(stack, FB, psid))
        failed = wait_for(lambda: [m for m in messages_of(stack, conversation["conversation_id"])
                                   if m.get("status") == "failed"])
        assert failed[0]["error_code"] == 551 and "isn't available" in failed[0]["error_title"]
    finally:
        stack.graph.pages.blocked.discard(psid)


def test_after_24_hours_only_a_person_may_reply_with_the_human_agent_tag(stack: LocalStack, pages: Any) -> None:
    psid = "7000005"
    assert post(stack, FB, text(FB, psid, "m_window_1", "hola"))[0] == 200
    conversation = wait_for(lambda: conversation_of(stack, FB, psid))
    stack.wait_idle()
    # the customer's last message was 30 hours ago
    table(stack).update_item(Key={"pk": f"T#{FB.tenant_id}#TH#{FB.channel_id}#{psid}", "sk": "THREAD"},
                             UpdateExpression="SET last_inbound_at = :t",
                             ExpressionAttributeValues={":t": int((datetime.now(UTC) - timedelta(hours=30))
                                                                  .timestamp() * 1000)})
    message = {"contact_id": conversation["contact_id"], "channel_id": FB.channel_id,
               "content": {"type": "text", "body": "Hola, soy Ana del banco"}}
    closed = call(stack, "POST", "/v1/messages", message, key=KEY)
    assert closed.status == 422 and closed.body["code"] == "window_closed"
    accepted = call(stack, "POST", "/v1/messages", {**message, "human_agent": True}, key=KEY)
    assert accepted.status == 202, accepted.text
    tagged = wait_for(lambda: [c for c in sends_to(stack, psid)
                               if (c["body"].get("message") or {}).get("text") == "Hola, soy Ana del banco"])
    assert (tagged[0]["body"]["messaging_type"], tagged[0]["body"]["tag"], tagged[0]["status"]) == (
        "MESSAGE_TAG", "HUMAN_AGENT", 200)


def test_instagram_messages_reach_the_bot_and_replies_go_with_the_linked_pages_token(
        stack: LocalStack, pages: Any) -> None:
    igsid = "8000001"
    assert post(stack, IG, text(IG, igsid, "aWdfm_ig_1", "hola")) == (200, {"received": 1, "quarantined": 0})
    replies = wait_for(lambda: sends_to(stack, igsid))
    assert replies[0]["page_id"] == IG.page_id and replies[0]["status"] == 200
    echo = text(IG, igsid, "aWdfm_ig_echo", "eco", is_echo=True)
    echo["entry"][0]["messaging"][0]["sender"], echo["entry"][0]["messaging"][0]["recipient"] = (
        {"id": IG.account_id}, {"id": igsid})
    assert post(stack, IG, echo) == (200, {"received": 0, "quarantined": 0})  # our own message, not inbound
    conversation = wait_for(lambda: conversation_of(stack, IG, igsid))
    assert conversation["channel_id"] == IG.channel_id


def test_an_operator_connects_a_page_through_the_platform_api(stack: LocalStack, bank: Any) -> None:
    path = f"/platform/v1/tenants/{BANK.tenant_id}/channels/messenger"
    data = {"account_id": "300000000000099", "page_access_token": "EAAoperator-page-token",
            "app_secret": "operator-app-secret", "channel_id": "banco-fb-api"}
    refused = call(stack, "POST", path, data, key="local-platform-key")
    assert refused.status == 422 and "Invalid OAuth" in refused.text  # Meta does not know the token
    stack.graph.pages.pages["EAAoperator-page-token"] = {"id": "300000000000099", "name": "Banco Página"}
    connected = call(stack, "POST", path, data, key="local-platform-key")
    assert connected.status == 201, connected.text
    body = connected.body
    assert body["webhook_url"].endswith("/webhooks/messenger/banco-fb-api") and body["channel"]["kind"] == "messenger"
    assert "messages" in stack.graph.pages.subscriptions["300000000000099"]
    assert "EAAoperator-page-token" not in json.dumps(body["channel"])
    page = DemoPage(tenant_id=BANK.tenant_id, channel_id="banco-fb-api", account_id="300000000000099",
                    page_token="EAAoperator-page-token", app_secret="operator-app-secret")
    assert post(stack, page, text(page, "7000099", "m_api_1", "hola")) == (200, {"received": 1, "quarantined": 0})
    wait_for(lambda: sends_to(stack, "7000099"))


def test_click_to_chat_links_and_qr_codes_per_channel(stack: LocalStack, pages: Any) -> None:
    link = call(stack, "GET", f"/v1/channels/{FB.channel_id}/link?ref=poster-7", key=KEY)
    assert link.status == 200 and link.body == {"channel_id": FB.channel_id, "kind": "messenger",
                                                "url": "https://m.me/demotienda?ref=poster-7"}
    assert call(stack, "GET", f"/v1/channels/{IG.channel_id}/link", key=KEY).body["url"] == "https://ig.me/m/demotienda"
    wa = call(stack, "GET", f"/v1/channels/{BANK.channel_id}/link?text=Hola%20banco", key=KEY).body["url"]
    assert wa == f"https://wa.me/{BANK.display_phone_number}?text=Hola%20banco"
    request = urllib.request.Request(f"{stack.url}/v1/channels/{FB.channel_id}/qr?format=png&ref=poster-7",
                                     headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.headers["Content-Type"] == "image/png" and answer.read()[:4] == b"\x89PNG"
        assert answer.headers["X-Chat-Link"] == "https://m.me/demotienda?ref=poster-7"
    svg = call(stack, "GET", f"/v1/channels/{FB.channel_id}/qr", key=KEY)
    assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    # another tenant's channel does not exist for this key; a bad ref is a 422 with the reason
    assert call(stack, "GET", f"/v1/channels/{FB.channel_id}/link", key="local-demo-api-key").status == 404
    bad = call(stack, "GET", f"/v1/channels/{FB.channel_id}/link?ref=con%20espacios", key=KEY)
    assert bad.status == 422 and "ref" in bad.text


def test_the_bots_persistent_menu_is_published_and_its_postbacks_jump_to_the_flow(
        stack: LocalStack, pages: Any) -> None:
    published = call(stack, "POST", f"/v1/channels/{FB.channel_id}/menu", key=KEY)
    assert published.status == 200, published.text
    assert published.body["bot_id"] == "banco-demo" and len(published.body["items"]) == 4
    profile = stack.graph.pages.profiles[FB.account_id]
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    actions = profile["persistent_menu"][0]["call_to_actions"]
    deudas = next(a for a in actions if a["title"] == "Mis deudas")
    assert deudas == {"type": "postback", "title": "Mis deudas", "payload": "menu:deudas"}
    assert call(stack, "POST", f"/v1/channels/{BANK.channel_id}/menu", key=KEY).status == 422  # WhatsApp has none
    # a tap on the menu, mid-conversation, jumps to the debts flow
    psid = "7000006"
    assert post(stack, FB, text(FB, psid, "m_pm_1", "hola"))[0] == 200
    wait_for(lambda: sends_to(stack, psid))
    tap = envelope(FB, {"sender": {"id": psid}, "recipient": {"id": FB.account_id},
                        "timestamp": int(time.time() * 1000),
                        "postback": {"mid": "m_pm_2", "title": "Mis deudas", "payload": deudas["payload"]}})
    assert post(stack, FB, tap) == (200, {"received": 1, "quarantined": 0})
    wait_for(lambda: len(sends_to(stack, psid)) >= 2)
    stack.wait_idle()
    later = [(c["body"].get("message") or {}).get("text", "") for c in sends_to(stack, psid)[1:]]
    assert any("DNI" in t or "deuda" in t.lower() for t in later), later


def test_a_messenger_image_is_copied_from_the_cdn_url_to_s3(stack: LocalStack, pages: Any) -> None:
    import boto3

    from shared.adapters.dynamodb import DynamoMessageStore

    data = b"\x89PNG\r\n\x1a\n fake png " * 50
    stack.graph.media["fb-img-1"] = (data, "image/png")
    psid = "7000007"
    image = envelope(FB, {"sender": {"id": psid}, "recipient": {"id": FB.account_id},
                          "timestamp": int(time.time() * 1000), "message": {"mid": "m_img_1", "attachments": [
                              {"type": "image", "payload": {"url": f"{stack.url}/local/graph/cdn/fb-img-1"}}]}})
    assert post(stack, FB, image) == (200, {"received": 1, "quarantined": 0})
    messages = DynamoMessageStore(table(stack))
    stored = wait_for(lambda: (m := messages.get_message(FB.tenant_id, FB.channel_id, "m_img_1")) and
                      m.get("media_state") == "stored" and m)
    blob = boto3.client("s3", region_name="us-east-1").get_object(Bucket=stack.resources.bucket,
                                                                  Key=stored["media_s3_key"])["Body"].read()
    assert blob == data


def test_a_comment_is_stored_once_and_answered_with_one_private_reply(stack: LocalStack, pages: Any) -> None:
    comment = {"object": "page", "entry": [{"id": FB.account_id, "time": int(time.time() * 1000), "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "5550_7771",
                                    "post_id": f"{FB.account_id}_5550", "from": {"id": "4000002", "name": "Lucía"},
                                    "message": "¿Qué tasa tiene el préstamo?", "created_time": int(time.time())}}]}]}
    assert post(stack, FB, comment) == (200, {"received": 1, "quarantined": 0})
    assert post(stack, FB, comment)[0] == 200  # redelivered: stored once
    listed = wait_for(lambda: call(stack, "GET", f"/v1/channels/{FB.channel_id}/comments", key=KEY).body["items"])
    assert [(c["comment_id"], c["text"]) for c in listed] == [("5550_7771", "¿Qué tasa tiene el préstamo?")]
    path = f"/v1/channels/{FB.channel_id}/comments/5550_7771/private-reply"
    accepted = call(stack, "POST", path, {"text": "¡Hola Lucía! Te contamos por acá 👋"}, key=KEY)
    assert accepted.status == 202, accepted.text
    assert call(stack, "POST", path, {"text": "otra"}, key=KEY).status == 409  # one private reply per comment
    reply = wait_for(lambda: [c for c in list(stack.graph.pages.calls)
                              if ((c["body"] or {}).get("recipient") or {}).get("comment_id") == "5550_7771"])
    assert reply[0]["status"] == 200 and reply[0]["body"]["message"]["text"].startswith("¡Hola Lucía!")
    assert call(stack, "POST", f"/v1/channels/{FB.channel_id}/comments/nope/private-reply", {"text": "x"},
                key=KEY).status == 404
