"""Workflows end to end on the local stack: real events on the bus, the workflows queue and function, the
Graph emulator receiving what steps send, moto's Scheduler holding waits that the test fires with a later
clock, executions and their step history through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.stack import LocalStack
from tests.integration.api_client import call
from tests.integration.conftest import wait_for
from tests.integration.tenants import Tenant

pytestmark = pytest.mark.integration


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
        ("registrar", "record_csat", "done"), ("evaluar", "branch", "done"), ("gracias", "send_message", "done")]
    assert history["steps"][1]["output"] == {"answer": "5"}
    today = datetime.now(UTC).date().isoformat()
    csat = wait_for(lambda: (r := shop.api("GET", f"/v1/reports/csat?from={today}&to={today}&tz=UTC")["totals"])
                    ["answers"] and r)
    assert csat["distribution"]["5"] == 1  # the answer reached the reports, for the agent who closed it
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


def test_a_crash_between_a_step_and_its_commit_resumes_without_repeating_the_step(
        shop: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workflows function dies after a step's effect (the message is queued) and before its record and the
    cursor are committed: SQS brings the message back, the step re-runs with the same effect key (the send is
    deduplicated), the execution goes on, and the customer got the message once."""
    from shared.adapters.dynamodb_workflows import DynamoWorkflows

    definition = {
        "name": "Aviso de envío", "enabled": True, "trigger": {"type": "tag_added", "tag": "envio"},
        "steps": [
            {"id": "avisar", "type": "send_message", "text": "Hola {{contact.first_name}}, tu envío está en camino."},
            {"id": "etiquetar", "type": "update_contact", "add_tags": ["avisado"]},
        ]}
    workflow_id = shop.api("POST", "/v1/workflows", {"definition": definition}, status=201)["workflow"][
        "workflow_id"]
    commit = DynamoWorkflows.commit
    crashes: list[str] = []

    def crashing(self: DynamoWorkflows, execution: Any, *, expected_token: int, record: Any) -> bool:
        if execution.workflow_id == workflow_id and record is not None and record.step_id == "avisar" \
                and not crashes:
            crashes.append(execution.execution_id)
            raise RuntimeError("the function died between the step and its commit")
        return commit(self, execution, expected_token=expected_token, record=record)

    monkeypatch.setattr(DynamoWorkflows, "commit", crashing)
    wa_id = "5491160000804"
    shop.say(wa_id, "hola")
    contact_id = shop.conversation(wa_id)["contact_id"]
    shop.api("POST", f"/v1/contacts/{contact_id}/tags", {"add": ["envio"]})

    done = wait_for(lambda: [x for x in shop.executions(workflow_id) if x["status"] == "completed"], timeout=45)
    assert crashes == [done[0]["execution_id"]]  # it did crash once, in this execution
    wait_for(lambda: "avisado" in shop.api("GET", f"/v1/contacts/{contact_id}")["tags"])
    shop.stack.wait_idle()
    assert shop.texts(wa_id).count("Hola Lucía, tu envío está en camino.") == 1
    history = shop.api("GET", f"/v1/workflow-executions/{crashes[0]}")
    assert [(s["seq"], s["step_id"], s["state"]) for s in history["steps"]] == [
        (1, "avisar", "done"), (2, "etiquetar", "done")]


BOT = """
id: tienda
name: Bot de la tienda
channels: ["*"]
start: main
settings: {coalesce_window_s: 0}
flows:
  main:
    start: nombre
    nodes:
      nombre: {type: collect, var: nombre, slot: full_name, prompt: "¿Cómo te llamás?", next: fin}
      fin: {type: close, text: "Gracias {{nombre}}"}
  pagos:
    start: monto
    nodes:
      monto: {type: collect, var: monto, slot: integer, prompt: "¿Cuánto querés pagar?", next: listo}
      listo: {type: close, text: "Registramos tu pago de {{monto}}."}
"""


def test_a_workflow_starts_a_bot_flow_and_the_bot_speaks_first(stack: LocalStack) -> None:
    store = Tenant(stack, "wf-bot", "300000000000811")
    created = call(stack, "POST", "/v1/bots", {"source": BOT}, key=store.key)
    assert created.status == 201, created.text
    workflow_id = store.api("POST", "/v1/workflows", {"definition": {
        "name": "Cobranza", "enabled": True, "trigger": {"type": "tag_added", "tag": "pago_pendiente"},
        "steps": [{"id": "cobrar", "type": "bot", "action": "start_flow", "flow": "pagos"}]}},
        status=201)["workflow"]["workflow_id"]
    typo_id = store.api("POST", "/v1/workflows", {"definition": {
        "name": "Con error", "enabled": True, "trigger": {"type": "manual"},
        "steps": [{"id": "cobrar", "type": "bot", "action": "start_flow", "flow": "pago"}]}},
        status=201)["workflow"]["workflow_id"]
    wa_id = "5491160000811"
    store.say(wa_id, "hola")
    wait_for(lambda: "¿Cómo te llamás?" in store.texts(wa_id))
    contact_id = store.conversation(wa_id)["contact_id"]

    store.api("POST", f"/v1/contacts/{contact_id}/tags", {"add": ["pago_pendiente"]})

    wait_for(lambda: "¿Cuánto querés pagar?" in store.texts(wa_id))  # without a message from the customer
    [x] = wait_for(lambda: [x for x in store.executions(workflow_id) if x["status"] == "completed"])
    assert x["outputs"]["cobrar"] == {"bot": "start_flow", "bot_id": "tienda", "version": 1, "flow": "pagos"}
    # a flow the bot does not have fails the step where it shows, and the bot is left alone
    run = store.api("POST", f"/v1/workflows/{typo_id}/runs", {"contact_id": contact_id}, status=202)
    failed = wait_for(lambda: [x for x in store.executions(typo_id) if x["status"] == "failed"])
    assert failed[0]["execution_id"] in run["execution_ids"]
    assert failed[0]["error"] == "NotFound: bot tienda (version 1) has no flow 'pago'; its flows: main, pagos"

    store.say(wa_id, "1500")  # the customer answers the flow the workflow started
    wait_for(lambda: "Registramos tu pago de 1500." in store.texts(wa_id))
    assert "Gracias" not in " ".join(store.texts(wa_id))  # the name question was left behind
