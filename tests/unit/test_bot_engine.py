"""The bot engine (shared/services/bot_engine.py) on small custom definitions, driven through the BotChat harness."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    MediaContent,
    TemplateContent,
    TextContent,
)
from shared.services.generative import (
    LlmMessage,
    LlmReply,
    LlmUnavailable,
    TokenUsage,
    ToolCall,
    ToolSpec,
)
from tests.unit.bot_harness import BotChat

# The sample core-banking API behind the harness; the integration reads the demo tenant's `core-banking` secret.
BUSCAR_CLIENTE = {
    "name": "buscar_cliente",
    "description": "Busca un cliente del banco por número de documento.",
    "url": "{{secret.core.base_url}}/customers/{{input.documento}}",
    "headers": {"X-Api-Key": "{{secret.core.api_key}}"},
    "secrets": {"core": "core-banking"},
    "timeout_s": 3,
    "parameters": {"documento": {"type": "string", "description": "DNI sin puntos"}},
    "outputs": {"numero_cliente": "customer_number", "nombre": "full_name", "zona": "zone"},
}
IMAGE = {"type": "image", "media_id": "m1", "mime_type": "image/jpeg", "s3_key": "media/demo/wa/x.jpg"}


def definition(flows: dict[str, Any], **top: Any) -> str:
    """A bot definition as JSON text (JSON is YAML: the loader reads both)."""
    data = {"id": "prueba", "name": "Bot de prueba", "start": next(iter(flows)), **top, "flows": flows}
    return json.dumps(data, ensure_ascii=False)


def one_flow(nodes: dict[str, Any], start: str | None = None, **top: Any) -> str:
    return definition({"inicio": {"start": start or next(iter(nodes)), "nodes": nodes}}, **top)


def texts(replies: Sequence[Any]) -> list[str]:
    return [r.body for r in replies if isinstance(r, TextContent)]


# -- message, set, condition ---------------------------------------------------------------------------------
def test_message_with_media_then_text() -> None:
    chat = BotChat(one_flow({
        "datos": {"type": "set", "values": {"archivo": "folleto.pdf", "nombre": "Ana"}, "next": "folleto"},
        "folleto": {"type": "message", "text": "Acá tenés el folleto, {{nombre}}.",
                    "media": {"type": "document", "url": "https://cdn.example/{{archivo}}",
                              "caption": "Folleto para {{nombre}}", "filename": "folleto.pdf"}},
    }))
    result = chat.turn("hola")
    media, text = result.replies
    assert isinstance(media, MediaContent)
    assert (media.type, media.link, media.caption, media.filename) == (
        "document", "https://cdn.example/folleto.pdf", "Folleto para Ana", "folleto.pdf")
    assert text == TextContent(body="Acá tenés el folleto, Ana.")
    assert result.ended == "solved"  # a node without `next` ends the session
    assert chat.state.status == "ended" and chat.state.node is None


def test_missing_variable_in_a_text_is_dropped_and_noted() -> None:
    chat = BotChat(one_flow({"m": {"type": "message", "text": "Hola {{nombre}}, bienvenido."}}))
    result = chat.turn("hola")
    assert texts(result.replies) == ["Hola , bienvenido."]
    assert any(note.startswith("template:") for note in result.notes)


def test_set_keeps_types_and_renders_templates_in_order() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"limite": 1000, "monto": "{{limite}}", "saludo": "Hola {{nombre}}",
                                        "nombre": "Ana", "tags": ["vip", "{{nombre}}"], "datos": {"x": "{{limite}}"}},
              "next": "c"},
        "c": {"type": "close", "close_conversation": False},
    }))
    result = chat.turn("hola")
    assert chat.vars["monto"] == 1000 and isinstance(chat.vars["monto"], int)  # a lone placeholder keeps the type
    assert chat.vars["saludo"] is None  # `nombre` is set after it: not known yet, the value is dropped and noted
    assert any(note.startswith("template:") and "nombre" in note for note in result.notes)
    assert chat.vars["tags"] == ["vip", "Ana"]
    assert chat.vars["datos"] == {"x": 1000}


def _condition_bot(values: dict[str, Any], when: dict[str, Any]) -> str:
    nodes: dict[str, Any] = {
        "c": {"type": "condition", "branches": [{"when": when, "next": "si"}], "default": "no"},
        "si": {"type": "close", "text": "RAMA SI"},
        "no": {"type": "close", "text": "RAMA NO"},
    }
    if values:
        nodes = {"s": {"type": "set", "values": values, "next": "c"}, **nodes}
    return one_flow(nodes)


CONDITIONS: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("gt number", {"edad": 30}, {"var": "edad", "op": "gt", "value": 18}, True),
    ("gt equal is false", {"edad": 18}, {"var": "edad", "op": "gt", "value": 18}, False),
    ("gte equal", {"edad": 18}, {"var": "edad", "op": "gte", "value": 18}, True),
    ("lt", {"edad": 17}, {"var": "edad", "op": "lt", "value": 18}, True),
    ("numeric string", {"edad": "30"}, {"var": "edad", "op": "gt", "value": "18"}, True),
    ("decimal comma string", {"monto": "1,5"}, {"var": "monto", "op": "lt", "value": 2}, True),
    ("templated value lte", {"limite": 1000, "monto": 999}, {"var": "monto", "op": "lte", "value": "{{limite}}"},
     True),
    ("templated value above", {"limite": 1000, "monto": 1001}, {"var": "monto", "op": "lte", "value": "{{limite}}"},
     False),
    ("not a number", {"edad": "abc"}, {"var": "edad", "op": "gt", "value": 1}, False),
    ("booleans are not numbers", {"flag": True}, {"var": "flag", "op": "gt", "value": 0}, False),
    ("missing var compares false", {}, {"var": "edad", "op": "gt", "value": 1}, False),
    ("eq folds accents and case", {"nombre": "José"}, {"var": "nombre", "op": "eq", "value": "JOSE"}, True),
    ("eq numbers loosely", {"n": 1}, {"var": "n", "op": "eq", "value": "1.0"}, True),
    ("ne", {"zona": "palermo"}, {"var": "zona", "op": "ne", "value": "belgrano"}, True),
    ("eq templated string", {"a": "x", "b": "X"}, {"var": "a", "op": "eq", "value": "{{b}}"}, True),
    ("in list", {"zona": "Belgrano"}, {"var": "zona", "op": "in", "value": ["palermo", "belgrano"]}, True),
    ("not_in list", {"zona": "caballito"}, {"var": "zona", "op": "not_in", "value": ["palermo", "belgrano"]}, True),
    ("in scalar", {"zona": "palermo"}, {"var": "zona", "op": "in", "value": "palermo"}, True),
    ("contains in list", {"tags": ["vip", "nuevo"]}, {"var": "tags", "op": "contains", "value": "vip"}, True),
    ("contains text", {"d": "Sin Internet desde ayer"}, {"var": "d", "op": "contains", "value": "internet"}, True),
    ("contains text missing", {"d": "todo bien"}, {"var": "d", "op": "contains", "value": "internet"}, False),
    ("matches", {"n": "C-1003"}, {"var": "n", "op": "matches", "value": "^C-\\d{4}$"}, True),
    ("matches not", {"n": "X-1"}, {"var": "n", "op": "matches", "value": "^C-\\d{4}$"}, False),
    ("exists", {"x": "algo"}, {"var": "x", "op": "exists"}, True),
    ("exists empty string", {"x": ""}, {"var": "x", "op": "exists"}, False),
    ("exists empty list", {"x": []}, {"var": "x", "op": "exists"}, False),
    ("not_exists", {}, {"var": "x", "op": "not_exists"}, True),
    ("dotted path", {"cliente": {"datos": {"edad": 20}}}, {"var": "cliente.datos.edad", "op": "gte", "value": 18},
     True),
    ("list index path", {"cortes": [{"id": "INC-1"}]}, {"var": "cortes.0.id", "op": "eq", "value": "INC-1"}, True),
    ("all true", {"edad": 30, "zona": "palermo"},
     {"all": [{"var": "edad", "op": "gte", "value": 18}, {"var": "zona", "op": "eq", "value": "palermo"}]}, True),
    ("all one false", {"edad": 30, "zona": "belgrano"},
     {"all": [{"var": "edad", "op": "gte", "value": 18}, {"var": "zona", "op": "eq", "value": "palermo"}]}, False),
    ("any one true", {"edad": 10, "zona": "palermo"},
     {"any": [{"var": "edad", "op": "gte", "value": 18}, {"var": "zona", "op": "eq", "value": "palermo"}]}, True),
    ("any none true", {"edad": 10, "zona": "belgrano"},
     {"any": [{"var": "edad", "op": "gte", "value": 18}, {"var": "zona", "op": "eq", "value": "palermo"}]}, False),
    ("not", {"edad": 10}, {"not": {"var": "edad", "op": "gte", "value": 18}}, True),
    ("nested all/any/not", {"edad": 30, "zona": "caballito", "moroso": False},
     {"all": [{"var": "edad", "op": "gte", "value": 18},
              {"any": [{"var": "zona", "op": "eq", "value": "palermo"},
                       {"not": {"var": "zona", "op": "in", "value": ["belgrano"]}}]},
              {"not": {"var": "moroso", "op": "eq", "value": True}}]}, True),
]


@pytest.mark.parametrize(("values", "when", "expected"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_condition_operators(values: dict[str, Any], when: dict[str, Any], expected: bool) -> None:
    chat = BotChat(_condition_bot(values, when))
    assert chat.say("hola") == ("RAMA SI" if expected else "RAMA NO")


def test_condition_first_matching_branch_wins() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"monto": 500}, "next": "c"},
        "c": {"type": "condition", "default": "chico", "branches": [
            {"when": {"var": "monto", "op": "gt", "value": 1000}, "next": "grande"},
            {"when": {"var": "monto", "op": "gt", "value": 100}, "next": "mediano"},
            {"when": {"var": "monto", "op": "gt", "value": 10}, "next": "grande"}]},
        "grande": {"type": "close", "text": "grande"},
        "mediano": {"type": "close", "text": "mediano"},
        "chico": {"type": "close", "text": "chico"},
    }))
    assert chat.say("hola") == "mediano"


# -- jumps, loops and closing --------------------------------------------------------------------------------
def test_jump_to_another_flow_and_to_a_flow_node() -> None:
    chat = BotChat(definition({
        "inicio": {"start": "a", "nodes": {"a": {"type": "message", "text": "uno", "next": "b"},
                                           "b": {"type": "jump", "to": "otro"}}},
        "otro": {"start": "x", "nodes": {"x": {"type": "message", "text": "dos", "next": "tercero.z"}}},
        "tercero": {"start": "y", "nodes": {"y": {"type": "message", "text": "no debería verse"},
                                            "z": {"type": "close", "text": "tres"}}},
    }))
    result = chat.turn("hola")
    assert texts(result.replies) == ["uno", "dos", "tres"]
    assert result.ended == "solved"


def test_jump_cycle_is_stopped_as_a_loop() -> None:
    chat = BotChat(definition({
        "a": {"start": "j", "nodes": {"j": {"type": "jump", "to": "b"}}},
        "b": {"start": "j", "nodes": {"j": {"type": "jump", "to": "a"}}},
    }, messages={"error": "Algo salió mal."}))
    result = chat.turn("hola")
    assert "loop" in result.notes
    assert result.ended == "error"
    assert texts(result.replies) == ["Algo salió mal."]
    assert chat.state.status == "ended" and chat.state.end_reason == "error"


def test_message_cycle_without_waiting_is_a_loop_too() -> None:
    chat = BotChat(one_flow({"a": {"type": "message", "text": "eco", "next": "a"}}))
    result = chat.turn("hola")
    assert result.ended == "error" and "loop" in result.notes
    assert texts(result.replies).count("eco") == 60  # MAX_STEPS nodes ran before giving up


@pytest.mark.parametrize(("close", "expected"), [(True, True), (False, False)])
def test_close_node(close: bool, expected: bool) -> None:
    chat = BotChat(one_flow({"fin": {"type": "close", "text": "¡Chau!", "close_conversation": close}}))
    result = chat.turn("hola")
    assert texts(result.replies) == ["¡Chau!"]
    assert result.ended == "solved"
    assert result.close_conversation is expected


def test_a_new_session_starts_after_the_end() -> None:
    chat = BotChat(one_flow({"fin": {"type": "close", "text": "¡Chau!"}}))
    chat.turn("hola")
    first = chat.state
    assert chat.say("hola de nuevo") == "¡Chau!"
    assert chat.state is not first and chat.state.turns == 1


# -- menus -----------------------------------------------------------------------------------------------------
def _menu_bot(options: list[dict[str, Any]], top: dict[str, Any] | None = None, **menu: Any) -> str:
    nodes: dict[str, Any] = {"m": {"type": "menu", "text": "¿Qué querés hacer?", "options": options, **menu}}
    for option in options:
        nodes.setdefault(option["next"], {"type": "close", "text": f"Elegiste {option['id']}"})
    return one_flow(nodes, start="m", **(top or {}))


THREE: list[dict[str, Any]] = [{"id": "saldo", "title": "Ver saldo", "next": "fin_saldo"},
         {"id": "pagar", "title": "Pagar", "keywords": ["abonar"], "next": "fin_pagar"},
         {"id": "otro", "title": "Otra cosa", "next": "fin_otro"}]
SIX: list[dict[str, Any]] = [
    {"id": f"op{i}", "title": f"Opción número {i}", "description": f"Detalle {i}", "next": f"fin{i}"}
    for i in range(1, 7)]


def test_menu_rendered_as_buttons() -> None:
    chat = BotChat(_menu_bot(THREE))
    (menu,) = chat.turn("hola").replies
    assert isinstance(menu, ButtonsContent)
    assert menu.body == "¿Qué querés hacer?"
    assert [(b.id, b.title) for b in menu.buttons] == [("saldo", "Ver saldo"), ("pagar", "Pagar"),
                                                      ("otro", "Otra cosa")]
    assert chat.state.node == "m"


def test_menu_rendered_as_list() -> None:
    chat = BotChat(_menu_bot(SIX, list_button="Elegir"))
    (menu,) = chat.turn("hola").replies
    assert isinstance(menu, ListContent)
    assert menu.button == "Elegir"
    rows = menu.sections[0].rows
    assert [(r.id, r.title, r.description) for r in rows][:2] == [("op1", "Opción número 1", "Detalle 1"),
                                                                  ("op2", "Opción número 2", "Detalle 2")]
    assert len(rows) == 6


def test_menu_with_long_titles_is_numbered_text() -> None:
    options = [{"id": "a", "title": "Una opción con un título bastante largo", "next": "fa"},
               {"id": "b", "title": "Otra opción con un título también largo", "next": "fb"}]
    chat = BotChat(_menu_bot(options))
    (menu,) = chat.turn("hola").replies
    assert menu == TextContent(body="¿Qué querés hacer?\n\n1. Una opción con un título bastante largo\n"
                                    "2. Otra opción con un título también largo")
    assert chat.say("2") == "Elegiste b"


def test_menu_on_a_non_interactive_channel_is_numbered_text() -> None:
    chat = BotChat(_menu_bot(THREE, style="buttons"), interactive=False)
    (menu,) = chat.turn("hola").replies
    assert menu == TextContent(body="¿Qué querés hacer?\n\n1. Ver saldo\n2. Pagar\n3. Otra cosa")


@pytest.mark.parametrize(("answer", "expected"), [
    ({"reply_id": "pagar"}, "Elegiste pagar"),
    ({"text": "3"}, "Elegiste otro"),
    ({"text": "opción 1"}, "Elegiste saldo"),
    ({"text": "ver saldo"}, "Elegiste saldo"),
    ({"text": "PAGAR"}, "Elegiste pagar"),
    ({"text": "quiero abonar"}, "Elegiste pagar"),  # an option keyword
])
def test_menu_choices(answer: dict[str, Any], expected: str) -> None:
    chat = BotChat(_menu_bot(THREE, var="eleccion"))
    chat.turn("hola")
    text = answer.get("text")
    assert chat.say(text, reply_id=answer.get("reply_id")) == expected
    assert chat.vars["eleccion"] == expected.split()[-1]


def test_menu_invalid_answer_reprompts_then_goes_to_on_fail() -> None:
    chat = BotChat(_menu_bot(THREE, max_attempts=2, invalid_text="Elegí una opción de la lista.", on_fail="fallo",
                             use_nlu=False)
                   .replace('"fin_otro": {', '"fallo": {"type": "close", "text": "Demasiados intentos"}, '
                                             '"fin_otro": {'))
    chat.turn("hola")
    result = chat.turn("9")
    assert texts(result.replies) == ["Elegí una opción de la lista."]
    assert isinstance(result.replies[-1], ButtonsContent)  # the menu is shown again
    assert chat.state.attempts == 1 and chat.state.node == "m"
    result = chat.turn("cualquier cosa")
    assert texts(result.replies) == ["Demasiados intentos"]
    assert "max_attempts" in result.notes and result.ended == "solved"


def test_menu_max_attempts_without_on_fail_hands_off() -> None:
    chat = BotChat(_menu_bot(THREE, {"settings": {"team": "soporte"}}, max_attempts=1, use_nlu=False))
    chat.turn("hola")
    result = chat.turn("nada que ver")
    assert result.handoff is not None
    assert (result.handoff.team, result.handoff.reason) == ("soporte", "max_attempts")
    assert result.ended == "handoff"


def test_menu_unmatched_text_gets_one_error_message() -> None:
    chat = BotChat(_menu_bot(THREE))
    chat.turn("hola")
    said = texts(chat.turn("zzqx wwkj").replies)
    assert len(said) == 1, said


def test_menu_titles_from_variables_hide_empty_options() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"turno1": "lun 09:00"}, "next": "m"},
        "m": {"type": "menu", "text": "Elegí un turno", "options": [
            {"id": "t1", "title": "{{turno1}}", "next": "f1"},
            {"id": "t2", "title": "{{turno2}}", "next": "f2"},
            {"id": "ninguno", "title": "Ninguno", "next": "f3"}]},
        "f1": {"type": "close", "text": "turno 1"}, "f2": {"type": "close", "text": "turno 2"},
        "f3": {"type": "close", "text": "ninguno"},
    }))
    (menu,) = chat.turn("hola").replies
    assert isinstance(menu, ButtonsContent)
    assert [(b.id, b.title) for b in menu.buttons] == [("t1", "lun 09:00"), ("ninguno", "Ninguno")]
    assert chat.say("2") == "ninguno"  # numbers count the options shown


# -- collect -----------------------------------------------------------------------------------------------------
def test_collect_reprompts_with_reason_then_on_fail() -> None:
    chat = BotChat(one_flow({
        "dni": {"type": "collect", "var": "dni", "slot": "document_id", "country": "AR", "prompt": "¿Tu DNI?",
                "invalid_text": "Inválido ({{invalid_reason}}).", "max_attempts": 3, "on_fail": "fallo",
                "next": "ok"},
        "ok": {"type": "close", "text": "DNI {{dni}}"},
        "fallo": {"type": "close", "text": "No pudimos validar tu DNI"},
    }))
    assert chat.say("hola") == "¿Tu DNI?"
    assert chat.say("abc") == "Inválido (digits_only)."
    assert chat.say("123") == "Inválido (length)."
    assert chat.state.attempts == 2
    assert chat.say("1") == "No pudimos validar tu DNI"


def test_collect_valid_answer_and_attempts_reset() -> None:
    chat = BotChat(one_flow({
        "dni": {"type": "collect", "var": "dni", "slot": "document_id", "country": "AR", "prompt": "¿Tu DNI?",
                "next": "monto"},
        "monto": {"type": "collect", "var": "monto", "slot": "amount", "prompt": "¿Monto?", "max_attempts": 2,
                  "next": "ok"},
        "ok": {"type": "close", "text": "DNI {{dni}} por {{monto | money}}"},
    }))
    chat.say("hola")
    chat.say("x")
    assert chat.say("30.123.456") == "¿Monto?"
    assert chat.state.attempts == 0
    assert chat.vars["dni"] == "30123456"
    assert chat.say("150 mil") == "DNI 30123456 por $ 150.000,00"


def test_collect_skip_if_set() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"email": "ana@example.com"}, "next": "email"},
        "email": {"type": "collect", "var": "email", "slot": "email", "prompt": "¿Tu email?", "skip_if_set": True,
                  "next": "tel"},
        "tel": {"type": "collect", "var": "tel", "slot": "phone", "prompt": "¿Tu teléfono?", "skip_if_set": True,
                "next": "fin"},
        "fin": {"type": "close", "text": "{{email}} {{tel}}"},
    }))
    assert chat.say("hola") == "¿Tu teléfono?"  # email was already known: not asked again
    assert chat.say("11 2222 3333") == "ana@example.com +541122223333"


def test_collect_image_and_transcribed_voice_note() -> None:
    chat = BotChat(one_flow({
        "foto": {"type": "collect", "var": "foto", "slot": "image", "prompt": "Mandá la foto", "next": "nombre"},
        "nombre": {"type": "collect", "var": "nombre", "slot": "full_name", "prompt": "¿Nombre?", "next": "fin"},
        "fin": {"type": "close", "text": "Gracias {{nombre}}"},
    }))
    chat.say("hola")
    assert chat.say("ahí va") == "La respuesta no es válida. Probá de nuevo, por favor."
    assert chat.say(media=(IMAGE,)) == "¿Nombre?"
    assert chat.vars["foto"] == IMAGE
    assert chat.state.files == [{**IMAGE, "slot": "foto"}]
    voice = {"type": "audio", "media_id": "a1", "mime_type": "audio/ogg", "transcript": "ana pérez"}
    assert chat.say(media=(voice,)) == "Gracias Ana Pérez"


# -- integrations ------------------------------------------------------------------------------------------------
def _integration_bot(on_error: str | None) -> str:
    node: dict[str, Any] = {"type": "integration", "integration": "buscar_cliente",
                            "inputs": {"documento": "{{dni}}"}, "next": "ok"}
    if on_error:
        node["on_error"] = on_error
    return one_flow({
        "dni": {"type": "collect", "var": "dni", "slot": "document_id", "prompt": "¿DNI?", "next": "buscar"},
        "buscar": node,
        "ok": {"type": "close", "text": "Hola {{nombre}} ({{numero_cliente}}, {{zona}})"},
        "error": {"type": "close", "text": "Error: {{integration_error}}"},
    }, integrations=[BUSCAR_CLIENTE], settings={"team": "soporte"}, messages={"error": "Falla técnica."})


def test_integration_outputs_become_variables() -> None:
    chat = BotChat(_integration_bot("error"))
    chat.say("hola")
    assert chat.say("30123456") == "Hola Lucía Fernández (C-1001, palermo)"
    assert chat.transport.calls == [("GET", "/local/core-banking/customers/30123456", None)]


@pytest.mark.parametrize(("dni", "error"), [("11111111", "http_404"), ("99999999", "http_500"),
                                            ("88888888", "timeout")])
def test_integration_failure_goes_to_on_error(dni: str, error: str) -> None:
    chat = BotChat(_integration_bot("error"))
    chat.say("hola")
    result = chat.turn(dni)
    assert texts(result.replies) == [f"Error: {error}"]
    assert f"integration:buscar_cliente:{error}" in result.notes


def test_integration_failure_without_on_error_hands_off() -> None:
    chat = BotChat(_integration_bot(None))
    chat.say("hola")
    result = chat.turn("99999999")
    assert texts(result.replies) == ["Falla técnica.", "Te comunico con una persona de nuestro equipo. En breve te "
                                                       "responde."]
    assert result.handoff is not None
    assert (result.handoff.team, result.handoff.reason) == ("soporte", "integration_failed:buscar_cliente")
    assert result.handoff.data["dni"] == "99999999"
    assert result.ended == "handoff"


# -- email and handoff -------------------------------------------------------------------------------------------
def _email_bot(**email: Any) -> str:
    return one_flow({
        "foto": {"type": "collect", "var": "foto", "slot": "image", "prompt": "Foto", "next": "mail"},
        "mail": {"type": "email", "to": "{{destino}}", "subject": "Pedido de {{nombre}}",
                 "body": "Cliente: {{nombre}}", "next": "fin", **email},
        "fin": {"type": "close", "text": "Enviado"},
        "fallo": {"type": "close", "text": "No se pudo enviar"},
    }, start="foto", settings={"email_from": "bot@example.com"})


def test_email_with_attachments() -> None:
    chat = BotChat(_email_bot())
    chat.state.vars.update(destino="ventas@example.com", nombre="Ana")
    chat.turn("hola")
    assert chat.say(media=(IMAGE,)) == "Enviado"
    (email,) = chat.captured.emails
    assert email == {"to": "ventas@example.com", "subject": "Pedido de Ana", "body": "Cliente: Ana",
                     "attachments": [{**IMAGE, "slot": "foto"}]}


def test_email_without_attachments_and_on_error() -> None:
    chat = BotChat(_email_bot(attach_files=False, on_error="fallo"))
    chat.state.vars.update(destino="ventas@example.com", nombre="Ana")
    chat.turn("hola")
    chat.turn(media=(IMAGE,))
    assert chat.captured.emails[0]["attachments"] == []

    failing = BotChat(_email_bot(on_error="fallo"))
    failing.captured.fail_email = True
    failing.state.vars.update(destino="ventas@example.com", nombre="Ana")
    failing.turn("hola")
    result = failing.turn(media=(IMAGE,))
    assert texts(result.replies) == ["No se pudo enviar"]
    assert "email_failed:ses down" in result.notes


def test_email_failure_without_on_error_hands_off() -> None:
    chat = BotChat(_email_bot())
    chat.captured.fail_email = True
    chat.state.vars.update(destino="ventas@example.com", nombre="Ana")
    chat.turn("hola")
    result = chat.turn(media=(IMAGE,))
    assert result.handoff is not None and result.handoff.reason == "email_failed"
    assert result.ended == "handoff"
    assert "Enviado" not in texts(result.replies)


def test_handoff_node_with_summary_and_default_summary() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"cliente": "C-1003", "deuda": 87450.3, "ficha": {"x": 1}}, "next": "h"},
        "h": {"type": "handoff", "team": "cobranzas", "skills": ["refinanciacion"], "priority": "urgent",
              "text": "Te paso con cobranzas", "summary": "Cliente {{cliente}} debe {{deuda | money}}"},
    }, start="s"))
    result = chat.turn("hola")
    assert texts(result.replies) == ["Te paso con cobranzas"]
    handoff = result.handoff
    assert handoff is not None
    assert (handoff.team, handoff.skills, handoff.priority, handoff.reason) == (
        "cobranzas", ("refinanciacion",), "urgent", "flow")
    assert handoff.summary == "Cliente C-1003 debe $ 87.450,30"
    assert handoff.data == {"cliente": "C-1003", "deuda": 87450.3}  # mappings are left out
    assert result.ended == "handoff" and chat.state.end_reason == "handoff"

    plain = BotChat(one_flow({
        "s": {"type": "set", "values": {"zona": "palermo", "_interno": "x"}, "next": "h"},
        "h": {"type": "handoff", "team": "atencion"},
    }, start="s"))
    result = plain.turn("hola")
    assert result.handoff is not None
    assert result.handoff.summary == "Bot: Bot de prueba\nMotivo: flow\nzona: palermo"
    assert texts(result.replies) == ["Te comunico con una persona de nuestro equipo. En breve te responde."]


# -- OTP ---------------------------------------------------------------------------------------------------------
def _otp_bot(**otp: Any) -> str:
    return one_flow({
        "codigo": {"type": "otp", "prompt": "Te mandamos un código (vence en {{minutes}} min).",
                   "invalid_text": "Código incorrecto.", "expired_text": "El código venció.", "ttl_s": 120,
                   "max_attempts": 3, "next": "ok", **otp},
        "ok": {"type": "close", "text": "Verificado"},
        "fallo": {"type": "close", "text": "No verificado"},
    })


def _wrong(code: str) -> str:
    return "".join(str((int(d) + 1) % 10) for d in code)


def test_otp_whatsapp_template_and_right_code() -> None:
    chat = BotChat(_otp_bot(on_fail="fallo"))
    result = chat.turn("hola")
    template, prompt = result.replies
    assert isinstance(template, TemplateContent)
    assert (template.name, template.language) == ("codigo_verificacion", "es")
    code = chat.last_otp_code()
    assert len(code) == 6 and code.isdigit()
    assert template.components[1]["parameters"][0]["text"] == code  # the copy-code button too
    assert prompt == TextContent(body="Te mandamos un código (vence en 2 min).")
    assert code not in json.dumps(chat.state.to_dict())  # only a MAC of the code is kept
    assert chat.say(_wrong(code)) == "Código incorrecto."
    assert chat.say(f"{code[:3]} {code[3:]}") == "Verificado"
    assert chat.vars["identity_verified"] is True


def test_otp_by_sms_and_email() -> None:
    chat = BotChat(_otp_bot(channel="sms", length=4, to="{{celular}}"))
    chat.state.vars["celular"] = "+5491155556666"
    result = chat.turn("hola")
    (sms,) = chat.captured.sms
    assert sms["to"] == "+5491155556666"
    code = sms["text"].split("es ")[1][:4]
    assert sms["text"] == f"Tu código de verificación es {code}. Vence en 2 minutos."
    assert not any(isinstance(r, TemplateContent) for r in result.replies)
    assert chat.say(code) == "Verificado"

    by_email = BotChat(_otp_bot(channel="email"))
    by_email.turn("hola")
    # no `to`: the contact's email, and the harness contact has none -> handoff
    assert by_email.results[-1].handoff is not None
    assert by_email.results[-1].handoff.reason == "otp_no_destination"


def test_otp_expired_goes_to_on_fail() -> None:
    chat = BotChat(_otp_bot(on_fail="fallo"))
    chat.turn("hola")
    code = chat.last_otp_code()
    chat.now += 121
    result = chat.turn(code)
    assert texts(result.replies) == ["El código venció.", "No verificado"]
    assert chat.vars["identity_verified"] is False


def test_otp_expired_without_on_fail_hands_off() -> None:
    chat = BotChat(_otp_bot())
    chat.turn("hola")
    code = chat.last_otp_code()
    chat.now += 3600
    result = chat.turn(code)
    assert result.handoff is not None and result.handoff.reason == "otp_expired"


def test_otp_locked_refuses_even_the_right_code() -> None:
    chat = BotChat(_otp_bot(on_fail="fallo"))
    chat.turn("hola")
    code = chat.last_otp_code()
    assert chat.state.otp is not None
    chat.state.otp["attempts_left"] = 0  # every attempt spent
    result = chat.turn(code)
    assert texts(result.replies) == ["No verificado"]
    assert chat.vars["identity_verified"] is False


def test_otp_last_wrong_code_goes_to_on_fail() -> None:
    chat = BotChat(_otp_bot(on_fail="fallo", max_attempts=2))
    chat.turn("hola")
    wrong = _wrong(chat.last_otp_code())
    assert chat.say(wrong) == "Código incorrecto."
    assert "No verificado" in chat.say(wrong)


# -- documents and links -----------------------------------------------------------------------------------------
def test_document_node_sends_a_pdf() -> None:
    chat = BotChat(one_flow({
        "s": {"type": "set", "values": {"cliente": "C-1001", "monto": 250000}, "next": "pdf"},
        "pdf": {"type": "document", "title": "Comprobante", "body": "Cliente: {{cliente}}\nMonto: {{monto | money}}",
                "filename": "comprobante-{{cliente}}.pdf", "caption": "Tu comprobante, {{cliente}}", "next": "fin"},
        "fin": {"type": "close", "text": "Listo"},
    }, start="s"))
    result = chat.turn("hola")
    media, text = result.replies
    assert isinstance(media, MediaContent)
    assert (media.type, media.filename, media.link, media.caption) == (
        "document", "comprobante-C-1001.pdf", "https://files.example/comprobante-C-1001.pdf",
        "Tu comprobante, C-1001")
    assert text == TextContent(body="Listo")
    (document,) = chat.captured.documents
    assert document["filename"] == "comprobante-C-1001.pdf"
    assert document["data"].startswith(b"%PDF")
    assert b"Cliente: C-1001" in document["data"] and b"250.000,00" in document["data"]
    assert b"Bot de prueba" in document["data"]  # the footer names the bot


def test_link_node_issues_a_link() -> None:
    chat = BotChat(one_flow({
        "l": {"type": "link", "purpose": "pago", "ttl_s": 600, "text": "Pagá acá: {{link}}", "next": "fin"},
        "fin": {"type": "close"},
    }))
    result = chat.turn("hola")
    assert texts(result.replies) == ["Pagá acá: https://links.example/l?t=pago-ct_1"]
    assert chat.captured.links == [{"contact_id": "ct_1", "purpose": "pago", "ttl_s": 600}]


# -- routing -----------------------------------------------------------------------------------------------------
ROUTING = definition({
    "inicio": {"start": "m", "nodes": {"m": {"type": "menu", "text": "Menú", "options": [
        {"id": "a", "title": "Opción A", "next": "a.pedir"}]}}},
    "a": {"start": "pedir", "description": "Trámite A", "nodes": {
        "pedir": {"type": "collect", "var": "dato", "slot": "text", "prompt": "¿Dato?", "next": "fin"},
        "fin": {"type": "close", "text": "Dato: {{dato}}"}}},
    "ayuda": {"start": "h", "nodes": {"h": {"type": "handoff", "team": "ayuda"}}},
    "precios": {"start": "p", "nodes": {"p": {"type": "message", "text": "Lista de precios"}}},
}, triggers=[{"keywords": ["asesor"], "to": "ayuda", "interrupts": True},
             {"keywords": ["precios"], "to": "precios"}],
    knowledge=[{"id": "horario", "questions": ["¿a qué hora abren?", "horario de atención"],
                "answer": "Abrimos de 9 a 18."}])


def test_interrupting_keyword_takes_over_a_question() -> None:
    chat = BotChat(ROUTING)
    chat.say("hola")
    assert chat.say(reply_id="a") == "¿Dato?"
    result = chat.turn("quiero un asesor")
    assert result.handoff is not None and result.handoff.team == "ayuda"
    assert result.generation == "keywords"


def test_non_interrupting_keyword_is_an_answer_while_a_question_waits() -> None:
    chat = BotChat(ROUTING)
    chat.say("hola")
    chat.say(reply_id="a")
    assert chat.say("precios") == "Dato: precios"


def test_keyword_and_knowledge_when_nothing_waits() -> None:
    chat = BotChat(ROUTING)
    result = chat.turn("¿tienen lista de precios?")
    assert texts(result.replies) == ["Lista de precios"] and result.generation == "keywords"
    chat = BotChat(ROUTING)
    result = chat.turn("¿a qué hora abren?")
    assert texts(result.replies) == ["Abrimos de 9 a 18."] and result.generation == "knowledge"
    assert chat.state.node is None and chat.state.status == "active"


def test_unknown_text_first_turn_shows_the_start_later_the_fallback() -> None:
    chat = BotChat(ROUTING)
    result = chat.turn("zzqx wwkj")
    assert isinstance(result.replies[0], ButtonsContent)  # the start flow, no apology on the first turn
    assert texts(result.replies) == []
    chat = BotChat(ROUTING)
    chat.turn("¿a qué hora abren?")
    result = chat.turn("zzqx wwkj")
    assert texts(result.replies)[0] == "Disculpá, no te entendí. ¿Podés decirlo de otra forma?"
    assert result.generation == "fallback"
    assert isinstance(result.replies[-1], ButtonsContent)


def test_timeout_says_goodbye_and_ends() -> None:
    chat = BotChat(ROUTING)
    chat.say("hola")
    result = chat.engine.timeout(chat.bot, chat.state, chat.ctx)
    assert texts(result.replies) == ["Cerramos esta conversación por inactividad. Escribinos cuando quieras."]
    assert result.ended == "timeout" and chat.state.status == "ended"


# -- generative ----------------------------------------------------------------------------------------------------
@dataclass
class ScriptedLlm:
    """An LlmProvider that answers from a script and records what it received."""

    replies: list[LlmReply | Exception]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def converse(self, *, model_id: str, system: str, messages: Sequence[LlmMessage], tools: Sequence[ToolSpec],
                 max_tokens: int, temperature: float = 0.2) -> LlmReply:
        self.calls.append({"model_id": model_id, "system": system, "messages": list(messages),
                           "tools": [t.name for t in tools], "max_tokens": max_tokens})
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def seen(self) -> str:
        """Everything the provider received, as text."""
        return "\n".join(repr(call) for call in self.calls)


def say(text: str, tokens: tuple[int, int] = (50, 10)) -> LlmReply:
    return LlmReply(text=text, tool_calls=(), stop_reason="end_turn", usage=TokenUsage(*tokens))


def tool(name: str, args: dict[str, Any], text: str | None = None, tokens: tuple[int, int] = (80, 20),
         call_id: str = "c1") -> LlmReply:
    return LlmReply(text=text, tool_calls=(ToolCall(call_id, name, args),), stop_reason="tool_use",
                    usage=TokenUsage(*tokens))


def _ai_bot(**ai: Any) -> str:
    return definition({
        "inicio": {"start": "hola", "nodes": {"hola": {"type": "message", "text": "Hola, soy el asistente."}}},
        "asistente": {"start": "charla", "nodes": {
            "charla": {"type": "ai", "text": "Contame qué necesitás.", "instructions": "Ayudá con cuentas.",
                       "tools": ["buscar_cliente"], "max_turns": 2, "on_handoff": "derivar", "on_finish": "fin"},
            "derivar": {"type": "handoff", "team": "especialistas", "text": "Te paso con un especialista."},
            "fin": {"type": "close", "text": "¡Gracias por escribir!"}}},
    }, integrations=[BUSCAR_CLIENTE],
        ai={"instructions": "Sos el asistente del banco.", "tools": ["buscar_cliente"], **ai},
        triggers=[{"keywords": ["asistente"], "to": "asistente"}],
        knowledge=[{"id": "horario", "questions": ["¿a qué hora abren?"], "answer": "Abrimos de 9 a 18."}])


def test_ai_fallback_tool_loop_calls_the_integration_and_feeds_the_result_back() -> None:
    llm = ScriptedLlm([tool("buscar_cliente", {"documento": "[DOC_1]"}, tokens=(100, 20)),
                       say("Tu número de cliente es C-1001.", tokens=(150, 30))])
    chat = BotChat(_ai_bot(), llm=llm)
    result = chat.turn("Hola, mi DNI es 30123456, ¿cuál es mi número de cliente?")
    assert texts(result.replies) == ["Tu número de cliente es C-1001."]
    assert result.generation == "generative"
    # the integration got the real document (the placeholder restored)
    assert chat.transport.calls == [("GET", "/local/core-banking/customers/30123456", None)]
    assert chat.vars["numero_cliente"] == "C-1001"  # outputs are stored like a flow's integration node
    assert len(llm.calls) == 2
    assert llm.calls[0]["model_id"] == "model-lite"
    assert llm.calls[0]["tools"] == ["buscar_cliente", "handoff_to_agent", "end_conversation"]
    assert "Sos el asistente del banco." in llm.calls[0]["system"]
    second = llm.calls[1]["messages"]
    assert second[-2].role == "assistant" and second[-2].tool_calls[0].name == "buscar_cliente"
    (tool_result,) = second[-1].tool_results
    assert tool_result.tool_call_id == "c1" and not tool_result.is_error
    assert tool_result.content["customer_number"] == "C-1001"
    # usage: summed over both calls, on the result and the session
    (usage,) = result.usage
    assert (usage.kind, usage.model, usage.input_tokens, usage.output_tokens) == ("llm", "model-lite", 250, 50)
    assert (chat.state.tokens_in, chat.state.tokens_out) == (250, 50)
    assert result.ended is None and chat.state.status == "active"


def test_ai_failed_tool_is_reported_to_the_model_as_an_error() -> None:
    llm = ScriptedLlm([tool("buscar_cliente", {"documento": "99999999"}), say("No pude consultar tus datos.")])
    chat = BotChat(_ai_bot(), llm=llm)
    chat.turn("necesito saber algo de mi ficha de cliente")
    (tool_result,) = llm.calls[1]["messages"][-1].tool_results
    assert tool_result.is_error and tool_result.content == {"error": "http_500"}


def test_ai_never_sees_the_customers_personal_data() -> None:
    llm = ScriptedLlm([tool("buscar_cliente", {"documento": "[DOC_1]"}), say("Listo, Lucía. Te escribo a [EMAIL_1].")])
    chat = BotChat(_ai_bot(), llm=llm)
    result = chat.turn("Mi DNI es 30123456 y mi correo lucia@example.com, ¿me buscás?")
    seen = llm.seen()
    for secret in ("30123456", "lucia@example.com", "lucia.fernandez@example.com"):
        assert secret not in seen, secret
    assert "[DOC_1]" in seen and "[EMAIL_1]" in seen
    assert texts(result.replies) == ["Listo, Lucía. Te escribo a lucia@example.com."]  # restored for the customer
    history = json.dumps(chat.state.ai_history, ensure_ascii=False)
    assert "30123456" not in history and "lucia@example.com" not in history
    # the next turn sends the (redacted) history and keeps the same placeholders
    llm.replies.append(say("De nada."))
    chat.turn("gracias por lo de 30123456")
    last = llm.calls[-1]["messages"]
    assert last[0].text == "Mi DNI es [DOC_1] y mi correo [EMAIL_1], ¿me buscás?"
    assert last[-1].text == "gracias por lo de [DOC_1]"
    assert "30123456" not in llm.seen()


def test_ai_handoff_tool() -> None:
    llm = ScriptedLlm([tool("handoff_to_agent", {"reason": "wants a person"})])
    chat = BotChat(_ai_bot(), llm=llm, now=1_800_000_000)
    result = chat.turn("esto no lo entiende nadie, ayuda")
    assert result.handoff is not None
    assert result.handoff.reason == "ai:wants a person" and result.handoff.reason.startswith("ai:")
    assert result.ended == "handoff"
    assert texts(result.replies) == ["Te comunico con una persona de nuestro equipo. En breve te responde."]


def test_ai_handoff_with_its_own_text_sends_only_that_text() -> None:
    llm = ScriptedLlm([tool("handoff_to_agent", {"reason": "billing"}, text="Te paso con una persona.")])
    chat = BotChat(_ai_bot(), llm=llm)
    result = chat.turn("esto no lo entiende nadie, ayuda")
    assert texts(result.replies) == ["Te paso con una persona."]


def test_ai_end_conversation_solves_the_session() -> None:
    llm = ScriptedLlm([tool("end_conversation", {"summary": "consulta resuelta"}, text="¡Que andes bien!")])
    chat = BotChat(_ai_bot(), llm=llm)
    result = chat.turn("listo, era eso nomás, chau")
    assert texts(result.replies) == ["¡Que andes bien!"]
    assert result.ended == "solved" and result.handoff is None


def test_ai_provider_down_hands_off() -> None:
    llm = ScriptedLlm([LlmUnavailable("throttled", code="ThrottlingException")])
    chat = BotChat(_ai_bot(), llm=llm)
    result = chat.turn("necesito saber algo de mi ficha de cliente")
    assert result.handoff is not None and result.handoff.reason == "ai:llm_unavailable"


def test_ai_models_from_the_definition_and_no_model() -> None:
    llm = ScriptedLlm([say("Hola.")])
    chat = BotChat(_ai_bot(models={"LITE": "mi-modelo"}), llm=llm)
    chat.turn("necesito saber algo de mi ficha de cliente")
    assert llm.calls[0]["model_id"] == "mi-modelo"

    chat = BotChat(_ai_bot(), llm=ScriptedLlm([]))
    chat.ports.models = {}
    result = chat.turn("necesito saber algo de mi ficha de cliente")
    assert "no_model" in result.notes
    assert result.handoff is not None and result.handoff.reason == "no_model"


def test_ai_fallback_off_or_no_provider_uses_the_fallback_text() -> None:
    for chat in (BotChat(_ai_bot(fallback=False), llm=ScriptedLlm([])), BotChat(_ai_bot(), llm=None)):
        chat.turn("¿a qué hora abren?")  # knowledge still answers
        result = chat.turn("necesito saber algo de mi ficha de cliente")
        assert texts(result.replies)[0] == "Disculpá, no te entendí. ¿Podés decirlo de otra forma?"
        assert result.generation == "fallback"


def test_ai_node_conversation_with_on_handoff_and_on_finish() -> None:
    llm = ScriptedLlm([say("¿Cuál es tu DNI?"),
                       tool("end_conversation", {"summary": "ok"}, text="Perfecto.")])
    chat = BotChat(_ai_bot(), llm=llm)
    assert chat.say("asistente") == "Contame qué necesitás."
    assert chat.state.node == "charla"
    assert chat.say("quiero consultar mi cuenta") == "¿Cuál es tu DNI?"
    assert "Ayudá con cuentas." in llm.calls[0]["system"]  # the node's instructions are added
    result = chat.turn("gracias, nada más")
    assert texts(result.replies) == ["Perfecto.", "¡Gracias por escribir!"]  # on_finish: the close node
    assert result.ended == "solved"

    llm = ScriptedLlm([tool("handoff_to_agent", {"reason": "complex"})])
    chat = BotChat(_ai_bot(), llm=llm)
    chat.say("asistente")
    result = chat.turn("tengo un problema raro con mi cuenta")
    assert result.handoff is not None and result.handoff.team == "especialistas"  # on_handoff: the flow's node
    assert texts(result.replies) == ["Te paso con un especialista."]


def test_ai_node_max_turns_hands_off_without_calling_the_model() -> None:
    llm = ScriptedLlm([say("uno"), say("dos")])
    chat = BotChat(_ai_bot(), llm=llm)
    chat.say("asistente")
    assert chat.say("pregunta uno") == "uno"
    assert chat.say("pregunta dos") == "dos"
    result = chat.turn("pregunta tres")
    assert result.handoff is not None and result.handoff.reason == "ai_max_turns"
    assert len(llm.calls) == 2


# -- persistent menu (Messenger/Instagram menu, Telegram commands) -------------------------------------------
def test_a_persistent_menu_tap_or_telegram_command_jumps_even_while_a_question_waits() -> None:
    bot = _menu_bot(THREE, top={"menu": [{"title": "Mis deudas", "to": "inicio.fin_pagar"},
                                         {"title": "Crédito", "to": "inicio.fin_otro", "command": "prestamo"}]})
    chat = BotChat(bot)
    chat.turn("hola")
    assert chat.state.node == "m"
    assert chat.say(None, reply_id="menu:inicio.fin_pagar") == "Elegiste pagar"
    chat = BotChat(bot)
    chat.turn("hola")
    assert chat.say("/prestamo") == "Elegiste otro"
    chat = BotChat(bot)
    chat.turn("hola")
    assert chat.say("/mis_deudas@banco_demo_bot") == "Elegiste pagar"  # the title folded; a group's @bot suffix
    chat = BotChat(bot)
    chat.turn("hola")
    assert chat.say(None, reply_id="menu:otro.flujo") != "Elegiste pagar"  # not an item of this menu: no jump


def test_a_menu_item_must_point_at_a_flow_or_node() -> None:
    from shared.services.bot_loader import DefinitionInvalid, load_definition

    with pytest.raises(DefinitionInvalid) as invalid:
        load_definition(_menu_bot(THREE, top={"menu": [{"title": "Nada", "to": "no_existe"}]}))
    assert any(issue.path.startswith("menu") and "no_existe" in issue.message for issue in invalid.value.issues)
