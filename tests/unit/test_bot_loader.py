"""Loading bot definitions (shared/services/bot_loader.py): refused as a whole, every problem with path and line."""

from __future__ import annotations

import json
import textwrap

import pytest

from shared.models.bots import BotDefinition, CollectNode, MenuNode
from shared.services.bot_loader import (
    MAX_SOURCE_BYTES,
    DefinitionInvalid,
    DefinitionIssue,
    load_definition,
    resolve_target,
)
from tests.unit.bot_harness import DEMO_BOT

INTEGRATION = """\
integrations:
  - name: cliente
    description: Busca un cliente por documento.
    url: "{{secret.core.base_url}}/customers/{{input.documento}}"
    headers: {X-Api-Key: "{{secret.core.api_key}}"}
    secrets: {core: core-banking}
    parameters:
      documento: {type: string, description: DNI sin puntos}
"""


def issues_of(source: str, fmt: str | None = None) -> list[DefinitionIssue]:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(source, fmt)  # type: ignore[arg-type]
    assert caught.value.issues, "a refused definition lists its problems"
    return caught.value.issues


def line_of(source: str, fragment: str, nth: int = 1) -> int:
    """1-based line of the nth line of `source` containing `fragment`."""
    hits = [i for i, line in enumerate(source.splitlines(), start=1) if fragment in line]
    assert len(hits) >= nth, fragment
    return hits[nth - 1]


def by_path(issues: list[DefinitionIssue]) -> dict[str, DefinitionIssue]:
    return {i.path: i for i in issues}


# -- valid definitions ---------------------------------------------------------------------------------------
MINIMAL = """\
id: minimo
name: Mínimo
start: inicio
flows:
  inicio:
    start: hola
    nodes:
      hola: {type: message, text: "Hola", next: fin}
      fin: {type: close}
"""


def test_minimal_yaml_loads() -> None:
    definition = load_definition(MINIMAL)
    assert isinstance(definition, BotDefinition)
    assert definition.id == "minimo" and definition.language == "es"
    assert definition.node("inicio", "hola").text == "Hola"
    assert definition.settings.max_attempts == 3  # defaults filled in


def test_json_object_definition_loads() -> None:
    data = {"id": "json-bot", "name": "JSON", "start": "inicio", "flows": {"inicio": {"start": "m", "nodes": {
        "m": {"type": "menu", "text": "¿Qué querés?", "options": [
            {"id": "si", "title": "Sí", "next": "fin"}, {"id": "no", "title": "No", "next": "fin"}]},
        "fin": {"type": "close", "text": "Chau"}}}}}
    text = json.dumps(data, indent=2, ensure_ascii=False)
    for fmt in (None, "json"):
        definition = load_definition(text, fmt)
        menu = definition.node("inicio", "m")
        assert isinstance(menu, MenuNode)
        assert [o.id for o in menu.options] == ["si", "no"]  # JSON strings stay strings: no yes/no trap


def test_demo_bot_loads() -> None:
    definition = load_definition(DEMO_BOT.read_text(encoding="utf-8"))
    assert definition.id == "banco-demo"
    assert definition.start == "inicio"
    assert set(definition.flows) == {"inicio", "credito", "tarjeta", "deudas", "reclamos", "humano", "despedida",
                                     "bloqueo"}
    assert {i.name for i in definition.integrations} >= {"buscar_cliente", "consultar_preaprobado",
                                                        "solicitar_desembolso", "consultar_deuda",
                                                        "consultar_cortes", "registrar_reclamo", "turnos_tecnicos",
                                                        "reservar_turno"}
    assert set(definition.intents) == {"credito", "tarjeta", "deudas", "reclamos", "humano", "saludo", "despedida"}
    assert [k.id for k in definition.knowledge] == ["horarios", "bloqueo", "requisitos_credito", "sucursales"]
    assert definition.ai is not None and "buscar_cliente" in definition.ai.tools
    # quoted "si"/"no" option ids survive as strings
    confirm = definition.node("credito", "confirmar")
    assert [o.id for o in confirm.options] == ["si", "no"]
    documento = definition.node("credito", "documento")
    assert isinstance(documento, CollectNode) and documento.slot == "document_id" and documento.country == "AR"
    interrupting = [t for t in definition.triggers if t.interrupts]
    assert {t.to for t in interrupting} == {"humano", "inicio", "bloqueo"}


