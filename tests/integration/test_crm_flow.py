"""The CRM end to end on the local stack: an inbound WhatsApp message creates the contact and the
conversation; the plan cap flags new contacts without losing messages; merge and split through the API."""

from __future__ import annotations

import pytest

from infra.local.stack import LocalStack
from tests.integration.api_client import OPERATOR_KEY, call, onboard
from tests.integration.conftest import wait_for
from tests.integration.payloads import envelope, new_wamid

pytestmark = pytest.mark.integration


def _connect(stack: LocalStack, tenant: str, pni: str, secret: str) -> str:
    answer = call(stack, "POST", f"/platform/v1/tenants/{tenant}/channels", {
        "phone_number_id": pni, "app_secret": secret, "access_token": f"{tenant}-token"}, key=OPERATOR_KEY)
    assert answer.status == 201, answer.text
    assert answer.body["webhook_url"].endswith(f"/webhooks/whatsapp/{answer.body['channel']['channel_id']}")
    return str(answer.body["channel"]["channel_id"])


def _inbound(stack: LocalStack, channel_id: str, pni: str, secret: str, wa_id: str, text: str,
             name: str = "Cliente") -> None:
    body = envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [{
        "from": wa_id, "id": new_wamid(), "timestamp": "1795290000", "type": "text", "text": {"body": text}}]},
        pni=pni)
    status, _ = stack.post_webhook(body, secret=secret, channel_id=channel_id)
    assert status == 200


def test_first_message_creates_the_contact_and_the_conversation(stack: LocalStack) -> None:
    key = onboard(stack, "crm-in")
    channel = _connect(stack, "crm-in", "300000000000001", "crm-in-secret")
    # an imported contact with the same number written the Argentine domestic way
    imported = call(stack, "POST", "/v1/contacts", {"name": "Ana (import)", "phone": "011 15 2345-6789",
                                                      "default_country": "AR"}, key=key)
    assert imported.status == 201
    _inbound(stack, channel, "300000000000001", "crm-in-secret", "5491123456789", "hola, quiero saber mi saldo")
    stack.wait_idle()
    conversations = wait_for(lambda: call(stack, "GET", "/v1/conversations", key=key).body["items"])
    assert len(conversations) == 1
    conversation = conversations[0]
    # the sender was matched to the imported contact by the normalized phone, not duplicated
    assert conversation["contact_id"] == imported.body["contact_id"]
    contact = call(stack, "GET", f"/v1/contacts/{imported.body['contact_id']}", key=key).body
    assert {"kind": "whatsapp", "value": "5491123456789", "channel_id": channel} in contact["identities"]
    assert contact["last_inbound_at"] is not None
    detail = call(stack, "GET", f"/v1/conversations/{conversation['conversation_id']}", key=key).body
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"] == ["hola, quiero saber mi saldo"]
    assert detail["window_open"] is True
    closed = call(stack, "POST", f"/v1/conversations/{conversation['conversation_id']}/close", key=key)
    assert closed.status == 200 and closed.body["status"] == "closed"
    assert call(stack, "GET", "/v1/conversations?status=open", key=key).body["items"] == []


def test_at_the_plan_cap_new_contacts_are_flagged_and_messages_kept(stack: LocalStack) -> None:
    key = onboard(stack, "crm-cap", max_contacts=1)
    channel = _connect(stack, "crm-cap", "300000000000002", "crm-cap-secret")
    assert call(stack, "POST", "/v1/contacts", {"name": "Primero", "phone": "+56 9 1234 5678"}, key=key).status == 201
    refused = call(stack, "POST", "/v1/contacts", {"name": "Segundo", "phone": "+56 9 8765 4321"}, key=key)
    assert refused.status == 402 and refused.body["code"] == "plan_limit_reached"
    _inbound(stack, channel, "300000000000002", "crm-cap-secret", "56987654321", "hola")
    stack.wait_idle()
    conversations = wait_for(lambda: call(stack, "GET", "/v1/conversations", key=key).body["items"])
    flagged = call(stack, "GET", f"/v1/contacts/{conversations[0]['contact_id']}", key=key).body
    assert flagged["over_cap"] is True
    detail = call(stack, "GET", f"/v1/conversations/{conversations[0]['conversation_id']}", key=key).body
    assert [m["text"] for m in detail["messages"]] == ["hola"]
    usage = call(stack, "GET", "/platform/v1/tenants/crm-cap/usage", key=OPERATOR_KEY).body
    assert usage == {"contacts": 1, "max_contacts": 1}


