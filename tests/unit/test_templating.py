from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.services.templating import (
    Placeholder,
    TemplateError,
    TemplateSyntaxError,
    literal_text,
    parse,
    referenced_paths,
    render,
    render_value,
    validate,
)

CONTEXT: dict[str, Any] = {
    "vars": {
        "documento": "30123456",
        "nombre": "Lucía Fernández",
        "monto": 150000,
        "cliente": {"zona": "palermo", "cuentas": [{"cbu": "0110"}, {"cbu": "0220"}]},
        "vacio": None,
        "activo": True,
    },
    "input": {"documento": "27999888"},
    "contact": {"name": "Lucía"},
    "secret": {"core": {"api_key": "k-123"}},
    "canal": "whatsapp",
}


def test_dotted_lookups_and_whitespace_inside_braces() -> None:
    assert render("{{vars.documento}}|{{ vars.documento }}|{{  cliente.zona  }}", CONTEXT) == (
        "30123456|30123456|palermo")


def test_bare_names_resolve_in_vars_then_top_level() -> None:
    assert render("{{documento}}", CONTEXT) == render("{{vars.documento}}", CONTEXT) == "30123456"
    assert render("{{canal}}", CONTEXT) == "whatsapp"


def test_reserved_namespaces_are_not_shadowed_by_vars() -> None:
    ctx = {"vars": {"secret": {"core": {"api_key": "from-vars"}}, "input": {"documento": "x"}},
           "secret": {"core": {"api_key": "real"}}, "input": {"documento": "y"}}
    assert render("{{secret.core.api_key}} {{input.documento}}", ctx) == "real y"


def test_list_indexes() -> None:
    assert render("{{cliente.cuentas.1.cbu}}", CONTEXT) == "0220"
    with pytest.raises(TemplateError) as err:
        render("{{cliente.cuentas.5.cbu}}", CONTEXT)
    assert err.value.path == "cliente.cuentas.5.cbu"


def test_missing_value_raises_with_the_path() -> None:
    with pytest.raises(TemplateError) as err:
        render("Hola {{ vars.apellido }}", CONTEXT)
    assert err.value.path == "vars.apellido"
    assert err.value.reason == "missing"


def test_default_for_missing_and_null() -> None:
    assert render('{{ apellido | default: "sin apellido" }}', CONTEXT) == "sin apellido"
    assert render("{{ vacio | default: 'n/d' }}", CONTEXT) == "n/d"
    assert render('{{ nombre | default: "x" }}', CONTEXT) == "Lucía Fernández"
    assert render('{{ x | default: "a | b }}" }}', CONTEXT) == "a | b }}"


def test_filters_after_a_default() -> None:
    assert render("{{ saldo | default: 0 | money }}", CONTEXT) == "$ 0,00"
    with pytest.raises(TemplateError):
        render("{{ saldo | money | default: 0 }}", CONTEXT)


def test_upper_lower_urlencode_json() -> None:
    assert render("{{ nombre | upper }}", CONTEXT) == "LUCÍA FERNÁNDEZ"
    assert render("{{ nombre | lower }}", CONTEXT) == "lucía fernández"
    assert render("{{ nombre | urlencode }}", CONTEXT) == "Luc%C3%ADa%20Fern%C3%A1ndez"
    assert render("{{ cliente | json }}", CONTEXT) == '{"zona":"palermo","cuentas":[{"cbu":"0110"},{"cbu":"0220"}]}'
    assert render("{{ nombre | json }}", CONTEXT) == '"Lucía Fernández"'


@pytest.mark.parametrize(("value", "expected"), [
    (1234567.891, "$ 1.234.567,89"),
    (0, "$ 0,00"),
    (999, "$ 999,00"),
    (1000, "$ 1.000,00"),
    (0.005, "$ 0,01"),
    (-1234.5, "-$ 1.234,50"),
    ("150000.5", "$ 150.000,50"),
    (Decimal("2.675"), "$ 2,68"),
])
def test_money(value: Any, expected: str) -> None:
    assert render("{{ m | money }}", {"m": value}) == expected


