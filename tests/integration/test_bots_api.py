"""Bots through the REST API and the real message path: versions, activation, clear errors, pause/resume,
handoff, the session view and the signed links — against moto server and the local gateway."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.provision import DemoChannel
from infra.local.stack import LocalStack
from tests.integration.api_client import call, onboard
from tests.integration.conftest import sends_to, wait_for
from tests.integration.payloads import envelope, text_message

pytestmark = pytest.mark.integration

BOT = """
id: eco
name: Bot de eco
channels: ["*"]
start: main
settings: {coalesce_window_s: 0}
triggers:
  - keywords: ["persona"]
    to: main.derivar
    interrupts: true
flows:
  main:
    start: pedir
    nodes:
      pedir: {type: collect, var: nombre, slot: full_name, prompt: "¿Cómo te llamás?", next: saludo}
      saludo: {type: message, text: "Hola {{nombre}}, versión UNO", next: fin}
      fin: {type: close, text: "Chau"}
      derivar: {type: handoff, team: soporte, skills: [ventas], text: "Te paso con soporte"}
"""


def _post(stack: LocalStack, channel: DemoChannel, wa_id: str, text: str) -> None:
    message = text_message(wa_id, text)
    value = {k: v for k, v in message["entry"][0]["changes"][0]["value"].items() if k in ("contacts", "messages")}
    status, _ = stack.post_webhook(envelope(value, pni=channel.phone_number_id), secret=channel.app_secret,
                                   channel_id=channel.channel_id)
    assert status == 200


def _texts(stack: LocalStack, wa_id: str) -> list[str]:
    out = []
    for request in sends_to(stack, wa_id):
        body = request["body"]
        out.append(body.get("text", {}).get("body") or body.get("interactive", {}).get("body", {}).get("text", ""))
    return out


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> dict[str, Any]:
    key = onboard(stack, "bots-api")
    connected = call(stack, "POST", "/platform/v1/tenants/bots-api/channels", {
        "phone_number_id": "300000000000003", "app_secret": "bots-api-secret", "access_token": "bots-api-token",
        "display_phone_number": "15550003333"}, key="local-platform-key")
    assert connected.status == 201, connected.text
    channel = DemoChannel(tenant_id="bots-api", channel_id=connected.body["channel"]["channel_id"],
                          phone_number_id="300000000000003", app_secret="bots-api-secret")
    return {"key": key, "channel": channel}


def test_invalid_definitions_are_refused_with_lines(stack: LocalStack, tenant: dict[str, Any]) -> None:
    broken = BOT.replace("next: saludo", "next: nowhere").replace("type: message", "type: mesage")
    answer = call(stack, "POST", "/v1/bots", {"source": broken}, key=tenant["key"])
    assert answer.status == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.body["errors"]
    assert any("flows.main.nodes.saludo" in e["path"] and e.get("line") == 16 for e in errors), errors
    assert call(stack, "GET", "/v1/bots", key=tenant["key"]).body["items"] == []  # nothing half-loaded
    validation = call(stack, "POST", "/v1/bots/validate", {"source": BOT}, key=tenant["key"])
    assert validation.status == 200 and validation.body["valid"] is True and validation.body["nodes"] == 4


def test_versions_activation_and_the_message_path(stack: LocalStack, tenant: dict[str, Any]) -> None:
    key, channel = tenant["key"], tenant["channel"]
    first = call(stack, "POST", "/v1/bots", {"source": BOT}, key=key)
    assert first.status == 201, first.text
    assert first.body["version"] == 1 and first.body["active"] is True
    again = call(stack, "POST", "/v1/bots", {"source": BOT}, key=key)
    assert again.body["version"] == 1  # the same text creates no new version

    wa_id = "5491177770001"
    _post(stack, channel, wa_id, "hola")
    wait_for(lambda: "¿Cómo te llamás?" in _texts(stack, wa_id), timeout=20)
    _post(stack, channel, wa_id, "Ana Pérez")
    wait_for(lambda: "Hola Ana Pérez, versión UNO" in _texts(stack, wa_id), timeout=20)

    second = call(stack, "POST", "/v1/bots", {"definition": {
        "id": "eco", "name": "Bot de eco", "channels": ["*"], "start": "main",
        "settings": {"coalesce_window_s": 0},
        "flows": {"main": {"start": "fin", "nodes": {"fin": {"type": "close", "text": "versión DOS"}}}}}}, key=key)
    assert second.status == 201 and second.body["version"] == 2, second.text
    other = "5491177770002"
    _post(stack, channel, other, "hola")
    wait_for(lambda: "versión DOS" in _texts(stack, other), timeout=20)

    rolled_back = call(stack, "POST", "/v1/bots/eco/versions/1/activate", key=key)
    assert rolled_back.status == 200 and rolled_back.body["active_version"] == 1
    versions = call(stack, "GET", "/v1/bots/eco/versions", key=key).body["items"]
    assert [v["version"] for v in versions] == [2, 1] and [v["active"] for v in versions] == [False, True]
    source = call(stack, "GET", "/v1/bots/eco/versions/1", key=key).body
    assert source["source"] == BOT and source["format"] == "yaml"


def test_pause_resume_and_handoff(stack: LocalStack, tenant: dict[str, Any]) -> None:
    key, channel = tenant["key"], tenant["channel"]
    assert call(stack, "POST", "/v1/bots", {"source": BOT}, key=key).status == 201
    assert call(stack, "POST", "/v1/bots/eco/versions/1/activate", key=key).status == 200
    wa_id = "5491177770003"
    _post(stack, channel, wa_id, "hola")
    wait_for(lambda: _texts(stack, wa_id), timeout=20)
    conversation = wait_for(lambda: [c for c in call(stack, "GET", "/v1/conversations", key=key).body["items"]
                                     if c["contact_key"] == wa_id])[0]["conversation_id"]
    session = call(stack, "GET", f"/v1/conversations/{conversation}/bot", key=key).body
    assert session["status"] == "active" and session["node"] == "pedir" and session["paused"] is None

    paused = call(stack, "POST", f"/v1/conversations/{conversation}/bot/pause", {"reason": "agent"}, key=key)
    assert paused.status == 200 and paused.body["paused"] == "agent"
    before = len(_texts(stack, wa_id))
    _post(stack, channel, wa_id, "¿hola?")
    stack.wait_idle()
    assert len(_texts(stack, wa_id)) == before  # silent while an agent owns the conversation

    assert call(stack, "POST", f"/v1/conversations/{conversation}/bot/resume", key=key).body["paused"] is None
    _post(stack, channel, wa_id, "quiero una persona")
    wait_for(lambda: "Te paso con soporte" in _texts(stack, wa_id), timeout=20)
    session = call(stack, "GET", f"/v1/conversations/{conversation}/bot", key=key).body
    assert session["paused"] == "handoff" and session["end_reason"] == "handoff"


def test_channel_conflicts_and_scopes(stack: LocalStack, tenant: dict[str, Any]) -> None:
    key = tenant["key"]
    other = BOT.replace("id: eco", "id: otro")
    conflict = call(stack, "POST", "/v1/bots", {"source": other}, key=key)
    assert conflict.status == 409 and "already answered by bot eco" in conflict.body["detail"]
    reader = onboard(stack, "bots-reader", scopes=["conversations:read"])
    assert call(stack, "POST", "/v1/bots", {"source": BOT}, key=reader).status == 403
    assert call(stack, "GET", "/v1/bots/nope", key=key).status == 404


def test_erasing_a_contact_removes_their_bot_sessions(stack: LocalStack, tenant: dict[str, Any]) -> None:
    from tests.integration.conftest import table

    key, channel = tenant["key"], tenant["channel"]
    assert call(stack, "POST", "/v1/bots", {"source": BOT}, key=key).status == 201
    assert call(stack, "POST", "/v1/bots/eco/versions/1/activate", key=key).status == 200
    wa_id = "5491177770009"
    _post(stack, channel, wa_id, "hola")
    wait_for(lambda: "¿Cómo te llamás?" in _texts(stack, wa_id), timeout=20)
    _post(stack, channel, wa_id, "Dora Privada")  # what the customer typed lives in the session's variables
    wait_for(lambda: any("Dora Privada" in t for t in _texts(stack, wa_id)), timeout=20)
    conversation = next(c for c in call(stack, "GET", "/v1/conversations", key=key).body["items"]
                        if c["contact_key"] == wa_id)
    partition = f"T#bots-api#BOTSESS#{conversation['conversation_id']}"

    def items() -> list[dict[str, Any]]:
        return list(table(stack).query(KeyConditionExpression="pk = :pk",
                                       ExpressionAttributeValues={":pk": partition})["Items"])

    assert items()
    erased = call(stack, "DELETE", f"/v1/contacts/{conversation['contact_id']}", key=key)
    assert erased.status == 202, erased.text
    stack.wait_idle(timeout=60)
    job = wait_for(lambda: (j := call(stack, "GET", f"/v1/jobs/{erased.body['job_id']}", key=key).body)
                   and j["status"] in ("succeeded", "failed") and j, timeout=30)
    assert job["status"] == "succeeded", job
    assert items() == []
    assert job["result"]["counts"]["bot_sessions"] >= 1