def test_merge_then_split_round_trip_through_the_api(stack: LocalStack) -> None:
    key = onboard(stack, "crm-merge")
    a = call(stack, "POST", "/v1/contacts", {"name": "Carla", "phone": "+57 300 123 4567", "tags": ["vip"]},
             key=key).body
    b = call(stack, "POST", "/v1/contacts", {"name": "Carla R.", "phone": "+57 300 123 4567",
                                             "email": "carla@example.co", "tags": ["newsletter"]}, key=key).body
    dupes = call(stack, "GET", "/v1/duplicates", key=key).body["items"]
    assert {"kind": "phone", "value": "+573001234567",
            "contact_ids": sorted([a["contact_id"], b["contact_id"]])} in dupes
    merged = call(stack, "POST", "/v1/merges", {"survivor_id": a["contact_id"], "merged_id": b["contact_id"]},
                  key=key)
    assert merged.status == 201
    survivor = call(stack, "GET", f"/v1/contacts/{a['contact_id']}", key=key).body
    assert set(survivor["tags"]) == {"vip", "newsletter"}
    assert {"kind": "email", "value": "carla@example.co", "channel_id": None} in survivor["identities"]
    listed = [c["contact_id"] for c in call(stack, "GET", "/v1/contacts", key=key).body["items"]]
    assert b["contact_id"] not in listed
    assert call(stack, "GET", "/v1/duplicates", key=key).body["items"] == []
    split = call(stack, "POST", f"/v1/merges/{merged.body['merge_id']}/split", key=key)
    assert split.status == 200, split.text
    assert split.body["survivor"]["tags"] == ["vip"]
    assert split.body["restored"]["merged_into"] is None
    restored = call(stack, "GET", f"/v1/contacts/{b['contact_id']}", key=key).body
    assert {"kind": "email", "value": "carla@example.co", "channel_id": None} in restored["identities"]
    again = call(stack, "POST", f"/v1/merges/{merged.body['merge_id']}/split", key=key)
    assert again.status == 409


def test_send_outside_the_window_needs_a_template(stack: LocalStack) -> None:
    key = onboard(stack, "crm-send")
    channel = _connect(stack, "crm-send", "300000000000004", "crm-send-secret")
    contact = call(stack, "POST", "/v1/contacts", {"name": "Pedro", "phone": "+51 987 654 321"}, key=key).body
    refused = call(stack, "POST", "/v1/messages", {"contact_id": contact["contact_id"], "channel_id": channel,
                                                    "content": {"type": "text", "body": "hola"}}, key=key)
    assert refused.status == 422 and "template" in refused.body["detail"]
    accepted = call(stack, "POST", "/v1/messages", {
        "contact_id": contact["contact_id"], "channel_id": channel,
        "content": {"type": "template", "name": "bienvenida", "language": "es"}}, key=key)
    assert accepted.status == 202, accepted.text
    assert accepted.body["to"] == "51987654321"


def test_rate_limit_answers_429_with_retry_after(stack: LocalStack) -> None:
    key = onboard(stack, "crm-rate", rate_limit_per_s=3)
    statuses = [call(stack, "GET", "/v1/fields", key=key) for _ in range(12)]
    limited = [a for a in statuses if a.status == 429]
    assert limited, [a.status for a in statuses]
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].body["code"] == "rate_limited"


def test_a_tenant_plan_retention_puts_a_ttl_on_its_messages(stack: LocalStack) -> None:
    import time

    from tests.integration.conftest import table

    created = call(stack, "POST", "/platform/v1/tenants", {
        "tenant_id": "crm-ttl", "name": "TTL", "plan": {"max_contacts": 10, "retention_days": 7}}, key=OPERATOR_KEY)
    assert created.status == 201, created.text
    channel = _connect(stack, "crm-ttl", "300000000000005", "crm-ttl-secret")
    before = int(time.time())
    _inbound(stack, channel, "300000000000005", "crm-ttl-secret", "56911112222", "borrar en 7 días")
    stack.wait_idle()
    items = wait_for(lambda: [i for i in table(stack).scan()["Items"]
                              if str(i["pk"]).startswith(f"T#crm-ttl#MSG#{channel}#")])
    assert before + 7 * 86400 - 60 <= int(items[0]["expires_at"]) <= int(time.time()) + 7 * 86400 + 60