def test_resolve_target_forms() -> None:
    definition = load_definition(DEMO_BOT.read_text(encoding="utf-8"))
    assert resolve_target(definition, "credito", "monto") == ("credito", "monto")  # node of the same flow
    assert resolve_target(definition, "credito", "humano") == ("humano", "derivar")  # a flow: its start
    assert resolve_target(definition, "credito", "humano.derivar") == ("humano", "derivar")
    assert resolve_target(definition, "credito", "humano.nada") is None
    assert resolve_target(definition, "credito", "nada") is None


# -- shape problems (first pass): all listed, with lines -----------------------------------------------------
SHAPES = """\
id: prueba
name: Prueba
start: inicio
flows:
  inicio:
    start: hola
    nodes:
      hola:
        type: mensaje
        text: hola
      vacio:
        type: message
        next: hola
      pedir:
        type: collect
        var: dato
        slot: dni
        prompt: "¿Tu dato?"
      menu:
        type: menu
        text: Elegí
        options:
          - {id: a, title: A, next: hola}
          - {id: a, title: B, next: hola}
"""


def test_shape_problems_are_all_listed_with_lines() -> None:
    issues = issues_of(SHAPES)
    assert len(issues) == 4
    unknown, empty, slot, options = issues
    assert unknown.path == "flows.inicio.nodes.hola"
    assert "'mensaje'" in unknown.message and "'message'" in unknown.message
    assert (unknown.line, unknown.column) == (line_of(SHAPES, "hola:"), 7)
    assert "needs text or media" in empty.message and empty.line == line_of(SHAPES, "vacio:")
    assert slot.path.endswith(".slot") and "'document_id'" in slot.message
    assert slot.line == line_of(SHAPES, "slot: dni")
    assert "option ids must be unique" in options.message and options.line == line_of(SHAPES, "options:")
    assert str(unknown).startswith("line 8, flows.inicio.nodes.hola: ")


def test_shape_problem_paths_are_document_paths() -> None:
    paths = [i.path for i in issues_of(SHAPES)]
    assert paths == ["flows.inicio.nodes.hola", "flows.inicio.nodes.vacio", "flows.inicio.nodes.pedir.slot",
                     "flows.inicio.nodes.menu.options"]


BAD_KEY = """\
id: prueba
name: Prueba
start: inicio
flows:
  inicio:
    start: hola
    nodes:
      hola: {type: close}
      mal.id: {type: close}
      Mayuscula: {type: close}
"""


def test_invalid_node_id_points_at_the_key() -> None:
    issue = by_path(issues_of(BAD_KEY))["flows.inicio.nodes.mal.id"]
    assert "should match pattern" in issue.message
    assert issue.line == line_of(BAD_KEY, "mal.id:")


def test_invalid_capitalized_node_id_is_named() -> None:
    issues = issues_of(BAD_KEY)
    capitalized = [i for i in issues if "mal.id" not in i.path]
    assert len(capitalized) == 1
    assert "Mayuscula" in capitalized[0].path
    assert capitalized[0].line == line_of(BAD_KEY, "Mayuscula:")


UNQUOTED_NO = """\
id: x
name: X
start: f
flows:
  f:
    start: m
    nodes:
      m:
        type: menu
        text: Elegí
        options:
          - {id: "si", title: Confirmar, next: m}
          - {id: no, title: Cancelar, next: m}
"""


def test_unquoted_no_as_option_id_hints_at_quoting() -> None:
    issues = issues_of(UNQUOTED_NO)
    assert len(issues) == 1
    issue = issues[0]
    assert issue.path.endswith("options[1].id")
    assert "put the value in quotes" in issue.message and "yes/no" in issue.message
    assert issue.line == line_of(UNQUOTED_NO, "{id: no")
    assert issue.column == UNQUOTED_NO.splitlines()[issue.line - 1].index("id: no") + 1


def test_invalid_condition_reports_the_operator_problem() -> None:
    source = textwrap.dedent("""\
        id: x
        name: X
        start: f
        flows:
          f:
            start: c
            nodes:
              c:
                type: condition
                branches:
                  - when: {var: edad, op: gt}
                    next: c
                default: c
        """)
    issues = issues_of(source)
    assert any("operator 'gt' needs a value" in i.message and i.line == line_of(source, "when:") for i in issues)


