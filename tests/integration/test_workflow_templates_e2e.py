"""The built-in workflow templates end to end on the local stack: one test per template (`csat_after_close` is in
test_workflows.py).

Several templates start on every new conversation, so each test has its own tenant and WhatsApp number,
onboarded through the platform API with no bot and no fallback campaign: a customer's conversation stays
unrouted (`routing: none`) until a workflow routes it. The templates name the campaigns `ventas` and `soporte`;
a test creates the ones it needs, with Cognito agents of its tenant as members, and switches the campaigns' own
customer messages off, so that whatever the customer receives on WhatsApp (the Graph emulator) comes from the
workflow. A test creates its template with POST /v1/workflows/from-template, plays the customers with signed
WhatsApp webhooks and reads the outcome through the REST API: conversations (routing, assignee, closing note),
contacts (tags), the transcript (notes), a campaign's live queue (positions, priority) and each execution with
its step history.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.provision import seed_user, sign_in
from infra.local.stack import LocalStack
from tests.integration.api_client import call
from tests.integration.conftest import sends_to, wait_for
from tests.integration.tenants import Tenant

pytestmark = pytest.mark.integration

SILENT = {"assigned": None, "queued": None, "out_of_hours": None, "all_busy": None}  # the campaign says nothing
_tenants = itertools.count(901)
_customers = itertools.count(1)


def new_wa_id() -> str:
    return f"5491160009{next(_customers):03d}"


def holidays_around_today() -> list[str]:
    today = datetime.now(UTC).date()
    return [(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]


@dataclass(frozen=True)
class Agent:
    user_id: str
    token: str = field(repr=False)
    name: str


class Shop(Tenant):
    """A tenant with its own WhatsApp number and no bot, worked through its API key (every scope, admin too)."""

    def __init__(self, stack: LocalStack, number: int) -> None:
        super().__init__(stack, f"wf-plantilla-{number}", f"300000000000{number}")

    # -- the contact center ------------------------------------------------------------------------------------
    def agent(self, handle: str, name: str, *, online: bool = True) -> Agent:
        email = f"{handle}@{self.tenant_id}.example"
        user_id = seed_user(self.stack.resources, self.tenant_id, email, "agent", name=name)
        agent = Agent(user_id, sign_in(self.stack.resources, email), name)
        if online:
            self.set_status(agent, "online")
        return agent

    def set_status(self, agent: Agent, status: str) -> None:
        answer = call(self.stack, "PUT", "/v1/agents/me/status", {"status": status}, key=agent.token)
        assert answer.status == 200 and answer.body["status"] == status, answer.text

    def active(self, agent: Agent) -> int:
        answer = call(self.stack, "GET", "/v1/agents/me", key=agent.token)
        assert answer.status == 200, answer.text
        return int(answer.body["presence"]["active"])

    def campaign(self, campaign_id: str, members: list[Agent], **fields: Any) -> dict[str, Any]:
        body = {"campaign_id": campaign_id, "name": campaign_id.title(), "members": [a.user_id for a in members],
                "messages": SILENT, **fields}
        return dict(self.api("POST", "/v1/campaigns", body, status=201))

    def waiting(self, campaign_id: str) -> list[tuple[str, int, str]]:
        """The campaign's queue: (conversation id, position, priority), head first."""
        live = self.api("GET", f"/v1/campaigns/{campaign_id}/live")
        return [(w["conversation_id"], w["position"], w["priority"]) for w in live["waiting"]]

    def assign(self, conversation_id: str, agent: Agent) -> None:
        assigned = self.api("POST", f"/v1/conversations/{conversation_id}/assign", {"agent_id": agent.user_id})
        assert assigned["routing"] == "assigned" and assigned["assignee"] == agent.user_id

    # -- workflows -----------------------------------------------------------------------------------------------
    def from_template(self, template: str) -> str:
        created = self.api("POST", "/v1/workflows/from-template",
                           {"template": template, "overrides": {"enabled": True}}, status=201)["workflow"]
        assert created["template"] == template and created["enabled"] is True
        return str(created["workflow_id"])

    def execution(self, workflow_id: str, conversation_id: str, status: str = "completed") -> dict[str, Any]:
        """The workflow's execution for this conversation, once it has this status."""

        def find() -> dict[str, Any] | None:
            return next((x for x in self.executions(workflow_id)
                         if x["conversation_id"] == conversation_id and x["status"] == status), None)

        try:
            return dict(wait_for(find))
        except AssertionError:
            raise AssertionError(f"no {status} execution for {conversation_id}: {self.executions(workflow_id)}"
                                 ) from None

    def history(self, execution_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/v1/workflow-executions/{execution_id}")["steps"])

    def steps(self, execution_id: str) -> list[tuple[str, str, str]]:
        return [(s["step_id"], s["type"], s["state"]) for s in self.history(execution_id)]

    # -- the customer ---------------------------------------------------------------------------------------------
    def sent(self, wa_id: str) -> list[dict[str, Any]]:
        """What the Graph emulator received for this customer from this tenant's number."""
        return [r["body"] for r in sends_to(self.stack, wa_id) if f"/{self.pni}/messages" in r["path"]]

    def texts(self, wa_id: str) -> list[str]:
        out = []
        for body in self.sent(wa_id):
            if body.get("type") == "text":
                out.append(str(body["text"]["body"]))
            elif body.get("type") == "interactive":
                out.append(str(body["interactive"]["body"]["text"]))
        return out

    def wait_text(self, wa_id: str, text: str) -> None:
        try:
            wait_for(lambda: text in self.texts(wa_id))
        except AssertionError:
            raise AssertionError(f"{wa_id} did not get {text!r}: {self.texts(wa_id)}") from None

    # -- conversations and contacts ----------------------------------------------------------------------------------
    def newest(self, wa_id: str) -> dict[str, Any] | None:
        items = self.api("GET", f"/v1/conversations?channel_id={self.channel_id}&limit=100")["items"]
        return next((dict(c) for c in items if c["contact_key"] == wa_id), None)

    def conversation_of(self, wa_id: str) -> dict[str, Any]:
        """The customer's newest conversation, once it is stored."""
        return dict(wait_for(lambda: self.newest(wa_id)))

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/v1/conversations/{conversation_id}")["conversation"])

    def wait_routed(self, wa_id: str, routing: str, assignee: Agent | None = None) -> dict[str, Any]:
        """The customer's newest conversation once it is in this routing state (and held by `assignee`)."""

        def check() -> dict[str, Any] | None:
            c = self.newest(wa_id)
            if c is None or c["routing"] != routing or assignee is not None and c["assignee"] != assignee.user_id:
                return None
            return c

        try:
            return dict(wait_for(check))
        except AssertionError:
            holder = f" by {assignee.name}" if assignee else ""
            raise AssertionError(f"{wa_id} is not {routing}{holder}: {self.newest(wa_id)}") from None

    def wait_conversation(self, conversation_id: str, **expected: Any) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            c = self.conversation(conversation_id)
            return c if all(c.get(k) == v for k, v in expected.items()) else None

        try:
            return dict(wait_for(check))
        except AssertionError:
            raise AssertionError(f"{conversation_id} is not {expected}: {self.conversation(conversation_id)}"
                                 ) from None

    def notes(self, conversation_id: str) -> list[str]:
        """The internal notes of the conversation's transcript."""
        entries = self.api("GET", f"/v1/transcripts/{conversation_id}")["entries"]
        return [str(e["text"]) for e in entries if e["kind"] == "note"]

    def tags(self, contact_id: str) -> list[str]:
        return list(self.api("GET", f"/v1/contacts/{contact_id}")["tags"])


@pytest.fixture
def shop(stack: LocalStack) -> Shop:
    return Shop(stack, next(_tenants))


# =================================================================================================================
# close_and_bot_on
# =================================================================================================================
def test_close_and_bot_on_notes_closes_turns_the_bot_on_and_tells_the_customer(shop: Shop) -> None:
    ana = shop.agent("ana", "Ana Pérez")
    shop.campaign("soporte", [ana])
    workflow_id = shop.from_template("close_and_bot_on")
    wa_id = new_wa_id()
    shop.say(wa_id, "Hola, necesito ayuda con mi pedido")
    conversation_id = shop.conversation_of(wa_id)["conversation_id"]
    shop.assign(conversation_id, ana)  # an agent holds it: the bot is paused
    assert shop.api("GET", f"/v1/conversations/{conversation_id}/bot")["paused"] == "agent"
    shop.say(wa_id, "quiero volver al menú")  # not one of the template's words
    shop.stack.wait_idle()
    assert shop.executions(workflow_id) == []

    shop.say(wa_id, "Menú")

    shop.wait_text(wa_id, "Listo Lucía, te devuelvo al menú principal. Escribí *hola* cuando quieras.")
    execution = shop.execution(workflow_id, conversation_id)
    closed = shop.wait_conversation(conversation_id, status="closed")
    assert closed["closing_note"]["category"] == "volvio_al_bot"
    assert closed["closed_by"] == f"workflow:{execution['execution_id']}"
    assert shop.notes(conversation_id) == ["El cliente pidió volver al menú"]
    assert shop.api("GET", f"/v1/conversations/{conversation_id}/bot")["paused"] is None
    assert shop.active(ana) == 0
    assert shop.steps(execution["execution_id"]) == [
        ("nota", "add_note", "done"), ("cerrar", "close_conversation", "done"), ("activar_bot", "bot", "done"),
        ("confirmar", "send_message", "done")]
    shop.stack.wait_idle()
    assert shop.texts(wa_id) == ["Listo Lucía, te devuelvo al menú principal. Escribí *hola* cuando quieras."]


# =================================================================================================================
# assign_to_agent
# =================================================================================================================
def test_assign_to_agent_puts_new_conversations_in_the_soporte_queue_that_assigns_them(shop: Shop) -> None:
    ana = shop.agent("ana", "Ana Pérez", online=False)
    shop.campaign("soporte", [ana])
    workflow_id = shop.from_template("assign_to_agent")
    first, second = new_wa_id(), new_wa_id()

    shop.say(first, "Hola, ¿me pueden ayudar?")  # nobody is online: it waits in soporte's queue

    waiting = shop.wait_routed(first, "waiting")
    assert waiting["campaign_id"] == "soporte" and waiting["assignee"] is None
    execution = shop.execution(workflow_id, waiting["conversation_id"])
    assert execution["outputs"]["asignar"] == {"status": "queued", "campaign_id": "soporte", "position": 1}
    assert shop.waiting("soporte") == [(waiting["conversation_id"], 1, "normal")]
    assert shop.steps(execution["execution_id"]) == [("asignar", "assign", "done")]

    shop.set_status(ana, "online")  # the queue drains to her
    shop.wait_conversation(waiting["conversation_id"], routing="assigned", assignee=ana.user_id)
    shop.say(second, "Buenas tardes, tengo una consulta")  # someone is free now: assigned straight away

    assigned = shop.wait_routed(second, "assigned", ana)
    assert assigned["campaign_id"] == "soporte"
    execution = shop.execution(workflow_id, assigned["conversation_id"])
    assert execution["outputs"]["asignar"]["status"] == "assigned"
    assert shop.waiting("soporte") == [] and shop.active(ana) == 2
    shop.stack.wait_idle()
    assert shop.texts(first) == shop.texts(second) == []  # the template only routes


# =================================================================================================================
# sales_auto_assignment (round robin)
# =================================================================================================================
def test_sales_auto_assignment_takes_turns_between_sellers_whatever_their_load(shop: Shop) -> None:
    vera, vito = shop.agent("vera", "Vera Ventas"), shop.agent("vito", "Vito Ventas")
    shop.campaign("ventas", [vera, vito], max_per_agent=10)
    workflow_id = shop.from_template("sales_auto_assignment")
    for text in ("Hola, tengo un problema con la factura", "¿A qué hora abren el sábado?"):
        wa_id = new_wa_id()
        shop.say(wa_id, text)  # not about sales: the workflow does not start
        conversation = shop.conversation_of(wa_id)
        shop.stack.wait_idle()
        assert shop.conversation(conversation["conversation_id"])["routing"] == "none"
        shop.assign(conversation["conversation_id"], vera)  # Vera is busier: least busy would pick Vito twice
    assert shop.executions(workflow_id) == []

    names = {vera.user_id: vera.name, vito.user_id: vito.name}
    held = []
    for text in ("Hola, ¿qué precio tiene el plan familiar?", "Quiero COMPRAR dos equipos", "Necesito una cotizacion"):
        wa_id = new_wa_id()
        shop.say(wa_id, text)
        conversation = shop.wait_routed(wa_id, "assigned")
        assert conversation["campaign_id"] == "ventas"
        held.append(conversation["assignee"])
        execution = shop.execution(workflow_id, conversation["conversation_id"])
        assert execution["outputs"]["asignar"] == {
            "status": "assigned", "agent_id": conversation["assignee"], "agent_name": names[conversation["assignee"]],
            "campaign_id": "ventas", "strategy": "round_robin"}

    assert held[0] != held[1] and held[2] == held[0], held  # turns, not load
    assert {held[0], held[1]} == {vera.user_id, vito.user_id}
    assert shop.active(vera) + shop.active(vito) == 5
    shop.stack.wait_idle()
    assert len(shop.executions(workflow_id)) == 3


# =================================================================================================================
# support_auto_assignment (least busy)
# =================================================================================================================
def test_support_auto_assignment_gives_new_conversations_to_the_least_busy_agent(shop: Shop) -> None:
    sara, santi = shop.agent("sara", "Sara Soporte"), shop.agent("santi", "Santi Soporte")
    shop.campaign("soporte", [sara, santi], max_per_agent=10)
    earlier = []
    for _ in range(4):
        wa_id = new_wa_id()
        shop.say(wa_id, "Hola")
        earlier.append(shop.conversation_of(wa_id)["conversation_id"])
    shop.stack.wait_idle()  # their ConversationOpened events are handled before the workflow exists
    for conversation_id, agent in zip(earlier, (sara, sara, sara, santi), strict=True):
        shop.assign(conversation_id, agent)  # Sara holds 3; Santi holds 1 and was assigned last
    workflow_id = shop.from_template("support_auto_assignment")
    first, second = new_wa_id(), new_wa_id()

    shop.say(first, "No me funciona la app")

    to_santi = shop.wait_routed(first, "assigned", santi)
    assert to_santi["campaign_id"] == "soporte"
    execution = shop.execution(workflow_id, to_santi["conversation_id"])
    assert execution["outputs"]["asignar"] == {"status": "assigned", "agent_id": santi.user_id,
                                               "agent_name": "Santi Soporte", "campaign_id": "soporte",
                                               "strategy": "least_busy"}
    assert shop.steps(execution["execution_id"]) == [("asignar", "assign", "done")]

    shop.say(second, "Tampoco puedo entrar a mi cuenta")  # Santi holds 2, still fewer than Sara's 3

    shop.wait_routed(second, "assigned", santi)  # again (taking turns would give it to Sara)
    assert (shop.active(sara), shop.active(santi)) == (3, 3)
    assert len(shop.executions(workflow_id)) == 2


# =================================================================================================================
# high_priority_escalation
# =================================================================================================================
def test_high_priority_escalation_routes_urgent_and_vip_customers_first_with_a_note_and_a_tag(shop: Shop) -> None:
    ana = shop.agent("ana", "Ana Pérez", online=False)
    shop.campaign("soporte", [ana], max_per_agent=1)
    workflow_id = shop.from_template("high_priority_escalation")
    plain, urgent, vip = new_wa_id(), new_wa_id(), new_wa_id()
    shop.say(plain, "Hola, quería consultar un horario")
    plain_conversation = shop.conversation_of(plain)
    shop.say(vip, "Hola")
    vip_conversation = shop.conversation_of(vip)
    shop.stack.wait_idle()
    assert shop.executions(workflow_id) == []  # neither urgent nor a VIP (yet)
    shop.api("POST", f"/v1/conversations/{plain_conversation['conversation_id']}/transfer", {"campaign_id": "soporte"})
    shop.api("POST", f"/v1/contacts/{vip_conversation['contact_id']}/tags", {"add": ["vip"]})

    shop.say(urgent, "Es URGENTE, me quedé sin servicio")
    urgent_conversation = shop.wait_routed(urgent, "waiting")
    shop.say(vip, "¿Me ayudan con mi cuenta?")
    shop.wait_routed(vip, "waiting")

    urgent_id, vip_id = urgent_conversation["conversation_id"], vip_conversation["conversation_id"]
    assert shop.waiting("soporte") == [(urgent_id, 1, "high"), (vip_id, 2, "high"),
                                       (plain_conversation["conversation_id"], 3, "normal")]
    execution = shop.execution(workflow_id, urgent_id)
    history = shop.history(execution["execution_id"])
    assert [(s["step_id"], s["type"], s["state"]) for s in history] == [
        ("asignar", "assign", "done"), ("nota", "add_note", "done"), ("etiquetar", "update_contact", "done")]
    assert history[0]["input"]["priority"] == "urgent" and history[0]["output"]["status"] == "queued"
    assert shop.notes(urgent_id) == ["Escalada por prioridad alta: Es URGENTE, me quedé sin servicio"]
    shop.execution(workflow_id, vip_id)
    assert shop.notes(vip_id) == ["Escalada por prioridad alta: ¿Me ayudan con mi cuenta?"]
    assert shop.tags(urgent_conversation["contact_id"]) == ["escalado"]
    assert sorted(shop.tags(vip_conversation["contact_id"])) == ["escalado", "vip"]
    assert shop.tags(plain_conversation["contact_id"]) == []
    assert shop.notes(plain_conversation["conversation_id"]) == []

    shop.set_status(ana, "online")  # room for one: the urgent customer, not the one who waited longer

    shop.wait_conversation(urgent_id, routing="assigned", assignee=ana.user_id)
    shop.stack.wait_idle()
    assert [w[0] for w in shop.waiting("soporte")] == [vip_id, plain_conversation["conversation_id"]]
    assert shop.texts(plain) == shop.texts(urgent) == shop.texts(vip) == []


# =================================================================================================================
# agent_assigned_message
# =================================================================================================================
def test_agent_assigned_message_introduces_the_agent_by_name_whoever_assigns(shop: Shop) -> None:
    ana = shop.agent("ana", "Ana Pérez", online=False)
    shop.campaign("soporte", [ana])
    workflow_id = shop.from_template("agent_assigned_message")
    by_queue, by_supervisor = new_wa_id(), new_wa_id()
    shop.say(by_queue, "Hola, quiero hacer un reclamo")
    queued = shop.conversation_of(by_queue)
    shop.say(by_supervisor, "Hola, ¿hay alguien?")
    manual = shop.conversation_of(by_supervisor)
    shop.api("POST", f"/v1/conversations/{queued['conversation_id']}/transfer", {"campaign_id": "soporte"})
    greeting = "Hola Lucía, soy Ana Pérez y voy a ayudarte a partir de ahora."

    shop.set_status(ana, "online")  # the queue drains to her

    shop.wait_conversation(queued["conversation_id"], routing="assigned", assignee=ana.user_id)
    shop.wait_text(by_queue, greeting)
    shop.assign(manual["conversation_id"], ana)
    shop.wait_text(by_supervisor, greeting)
    from_queue = shop.execution(workflow_id, queued["conversation_id"])
    from_supervisor = shop.execution(workflow_id, manual["conversation_id"])
    assert from_queue["trigger_data"] == {"assignee": ana.user_id, "agent_name": "Ana Pérez", "campaign_id": "soporte",
                                          "reason": "queue"}
    assert from_supervisor["trigger_data"]["agent_name"] == "Ana Pérez"
    assert from_supervisor["trigger_data"]["reason"] == "manual"
    assert shop.steps(from_queue["execution_id"]) == [("presentar", "send_message", "done")]
    shop.stack.wait_idle()
    assert shop.texts(by_queue) == shop.texts(by_supervisor) == [greeting]  # once each, and only the workflow


# =================================================================================================================
# out_of_hours_message
# =================================================================================================================
def test_out_of_hours_message_tells_the_hours_only_while_soporte_is_closed(shop: Shop) -> None:
    closed = {"time_zone": "UTC", "holidays": holidays_around_today()}
    soporte = shop.campaign("soporte", [], schedule=closed)
    workflow_id = shop.from_template("out_of_hours_message")
    at_night, by_day = new_wa_id(), new_wa_id()
    away = ("Gracias por escribirnos. Nuestro horario de atención es de lunes a viernes de 9 a 18 h; te "
            "responderemos apenas abramos.")

    shop.say(at_night, "Hola, ¿están atendiendo?")

    shop.wait_text(at_night, away)
    conversation = shop.conversation_of(at_night)
    execution = shop.execution(workflow_id, conversation["conversation_id"])
    history = shop.history(execution["execution_id"])
    assert [(s["step_id"], s["type"], s["state"]) for s in history] == [
        ("ver_horario", "branch", "done"), ("aviso", "send_message", "done")]
    assert history[0]["output"] == {"branch": "cerrado"}
    assert conversation["routing"] == "none"  # the template only informs

    body = {k: v for k, v in soporte.items() if k not in ("tenant_id", "version", "created_at", "updated_at")}
    shop.api("PUT", "/v1/campaigns/soporte", {**body, "schedule": {"time_zone": "UTC"}})  # always open
    shop.say(by_day, "Hola, ¿están atendiendo?")

    conversation = shop.conversation_of(by_day)
    execution = shop.execution(workflow_id, conversation["conversation_id"])
    history = shop.history(execution["execution_id"])
    assert [(s["step_id"], s["type"], s["state"], s["next"]) for s in history] == [
        ("ver_horario", "branch", "done", "end")]
    assert history[0]["output"] == {"branch": "otherwise"}
    shop.stack.wait_idle()
    assert shop.texts(by_day) == []
    assert shop.texts(at_night) == [away]


# =================================================================================================================
# all_agents_busy_message
# =================================================================================================================
def test_all_agents_busy_message_tells_a_queued_customer_their_position(shop: Shop) -> None:
    ana = shop.agent("ana", "Ana Pérez")
    shop.campaign("soporte", [ana], max_per_agent=1)
    workflow_id = shop.from_template("all_agents_busy_message")
    first, second = new_wa_id(), new_wa_id()
    busy = ("En este momento todos nuestros asesores están ocupados. Estás en la posición 1 de la fila; te "
            "atenderemos en breve.")

    shop.say(first, "Hola, necesito ayuda")

    served = shop.wait_routed(first, "assigned", ana)
    execution = shop.execution(workflow_id, served["conversation_id"])
    history = shop.history(execution["execution_id"])
    assert [(s["step_id"], s["type"], s["state"]) for s in history] == [
        ("asignar", "assign", "done"), ("ver_fila", "branch", "done")]
    assert history[0]["output"]["status"] == "assigned" and history[1]["output"] == {"branch": "otherwise"}

    shop.say(second, "Hola, yo también necesito ayuda")  # Ana holds her one conversation

    shop.wait_text(second, busy)
    queued = shop.wait_routed(second, "waiting")
    assert shop.waiting("soporte") == [(queued["conversation_id"], 1, "normal")]
    execution = shop.execution(workflow_id, queued["conversation_id"])
    history = shop.history(execution["execution_id"])
    assert [(s["step_id"], s["type"], s["state"]) for s in history] == [
        ("asignar", "assign", "done"), ("ver_fila", "branch", "done"), ("aviso_fila", "send_message", "done")]
    assert history[0]["output"] == {"status": "queued", "campaign_id": "soporte", "position": 1}
    assert history[1]["output"] == {"branch": "en_fila"}
    shop.stack.wait_idle()
    assert shop.texts(first) == []
    assert shop.texts(second) == [busy]


# =================================================================================================================
# route_by_answer
# =================================================================================================================
def test_route_by_answer_asks_and_routes_to_ventas_soporte_with_a_note_or_soporte_on_timeout(shop: Shop) -> None:
    vera, sergio = shop.agent("vera", "Vera Ventas"), shop.agent("sergio", "Sergio Soporte")
    shop.campaign("ventas", [vera])
    shop.campaign("soporte", [sergio])
    workflow_id = shop.from_template("route_by_answer")
    buyer, billing, silent = new_wa_id(), new_wa_id(), new_wa_id()
    question = "¿En qué podemos ayudarte?"

    def asked(wa_id: str) -> str:
        """The customer writes and is asked; their conversation's id, once the execution waits for the answer."""
        shop.say(wa_id, "Hola")
        conversation_id = str(shop.conversation_of(wa_id)["conversation_id"])
        shop.execution(workflow_id, conversation_id, status="waiting")
        shop.wait_text(wa_id, question)
        shop.stack.wait_idle()  # every event of the opening message is handled before the customer answers
        return conversation_id

    buyer_conversation = asked(buyer)
    body = shop.sent(buyer)[0]
    assert body["type"] == "interactive" and body["interactive"]["type"] == "button"
    assert body["interactive"]["body"]["text"] == question
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in body["interactive"]["action"]["buttons"]] == [
        ("opt:0", "Ventas"), ("opt:1", "Soporte"), ("opt:2", "Facturación")]

    shop.say(buyer, "Ventas", reply_id="opt:0")  # taps the button

    shop.wait_conversation(buyer_conversation, routing="assigned", assignee=vera.user_id, campaign_id="ventas")
    to_ventas = shop.execution(workflow_id, buyer_conversation)
    assert to_ventas["vars"] == {"area": "Ventas"}
    assert shop.notes(buyer_conversation) == []

    billing_conversation = asked(billing)
    shop.say(billing, "facturación")  # typed, in lower case

    shop.wait_conversation(billing_conversation, routing="assigned", assignee=sergio.user_id, campaign_id="soporte")
    to_billing = shop.execution(workflow_id, billing_conversation)
    assert to_billing["vars"] == {"area": "Facturación"}
    assert shop.notes(billing_conversation) == ["Consulta de facturación"]

    silent_conversation = asked(silent)
    shop.stack.fire_schedules(datetime.now(UTC) + timedelta(minutes=29))  # not yet
    shop.stack.wait_idle()
    assert shop.conversation(silent_conversation)["routing"] == "none"
    assert shop.stack.fire_schedules(datetime.now(UTC) + timedelta(minutes=31)) >= 1  # no answer in 30 minutes

    shop.wait_conversation(silent_conversation, routing="assigned", assignee=sergio.user_id, campaign_id="soporte")
    timed_out = shop.execution(workflow_id, silent_conversation)
    assert timed_out["vars"] == {}
    assert shop.notes(silent_conversation) == []

    # each customer was asked once: the "Hola" that opened the conversation (and started the workflow) came
    # before the question, so it is no answer to it (no "elegí una de las opciones")
    shop.stack.wait_idle()
    assert {wa_id: shop.texts(wa_id) for wa_id in (buyer, billing, silent)} == {
        buyer: [question], billing: [question], silent: [question]}
    assert shop.steps(to_ventas["execution_id"]) == [
        ("pregunta", "ask_question", "done"), ("pregunta", "answer", "done"), ("derivar", "branch", "done"),
        ("asignar_ventas", "assign", "done")]
    assert shop.steps(to_billing["execution_id"]) == [
        ("pregunta", "ask_question", "done"), ("pregunta", "answer", "done"), ("derivar", "branch", "done"),
        ("nota_facturacion", "add_note", "done"), ("asignar_soporte", "assign", "done")]
    assert shop.steps(timed_out["execution_id"]) == [
        ("pregunta", "ask_question", "done"), ("pregunta", "timeout", "done"), ("asignar_soporte", "assign", "done")]
