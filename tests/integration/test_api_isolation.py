"""Tenant isolation matrix, generated from the OpenAPI document: every endpoint, with tenant A's key,
answers 404 for every id of tenant B (reads, writes and deletes), and B's data is unchanged afterwards.

A new endpoint is covered without touching this file: its path parameters are filled with B's ids
(or, for a kind of id this file cannot create yet, an id that exists nowhere) and its request body
comes from EXAMPLE_BODIES; an endpoint whose body is unknown here fails loudly instead of being skipped.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.local.stack import LocalStack
from tests.integration.api_client import call, onboard

pytestmark = pytest.mark.integration

METHODS = ("get", "post", "put", "patch", "delete")

# A valid body per operation, so that the answer is about the id and not about the body.
EXAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("put", "/v1/workflows/{workflow_id}"): {"definition": {"name": "x", "trigger": {"type": "manual"},
                                                            "steps": [{"id": "a", "type": "bot", "action": "on"}]}},
    ("post", "/v1/workflows/{workflow_id}/runs"): {"contact_id": "ct_x"},
    ("patch", "/v1/contacts/{contact_id}"): {"name": "Intruso"},
    ("post", "/v1/contacts/{contact_id}/tags"): {"add": ["hacked"]},
    ("post", "/v1/contacts/{contact_id}/identities"): {"kind": "email", "value": "intruso@example.com"},
    ("post", "/v1/contacts/{contact_id}/consent"): {"purpose": "marketing", "status": "opted_out", "source": "api"},
    ("post", "/v1/conversations/{conversation_id}/close"): None,
    ("post", "/v1/conversations/{conversation_id}/csat"): {"score": 3},
    ("put", "/v1/segments/{segment_id}"): {"name": "x", "filter": {"field": "tags", "op": "has", "value": "x"}},
    ("post", "/v1/merges/{merge_id}/split"): None,
    ("put", "/v1/fields/{key}"): {"key": "nivel", "label": "Nivel", "type": "text"},
    ("patch", "/v1/users/{user_id}"): {"role": "agent"},
    ("patch", "/v1/webhooks/{subscription_id}"): {"enabled": False},
    ("post", "/v1/conversations/{conversation_id}/bot/pause"): {"reason": "api"},
    ("post", "/v1/bots/{bot_id}/versions/{version}/activate"): None,
    ("post", "/v1/bots/{bot_id}/deactivate"): None,
    ("post", "/v1/conversations/{conversation_id}/bot/resume"): None,
    ("put", "/v1/campaigns/{campaign_id}"): {"campaign_id": "missing-campaign_id", "name": "X"},
    ("put", "/v1/agents/{agent_id}/status"): {"status": "online"},
    ("put", "/v1/agents/{agent_id}/capacity"): {"max_concurrent": 5},
    ("post", "/v1/agents/{agent_id}/messages"): {"text": "hola"},
    ("post", "/v1/conversations/{conversation_id}/messages"): {"content": {"type": "text", "body": "hola"}},
    ("post", "/v1/conversations/{conversation_id}/notes"): {"text": "nota"},
    ("post", "/v1/conversations/{conversation_id}/assign"): {"agent_id": "someone"},
    ("post", "/v1/conversations/{conversation_id}/transfer"): {"campaign_id": "ventas"},
    ("put", "/v1/broadcasts/{broadcast_id}"): {"name": "x", "channel_id": "c", "template_name": "t",
                                                "template_language": "es", "audience": {"tags": ["x"]}},
    ("post", "/v1/broadcasts/{broadcast_id}/preview"): {},
    ("post", "/v1/broadcasts/{broadcast_id}/retry"): {},
    ("post", "/v1/broadcasts/{broadcast_id}/start"): {},
    ("post", "/v1/channels/{channel_id}/templates"): {"name": "intruso", "language": "es", "category": "UTILITY",
                                                       "components": [{"type": "BODY", "text": "Hola"}]},
    ("post", "/v1/channels/{channel_id}/templates/{name}/validate"): {"language": "es", "parameters": {}},
    ("put", "/v1/channels/{channel_id}/throughput"): {"throughput_mps": 5},
    ("post", "/v1/channels/{channel_id}/comments/{comment_id}/private-reply"): {"text": "intruso"},
}
# Required query parameters, by operation.
EXAMPLE_QUERIES: dict[tuple[str, str], str] = {
    ("get", "/v1/channels/{channel_id}/templates/{name}"): "?language=es",
    ("delete", "/v1/channels/{channel_id}/templates/{name}"): "?language=es",
}
ISO_BOT = """
id: iso-bot
name: Bot de B
channels: ["*"]
start: main
flows:
  main:
    start: hola
    nodes:
      hola: {type: close, text: "Hola desde B"}
