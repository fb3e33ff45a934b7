"""The built-in workflow templates (shared/data/workflow_templates.json): valid definitions, disabled, in
Spanish, and every customer-facing text renders against a realistic execution context."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.models.workflows import (
    AddNoteStep,
    AskQuestionStep,
    AssignStep,
    BranchStep,
    SendMessageStep,
    UpdateContactStep,
    WorkflowInput,
)
from shared.services.templating import render, render_value
from shared.services.workflows import conditions_hold

TEMPLATES_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "workflow_templates.json"

EXPECTED_KEYS = {
    "close_and_bot_on", "assign_to_agent", "sales_auto_assignment", "support_auto_assignment",
    "high_priority_escalation", "agent_assigned_message", "out_of_hours_message", "all_agents_busy_message",
    "route_by_answer", "csat_after_close",
}
# A few very common Spanish words: a name or description in Spanish uses at least one of them.
SPANISH_WORDS = {"a", "al", "de", "del", "el", "en", "la", "las", "los", "le", "o", "por", "que", "se", "si",
                 "su", "un", "una", "y", "con", "cuando", "mensaje", "asignación", "asignar", "encuesta"}
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert not duplicates, f"duplicate keys in {TEMPLATES_FILE.name}: {sorted(duplicates)}"
    return dict(pairs)


def load_templates() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"),
                                     object_pairs_hook=_no_duplicate_keys)
    return raw


TEMPLATES = load_templates()


def sample_context() -> dict[str, Any]:
    """What an execution's steps see (WorkflowService._context), filled in."""
    return {
        "vars": {"area": "Ventas", "csat": "4"},
        "contact": {"contact_id": "ct_123", "name": "Ana Pérez", "first_name": "Ana", "email": "ana@example.com",
                    "phone": "+5491155550000", "tags": ["vip"], "lifecycle": "cliente", "fields": {}},
        "conversation": {"conversation_id": "cv_1", "status": "open", "campaign_id": "soporte"},
        "trigger": {"assignee": "user:u1", "campaign_id": "soporte", "reason": "manual", "agent_name": "Laura",
                    "text": "Es urgente", "message_type": "text"},
        "steps": {"asignar": {"status": "queued", "agent_id": None, "agent_name": None, "position": 3,
                              "campaign_id": "soporte"}},
        "channel": {"id": "wa_1"},
        "message": {"text": "Es urgente", "type": "text"},
        "execution": {"id": "wx_1", "workflow_id": "wf_12345678"},
    }


def workflow(key: str) -> WorkflowInput:
    return WorkflowInput.model_validate(TEMPLATES[key])


def test_exactly_the_expected_templates() -> None:
    assert set(TEMPLATES) == EXPECTED_KEYS


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_template_is_a_valid_disabled_definition(key: str) -> None:
    data = TEMPLATES[key]
    assert data.get("enabled") is False, "templates are created disabled"
    wf = WorkflowInput.model_validate(data)
    assert wf.enabled is False
    # Round trip: what the API would store validates again.
    assert WorkflowInput.model_validate(wf.model_dump(mode="json")) == wf


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_name_and_description_are_spanish(key: str) -> None:
    wf = workflow(key)
    for text in (wf.name, wf.description):
        assert text.strip(), f"{key}: empty name or description"
        assert text != key
        words = {w.strip(".,;:()¿?¡!").lower() for w in text.split()}
        assert words & SPANISH_WORDS, f"{key}: does not read as Spanish: {text!r}"
    assert len(wf.description) >= 40, f"{key}: the description should explain what the template does"


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_every_text_renders(key: str) -> None:
    context = sample_context()
    rendered = 0
    for step in workflow(key).steps:
        if isinstance(step, SendMessageStep) and step.text is not None:
            out = render(step.text, context)
        elif isinstance(step, AskQuestionStep):
            out = render(step.text, context)
            assert render(step.invalid_text, context)
        elif isinstance(step, AddNoteStep):
            out = render(step.text, context)
        elif isinstance(step, UpdateContactStep) and step.fields:
            out = json.dumps(render_value(step.fields, context), ensure_ascii=False)
        else:
            continue
        assert out.strip()
        assert "{{" not in out and "}}" not in out
        rendered += 1
    if key not in {"assign_to_agent", "sales_auto_assignment", "support_auto_assignment"}:
        assert rendered, f"{key}: expected at least one text step"