def test_top_level_must_be_a_mapping() -> None:
    issues = issues_of("- a\n- b\n")
    assert issues[0].message == "a bot definition is a mapping (object) at the top level"
    assert issues[0].line == 1


def test_too_large_source_is_refused() -> None:
    issues = issues_of(MINIMAL + "#" * MAX_SOURCE_BYTES)
    assert "larger than" in issues[0].message


# -- cross-reference problems (second pass) ------------------------------------------------------------------
CROSS = """\
id: prueba
name: Prueba
start: inicio
triggers:
  - intent: fantasma
    to: inicio
  - keywords: [hola]
    to: perdido
""" + INTEGRATION + """\
flows:
  inicio:
    start: hola
    nodes:
      hola:
        type: message
        text: hola
        next: nowhere
      menu:
        type: menu
        text: Elegí
        options:
          - {id: a, title: A, next: hola}
          - {id: b, title: B, next: inexistente.nodo}
      buscar:
        type: integration
        integration: cliente
        inputs: {}
        next: hola
      otra:
        type: integration
        integration: no_declarada
        next: hola
      extra:
        type: integration
        integration: cliente
        inputs: {documento: "1", color: rojo}
        next: hola
      secreto:
        type: message
        text: "la clave es {{secret.core.api_key}}"
        next: hola
      saltar:
        type: jump
        to: flujo_x.nodo
      pedir:
        type: collect
        var: dato
        slot: text
        prompt: "¿Dato?"
        on_fail: ningun_lado
        next: hola
"""


def test_cross_reference_problems_are_all_listed_with_lines() -> None:
    issues = issues_of(CROSS)
    found = by_path(issues)
    expected = {
        "flows.inicio.nodes.hola.next": ("'nowhere' is not a node", "next: nowhere"),
        "flows.inicio.nodes.menu.options[1].next": ("'inexistente.nodo' is not a node", "next: inexistente.nodo"),
        "flows.inicio.nodes.buscar.inputs": ("missing required input 'documento'", "inputs: {}"),
        "flows.inicio.nodes.otra.integration": ("integration 'no_declarada' is not declared",
                                                "integration: no_declarada"),
        "flows.inicio.nodes.extra.inputs.color": ("'cliente' has no parameter 'color'", "color: rojo"),
        "flows.inicio.nodes.secreto.text": ("secrets cannot be used", "la clave es"),
        "flows.inicio.nodes.saltar.to": ("'flujo_x.nodo' is not a node", "to: flujo_x.nodo"),
        "flows.inicio.nodes.pedir.on_fail": ("'ningun_lado' is not a node", "on_fail: ningun_lado"),
        "triggers[0].intent": ("intent 'fantasma' is not declared in intents", "intent: fantasma"),
        "triggers[1].to": ("'perdido' is not a node", "to: perdido"),
    }
    assert set(found) == set(expected)
    assert len(issues) == len(expected)
    for path, (message, fragment) in expected.items():
        assert message in found[path].message, path
        assert found[path].line == line_of(CROSS, fragment), path
    # column of a key inside a flow mapping: where the key starts
    assert found["flows.inicio.nodes.menu.options[1].next"].column == \
        CROSS.splitlines()[line_of(CROSS, "next: inexistente.nodo") - 1].index("next") + 1
    # the exception text names the first problems with their lines
    assert "line " in str(DefinitionInvalid(issues))


def test_secrets_in_integration_inputs_are_refused() -> None:
    source = MINIMAL.replace("start: inicio\n", "start: inicio\n" + INTEGRATION, 1).replace(
        "      fin: {type: close}\n",
        "      fin: {type: close}\n"
        "      buscar:\n"
        "        type: integration\n"
        "        integration: cliente\n"
        "        inputs: {documento: \"{{secret.core.api_key}}\"}\n")
    issues = issues_of(source)
    assert [(i.path, i.message) for i in issues] == [
        ("flows.inicio.nodes.buscar.inputs.documento", "secrets go in the integration, not the inputs")]
    assert issues[0].line == line_of(source, "inputs: {documento")


