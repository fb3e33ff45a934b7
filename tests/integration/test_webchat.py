"""Web chat end to end on the local stack: the widget script and config, a session, a message in through the public
API, the demo bot's answer pushed over the WebSocket and kept in the visitor's history, a button tap continuing
the flow, retried posts deduplicated, read receipts moving our message forward, CORS preflight, one visitor never
seeing another's thread, signed-in customers recognized across sessions, and onboarding through the platform API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from websockets.sync.client import connect

from infra.local.provision import DemoWebChat, seed_webchat_channel
from infra.local.stack import LocalStack
from shared.services.webchat import identity_hash
from tests.integration.api_client import call
from tests.integration.conftest import BANK, table, wait_for

pytestmark = pytest.mark.integration

WEB = DemoWebChat(tenant_id=BANK.tenant_id, channel_id="banco-web", identity_secret="banco-web-identity",
                  token_key="banco-web-token-key")
KEY = "banco-api-key"


@pytest.fixture(scope="module")
def web(stack: LocalStack, bank: Any) -> DemoWebChat:
    seed_webchat_channel(stack.resources, WEB)
    return WEB


def http(stack: LocalStack, method: str, path: str, body: Any = None, *, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{stack.url}{path}", method=method, data=data, headers={
        "Content-Type": "application/json", "Origin": "https://tienda.example",
        **({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), _decode(raw)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), _decode(exc.read())


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


def session(stack: LocalStack, **body: Any) -> dict[str, Any]:
    if "identity" not in body:
        body.setdefault("prechat", {"name": "Visitante"})  # the demo channel's form asks for a name
    status, _, data = http(stack, "POST", f"/webchat/{WEB.channel_id}/sessions", body)
    assert status == 201, data
    return dict(data)


def say(stack: LocalStack, token: str, text: str | None = None, *, reply: dict[str, str] | None = None,
        client_id: str | None = None) -> tuple[int, Any]:
    body: dict[str, Any] = {"client_message_id": client_id or uuid.uuid4().hex}
    body.update({"text": text} if text is not None else {"reply": reply})
    status, _, data = http(stack, "POST", f"/webchat/{WEB.channel_id}/messages", body, token=token)
    return status, data


def history(stack: LocalStack, token: str) -> list[dict[str, Any]]:
    status, _, data = http(stack, "GET", f"/webchat/{WEB.channel_id}/messages", token=token)
    assert status == 200, data
    return list(data["messages"])


def test_the_widget_script_and_its_config_are_served(stack: LocalStack, web: DemoWebChat) -> None:
    status, headers, script = http(stack, "GET", f"/webchat/{WEB.channel_id}/widget.js")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    assert "OmniChat" in script and "attachShadow" in script
    status, _, config = http(stack, "GET", f"/webchat/{WEB.channel_id}/config")
    assert status == 200 and config["title"] == "Tienda Demo" and config["prechat"]["enabled"] is True
    assert http(stack, "GET", "/webchat/no-such-channel/config")[0] == 404
    assert http(stack, "GET", f"/webchat/{BANK.channel_id}/widget.js")[0] == 404  # a WhatsApp channel


def test_cors_preflight_admits_the_widgets_requests(stack: LocalStack, web: DemoWebChat) -> None:
    status, headers, _ = http(stack, "OPTIONS", f"/webchat/{WEB.channel_id}/messages", headers={
        "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
    assert status in (200, 204)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["access-control-allow-origin"] in ("*", "https://tienda.example")
    assert "authorization" in lowered["access-control-allow-headers"].lower()


def test_a_visitor_writes_and_the_bot_answers_over_the_websocket_and_in_history(stack: LocalStack,
                                                                               web: DemoWebChat) -> None:
    started = session(stack, prechat={"name": "Lucía Gómez", "email": "lucia@example.com"})
    assert started["websocket_url"] == stack.ws_url
    with connect(f"{started['websocket_url']}/?visitor={started['token']}", open_timeout=15) as ws:
        status, accepted = say(stack, started["token"], "hola")
        assert status == 202 and accepted["message_id"].startswith("wc_")
        frames = []
        while not any(f["type"] == "message" and f["data"].get("buttons") for f in frames):
            frames.append(json.loads(ws.recv(timeout=30)))
    answer = next(f["data"] for f in frames if f["type"] == "message" and f["data"].get("buttons"))
    assert answer["direction"] == "out" and answer["text"]
    # in the history too, after the visitor's own message, and delivered (it reached an open widget)
    messages = wait_for(lambda: (h := history(stack, started["token"])) and len(h) >= 2 and h)
    assert messages[0]["id"] == accepted["message_id"] and messages[0]["text"] == "hola"
    stored = wait_for(lambda: table(stack).get_item(Key={
        "pk": f"T#{WEB.tenant_id}#MSG#{WEB.channel_id}#{answer['id']}", "sk": "MSG"}).get("Item"))
    assert stored["status"] in ("delivered", "read")
    # a tap on one of its buttons continues the flow
    button = answer["buttons"][0]
    assert say(stack, started["token"], reply=button)[0] == 202
    wait_for(lambda: len([m for m in history(stack, started["token"]) if m["direction"] == "out"]) >= 2)
    # the CRM contact carries what the pre-chat form said
    conversations = call(stack, "GET", f"/v1/conversations?channel_id={WEB.channel_id}&limit=100", key=KEY).body
    mine = next(c for c in conversations["items"] if c["contact_key"] == started["visitor_id"])
    contact = call(stack, "GET", f"/v1/contacts/{mine['contact_id']}", key=KEY).body
    assert contact["name"] == "Lucía Gómez"
    assert {"kind": "email", "value": "lucia@example.com"} in [
        {"kind": i["kind"], "value": i["value"]} for i in contact["identities"]]


def test_a_retried_post_is_stored_once(stack: LocalStack, web: DemoWebChat) -> None:
    token = session(stack)["token"]
    client_id = uuid.uuid4().hex
    first = say(stack, token, "quiero un crédito", client_id=client_id)
    second = say(stack, token, "quiero un crédito", client_id=client_id)
    assert first == second and first[0] == 202
    wait_for(lambda: any(m["direction"] == "out" for m in history(stack, token)))
    stack.wait_idle()
    inbound = [m for m in history(stack, token) if m["direction"] == "in"]
    assert len(inbound) == 1


def test_read_receipts_move_our_message_to_read(stack: LocalStack, web: DemoWebChat) -> None:
    token = session(stack)["token"]
    say(stack, token, "hola")
    ours = wait_for(lambda: next((m for m in history(stack, token) if m["direction"] == "out"), None))
    status, _, _ = http(stack, "POST", f"/webchat/{WEB.channel_id}/read", {"message_id": ours["id"]}, token=token)
    assert status == 202
    wait_for(lambda: next(m for m in history(stack, token) if m["id"] == ours["id"])["status"] == "read")


def test_visitors_never_see_each_others_threads(stack: LocalStack, web: DemoWebChat) -> None:
    one, two = session(stack)["token"], session(stack)["token"]
    say(stack, one, "mi secreto 1234")
    wait_for(lambda: any(m["direction"] == "in" for m in history(stack, one)))
    assert all("secreto" not in (m["text"] or "") for m in history(stack, two))
    ours = wait_for(lambda: next((m for m in history(stack, one) if m["direction"] == "out"), None))
    # visitor two may not mark visitor one's message as read, nor post with a forged token
    assert http(stack, "POST", f"/webchat/{WEB.channel_id}/read", {"message_id": ours["id"]}, token=two)[0] == 404
    assert say(stack, one[:-3] + "AAA", "hola")[0] == 401
    assert http(stack, "GET", f"/webchat/{WEB.channel_id}/messages")[0] == 401


def test_bad_input_gets_a_reason_not_a_5xx(stack: LocalStack, web: DemoWebChat) -> None:
    token = session(stack)["token"]
    status, problem = say(stack, token, "")
    assert status == 422 and problem["status"] == 422
    status, _, problem = http(stack, "POST", f"/webchat/{WEB.channel_id}/sessions",
                              {"prechat": {"email": "no-es-un-email"}})
    assert status == 422 and "Nombre es obligatorio" in problem["detail"]
    assert http(stack, "POST", f"/webchat/{WEB.channel_id}/sessions", {"tenant_id": "otro"})[0] == 422


def test_signed_in_customers_are_one_visitor_across_sessions(stack: LocalStack, web: DemoWebChat) -> None:
    user_hash = identity_hash(WEB.identity_secret, "cliente-77")
    first = session(stack, identity={"user_id": "cliente-77", "user_hash": user_hash, "name": "Marta"})
    assert first["visitor_id"] == "user:cliente-77"
    say(stack, first["token"], "hola")
    wait_for(lambda: any(m["direction"] == "out" for m in history(stack, first["token"])))
    again = session(stack, identity={"user_id": "cliente-77", "user_hash": user_hash})
    assert any(m["text"] == "hola" for m in history(stack, again["token"]))
    forged = http(stack, "POST", f"/webchat/{WEB.channel_id}/sessions",
                  {"identity": {"user_id": "cliente-77", "user_hash": "0" * 64}})
    assert forged[0] == 401


def test_the_websocket_refuses_a_bad_visitor_token(stack: LocalStack, web: DemoWebChat) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws_url}/?visitor=v1.e30.AAAA", open_timeout=15)
    assert refused.value.response.status_code == 401


def test_a_web_chat_channel_is_connected_through_the_platform_api(stack: LocalStack, bank: Any) -> None:
    created = call(stack, "POST", f"/platform/v1/tenants/{BANK.tenant_id}/channels/webchat",
                   {"settings": {"title": "Banco Web", "allowed_origins": ["https://banco.example"]}},
                   key=stack.tenant.operator_key)
    assert created.status == 201, created.body
    channel_id = created.body["channel"]["channel_id"]
    assert created.body["embed_html"] == f'<script src="{stack.url}/webchat/{channel_id}/widget.js" async></script>'
    secret = created.body["identity_secret"]
    body = {"identity": {"user_id": "u-1", "user_hash": identity_hash(secret, "u-1")}}
    status, _, started = http(stack, "POST", f"/webchat/{channel_id}/sessions", body,
                              headers={"Origin": "https://banco.example"})
    assert status == 201 and started["visitor_id"] == "user:u-1"
    assert http(stack, "POST", f"/webchat/{channel_id}/sessions", body)[0] == 403  # another site's page