def test_rendered_texts_use_the_context() -> None:
    context = sample_context()
    texts = {key: [render(s.text or "", context) for s in workflow(key).steps if isinstance(s, SendMessageStep)]
             for key in ("close_and_bot_on", "agent_assigned_message", "all_agents_busy_message")}
    assert texts["close_and_bot_on"] == [
        "Listo Ana, te devuelvo al menú principal. Escribí *hola* cuando quieras."]
    assert texts["agent_assigned_message"] == ["Hola Ana, soy Laura y voy a ayudarte a partir de ahora."]
    assert "posición 3 de la fila" in texts["all_agents_busy_message"][0]

    # Without an agent name or a first name the defaults fill in.
    bare = {**context, "contact": {**context["contact"], "first_name": None}, "trigger": {"assignee": "user:u1"}}
    step = workflow("agent_assigned_message").steps[0]
    assert isinstance(step, SendMessageStep) and step.text is not None
    assert render(step.text, bare) == "Hola , soy un asesor y voy a ayudarte a partir de ahora."


def _trigger_matches(key: str, context: dict[str, Any]) -> bool:
    trigger = workflow(key).trigger
    return conditions_hold(trigger.when, trigger.match, context, now=NOW, campaign_open=lambda _c: True)


def _message(text: str, tags: list[str] | None = None) -> dict[str, Any]:
    context = sample_context()
    context["message"] = {"text": text, "type": "text"}
    context["contact"] = {**context["contact"], "tags": tags or []}
    return context


@pytest.mark.parametrize(("key", "text", "tags", "expected"), [
    ("close_and_bot_on", "Menú", [], True),
    ("close_and_bot_on", "volver al bot", [], True),
    ("close_and_bot_on", "quiero ver el menú de precios", [], False),
    ("sales_auto_assignment", "¿Cuál es el PRECIO del plan?", [], True),
    ("sales_auto_assignment", "Necesito una cotizacion", [], True),
    ("sales_auto_assignment", "Hola, buen día", [], False),
    ("high_priority_escalation", "Quiero hacer un RECLAMO", [], True),
    ("high_priority_escalation", "Hola", ["VIP"], True),
    ("high_priority_escalation", "Hola", ["nuevo"], False),
])
def test_trigger_conditions(key: str, text: str, tags: list[str], expected: bool) -> None:
    assert _trigger_matches(key, _message(text, tags)) is expected


def _branch_target(key: str, step_id: str, context: dict[str, Any], *, campaign_open: bool = True) -> str | None:
    step = next(s for s in workflow(key).steps if s.id == step_id)
    assert isinstance(step, BranchStep)
    for branch in step.branches:
        if conditions_hold(branch.when, branch.match, context, now=NOW, campaign_open=lambda _c: campaign_open):
            return branch.next
    return step.otherwise


def test_branches_go_where_the_template_says() -> None:
    context = sample_context()
    assert _branch_target("out_of_hours_message", "ver_horario", context, campaign_open=False) == "aviso"
    assert _branch_target("out_of_hours_message", "ver_horario", context, campaign_open=True) == "end"

    assert _branch_target("all_agents_busy_message", "ver_fila", context) == "aviso_fila"
    assigned = {**context, "steps": {"asignar": {"status": "assigned", "agent_id": "u1"}}}
    assert _branch_target("all_agents_busy_message", "ver_fila", assigned) == "end"

    for area, target in (("Ventas", "asignar_ventas"), ("Soporte", "asignar_soporte"),
                         ("Facturación", "nota_facturacion")):
        assert _branch_target("route_by_answer", "derivar", {**context, "vars": {"area": area}}) == target

    for csat, target in (("1", "etiquetar"), ("2", "etiquetar"), ("3", "gracias"), ("5", "gracias")):
        assert _branch_target("csat_after_close", "evaluar", {**context, "vars": {"csat": csat}}) == target


def test_campaigns_are_the_documented_placeholders() -> None:
    campaigns = {s.campaign_id for key in EXPECTED_KEYS for s in workflow(key).steps if isinstance(s, AssignStep)}
    assert campaigns == {"ventas", "soporte"}