"""
# Operations whose path names something in the caller's own namespace rather than an id of another
# tenant's record: they may succeed, but must leave tenant B untouched (checked at the end).
OWN_NAMESPACE = {("put", "/v1/fields/{key}"), ("delete", "/v1/fields/{key}"),
                 # reports: a report's name, a month, a UTC day of the caller's own figures
                 ("get", "/v1/reports/{name}"), ("get", "/v1/reports/monthly/{month}"),
                 ("post", "/v1/reports/analytics/{day}")}


@pytest.fixture(scope="module")
def tenants(stack: LocalStack) -> dict[str, Any]:
    key_a = onboard(stack, "iso-a")
    key_b = onboard(stack, "iso-b")
    ids: dict[str, str] = {}
    field = call(stack, "PUT", "/v1/fields/nivel", {"key": "nivel", "label": "Nivel", "type": "text"}, key=key_b)
    assert field.status == 200, field.text
    ids["key"] = "nivel"
    first = call(stack, "POST", "/v1/contacts", {"name": "Beatriz", "phone": "+52 1 55 1234 5678", "tags": ["vip"],
                                                  "fields": {"nivel": "oro"}}, key=key_b)
    second = call(stack, "POST", "/v1/contacts", {"name": "Bea", "email": "bea@example.com"}, key=key_b)
    third = call(stack, "POST", "/v1/contacts", {"name": "Beto", "email": "beto@example.com"}, key=key_b)
    assert first.status == second.status == third.status == 201, (first.text, second.text, third.text)
    ids["contact_id"] = first.body["contact_id"]
    ids["tag"] = "vip"
    ids["kind"], ids["value"] = "phone", "+525512345678"
    merge = call(stack, "POST", "/v1/merges", {"survivor_id": second.body["contact_id"],
                                               "merged_id": third.body["contact_id"]}, key=key_b)
    assert merge.status == 201, merge.text
    ids["merge_id"] = merge.body["merge_id"]
    segment = call(stack, "POST", "/v1/segments", {"name": "VIP", "filter": {"field": "tags", "op": "has",
                                                                               "value": "vip"}}, key=key_b)
    assert segment.status == 201, segment.text
    ids["segment_id"] = segment.body["segment_id"]
    keys = call(stack, "GET", "/v1/api-keys", key=key_b)
    ids["key_id"] = keys.body["items"][0]["key_id"]
    bot = call(stack, "POST", "/v1/bots", {"source": ISO_BOT}, key=key_b)
    assert bot.status == 201, bot.text
    ids["bot_id"], ids["version"] = "iso-bot", "1"
    ids["conversation_id"], ids["channel_id"] = _conversation_of(stack, "iso-b", key_b)
    ids["name"] = "aviso_b"
    ids["broadcast_id"] = _broadcast_of(stack, "iso-b", key_b, ids["channel_id"], ids["contact_id"])
    workflow = call(stack, "POST", "/v1/workflows", {"definition": {
        "name": "B", "enabled": True, "trigger": {"type": "manual"},
        "steps": [{"id": "a", "type": "set_variable", "name": "x", "value": 1}]}}, key=key_b)
    assert workflow.status == 201, workflow.text
    ids["workflow_id"] = workflow.body["workflow"]["workflow_id"]
    run = call(stack, "POST", f"/v1/workflows/{ids['workflow_id']}/runs", {"contact_id": ids["contact_id"]},
               key=key_b)
    assert run.status == 202, run.text
    ids["execution_id"] = run.body["execution_ids"][0]
    return {"a": key_a, "b": key_b, "ids": ids}


def _broadcast_of(stack: LocalStack, tenant_id: str, key_b: str, channel_id: str, contact_id: str) -> str:
    """A draft broadcast of tenant B on its channel (its template written to the registry directly)."""
    from datetime import UTC, datetime

    from shared.adapters.dynamodb_broadcasts import DynamoTemplates
    from shared.models.templates import MessageTemplate, TemplateComponent
    from tests.integration.conftest import table

    DynamoTemplates(table(stack)).put(MessageTemplate(
        tenant_id=tenant_id, channel_id=channel_id, name="aviso_b", language="es", status="APPROVED",
        components=[TemplateComponent(type="BODY", text="Hola, tu pedido está listo.")],
        updated_at=datetime.now(UTC)))
    created = call(stack, "POST", "/v1/broadcasts", {
        "name": "B", "channel_id": channel_id, "template_name": "aviso_b", "template_language": "es",
        "audience": {"contact_ids": [contact_id]}}, key=key_b)
    assert created.status == 201, created.text
    return str(created.body["broadcast_id"])


def _conversation_of(stack: LocalStack, tenant_id: str, key_b: str) -> tuple[str, str]:
    """A real conversation of the tenant: connect a channel through the platform API and send it a message."""
    from tests.integration.api_client import OPERATOR_KEY
    from tests.integration.conftest import wait_for
    from tests.integration.payloads import envelope, text_message

    connected = call(stack, "POST", f"/platform/v1/tenants/{tenant_id}/channels", {
        "phone_number_id": "200000000000009", "app_secret": "iso-b-app-secret", "access_token": "iso-b-token",
        "display_phone_number": "15550009999"}, key=OPERATOR_KEY)
    assert connected.status == 201, connected.text
    channel_id = connected.body["channel"]["channel_id"]
    message = text_message("5215512345678", "hola")
    body = envelope({k: v for k, v in message["entry"][0]["changes"][0]["value"].items()
                     if k in ("contacts", "messages")}, pni="200000000000009")
    status, _ = stack.post_webhook(body, secret="iso-b-app-secret", channel_id=channel_id)
    assert status == 200
    stack.wait_idle()
    page = wait_for(lambda: call(stack, "GET", "/v1/conversations", key=key_b).body["items"])
    return str(page[0]["conversation_id"]), str(channel_id)


def _operations(stack: LocalStack) -> list[tuple[str, str, dict[str, Any]]]:
    spec = call(stack, "GET", "/v1/openapi.json", key=None).body
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()
            if method in METHODS]


def test_openapi_lists_every_tenant_route(stack: LocalStack) -> None:
    ops = _operations(stack)
    assert len(ops) >= 20
    assert all(path.startswith("/v1/") for _, path, _ in ops)


def test_tenant_a_gets_404_for_every_id_of_tenant_b(stack: LocalStack, tenants: dict[str, Any]) -> None:
    key_a, ids = tenants["a"], tenants["ids"]
    before = _snapshot_b(stack, tenants)
    failures: list[str] = []
    for method, path, op in _operations(stack):
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        url = path
        for name in params:
            url = url.replace("{" + name + "}", ids.get(name, f"missing-{name}"))
        body = EXAMPLE_BODIES.get((method, path))
        answer = call(stack, method.upper(), url + EXAMPLE_QUERIES.get((method, path), ""), body, key=key_a)
        if (method, path) in OWN_NAMESPACE:
            if answer.status >= 500:
                failures.append(f"{method.upper()} {path}: {answer.status}")
            continue
        if answer.status != 404:
            hint = " (add an example body to EXAMPLE_BODIES)" if answer.status == 422 and "requestBody" in op else ""
            failures.append(f"{method.upper()} {path} -> {answer.status}{hint}: {answer.text[:160]}")
        elif answer.headers.get("content-type") != "application/problem+json":
            failures.append(f"{method.upper()} {path}: 404 without problem+json")
    assert not failures, "\n".join(failures)
    assert _snapshot_b(stack, tenants) == before


def test_tenant_a_lists_never_show_tenant_b(stack: LocalStack, tenants: dict[str, Any]) -> None:
    key_a, ids = tenants["a"], tenants["ids"]
    for method, path, _ in _operations(stack):
        if method != "get" or "{" in path:
            continue
        answer = call(stack, "GET", path, key=key_a)
        assert answer.status < 500, (path, answer.text)
        for name in ("contact_id", "segment_id", "merge_id", "conversation_id", "key_id", "bot_id"):
            assert ids[name] not in answer.text, f"GET {path} shows tenant B's {name}"


def test_a_cursor_from_tenant_b_is_refused(stack: LocalStack, tenants: dict[str, Any]) -> None:
    page = call(stack, "GET", "/v1/contacts?limit=1", key=tenants["b"])
    assert page.body["next_cursor"]
    stolen = call(stack, "GET", f"/v1/contacts?limit=1&cursor={page.body['next_cursor']}", key=tenants["a"])
    assert stolen.status == 422
    assert tenants["ids"]["contact_id"] not in stolen.text


def test_the_tenant_in_the_body_is_refused_not_used(stack: LocalStack, tenants: dict[str, Any]) -> None:
    answer = call(stack, "POST", "/v1/contacts", {"name": "x", "tenant_id": "iso-b"}, key=tenants["a"])
    assert answer.status == 422
    assert answer.body["errors"][0]["location"] == "body.tenant_id"


def _snapshot_b(stack: LocalStack, tenants: dict[str, Any]) -> list[str]:
    key_b, ids = tenants["b"], tenants["ids"]
    return [call(stack, "GET", path, key=key_b).text for path in (
        f"/v1/contacts/{ids['contact_id']}", f"/v1/segments/{ids['segment_id']}", f"/v1/merges/{ids['merge_id']}",
        "/v1/fields", "/v1/api-keys", f"/v1/conversations/{ids['conversation_id']}", f"/v1/bots/{ids['bot_id']}",
        f"/v1/conversations/{ids['conversation_id']}/bot")]
