"""Workflows end to end on the local stack: real events on the bus, the workflows queue and function, the
Graph emulator receiving what steps send, moto's Scheduler holding waits that the test fires with a later
clock, executions and their step history through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.stack import LocalStack
from tests.integration.api_client import OPERATOR_KEY, call, onboard
from tests.integration.conftest import sends_to, wait_for
from tests.integration.payloads import envelope, new_wamid

pytestmark = pytest.mark.integration


class Tenant:
    def __init__(self, stack: LocalStack, tenant_id: str, pni: str) -> None:
        self.stack, self.tenant_id, self.pni, self.secret = stack, tenant_id, pni, f"{tenant_id}-secret"
        self.key = onboard(stack, tenant_id)
        answer = call(stack, "POST", f"/platform/v1/tenants/{tenant_id}/channels", {
            "phone_number_id": pni, "app_secret": self.secret, "access_token": f"{tenant_id}-token"},
            key=OPERATOR_KEY)
        assert answer.status == 201, answer.text
        self.channel_id = str(answer.body["channel"]["channel_id"])

    def api(self, method: str, path: str, body: Any = None, status: int | None = 200) -> Any:
        answer = call(self.stack, method, path, body, key=self.key)
        if status is not None:
            assert answer.status == status, answer.text
        return answer.body

    def say(self, wa_id: str, text: str, *, reply_id: str | None = None) -> None:
        message: dict[str, Any] = {"from": wa_id, "id": new_wamid(),
                                   "timestamp": str(int(datetime.now(UTC).timestamp()))}
        if reply_id:
            message |= {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {
                "id": reply_id, "title": text}}}
        else:
            message |= {"type": "text", "text": {"body": text}}
        status, _ = self.stack.post_webhook(envelope({"contacts": [{"profile": {"name": "Lucía Gómez"},
                                                                    "wa_id": wa_id}], "messages": [message]},
                                                     pni=self.pni), secret=self.secret, channel_id=self.channel_id)
        assert status == 200

    def texts(self, wa_id: str) -> list[str]:
        out = []
        for request in sends_to(self.stack, wa_id):
            body = request["body"]
            if body.get("type") == "text":
                out.append(body["text"]["body"])
            elif body.get("type") == "interactive":
                out.append(body["interactive"]["body"]["text"])
        return out

    def conversation(self, wa_id: str) -> dict[str, Any]:
        items = wait_for(lambda: [c for c in self.api("GET", "/v1/conversations")["items"]
                                  if c["contact_key"] == wa_id])
        return dict(items[0])

    def executions(self, workflow_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/v1/workflows/{workflow_id}/executions")["executions"])


@pytest.fixture(scope="module")
def shop(stack: LocalStack) -> Tenant:
    return Tenant(stack, "wf-tienda", "300000000000801")


def test_csat_after_close_asks_stores_the_score_and_thanks(shop: Tenant) -> None:
    shop.api("PUT", "/v1/fields/csat", {"key": "csat", "label": "CSAT", "type": "number"})
    created = shop.api("POST", "/v1/workflows/from-template", {"template": "csat_after_close",
                                                                "overrides": {"enabled": True}}, status=201)
    workflow_id = created["workflow"]["workflow_id"]
    wa_id = "5491160000801"
    shop.say(wa_id, "Hola, necesito ayuda con mi pedido")
    conversation = shop.conversation(wa_id)
    shop.api("POST", f"/v1/conversations/{conversation['conversation_id']}/close", {})
    question = wait_for(lambda: [t for t in shop.texts(wa_id) if "del 1 al 5" in t])
    assert "1. 1" in question[0] or "1" in question[0]
    [execution] = wait_for(lambda: [x for x in shop.executions(workflow_id) if x["status"] == "waiting"])
    shop.say(wa_id, "5")
    wait_for(lambda: "¡Gracias por tu respuesta! Nos ayuda a mejorar." in shop.texts(wa_id))
    done = wait_for(lambda: [x for x in shop.executions(workflow_id) if x["status"] == "completed"])
    assert done[0]["execution_id"] == execution["execution_id"] and done[0]["vars"] == {"csat": "5"}
    contact = shop.api("GET", f"/v1/contacts/{conversation['contact_id']}")
    assert contact["fields"]["csat"] == 5
    history = shop.api("GET", f"/v1/workflow-executions/{execution['execution_id']}")
    assert [(s["step_id"], s["type"], s["state"]) for s in history["steps"]] == [
        ("pregunta", "ask_question", "done"), ("pregunta", "answer", "done"), ("guardar", "update_contact", "done"),
        ("evaluar", "branch", "done"), ("gracias", "send_message", "done")]
    assert history["steps"][1]["output"] == {"answer": "5"}
    by_contact = shop.api("GET", f"/v1/contacts/{conversation['contact_id']}/workflow-executions")
    assert [x["execution_id"] for x in by_contact["executions"]] == [execution["execution_id"]]


def test_a_wait_of_two_days_is_a_schedule_fired_by_a_later_clock(shop: Tenant) -> None:
    definition = {
        "name": "Seguimiento a 2 días", "enabled": True,
        "trigger": {"type": "tag_added", "tag": "seguimiento"},
        "steps": [
            {"id": "esperar", "type": "wait", "duration": "2d"},
            {"id": "avisar", "type": "send_message", "text": "Hola {{contact.first_name}}, ¿pudiste resolverlo?"},
        ]}
    workflow_id = shop.api("POST", "/v1/workflows", {"definition": definition}, status=201)["workflow"][
        "workflow_id"]
    wa_id = "5491160000802"
    shop.say(wa_id, "hola")
    contact_id = shop.conversation(wa_id)["contact_id"]
    shop.api("POST", f"/v1/contacts/{contact_id}/tags", {"add": ["seguimiento"]})
    [waiting] = wait_for(lambda: [x for x in shop.executions(workflow_id) if x["status"] == "waiting"])
    shop.stack.fire_schedules(datetime.now(UTC) + timedelta(days=1))  # not yet (other tests' timers may fire)
    assert [x["status"] for x in shop.executions(workflow_id)] == ["waiting"]
    assert shop.stack.fire_schedules(datetime.now(UTC) + timedelta(days=2, minutes=1)) >= 1
    wait_for(lambda: "Hola Lucía, ¿pudiste resolverlo?" in shop.texts(wa_id))
    done = wait_for(lambda: [x for x in shop.executions(workflow_id) if x["status"] == "completed"])
    assert done[0]["execution_id"] == waiting["execution_id"]


def test_an_incoming_webhook_with_its_token_starts_the_workflow_for_the_contact_it_names(shop: Tenant) -> None:
    definition = {
        "name": "Pedido despachado", "enabled": True, "trigger": {"type": "incoming_webhook"},
        "steps": [
            {"id": "avisar", "type": "send_message",
             "text": "Hola {{contact.first_name}}, tu pedido {{trigger.pedido}} ya salió."},
            {"id": "etiquetar", "type": "update_contact", "add_tags": ["despachado"]},
        ]}
    created = shop.api("POST", "/v1/workflows", {"source": json_to_yaml(definition)}, status=201)
    workflow_id, hook_url = created["workflow"]["workflow_id"], created["hook_url"]
    assert hook_url.startswith("http") and f"/hooks/workflows/{workflow_id}?token=" in hook_url
    wa_id = "5491160000803"
    shop.say(wa_id, "hola")
    contact_id = shop.conversation(wa_id)["contact_id"]
    path = hook_url[hook_url.index("/hooks/"):]
    body = {"contact": {"phone": f"+{wa_id}"}, "data": {"pedido": "A-1029"}, "tenant_id": "otro-tenant"}
    wrong = call(shop.stack, "POST", path.replace("token=", "token=x"), body, key=None)
    assert wrong.status == 404
    accepted = call(shop.stack, "POST", path, body, key=None, headers={"Idempotency-Key": "envio-1"})
    assert accepted.status == 202, accepted.text
    again = call(shop.stack, "POST", path, body, key=None, headers={"Idempotency-Key": "envio-1"})
    assert again.body["execution_id"] == accepted.body["execution_id"]
    wait_for(lambda: "Hola Lucía, tu pedido A-1029 ya salió." in shop.texts(wa_id))
    wait_for(lambda: "despachado" in shop.api("GET", f"/v1/contacts/{contact_id}")["tags"])
    shop.stack.wait_idle()
    assert shop.texts(wa_id).count("Hola Lucía, tu pedido A-1029 ya salió.") == 1
    assert [x["contact_id"] for x in shop.executions(workflow_id)] == [contact_id]


def test_invalid_definitions_are_refused_with_the_place_of_each_problem(shop: Tenant) -> None:
    answer = call(shop.stack, "POST", "/v1/workflows", {"definition": {
        "name": "Roto", "trigger": {"type": "schedule", "cron": "0 25 * * *"},
        "steps": [{"id": "a", "type": "send_message", "text": "hola", "next": "nada"}]}}, key=shop.key)
    assert answer.status == 422
    fields = {e["field"]: e["message"] for e in answer.body["errors"]}
    assert "25 is outside 0-23" in fields["trigger"]
    answer = call(shop.stack, "POST", "/v1/workflows/validate", {"definition": {
        "name": "Roto", "trigger": {"type": "manual"},
        "steps": [{"id": "a", "type": "send_message", "text": "hola", "next": "nada"},
                  {"id": "b", "type": "wait", "duration": "mucho"}]}}, key=shop.key)
    assert answer.status == 200 and answer.body["valid"] is False
    messages = [f"{e['field']}: {e['message']}" for e in answer.body["errors"]]
    assert any("steps[1].duration" in m and "'mucho' is not a duration" in m for m in messages), messages


def json_to_yaml(value: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(value, allow_unicode=True, sort_keys=False))


def test_cron_workflows_are_due_once_per_minute_in_dynamodb(stack: LocalStack) -> None:
    from shared.adapters.dynamodb_workflows import DynamoWorkflows
    from shared.models.workflows import Workflow
    from tests.integration.conftest import table

    store = DynamoWorkflows(table(stack))
    created = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    workflow = Workflow.model_validate({
        "workflow_id": "wf_cron00000001", "tenant_id": "wf-cron", "version": 1, "created_at": created,
        "updated_at": created, "name": "Cada minuto", "enabled": True,
        "trigger": {"type": "schedule", "cron": "* * * * *", "time_zone": "America/Argentina/Buenos_Aires"},
        "steps": [{"id": "a", "type": "set_variable", "name": "x", "value": 1}]})
    assert store.put_workflow(workflow, previous=None)
    now = datetime.now(UTC)
    due = [d for d in store.due_schedules(now) if d[1] == "wf_cron00000001"]
    assert [(t, w) for t, w, _ in due] == [("wf-cron", "wf_cron00000001")]
    [(_, _, next_run)] = due
    assert next_run == created + timedelta(minutes=1)
    later = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert store.advance_schedule("wf-cron", "wf_cron00000001", expected=next_run, next_run=later)
    assert not store.advance_schedule("wf-cron", "wf_cron00000001", expected=next_run, next_run=later)  # taken
    assert [d for d in store.due_schedules(now) if d[1] == "wf_cron00000001"] == []
    disabled = workflow.model_copy(update={"version": 2, "enabled": False})
    assert store.put_workflow(disabled, previous=workflow)
    assert [d for d in store.due_schedules(later + timedelta(hours=1)) if d[1] == "wf_cron00000001"] == []
    assert store.enabled_for("wf-cron", "schedule") == []
    assert store.get_workflow("wf-cron", "wf_cron00000001", 1) == workflow  # versions stay readable