def test_missing_start_flows_and_ai_requirements() -> None:
    source = textwrap.dedent("""\
        id: x
        name: X
        start: no_existe
        channels: [wa, wa]
        flows:
          f:
            start: tampoco
            nodes:
              asistente: {type: ai, tools: [inventada]}
        """)
    found = by_path(issues_of(source))
    assert "flow 'no_existe' does not exist" in found["start"].message and found["start"].line == 3
    assert "node 'tampoco' does not exist" in found["flows.f.start"].message
    assert found["flows.f.start"].line == line_of(source, "start: tampoco")
    assert "needs the bot's ai settings" in found["flows.f.nodes.asistente"].message
    assert "integration 'inventada' is not declared" in found["flows.f.nodes.asistente.tools[0]"].message
    assert "channels must be unique" in found["channels"].message


def test_undeclared_ai_tool_and_duplicate_integrations() -> None:
    duplicate = INTEGRATION + INTEGRATION.replace("integrations:\n", "")
    source = MINIMAL.replace("start: inicio\n", "start: inicio\nai: {tools: [cliente, fantasma]}\n" + duplicate, 1)
    found = by_path(issues_of(source))
    assert "integration names must be unique" in found["integrations"].message
    assert "'fantasma' is not declared" in found["ai.tools[1]"].message
    assert found["ai.tools[1]"].line == line_of(source, "ai: {tools")


def test_intent_with_one_example_is_refused() -> None:
    source = MINIMAL + "intents:\n  saludo: [\"hola\"]\n"
    issues = issues_of(source)
    assert len(issues) == 1
    assert "needs at least 2 example phrases" in issues[0].message
    assert issues[0].line == line_of(source, "intents:")


# -- parse errors --------------------------------------------------------------------------------------------
def test_duplicate_key_is_refused_with_its_line() -> None:
    source = MINIMAL.replace("      fin: {type: close}\n", "      fin: {type: close}\n      hola: {type: close}\n")
    issues = issues_of(source)
    assert [(i.path, i.message) for i in issues] == [("flows.inicio.nodes.hola", "duplicate key")]
    assert issues[0].line == line_of(source, "hola:", 2)
    assert issues[0].column == 7


def test_duplicate_top_level_key() -> None:
    issues = issues_of("id: a\nname: A\nid: b\n")
    assert [(i.path, i.message, i.line, i.column) for i in issues] == [("id", "duplicate key", 3, 1)]


def test_yaml_syntax_error_has_a_line() -> None:
    source = MINIMAL.replace('text: "Hola"', 'text: "Hola')
    issues = issues_of(source)
    assert len(issues) == 1
    assert issues[0].message.startswith("invalid YAML:")
    assert issues[0].line is not None and issues[0].line >= line_of(source, 'text: "Hola')
    unclosed = "id: a\nname: [x\n"
    issue = issues_of(unclosed)[0]
    assert issue.message.startswith("invalid YAML:") and issue.line == 3


def test_bad_indentation_is_a_yaml_error() -> None:
    source = "id: a\nname: A\n  start: x\n"
    issue = issues_of(source)[0]
    assert issue.message.startswith("invalid YAML:") and issue.line == 3


def test_json_syntax_error_has_the_json_line() -> None:
    source = '{\n  "id": "a",\n  "name": "A",\n  "start": ,\n  "flows": {}\n}'
    issues = issues_of(source, "json")
    assert len(issues) == 1
    assert issues[0].message.startswith("invalid JSON:")
    assert (issues[0].line, issues[0].column) == (4, 12)


def test_json_missing_comma_line() -> None:
    source = '{\n  "id": "a"\n  "name": "A"\n}'
    issue = issues_of(source, "json")[0]
    assert issue.message == "invalid JSON: Expecting ',' delimiter"
    assert issue.line == 3


def test_json_validation_problems_have_lines() -> None:
    data = {"id": "j", "name": "J", "start": "inicio", "flows": {"inicio": {"start": "a", "nodes": {
        "a": {"type": "message", "text": "hola", "next": "b"}}}}}
    source = json.dumps(data, indent=2)
    issues = issues_of(source, "json")
    assert [i.path for i in issues] == ["flows.inicio.nodes.a.next"]
    assert issues[0].line == line_of(source, '"next": "b"')


def test_json_duplicate_key_is_refused() -> None:
    source = '{"id": "a",\n "name": "A",\n "id": "b"}'
    issues = issues_of(source, "json")
    assert [(i.path, i.message, i.line) for i in issues] == [("id", "duplicate key", 3)]
