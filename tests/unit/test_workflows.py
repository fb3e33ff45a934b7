"""The workflow engine over in-memory fakes: definition validation, versions, triggers, every step type,
durability under crashes and redelivery, manual and webhook runs, schedules and execution history."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.workflows import Execution, RunInput, Workflow, WorkflowInput
from shared.services.workflows import (
    MAX_DEPTH,
    MAX_INVALID_ANSWERS,
    STEPS_PER_INVOCATION,
    execution_id_for,
    parse_definition,
)
from tests.unit.fakes_workflows import CHANNEL, T0, TENANT, FakeClock, Rig, fire_due, make_service

PHONE = "5491122334455"
BA = "America/Argentina/Buenos_Aires"
SET = {"id": "fijar", "type": "set_variable", "name": "x", "value": 1}
_EVENT_IDS = itertools.count(1)
_MESSAGE_IDS = itertools.count(1)


# --- helpers ----------------------------------------------------------------------------------------------

def definition(steps: list[dict[str, Any]], trigger: dict[str, Any] | None = None, **extra: Any) -> WorkflowInput:
    return WorkflowInput.model_validate({"name": "Prueba", "trigger": trigger or {"type": "manual"},
                                         "steps": steps, "enabled": True, **extra})


def invalid(steps: list[dict[str, Any]], trigger: dict[str, Any] | None = None) -> str:
    with pytest.raises(ValidationError) as err:
        definition(steps, trigger)
    return str(err.value)


@pytest.fixture
def rig() -> Rig:
    r = make_service()
    r.actions.add_contact("c1")
    return r


def create(rig: Rig, steps: list[dict[str, Any]], trigger: dict[str, Any] | None = None, **extra: Any) -> Workflow:
    return rig.service.create(TENANT, definition(steps, trigger, **extra))


def start_manual(rig: Rig, workflow: Workflow, contact_id: str = "c1", *, key: str = "r1",
                 data: dict[str, Any] | None = None) -> str:
    """Queue a manual run (not processed yet); the execution id."""
    result = rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(contact_id=contact_id, data=data or {}),
                                    request_key=key)
    return str(result["execution_ids"][0])


def get(rig: Rig, execution_id: str) -> Execution:
    found = rig.store.get_execution(TENANT, execution_id)
    assert found is not None
    return found


def run(rig: Rig, workflow: Workflow, contact_id: str = "c1", *, key: str = "r1",
        data: dict[str, Any] | None = None) -> Execution:
    execution_id = start_manual(rig, workflow, contact_id, key=key, data=data)
    rig.queue.drain(rig.service)
    return get(rig, execution_id)


def message(text: str | None, *, reply_id: str | None = None, contact_id: str | None = "c1",
            channel_id: str = CHANNEL, broadcast_id: str | None = None, message_id: str | None = None
            ) -> dict[str, Any]:
    return {"tenant_id": TENANT, "channel_id": channel_id, "contact_key": PHONE, "contact_id": contact_id,
            "conversation_id": "cv-1", "message_id": message_id or f"wamid.{next(_MESSAGE_IDS)}",
            "message_type": "text", "text": text,
            "reply_id": reply_id, "broadcast_id": broadcast_id}


def reply(rig: Rig, text: str | None, *, event_id: str | None = None, **kwargs: Any) -> dict[str, int]:
    return rig.service.on_event("MessageReceived", message(text, **kwargs),
                                event_id=event_id or f"ev-{next(_EVENT_IDS)}")


def opened(rig: Rig, *, event_id: str | None = None, contact_id: str | None = "c1",
           channel_id: str = CHANNEL) -> dict[str, int]:
    detail = {"tenant_id": TENANT, "channel_id": channel_id, "conversation_id": "cv-1", "contact_key": PHONE,
              "contact_id": contact_id, "opened_by_message_id": "wamid.1", "opened_at": "2026-03-03T15:00:00Z"}
    return rig.service.on_event("ConversationOpened", detail, event_id=event_id or f"ev-{next(_EVENT_IDS)}")


def executions_of(rig: Rig, workflow: Workflow) -> list[Execution]:
    return rig.store.executions(TENANT, workflow_id=workflow.workflow_id)


def field(subject: str, op: str = "eq", value: Any = None) -> dict[str, Any]:
    return {"type": "field", "subject": subject, "op": op, "value": value}


def ask(**extra: Any) -> dict[str, Any]:
    return {"id": "pregunta", "type": "ask_question", "text": "¿Querés seguir?", "options": ["Sí", "No", "Tal vez"],
            "save_as": "respuesta", **extra}


# --- definitions ------------------------------------------------------------------------------------------

def test_duplicate_step_ids_name_both_positions() -> None:
    assert "steps[1].id: 'fijar' is also steps[0].id" in invalid([SET, SET])


@pytest.mark.parametrize(("step", "where"), [
    ({"id": "a", "type": "set_variable", "name": "x", "value": 1, "next": "nowhere"}, "steps[0].next"),
    ({"id": "a", "type": "branch", "branches": [{"name": "uno", "next": "end"}, {"name": "dos", "next": "nowhere"}]},
     "steps[0].branches[1].next"),
    ({"id": "a", "type": "http_request", "url": "https://api.example.com/x", "on_error": "nowhere"},
     "steps[0].on_error"),
])
def test_unknown_jump_target_names_where(step: dict[str, Any], where: str) -> None:
    assert f"{where}: unknown step 'nowhere'" in invalid([step])


def test_unreachable_step() -> None:
    steps = [{**SET, "next": "end"}, {"id": "huerfano", "type": "set_variable", "name": "y", "value": 2}]
    assert "steps[1] ('huerfano') can never run: no step leads to it" in invalid(steps)


def test_step_reachable_only_through_a_jump_is_fine() -> None:
    workflow = definition([ask(on_timeout="recordatorio"), {"id": "gracias", "type": "send_message",
                                                             "text": "Gracias", "next": "end"},
                           {"id": "recordatorio", "type": "send_message", "text": "¿Seguís ahí?"}])
    assert [s.id for s in workflow.steps] == ["pregunta", "gracias", "recordatorio"]


@pytest.mark.parametrize(("steps", "trigger", "expected"), [
    ([{"id": "a", "type": "send_message", "text": "Hola {{contact.name"}], None,
     "template syntax: unclosed placeholder"),
    ([SET], {"type": "schedule", "cron": "0 25 * * *"}, "cron field 2 (hour): 25 is outside 0-23"),
    ([{"id": "a", "type": "wait", "duration": "2 hours"}], None, "'2 hours' is not a duration"),
    ([{"id": "a", "type": "send_message", "text": "Hola", "template": {"name": "t", "language": "es"}}], None,
     "give exactly one of `text` or `template`"),
    ([{"id": "a", "type": "assign"}], None, "give `campaign_id` or `agent_id`"),
    ([{"id": "a", "type": "http_request", "url": "https://api.example.com/x",
       "headers": {"Authorization": "Bearer abc123"}}], None, "header Authorization carries a credential"),
    ([{"id": "a", "type": "http_request", "url": "{{vars.host}}/clientes"}], None,
     "the host never comes from variables or inputs"),
    ([{**SET, "id": f"s{i}"} for i in range(101)], None, "at most 100 items"),
])
def test_invalid_definitions_say_why(steps: list[dict[str, Any]], trigger: dict[str, Any] | None,
                                     expected: str) -> None:
    assert expected in invalid(steps, trigger)


def test_parse_definition_names_each_problem_and_reads_yaml() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_definition({"name": "x", "trigger": {"type": "manual"},
                          "steps": [{"id": "a", "type": "send_message", "text": "Hola {{x"}, {"id": "b"}]})
    fields = [e["field"] for e in err.value.errors]
    assert "steps[0].text" in fields and "steps[1]" in fields
    assert "steps[0].text: template syntax: unclosed placeholder" in str(err.value)
    with pytest.raises(InvalidInput, match=r"steps\[0\]\.next: unknown step 'zz'"):
        parse_definition({"name": "x", "trigger": {"type": "manual"}, "steps": [{**SET, "next": "zz"}]})
    with pytest.raises(InvalidInput, match="not valid YAML at line 3"):
        parse_definition(source="name: x\ntrigger: {type: manual\nsteps: []")
    parsed = parse_definition(source="name: Eco\ntrigger: {type: manual}\nsteps:\n  - {id: hola, type: send_message, "
                                     "text: Hola}\n")
    assert (parsed.name, parsed.steps[0].id, parsed.enabled) == ("Eco", "hola", False)


def test_http_request_with_secret_credentials_is_accepted() -> None:
    step = {"id": "a", "type": "http_request", "url": "{{secret.core.base_url}}/clientes",
            "headers": {"Authorization": "Bearer {{secret.core.token}}"}, "secrets": {"core": "core-banking"}}
    assert definition([step]).steps[0].type == "http_request"


def test_trigger_workflow_must_name_an_existing_workflow(rig: Rig) -> None:
    with pytest.raises(InvalidInput, match=r"steps\[0\]\.workflow_id: no workflow 'wf_missing01'"):
        create(rig, [{"id": "otro", "type": "trigger_workflow", "workflow_id": "wf_missing01"}])
    assert rig.store.list_workflows(TENANT) == []
    workflow = create(rig, [SET])
    with pytest.raises(InvalidInput, match="cannot trigger itself"):
        rig.service.replace(TENANT, workflow.workflow_id, definition(
            [{"id": "otro", "type": "trigger_workflow", "workflow_id": workflow.workflow_id}]))


def test_wait_days_outside_the_week_are_refused_at_definition() -> None:
    with pytest.raises(ValidationError):
        definition([{"id": "espera", "type": "wait", "until_time": "09:00", "days": [7]}])


# --- versions ---------------------------------------------------------------------------------------------

def test_replace_creates_a_new_version_and_keeps_the_old(rig: Rig) -> None:
    v1 = create(rig, [SET])
    v2 = rig.service.replace(TENANT, v1.workflow_id, definition([{**SET, "value": 2}], name="Nueva"))
    assert (v1.version, v2.version) == (1, 2)
    assert v2.created_at == v1.created_at
    assert rig.service.get(TENANT, v1.workflow_id).name == "Nueva"
    assert rig.service.get(TENANT, v1.workflow_id, 1).steps[0].model_dump()["value"] == 1
    assert rig.service.get(TENANT, v1.workflow_id).steps[0].model_dump()["value"] == 2
    assert [s.version for s in rig.service.summaries(TENANT)] == [2]
    with pytest.raises(NotFound, match="version 3"):
        rig.service.get(TENANT, v1.workflow_id, 3)


def test_execution_finishes_on_the_version_it_started_with(rig: Rig) -> None:
    v1 = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"},
                      {"id": "aviso", "type": "send_message", "text": "versión 1"}])
    waiting = run(rig, v1)
    assert (waiting.status, waiting.step_id, waiting.version) == ("waiting", "espera", 1)
    rig.service.replace(TENANT, v1.workflow_id, definition([{"id": "hola", "type": "send_message",
                                                             "text": "versión 2"}]))
    rig.clock.advance(hours=1)
    assert fire_due(rig.timers, rig.clock, rig.service) == 1
    done = get(rig, waiting.execution_id)
    assert (done.status, done.version) == ("completed", 1)
    assert rig.actions.bodies == ["versión 1"]
    new = run(rig, v1, key="r2")
    assert new.version == 2
    assert rig.actions.bodies[-1] == "versión 2"


def test_deleted_workflow_stops_triggering_but_running_executions_finish(rig: Rig) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"},
                            {"id": "fin", "type": "send_message", "text": "fin"}], {"type": "conversation_opened"})
    assert opened(rig)["started"] == 1
    rig.service.delete(TENANT, workflow.workflow_id)
    with pytest.raises(NotFound):
        rig.service.get(TENANT, workflow.workflow_id)
    assert opened(rig)["started"] == 0
    rig.clock.advance(hours=1)
    assert fire_due(rig.timers, rig.clock, rig.service) == 1
    assert [x.status for x in executions_of(rig, workflow)] == ["completed"]
    assert rig.actions.bodies == ["fin"]


# --- triggers ---------------------------------------------------------------------------------------------

def test_conversation_opened_respects_channel_ids(rig: Rig) -> None:
    workflow = create(rig, [SET], {"type": "conversation_opened", "channel_ids": [CHANNEL]})
    assert opened(rig, channel_id="acme-wa-2")["started"] == 0
    assert opened(rig)["started"] == 1
    [x] = executions_of(rig, workflow)
    assert (x.status, x.trigger, x.conversation_id, x.channel_id) == ("completed", "conversation_opened", "cv-1",
                                                                       CHANNEL)


@pytest.mark.parametrize(("closed_by", "started"), [("user:u-1", 1), ("key:k-1", 1), ("bot", 0), ("system", 0)])
def test_conversation_closed_by_agent_only(rig: Rig, closed_by: str, started: int) -> None:
    create(rig, [SET], {"type": "conversation_closed", "closed_by": "agent"})
    detail = {"tenant_id": TENANT, "channel_id": CHANNEL, "conversation_id": "cv-1", "contact_id": "c1",
              "closed_at": "2026-03-03T15:00:00Z", "closed_by": closed_by, "note_category": "venta"}
    assert rig.service.on_event("ConversationClosed", detail, event_id="ev-close")["started"] == started


def test_conversation_assigned_gives_the_agents_name_to_the_steps(rig: Rig) -> None:
    create(rig, [{"id": "presentar", "type": "send_message",
                  "text": "Soy {{trigger.agent_name | default: \"un asesor\"}} de {{trigger.campaign_id}}"}],
           {"type": "conversation_assigned"})
    detail = {"tenant_id": TENANT, "channel_id": CHANNEL, "conversation_id": "cv-1", "contact_id": "c1",
              "campaign_id": "soporte", "assignee": "u-1", "assignee_name": "Laura Díaz", "reason": "queue"}
    assert rig.service.on_event("ConversationAssigned", detail, event_id="ev-as-1")["started"] == 1
    assert rig.service.on_event("ConversationAssigned", {**detail, "assignee_name": None},
                                event_id="ev-as-2")["started"] == 1
    rig.queue.drain(rig.service)
    assert rig.actions.bodies == ["Soy Laura Díaz de soporte", "Soy un asesor de soporte"]


@pytest.mark.parametrize(("condition", "text", "started"), [
    ({"op": "contains", "value": "menu"}, "Quiero ver el Menú", 1),
    ({"op": "contains", "value": "menu"}, "hola", 0),
    ({"op": "eq", "value": "menu"}, "MENÚ", 1),
    ({"op": "in", "value": ["si", "dale"]}, "Sí", 1),
    ({"op": "in", "value": ["si", "dale"]}, "no", 0),
    ({"op": "matches", "value": r"^hola\b"}, "HOLA, buen día", 1),
    ({"op": "matches", "value": r"^hola\b"}, "buenas, hola", 0),
])
def test_message_received_text_conditions(rig: Rig, condition: dict[str, Any], text: str, started: int) -> None:
    create(rig, [SET], {"type": "message_received", "when": [field("message.text", **condition)]})
    assert reply(rig, text)["started"] == started


def test_message_received_channel_filter_and_contact_field_condition(rig: Rig) -> None:
    rig.actions.add_contact("c1", fields={"plan": "gold"})
    rig.actions.add_contact("c2", fields={"plan": "silver"}, phone="5491100000002")
    workflow = create(rig, [SET], {"type": "message_received", "channel_ids": [CHANNEL],
                                   "when": [field("contact.fields.plan", value="gold")]})
    assert reply(rig, "hola", contact_id="c2")["started"] == 0
    assert reply(rig, "hola", channel_id="acme-ig-1")["started"] == 0
    assert reply(rig, "hola")["started"] == 1
    assert [x.contact_id for x in executions_of(rig, workflow)] == ["c1"]
    assert executions_of(rig, workflow)[0].trigger_data["text"] == "hola"


def test_message_sentiment_in_trigger_conditions_escalates_negative_messages() -> None:
    from shared.adapters.lexicon_sentiment import LexiconSentiment

    rig = make_service(sentiment=LexiconSentiment)  # a factory: built on first use
    rig.actions.add_contact("c1")
    workflow = rig.service.create(TENANT, definition(
        [{"id": "nota", "type": "add_note", "text": "Cliente molesto ({{trigger.sentiment.score}})"}],
        {"type": "message_received", "when": [field("message.sentiment.label", value="negative")]}))
    assert reply(rig, "¡Excelente atención, muchas gracias!")["started"] == 0
    assert reply(rig, "Pésimo servicio, una vergüenza, nunca llegó mi pedido")["started"] == 1
    [x] = executions_of(rig, workflow)
    assert x.trigger_data["sentiment"]["label"] == "negative" and x.trigger_data["sentiment"]["score"] < -0.3


def test_without_an_analyzer_sentiment_conditions_never_hold(rig: Rig) -> None:
    create(rig, [SET], {"type": "message_received", "when": [field("message.sentiment.label", value="negative")]})
    assert reply(rig, "Pésimo servicio, una vergüenza")["started"] == 0


def test_contact_updated_tags_and_fields(rig: Rig) -> None:
    added = create(rig, [SET], {"type": "tag_added", "tag": "vip"})
    removed = create(rig, [SET], {"type": "tag_removed", "tag": "vip"})
    field = create(rig, [SET], {"type": "field_updated", "field": "plan"})

    def updated(**changes: Any) -> int:
        detail = {"tenant_id": TENANT, "contact_id": "c1", **changes}
        return rig.service.on_event("ContactUpdated", detail, event_id=f"ev-{next(_EVENT_IDS)}")["started"]

    assert updated(tags_added=["VIP"]) == 1
    assert updated(tags_added=["nuevo"]) == 0
    assert updated(tags_removed=["vip"], fields_changed=["plan"]) == 2
    assert updated(fields_changed=["lifecycle"]) == 0
    assert [len(executions_of(rig, w)) for w in (added, removed, field)] == [1, 1, 1]


def test_broadcast_reply_filter(rig: Rig) -> None:
    one = create(rig, [SET], {"type": "broadcast_reply", "broadcast_id": "bc-1"})
    anyone = create(rig, [SET], {"type": "broadcast_reply"})
    assert reply(rig, "hola")["started"] == 0
    assert reply(rig, "hola", broadcast_id="bc-2")["started"] == 1
    assert reply(rig, "hola", broadcast_id="bc-1")["started"] == 2
    assert len(executions_of(rig, one)) == 1
    assert len(executions_of(rig, anyone)) == 2
    assert executions_of(rig, one)[0].trigger_data["broadcast_id"] == "bc-1"


def test_disabled_workflows_are_not_triggered(rig: Rig) -> None:
    never = create(rig, [SET], {"type": "conversation_opened"}, enabled=False)
    switched = create(rig, [SET], {"type": "conversation_opened"})
    rig.service.set_enabled(TENANT, switched.workflow_id, False)
    assert opened(rig)["started"] == 0
    assert executions_of(rig, never) == executions_of(rig, switched) == []


def test_the_same_event_delivered_twice_starts_one_execution(rig: Rig) -> None:
    workflow = create(rig, [{"id": "hola", "type": "send_message", "text": "Hola"}], {"type": "conversation_opened"},
                      reentry="always")
    assert opened(rig, event_id="ev-dup")["started"] == 1
    assert opened(rig, event_id="ev-dup")["started"] == 0
    assert len(executions_of(rig, workflow)) == 1
    assert len(rig.actions.sent) == 1 and rig.actions.duplicate_sends == []


@pytest.mark.parametrize(("reentry", "starts"), [("always", [1, 1, 1]), ("not_while_running", [1, 0, 1]),
                                                 ("once", [1, 0, 0])])
def test_reentry_rules(rig: Rig, reentry: str, starts: list[int]) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"}], {"type": "conversation_opened"},
                      reentry=reentry)
    got = [opened(rig)["started"], opened(rig)["started"]]
    rig.clock.advance(hours=2)
    fire_due(rig.timers, rig.clock, rig.service)
    assert all(x.status == "completed" for x in executions_of(rig, workflow))
    got.append(opened(rig)["started"])
    assert got == starts
    assert len(executions_of(rig, workflow)) == sum(starts)


def test_reentry_never_refuses_executions_without_a_contact(rig: Rig) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"}], {"type": "conversation_opened"},
                      reentry="once")
    assert [opened(rig, contact_id=None)["started"] for _ in range(2)] == [1, 1]
    assert len(executions_of(rig, workflow)) == 2


# --- steps: messages and questions ------------------------------------------------------------------------

def test_send_message_renders_the_template_with_buttons(rig: Rig) -> None:
    workflow = create(rig, [{"id": "hola", "type": "send_message", "text": "Hola {{contact.first_name}}, ¿qué buscás?",
                             "buttons": ["Ventas", "Soporte"]}])
    x = run(rig, workflow)
    [sent] = rig.actions.sent
    assert sent["content"] == {"type": "buttons", "body": "Hola Ana, ¿qué buscás?",
                               "buttons": [{"id": "btn:0", "title": "Ventas"}, {"id": "btn:1", "title": "Soporte"}]}
    assert sent["request_id"] == f"wf:{x.execution_id}:1"
    assert sent["origin"] == f"workflow:{workflow.workflow_id}"
    assert (sent["reach"].address, sent["reach"].channel_id) == (PHONE, CHANNEL)
    assert x.status == "completed"
    assert x.outputs["hola"] == {"sent": "Hola Ana, ¿qué buscás?", "to": PHONE, "request_id": sent["request_id"]}


@pytest.mark.parametrize(("text", "reply_id"), [("no", None), ("NO!", None), ("2", None), ("", "opt:1")])
def test_ask_question_accepts_text_number_or_button(rig: Rig, text: str, reply_id: str | None) -> None:
    workflow = create(rig, [ask(), {"id": "eco", "type": "send_message", "text": "Elegiste {{vars.respuesta}}"}])
    x = run(rig, workflow)
    assert x.status == "waiting"
    assert rig.actions.sent[0]["content"]["buttons"] == [{"id": "opt:0", "title": "Sí"}, {"id": "opt:1", "title": "No"},
                                                         {"id": "opt:2", "title": "Tal vez"}]
    assert rig.service.awaiting_reply(TENANT, CHANNEL, PHONE)
    assert reply(rig, text, reply_id=reply_id)["resumed"] == 1
    done = get(rig, x.execution_id)
    assert (done.status, done.vars["respuesta"]) == ("completed", "No")
    assert rig.actions.bodies[-1] == "Elegiste No"
    assert not rig.service.awaiting_reply(TENANT, CHANNEL, PHONE)


def test_invalid_answers_ask_again_then_take_the_timeout_path(rig: Rig) -> None:
    workflow = create(rig, [ask(on_timeout="sin_respuesta", invalid_text="Elegí Sí, No o Tal vez"),
                            {"id": "gracias", "type": "send_message", "text": "Gracias", "next": "end"},
                            {"id": "sin_respuesta", "type": "send_message", "text": "Te contactamos luego"}])
    x = run(rig, workflow)
    for attempt in range(1, MAX_INVALID_ANSWERS + 1):
        assert reply(rig, f"mmm {attempt}")["resumed"] == 1
        current = get(rig, x.execution_id)
        assert (current.status, current.step_id) == ("waiting", "pregunta")
        assert rig.actions.bodies[-1] == "Elegí Sí, No o Tal vez"
    assert len(rig.actions.sent) == 1 + MAX_INVALID_ANSWERS
    reply(rig, "no sé")
    done = get(rig, x.execution_id)
    assert done.status == "completed"
    assert "respuesta" not in done.vars
    assert rig.actions.bodies[-1] == "Te contactamos luego"
    assert len({s["request_id"] for s in rig.actions.sent}) == len(rig.actions.sent) == MAX_INVALID_ANSWERS + 2


def test_the_answer_is_usable_in_a_later_branch(rig: Rig) -> None:
    rig.actions.add_contact("c2", phone="5491100000002", conversation_id="cv-2")
    rig.actions.add_contact("c1", conversation_id="cv-1")
    workflow = create(rig, [
        ask(text="¿Querés hablar con un asesor?", options=["Sí", "No"], save_as="quiere"),
        {"id": "decidir", "type": "branch", "otherwise": "chau",
         "branches": [{"name": "asesor", "when": [field("vars.quiere", value="si")], "next": "asesor"}]},
        {"id": "asesor", "type": "assign", "campaign_id": "ventas", "next": "end"},
        {"id": "chau", "type": "send_message", "text": "¡Chau!"}])
    yes, no = run(rig, workflow), run(rig, workflow, "c2")
    reply(rig, "sí")
    rig.service.on_event("MessageReceived", {**message("No", contact_id="c2"), "contact_key": "5491100000002"},
                         event_id="ev-no")
    assert get(rig, yes.execution_id).outputs["decidir"] == {"branch": "asesor"}
    assert get(rig, no.execution_id).outputs["decidir"] == {"branch": "otherwise"}
    [assigned] = rig.actions.named("assign")
    # seq 1 asked, 2 the answer, 3 the branch, 4 the assignment (its idempotency key)
    assert (assigned["conversation_id"], assigned["key"]) == ("cv-1", f"wf:{yes.execution_id}:4")
    assert get(rig, yes.execution_id).outputs["asesor"] == {"status": "assigned", "agent_id": "agent-1"}
    assert rig.actions.bodies[-1] == "¡Chau!"


def test_question_timeout_and_a_reply_after_it_changes_nothing(rig: Rig) -> None:
    workflow = create(rig, [ask(timeout="1h", on_timeout="recordatorio"),
                            {"id": "gracias", "type": "send_message", "text": "Gracias", "next": "end"},
                            {"id": "recordatorio", "type": "send_message", "text": "¿Seguís ahí?"}])
    x = run(rig, workflow)
    [(_, at, timer)] = rig.timers.scheduled
    assert at == T0 + timedelta(hours=1)
    assert (timer["kind"], timer["reason"]) == ("resume", "timeout")
    rig.clock.advance(minutes=59)
    assert fire_due(rig.timers, rig.clock, rig.service) == 0
    rig.clock.advance(minutes=1)
    assert fire_due(rig.timers, rig.clock, rig.service) == 1
    done = get(rig, x.execution_id)
    assert (done.status, done.outputs["pregunta"]["timed_out"]) == ("completed", True)
    assert rig.actions.bodies[-1] == "¿Seguís ahí?"
    assert reply(rig, "Sí") == {"started": 0, "resumed": 0}
    assert get(rig, x.execution_id) == done
    assert len(rig.actions.sent) == 2


def test_a_redelivered_reply_does_not_answer_the_next_question(rig: Rig) -> None:
    workflow = create(rig, [{"id": "nombre", "type": "ask_question", "text": "¿Nombre?", "save_as": "nombre"},
                            {"id": "apellido", "type": "ask_question", "text": "¿Apellido?", "save_as": "apellido"}])
    x = run(rig, workflow)
    reply(rig, "Ana", event_id="ev-ana", message_id="wamid.ana")
    reply(rig, "Ana", event_id="ev-ana", message_id="wamid.ana")  # EventBridge / SQS redelivery of the same event
    current = get(rig, x.execution_id)
    assert (current.status, current.step_id, current.vars) == ("waiting", "apellido", {"nombre": "Ana"})


@pytest.mark.parametrize("trigger", ["conversation_opened", "message_received"])
def test_the_message_that_triggered_the_execution_never_answers_its_question(rig: Rig, trigger: str) -> None:
    # the trigger event is handled first and asks; then the same customer message reaches the workflows again
    # (as MessageReceived): it was sent before the question, so it is neither an answer nor an invalid one
    workflow = create(rig, [ask(), SET], {"type": trigger})
    if trigger == "conversation_opened":
        opened(rig)  # opened by wamid.1
        first = "wamid.1"
    else:
        first = "wamid.primero"
        reply(rig, "Sí", message_id=first)
    [x] = executions_of(rig, workflow)
    assert x.status == "waiting" and x.seen_messages == [first]
    assert reply(rig, "Sí", message_id=first)["resumed"] == 0
    assert get(rig, x.execution_id).status == "waiting" and len(rig.actions.sent) == 1  # no "choose an option"
    reply(rig, "No", message_id="wamid.respuesta")
    done = get(rig, x.execution_id)
    assert (done.status, done.vars["respuesta"]) == ("completed", "No")


def test_two_replies_at_once_neither_is_dropped(rig: Rig) -> None:
    # an invalid reply commits while a valid one is being handled on the state read before it
    workflow = create(rig, [ask(), SET])
    x = run(rig, workflow)
    read = rig.store.get_execution
    raced: list[str] = []

    def racing(tenant_id: str, execution_id: str) -> Execution | None:
        found = read(tenant_id, execution_id)
        if not raced:
            raced.append(execution_id)
            reply(rig, "Hola")  # the other runner: refused as an answer, asked again, committed first
        return found  # the state from before it

    rig.store.get_execution = racing  # type: ignore[method-assign]
    assert reply(rig, "No")["resumed"] == 1
    rig.store.get_execution = read  # type: ignore[method-assign]
    done = get(rig, x.execution_id)
    assert raced and (done.status, done.vars["respuesta"]) == ("completed", "No")
    assert [(r.step_id, r.type, r.output.get("answer")) for r in rig.store.steps(TENANT, x.execution_id)][:3] == [
        ("pregunta", "ask_question", None), ("pregunta", "answer", "Hola"), ("pregunta", "answer", "No")]


# --- steps: waits -----------------------------------------------------------------------------------------

def test_wait_duration_continues_only_after_the_time(rig: Rig) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "2h"},
                            {"id": "listo", "type": "send_message", "text": "¡Listo!"}])
    x = run(rig, workflow)
    assert (x.status, x.wait and x.wait["kind"]) == ("waiting", "timer")
    assert rig.timers.scheduled[0][:2] == (f"{x.execution_id}-1", T0 + timedelta(hours=2))
    rig.clock.advance(hours=1, minutes=59)
    assert fire_due(rig.timers, rig.clock, rig.service) == 0
    assert rig.actions.sent == []
    rig.clock.advance(minutes=1)
    assert fire_due(rig.timers, rig.clock, rig.service) == 1
    assert get(rig, x.execution_id).status == "completed"
    assert rig.actions.bodies == ["¡Listo!"]


@pytest.mark.parametrize(("days", "until"), [
    (None, datetime(2026, 3, 4, 12, 0, tzinfo=UTC)),  # tomorrow 09:00 in Buenos Aires (today's is past)
    ([5], datetime(2026, 3, 7, 12, 0, tzinfo=UTC)),  # Saturday 09:00
])
def test_wait_until_a_local_time(rig: Rig, days: list[int] | None, until: datetime) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "until_time": "09:00", "time_zone": BA, "days": days},
                            {"id": "buen_dia", "type": "send_message", "text": "Buen día"}])
    x = run(rig, workflow)
    assert rig.timers.scheduled[0][1] == until
    assert x.outputs["espera"] == {"until": until.isoformat().replace("+00:00", "Z")}
    rig.clock.set(until)
    assert fire_due(rig.timers, rig.clock, rig.service) == 1
    assert rig.actions.bodies == ["Buen día"]


@pytest.mark.parametrize(("opens", "status", "timers"), [
    (timedelta(hours=3), "waiting", 1), (timedelta(0), "completed", 0), (None, "failed", 0)])
def test_wait_until_a_campaign_opens(rig: Rig, opens: timedelta | None, status: str, timers: int) -> None:
    rig.actions.next_open["ventas"] = T0 + opens if opens is not None else None
    workflow = create(rig, [{"id": "espera", "type": "wait", "until_open": "ventas"},
                            {"id": "abierto", "type": "send_message", "text": "Ya abrimos"}])
    x = run(rig, workflow)
    assert (x.status, len(rig.timers.scheduled)) == (status, timers)
    if status == "failed":
        assert x.error == "campaign ventas never opens (or does not exist)"
        assert rig.actions.sent == []
    if status == "waiting":
        assert rig.timers.scheduled[0][1] == T0 + timedelta(hours=3)
        rig.clock.advance(hours=3)
        fire_due(rig.timers, rig.clock, rig.service)
        assert get(rig, x.execution_id).status == "completed"
    if status != "failed":
        assert rig.actions.bodies == ["Ya abrimos"]


# --- steps: branches --------------------------------------------------------------------------------------

def _branching(condition: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": "horario", "type": "branch", "otherwise": "fuera",
             "branches": [{"name": "abierto", "when": [condition], "next": "dentro"}]},
            {"id": "dentro", "type": "send_message", "text": "dentro", "next": "end"},
            {"id": "fuera", "type": "send_message", "text": "fuera"}]


@pytest.mark.parametrize(("at", "expected"), [
    (T0, "dentro"),  # Tuesday 12:00 in Buenos Aires
    (T0 + timedelta(hours=7), "fuera"),  # Tuesday 19:00
    (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), "fuera"),  # Saturday 12:00
])
def test_branch_on_time_of_day(rig: Rig, at: datetime, expected: str) -> None:
    rig.clock.set(at)
    workflow = create(rig, _branching({"type": "time_of_day", "after": "09:00", "before": "18:00", "time_zone": BA,
                                       "days": [0, 1, 2, 3, 4]}))
    run(rig, workflow)
    assert rig.actions.bodies == [expected]


@pytest.mark.parametrize(("is_open", "expected"), [(True, "dentro"), (False, "fuera"), (None, "fuera")])
def test_branch_on_business_hours(rig: Rig, is_open: bool | None, expected: str) -> None:
    if is_open is not None:
        rig.actions.campaign_hours["ventas"] = is_open
    workflow = create(rig, _branching({"type": "business_hours", "campaign_id": "ventas"}))
    x = run(rig, workflow)
    assert rig.actions.bodies == [expected]
    assert x.outputs["horario"] == {"branch": "abierto" if expected == "dentro" else "otherwise"}
    assert rig.actions.named("campaign_open")[0]["at"] == T0


# --- steps: contact, conversation, bot --------------------------------------------------------------------

def test_set_variable_and_update_contact(rig: Rig) -> None:
    rig.actions.add_contact("c1", tags=["nuevo"], fields={"plan": "silver"})
    workflow = create(rig, [
        {"id": "elegir", "type": "set_variable", "name": "plan", "value": "{{trigger.plan}}"},
        {"id": "perfil", "type": "set_variable", "name": "perfil",
         "value": {"nombre": "{{contact.first_name}}", "plan": "{{vars.plan}}", "puntos": 5}},
        {"id": "actualizar", "type": "update_contact", "fields": {"plan": "{{vars.plan}}", "puntos": 5},
         "add_tags": ["vip"], "remove_tags": ["nuevo"], "lifecycle": "customer"}])
    x = run(rig, workflow, data={"plan": "gold"})
    assert x.vars == {"plan": "gold", "perfil": {"nombre": "Ana", "plan": "gold", "puntos": 5}}
    contact = rig.actions.contacts[(TENANT, "c1")]
    assert (contact["fields"], contact["tags"], contact["lifecycle"]) == ({"plan": "gold", "puntos": 5}, ["vip"],
                                                                          "customer")
    assert rig.actions.named("update_contact")[0]["actor"] == f"workflow:{x.execution_id}"


def test_add_note_close_and_bot_act_on_the_conversation(rig: Rig) -> None:
    rig.actions.add_contact("c1", conversation_id="cv-9")
    workflow = create(rig, [
        {"id": "nota", "type": "add_note", "text": "Cliente {{contact.name}} pidió baja"},
        {"id": "bot_off", "type": "bot", "action": "off"},
        {"id": "bot_on", "type": "bot", "action": "on"},
        {"id": "cerrar", "type": "close_conversation", "category": "baja", "note": "Automático"}])
    x = run(rig, workflow)
    assert x.status == "completed"
    expected_note = "note_" + hashlib.sha256(f"wf:{x.execution_id}:1".encode()).hexdigest()[:20]
    assert rig.actions.notes[expected_note]["text"] == "Cliente Ana Pérez pidió baja"
    assert rig.actions.notes[expected_note]["conversation_id"] == "cv-9"
    assert [(b["action"], b["conversation_id"]) for b in rig.actions.named("bot")] == [("off", "cv-9"), ("on", "cv-9")]
    assert (x.outputs["bot_off"], x.outputs["bot_on"]) == ({"bot": "off"}, {"bot": "on"})
    [closed] = rig.actions.named("close")
    assert closed == {"tenant_id": TENANT, "conversation_id": "cv-9", "category": "baja", "note": "Automático",
                      "actor": f"workflow:{x.execution_id}"}


def test_start_flow_hands_the_conversation_to_the_bots_flow_once(rig: Rig) -> None:
    rig.actions.add_contact("c1", conversation_id="cv-9")
    rig.actions.bot_flows[CHANNEL] = {"inicio", "pagos"}
    workflow = create(rig, [{"id": "a_pagos", "type": "bot", "action": "start_flow", "flow": "pagos"}])
    x = run(rig, workflow)
    assert x.status == "completed" and x.outputs["a_pagos"] == {"bot": "start_flow", "flow": "pagos"}
    [started] = rig.actions.named("start_bot_flow")
    assert started == {"tenant_id": TENANT, "channel_id": CHANNEL, "conversation_id": "cv-9", "contact_id": "c1",
                       "flow": "pagos", "key": f"wf:{x.execution_id}:1", "actor": f"workflow:{x.execution_id}"}


@pytest.mark.parametrize(("flows", "error"), [
    (None, f"NotFound: no bot answers channel {CHANNEL}"),
    ({"inicio"}, "NotFound: the bot has no flow 'pagos'"),
])
def test_start_flow_fails_visibly_without_the_bot_or_its_flow(rig: Rig, flows: set[str] | None, error: str) -> None:
    rig.actions.add_contact("c1", conversation_id="cv-9")
    if flows is not None:
        rig.actions.bot_flows[CHANNEL] = flows
    workflow = create(rig, [{"id": "a_pagos", "type": "bot", "action": "start_flow", "flow": "pagos"}])
    x = run(rig, workflow)
    assert (x.status, x.error) == ("failed", error)
    assert rig.actions.named("start_bot_flow") == []


@pytest.mark.parametrize(("step", "message"), [
    ({"action": "start_flow"}, "start_flow needs the flow to start"),
    ({"action": "on", "flow": "pagos"}, "flow is only for start_flow, not 'on'"),
])
def test_bot_step_flow_goes_with_start_flow(step: dict[str, Any], message: str) -> None:
    assert message in invalid([{"id": "b", "type": "bot", **step}])


def test_conversation_steps_fail_without_a_conversation(rig: Rig) -> None:
    workflow = create(rig, [{"id": "cerrar", "type": "close_conversation"}])
    x = run(rig, workflow)
    assert (x.status, x.error) == ("failed", "no conversation: the trigger has none and the contact has no open one")
    assert rig.actions.named("close") == []


# --- steps: other workflows, email, HTTP ------------------------------------------------------------------

def test_trigger_workflow_enqueues_a_start_one_level_deeper(rig: Rig) -> None:
    target = create(rig, [{"id": "hola", "type": "send_message", "text": "Soy B"}])
    source = create(rig, [{"id": "otro", "type": "trigger_workflow", "workflow_id": target.workflow_id}])
    x = run(rig, source)
    child_id = execution_id_for(target.workflow_id, f"wf:{x.execution_id}:1")
    assert x.outputs["otro"] == {"execution_id": child_id}
    [start] = [m for m in rig.queue.of_kind("start") if m["workflow_id"] == target.workflow_id]
    assert (start["depth"], start["contact_id"], start["execution_id"]) == (1, "c1", child_id)
    child = get(rig, child_id)
    assert (child.status, child.depth) == ("completed", 1)
    assert rig.actions.bodies == ["Soy B"]


@pytest.mark.parametrize(("depth", "status"), [(MAX_DEPTH - 1, "completed"), (MAX_DEPTH, "failed")])
def test_trigger_workflow_stops_beyond_max_depth(rig: Rig, depth: int, status: str) -> None:
    target = create(rig, [SET])
    source = create(rig, [{"id": "otro", "type": "trigger_workflow", "workflow_id": target.workflow_id}])
    rig.service.start({"kind": "start", "tenant_id": TENANT, "workflow_id": source.workflow_id, "version": 1,
                       "execution_id": "wx_deep", "contact_id": "c1", "trigger": "manual", "depth": depth})
    x = get(rig, "wx_deep")
    assert x.status == status
    if status == "failed":
        assert x.error == f"trigger_workflow: more than {MAX_DEPTH} workflows deep"
        assert rig.queue.of_kind("start") == []
    else:
        assert [m["depth"] for m in rig.queue.of_kind("start")] == [MAX_DEPTH]


def test_send_email_needs_an_address(rig: Rig) -> None:
    rig.actions.add_contact("c2", email=None, phone=None)
    workflow = create(rig, [{"id": "correo", "type": "send_email", "subject": "Hola {{contact.first_name}}",
                             "body": "Tu plan vence pronto."}])
    ok = run(rig, workflow)
    assert ok.outputs["correo"] == {"to": "ana@example.com", "message_id": "email-1"}
    assert rig.actions.emails[0]["subject"] == "Hola Ana"
    failed = run(rig, workflow, "c2")
    assert (failed.status, failed.error) == ("failed", "no email address to send to ('')")
    assert len(rig.actions.emails) == 1


def _http(**extra: Any) -> dict[str, Any]:
    return {"id": "saldo", "type": "http_request", "method": "GET",
            "url": "https://api.banco.example/saldo/{{vars.cuenta}}", "save": {"saldo": "balance"}, **extra}


def _http_steps(on_error: str | None, fallback: str) -> list[dict[str, Any]]:
    """The HTTP step, then "ok"; with on_error, an "aviso" step that only the error path reaches."""
    steps = [_http(on_error=on_error), {"id": "ok", "type": "send_message", "text": "ok", "next": "end"}]
    return steps + ([{"id": "aviso", "type": "send_message", "text": fallback}] if on_error else [])


def test_http_request_saves_outputs_into_vars(rig: Rig) -> None:
    rig.actions.http_result = {"ok": True, "status": 200, "outputs": {"saldo": 1500}, "error": None}
    workflow = create(rig, [{"id": "cuenta", "type": "set_variable", "name": "cuenta", "value": "123"}, _http(),
                            {"id": "informar", "type": "send_message", "text": "Tu saldo es {{vars.saldo}}"}])
    x = run(rig, workflow)
    assert x.vars == {"cuenta": "123", "saldo": 1500}
    assert rig.actions.bodies == ["Tu saldo es 1500"]
    [call] = rig.actions.named("http")
    assert (call["variables"], call["key"], call["contact"]["first_name"]) == ({"cuenta": "123"},
                                                                               f"wf:{x.execution_id}:2", "Ana")
    assert call["step"].integration().outputs == {"saldo": "balance?"}


@pytest.mark.parametrize("on_error", ["aviso", None])
def test_http_request_failure_goes_to_on_error_or_fails(rig: Rig, on_error: str | None) -> None:
    rig.actions.http_result = {"ok": False, "status": 500, "outputs": {}, "error": "http_500"}
    workflow = create(rig, _http_steps(on_error, "Sistema caído"))
    x = run(rig, workflow)
    [record] = [r for r in rig.store.steps(TENANT, x.execution_id) if r.step_id == "saldo"]
    assert record.error == "http_500"
    if on_error:
        assert (x.status, record.state, record.next) == ("completed", "done", "aviso")
        assert rig.actions.bodies == ["Sistema caído"]
    else:
        assert (x.status, x.error, record.state) == ("failed", "http_500", "failed")
        assert rig.actions.sent == []
    assert "saldo" not in x.vars


# --- durability -------------------------------------------------------------------------------------------

def test_crash_before_commit_reruns_the_step_without_repeating_the_send(rig: Rig) -> None:
    workflow = create(rig, [{"id": "uno", "type": "send_message", "text": "uno"},
                            {"id": "dos", "type": "send_message", "text": "dos"}])
    execution_id = start_manual(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError, match="crash"):
        rig.queue.drain(rig.service)
    assert get(rig, execution_id).seq == 0
    assert [r.state for r in rig.store.steps(TENANT, execution_id)] == ["started"]
    rig.service.run(TENANT, execution_id)
    x = get(rig, execution_id)
    assert x.status == "completed"
    assert rig.actions.bodies == ["uno", "dos"]
    assert [d["request_id"] for d in rig.actions.duplicate_sends] == [f"wf:{execution_id}:1"]
    assert [(r.seq, r.step_id, r.state) for r in rig.store.steps(TENANT, execution_id)] == [
        (1, "uno", "done"), (2, "dos", "done")]


def test_crash_in_add_note_keeps_one_note(rig: Rig) -> None:
    rig.actions.add_contact("c1", conversation_id="cv-9")
    workflow = create(rig, [{"id": "nota", "type": "add_note", "text": "Hola"}])
    execution_id = start_manual(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError):
        rig.queue.drain(rig.service)
    rig.service.run(TENANT, execution_id)
    calls = rig.actions.named("add_note")
    assert len(calls) == 2 and calls[0]["note_id"] == calls[1]["note_id"]
    assert len(rig.actions.notes) == 1


@pytest.mark.parametrize("on_error", ["aviso", None])
def test_an_interrupted_http_request_is_not_repeated(rig: Rig, on_error: str | None) -> None:
    rig.actions.http_result = {"ok": True, "status": 200, "outputs": {"saldo": 10}, "error": None}
    workflow = create(rig, _http_steps(on_error, "No pudimos consultar"))
    execution_id = start_manual(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError):
        rig.queue.drain(rig.service)
    rig.service.run(TENANT, execution_id)
    x = get(rig, execution_id)
    assert len(rig.actions.named("http")) == 1
    record = rig.store.steps(TENANT, execution_id)[0]
    assert record.error is not None and record.error.startswith("interrupted")
    if on_error:
        assert (x.status, record.next) == ("completed", "aviso")
        assert rig.actions.bodies == ["No pudimos consultar"]
    else:
        assert (x.status, record.state) == ("failed", "failed")
        assert x.error is not None and x.error.startswith("interrupted")


def test_an_interrupted_email_is_not_repeated(rig: Rig) -> None:
    workflow = create(rig, [{"id": "correo", "type": "send_email", "subject": "Hola", "body": "Cuerpo"}])
    execution_id = start_manual(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError):
        rig.queue.drain(rig.service)
    rig.service.run(TENANT, execution_id)
    assert len(rig.actions.emails) == 1
    assert get(rig, execution_id).status == "failed"


def test_redelivered_start_and_stale_resume_are_ignored(rig: Rig) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"},
                            {"id": "listo", "type": "send_message", "text": "listo"}])
    execution_id = start_manual(rig, workflow)
    [start] = list(rig.queue.pending)
    rig.queue.drain(rig.service)
    assert rig.service.start(start) is False  # the same start, redelivered
    [(_, _, timer)] = rig.timers.scheduled
    assert rig.service.resume({**timer, "token": "not-the-token"}) is False
    assert get(rig, execution_id).status == "waiting"
    rig.clock.advance(hours=1)
    assert rig.service.resume(timer) is True
    assert rig.service.resume(timer) is False  # the timer, redelivered
    x = get(rig, execution_id)
    assert (x.status, rig.actions.bodies) == ("completed", ["listo"])
    assert len(rig.timers.scheduled) == 1


def test_a_crash_after_scheduling_a_wait_does_not_strand_the_execution(rig: Rig) -> None:
    workflow = create(rig, [{"id": "espera", "type": "wait", "duration": "1h"},
                            {"id": "listo", "type": "send_message", "text": "listo"}])
    execution_id = start_manual(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError):
        rig.queue.drain(rig.service)
    rig.service.run(TENANT, execution_id)  # the redelivered message re-runs the wait step
    assert len(rig.timers.calls) == 2 and len(rig.timers.scheduled) == 1
    rig.clock.advance(hours=2)
    fire_due(rig.timers, rig.clock, rig.service)
    assert get(rig, execution_id).status == "completed"


def test_a_crash_while_committing_an_answer_does_not_lose_the_reply(rig: Rig) -> None:
    workflow = create(rig, [ask(), {"id": "eco", "type": "send_message", "text": "Elegiste {{vars.respuesta}}"}])
    x = run(rig, workflow)
    rig.store.crash_on_commit = 1
    with pytest.raises(RuntimeError):
        reply(rig, "Sí", event_id="ev-answer")
    reply(rig, "Sí", event_id="ev-answer")  # redelivered after the crash
    done = get(rig, x.execution_id)
    assert (done.status, done.vars) == ("completed", {"respuesta": "Sí"})


def test_a_crash_right_after_asking_does_not_make_the_question_deaf(rig: Rig) -> None:
    workflow = create(rig, [ask(), {"id": "eco", "type": "send_message", "text": "Elegiste {{vars.respuesta}}"}])
    execution_id = start_manual(rig, workflow)
    [start] = list(rig.queue.pending)
    rig.store.crash_after_commit = 1
    with pytest.raises(RuntimeError):
        rig.queue.drain(rig.service)
    rig.service.start(start)  # SQS redelivers the start message
    assert get(rig, execution_id).status == "waiting"
    reply(rig, "No")
    assert get(rig, execution_id).vars == {"respuesta": "No"}


def test_a_loop_stops_at_max_steps(rig: Rig) -> None:
    workflow = create(rig, [SET, {"id": "otra_vez", "type": "branch",
                                  "branches": [{"name": "siempre", "when": [], "next": "fijar"}]}], max_steps=10)
    x = run(rig, workflow)
    assert (x.status, x.seq) == ("failed", 10)
    assert x.error is not None and x.error.startswith("runaway")
    assert rig.queue.of_kind("continue") == []


def test_long_executions_continue_through_the_queue(rig: Rig) -> None:
    workflow = create(rig, [{**SET, "id": f"paso{i}", "value": i} for i in range(STEPS_PER_INVOCATION + 5)])
    execution_id = start_manual(rig, workflow)
    rig.service.start(rig.queue.pending.popleft())
    x = get(rig, execution_id)
    assert (x.status, x.seq) == ("running", STEPS_PER_INVOCATION)
    assert list(rig.queue.pending) == [{"kind": "continue", "tenant_id": TENANT, "execution_id": execution_id}]
    rig.queue.drain(rig.service)
    done = get(rig, execution_id)
    assert (done.status, done.seq, done.vars["x"]) == ("completed", STEPS_PER_INVOCATION + 5, STEPS_PER_INVOCATION + 4)


# --- manual and webhook runs ------------------------------------------------------------------------------

def test_run_manual_for_a_contact(rig: Rig) -> None:
    workflow = create(rig, [{"id": "hola", "type": "send_message", "text": "Origen: {{trigger.origen}}"}])
    result = rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(contact_id="c1", data={"origen": "crm"}),
                                    request_key="req-1")
    execution_id = execution_id_for(workflow.workflow_id, "manual:req-1:c1")
    assert result == {"workflow_id": workflow.workflow_id, "version": 1, "contacts": 1,
                      "execution_ids": [execution_id]}
    rig.queue.drain(rig.service)
    rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(contact_id="c1", data={"origen": "crm"}),
                           request_key="req-1")  # a retried request: the same execution
    rig.queue.drain(rig.service)
    assert [x.execution_id for x in executions_of(rig, workflow)] == [execution_id]
    assert rig.actions.bodies == ["Origen: crm"]
    with pytest.raises(NotFound, match="contact c404"):
        rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(contact_id="c404"), request_key="req-2")


def test_run_manual_for_a_segment_in_batches(rig: Rig) -> None:
    contacts = [f"c{i}" for i in range(1, 13)]
    for i, contact_id in enumerate(contacts):
        rig.actions.add_contact(contact_id, phone=f"54911000000{i:02d}")
    rig.actions.segments["seg-1"] = contacts
    workflow = create(rig, [{"id": "hola", "type": "send_message", "text": "Hola {{contact.first_name}}"}])
    result = rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(segment_id="seg-1"), request_key="r")
    assert result["contacts"] == 12
    rig.queue.drain(rig.service)
    assert sorted(x.contact_id or "" for x in executions_of(rig, workflow)) == sorted(contacts)
    assert len(rig.actions.sent) == 12


@pytest.mark.parametrize(("trigger", "enabled", "match"), [
    ({"type": "manual"}, False, "disabled"), ({"type": "conversation_opened"}, True, "not manually")])
def test_run_manual_refused(rig: Rig, trigger: dict[str, Any], enabled: bool, match: str) -> None:
    workflow = create(rig, [SET], trigger, enabled=enabled)
    with pytest.raises(Conflict, match=match):
        rig.service.run_manual(TENANT, workflow.workflow_id, RunInput(contact_id="c1"), request_key="r")
    assert rig.queue.messages == []


def test_segment_runs_do_not_send_everyone_to_one_conversation(rig: Rig) -> None:
    rig.actions.add_contact("c2", name="Beto Gómez", phone="5491100000002")
    rig.actions.conversations[(TENANT, "cv-1")] = {"conversation_id": "cv-1", "channel_id": CHANNEL,
                                                   "contact_key": PHONE, "status": "open"}
    rig.actions.segments["seg-1"] = ["c1", "c2"]
    workflow = create(rig, [{"id": "hola", "type": "send_message", "text": "Hola {{contact.first_name}}"}])
    try:
        data = RunInput(segment_id="seg-1", conversation_id="cv-1")
        rig.service.run_manual(TENANT, workflow.workflow_id, data, request_key="r")
    except (ValidationError, InvalidInput):
        return  # refusing the combination is a fine answer too
    rig.queue.drain(rig.service)
    assert [s["reach"].contact_key for s in rig.actions.sent if s["content"]["body"] == "Hola Beto"] == [
        "5491100000002"]


def _hook(rig: Rig, **extra: Any) -> Workflow:
    return create(rig, [{"id": "pedido", "type": "set_variable", "name": "pedido", "value": "{{trigger.pedido}}"},
                        {"id": "avisar", "type": "send_message", "text": "Tu pedido {{vars.pedido}} salió"}],
                  {"type": "incoming_webhook", **extra})


def test_webhook_starts_in_the_workflows_tenant(rig: Rig) -> None:
    rig.actions.add_contact("c1", tenant_id="evil", name="Mallory")
    workflow = _hook(rig)
    token = rig.service.hook_token(workflow)
    assert rig.service.hook_url_path(workflow) == f"/hooks/workflows/{workflow.workflow_id}?token={token}"
    body = {"tenant_id": "evil", "contact": {"contact_id": "c1"}, "data": {"pedido": "A-1"}}
    result = rig.service.run_webhook(workflow.workflow_id, token, body, delivery_key="d-1")
    assert result == {"accepted": True, "execution_id": execution_id_for(workflow.workflow_id, "hook:d-1")}
    rig.queue.drain(rig.service)
    x = get(rig, str(result["execution_id"]))
    assert (x.tenant_id, x.contact_id, x.status, x.trigger_data) == (TENANT, "c1", "completed", {"pedido": "A-1"})
    assert rig.store.get_execution("evil", x.execution_id) is None
    assert rig.actions.bodies == ["Tu pedido A-1 salió"]


def test_webhook_finds_the_contact_by_phone(rig: Rig) -> None:
    workflow = _hook(rig)
    body = {"contact": {"phone": PHONE}, "data": {"pedido": "B-2"}}
    result = rig.service.run_webhook(workflow.workflow_id, rig.service.hook_token(workflow), body, delivery_key="d")
    rig.queue.drain(rig.service)
    assert get(rig, str(result["execution_id"])).contact_id == "c1"
    assert rig.actions.bodies == ["Tu pedido B-2 salió"]


def test_webhook_refusals_and_conditions(rig: Rig) -> None:
    workflow = _hook(rig, when=[field("trigger.monto", "gt", 1000)])
    other = _hook(rig)
    token = rig.service.hook_token(workflow)
    body = {"contact": {"contact_id": "c1"}, "data": {"pedido": "A-1", "monto": 500}}
    for wrong in ("0" * 40, rig.service.hook_token(other), token[:-1]):
        with pytest.raises(NotFound, match="no such workflow hook"):
            rig.service.run_webhook(workflow.workflow_id, wrong, body, delivery_key="d")
    assert rig.service.run_webhook(workflow.workflow_id, token, body, delivery_key="d") == {
        "accepted": False, "reason": "conditions not met"}
    rig.service.set_enabled(TENANT, workflow.workflow_id, False)
    with pytest.raises(Conflict, match="disabled"):
        rig.service.run_webhook(workflow.workflow_id, token, body, delivery_key="d")
    manual = create(rig, [SET])
    with pytest.raises(NotFound):
        rig.service.run_webhook(manual.workflow_id, rig.service.hook_token(manual), body, delivery_key="d")
    assert rig.queue.messages == []


def test_webhook_with_a_non_ascii_token_is_not_found(rig: Rig) -> None:
    workflow = _hook(rig)
    with pytest.raises(NotFound):
        rig.service.run_webhook(workflow.workflow_id, "contraseña", {}, delivery_key="d")


# --- schedules --------------------------------------------------------------------------------------------

def test_schedule_starts_once_at_the_local_time() -> None:
    rig = make_service(clock=FakeClock(datetime(2026, 3, 3, 10, 0, tzinfo=UTC)))  # 07:00 in Buenos Aires
    workflow = create(rig, [SET], {"type": "schedule", "cron": "0 9 * * *", "time_zone": BA})
    nine = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    rig.clock.set(nine - timedelta(minutes=1))
    assert rig.service.tick() == {"started": 0}
    rig.clock.set(nine)
    assert rig.service.tick() == {"started": 1}
    rig.clock.set(nine + timedelta(seconds=30))
    assert rig.service.tick() == {"started": 0}
    assert rig.store.schedules[(TENANT, workflow.workflow_id)] == nine + timedelta(days=1)
    rig.queue.drain(rig.service)
    [x] = executions_of(rig, workflow)
    assert (x.status, x.trigger_data, x.contact_id) == ("completed", {"scheduled_for": "2026-03-03T12:00:00Z"}, None)
    assert x.execution_id == execution_id_for(workflow.workflow_id, "cron:2026-03-03T12:00:00Z:-")


def test_schedule_with_a_segment_starts_one_per_contact_and_skips_disabled() -> None:
    rig = make_service(clock=FakeClock(datetime(2026, 3, 3, 10, 0, tzinfo=UTC)))
    for contact_id in ("c1", "c2"):
        rig.actions.add_contact(contact_id)
    rig.actions.segments["seg-1"] = ["c1", "c2"]
    workflow = create(rig, [SET], {"type": "schedule", "cron": "0 9 * * *", "time_zone": BA, "segment_id": "seg-1"})
    create(rig, [SET], {"type": "schedule", "cron": "0 9 * * *", "time_zone": BA}, enabled=False)
    rig.clock.set(datetime(2026, 3, 3, 12, 0, 5, tzinfo=UTC))
    assert rig.service.tick() == {"started": 2}
    rig.queue.drain(rig.service)
    assert sorted(x.contact_id or "" for x in executions_of(rig, workflow)) == ["c1", "c2"]


def test_schedule_conditions_are_honoured() -> None:
    rig = make_service(clock=FakeClock(datetime(2026, 3, 3, 10, 0, tzinfo=UTC)))
    rig.actions.campaign_hours["ventas"] = False
    trigger = {"type": "schedule", "cron": "0 9 * * *", "time_zone": BA,
               "when": [{"type": "business_hours", "campaign_id": "ventas"}]}
    try:
        create(rig, [SET], trigger)
    except ValidationError:
        return  # refusing conditions on a schedule trigger is a fine answer too
    rig.clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    rig.service.tick()  # queues the start; the conditions are checked when it starts
    rig.queue.drain(rig.service)
    assert rig.store.executions(TENANT, workflow_id=rig.store.list_workflows(TENANT)[0].workflow_id) == []


# --- history ----------------------------------------------------------------------------------------------

def test_execution_history_in_seq_order(rig: Rig) -> None:
    rig.actions.http_result = {"ok": False, "status": 502, "outputs": {}, "error": "http_502"}
    workflow = create(rig, [SET, {"id": "saludo", "type": "send_message", "text": "Hola {{vars.x}}"},
                            {"id": "espera", "type": "wait", "duration": "1h"}, _http()])
    x = run(rig, workflow)
    rig.clock.advance(hours=1)
    fire_due(rig.timers, rig.clock, rig.service)
    execution, records = rig.service.execution(TENANT, x.execution_id)
    assert execution.status == "failed"
    assert [(r.seq, r.step_id, r.type, r.state) for r in records] == [
        (1, "fijar", "set_variable", "done"), (2, "saludo", "send_message", "done"),
        (3, "espera", "wait", "done"), (4, "espera", "resume", "done"), (5, "saldo", "http_request", "failed")]
    assert (records[0].input, records[0].output, records[0].error) == ({"name": "x", "value": 1}, {"x": 1}, None)
    assert records[1].output["sent"] == "Hola 1"
    assert records[2].next is None and records[3].next == "saldo"
    assert records[3].input == {}
    assert records[4].input["url"] == "https://api.banco.example/saldo/{{vars.cuenta}}"
    assert records[4].error == "http_502"
    assert [e.execution_id for e in rig.service.executions(TENANT, contact_id="c1")] == [x.execution_id]
    with pytest.raises(InvalidInput):
        rig.service.executions(TENANT)
    with pytest.raises(NotFound):
        rig.service.execution(TENANT, "wx_missing")


def test_a_template_whose_overrides_break_it_is_refused_with_the_reasons() -> None:
    template = {"name": "Asignar", "trigger": {"type": "conversation_opened"},
                "steps": [{"id": "nota", "type": "set_variable", "name": "x", "value": "1"}]}
    r = make_service(templates=lambda: {"asignar": template})
    assert r.service.from_template("t1", "asignar", {}).name == "Asignar"  # the template itself is valid
    with pytest.raises(InvalidInput) as refused:
        r.service.from_template("t1", "asignar", {"steps": []})
    assert refused.value.errors and all("loc" in e and "msg" in e for e in refused.value.errors)
    with pytest.raises(NotFound):
        r.service.from_template("t1", "no_such_template", {})