@pytest.mark.parametrize("value", ["abc", True, None, [1], "NaN"])
def test_money_rejects_non_numbers(value: Any) -> None:
    with pytest.raises(TemplateError) as err:
        render("{{ m | money }}", {"m": value})
    assert err.value.path == "m"


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-11-23", "23/11/2024"),
    ("2024-11-23T09:00:00Z", "23/11/2024"),
    ("2024-01-05T23:59:00-03:00", "05/01/2024"),
    (date(2025, 2, 1), "01/02/2025"),
])
def test_date(value: Any, expected: str) -> None:
    assert render("{{ d | date }}", {"d": value}) == expected


def test_date_rejects_garbage() -> None:
    with pytest.raises(TemplateError):
        render("{{ d | date }}", {"d": "23/11/2024"})


def test_text_rendering_of_non_strings() -> None:
    assert render("{{monto}} {{activo}} [{{vacio}}]", CONTEXT) == "150000 true []"


def test_no_attribute_access_on_python_objects() -> None:
    class Thing:
        secret = "hidden"

    with pytest.raises(TemplateError):
        render("{{ obj.secret }}", {"obj": Thing()})
    with pytest.raises(TemplateError):
        render("{{ s.upper }}", {"s": "text"})
    with pytest.raises(TemplateError):
        render("{{ d.__class__ }}", {"d": {}})


@pytest.mark.parametrize("template", [
    "{{ unclosed", "{{ }}", "{{ a b }}", "{{ a | eval }}", "{{ a | upper: 1 }}", "{{ a | default }}",
    "{{ a | default: bare }}", "{{ 0abc }}", "{{ a..b }}", "{{ a.__import__('os') }}",
])
def test_syntax_errors(template: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        validate(template)
    with pytest.raises(TemplateSyntaxError):
        render(template, CONTEXT)


def test_text_without_placeholders_is_verbatim() -> None:
    assert render("precio: {100} }} fin", {}) == "precio: {100} }} fin"


def test_render_value_keeps_types_for_exact_placeholders() -> None:
    body = {"monto": "{{monto}}", "doc": "{{documento}}", "texto": "Monto {{monto}}", "activo": "{{activo}}",
            "cuentas": "{{cliente.cuentas}}", "lista": ["{{monto}}", 3, None, {"z": "{{cliente.zona}}"}],
            "fijo": 10, "def": "{{ nada | default: 7 }}"}
    assert render_value(body, CONTEXT) == {
        "monto": 150000, "doc": "30123456", "texto": "Monto 150000", "activo": True,
        "cuentas": [{"cbu": "0110"}, {"cbu": "0220"}], "lista": [150000, 3, None, {"z": "palermo"}],
        "fijo": 10, "def": 7}


def test_render_value_leaves_keys_literal_and_raises_on_missing() -> None:
    assert render_value({"{{monto}}": "x"}, CONTEXT) == {"{{monto}}": "x"}
    with pytest.raises(TemplateError) as err:
        render_value({"a": ["{{ falta }}"]}, CONTEXT)
    assert err.value.path == "falta"


def test_referenced_paths() -> None:
    assert referenced_paths("Hola {{ nombre }}, tu deuda es {{ deuda.total | money }}") == {"nombre", "deuda.total"}
    assert referenced_paths({"a": ["{{secret.core.api_key}}", {"b": "{{input.doc | default: 'x'}}"}], "n": 1}) == {
        "secret.core.api_key", "input.doc"}
    assert referenced_paths(42) == set()
    with pytest.raises(TemplateSyntaxError):
        referenced_paths({"a": "{{ broken"})


def test_escape_applies_to_placeholders_but_not_after_urlencode() -> None:
    def escape(path: str, text: str) -> str:
        return text if path == "base" else text.replace("/", "%2F")

    assert render("{{base}}/a/{{x}}/{{x | urlencode}}", {"x": "b/c", "base": "https://h/p"}, escape=escape) == (
        "https://h/p/a/b%2Fc/b%2Fc")


def test_literal_text_and_parse() -> None:
    assert literal_text("Bearer {{secret.core.token}}") == "Bearer "
    parts = parse("{{ secret.core.base_url }}/x/{{id | upper}}")
    assert [p if isinstance(p, str) else p.path for p in parts] == ["secret.core.base_url", "/x/", "id"]
    assert isinstance(parts[0], Placeholder) and parts[0].source == "{{ secret.core.base_url }}"
