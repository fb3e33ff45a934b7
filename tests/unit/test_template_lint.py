"""Template lint: promotional wording in utility templates, variable placement, examples, parameter formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.models.templates import LintFinding, MessageTemplate, TemplateInput
from shared.services.template_lint import lint_template, promotional_signals
from tests.unit.test_template_params import (
    APRIL_PROMO,
    AUTH_CODE,
    DYNAMIC_URL,
    HELLO_WORLD,
    ORDER_DOCUMENT,
    ORDER_NAMED,
    SEASONAL,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stored(raw: dict[str, Any], **overrides: Any) -> MessageTemplate:
    fields = {"tenant_id": "t1", "channel_id": "c1", "updated_at": T0, **raw, **overrides}
    fields.pop("id", None)
    return MessageTemplate.model_validate(fields)


def create(category: str, body: str, *, example: list[str] | None = None, **extra: Any) -> TemplateInput:
    component: dict[str, Any] = {"type": "BODY", "text": body}
    if example is not None:
        component["example"] = {"body_text": [example]}
    return TemplateInput.model_validate({"name": "t", "language": "es", "category": category,
                                         "components": [component, *extra.pop("components", [])], **extra})


def rules(findings: list[LintFinding]) -> list[str]:
    return [f.rule for f in findings]


# -- Meta's own examples -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [HELLO_WORLD, APRIL_PROMO, SEASONAL, ORDER_NAMED, ORDER_DOCUMENT, DYNAMIC_URL,
                                 AUTH_CODE], ids=lambda raw: raw["name"])
def test_metas_approved_examples_are_clean(raw: dict[str, Any]) -> None:
    assert lint_template(stored(raw)) == []


def test_metas_authentication_create_example_is_clean() -> None:
    template = TemplateInput.model_validate({
        "category": "AUTHENTICATION", "language": "en_US", "name": "authentication_code_copy_code_button",
        "components": [{"type": "BODY", "add_security_recommendation": True},
                       {"type": "FOOTER", "code_expiration_minutes": 10},
                       {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE",
                                                        "text": "Copy Code"}]}]})

    assert lint_template(template) == []


# -- marketing_in_utility ----------------------------------------------------------------------------------
def test_april_promo_filed_as_utility_is_flagged_with_the_matched_phrases_and_the_cost() -> None:
    findings = lint_template(stored(APRIL_PROMO, category="UTILITY"))

    assert rules(findings) == ["marketing_in_utility"]
    message = findings[0].message
    assert findings[0].severity == "warning"
    assert '"25% off"' in message and '"promo"' in message and '"sale"' in message
    assert "MARKETING" in message and "several times more" in message


def test_spanish_promotion_is_recognised_through_accents_and_case() -> None:
    strong, weak = promotional_signals("¡APROVECHÁ! Últimos días de PROMOCIÓN: 30 % de descuento con tu cupón")

    assert strong == ["promocion", "30 % de descuento", "cupon"]
    assert weak == ["aprovecha", "ultimos dias"]


def test_a_create_request_without_category_change_is_warned_it_may_be_rejected() -> None:
    findings = lint_template(create("UTILITY", "Hola {{1}}, tenés un 2x1 en tu próxima compra en la tienda.",
                                    example=["Ana"]))

    assert rules(findings) == ["marketing_in_utility"]
    assert '"2x1"' in findings[0].message and "allow_category_change is off" in findings[0].message


def test_two_weak_signals_are_enough() -> None:
    findings = lint_template(create("UTILITY", "Hola {{1}}, envío gratis por tiempo limitado en tu pedido.",
                                    example=["Ana"]))

    assert rules(findings) == ["marketing_in_utility"]
    assert '"gratis"' in findings[0].message and '"por tiempo limitado"' in findings[0].message


@pytest.mark.parametrize("body", [
    "Hola {{1}}, tu pedido sale hoy de nuestro depósito y llega mañana.",  # "sale" is a Spanish verb
    "Hi {{1}}, your order has shipped. Feel free to reply if you need help.",  # one weak signal only
    "Hola {{1}}, tu batería está al 20% y el equipo se apagará pronto.",  # a bare percentage is weak
    "Hola {{1}}, tu cuota de {{2}} vence el {{3}}. Podés pagarla desde la app o en sucursal.",
])
def test_ordinary_utility_wording_is_not_flagged(body: str) -> None:
    example = ["Ana", "$1000", "lunes"][: body.count("{{")]

    assert lint_template(create("UTILITY", body, example=example)) == []


def test_marketing_templates_may_be_promotional() -> None:
    assert "marketing_in_utility" not in rules(lint_template(stored(APRIL_PROMO)))


def test_button_and_footer_texts_count_as_template_text() -> None:
    raw = json.loads(json.dumps(ORDER_DOCUMENT))
    raw["components"][2]["buttons"][1]["text"] = "Shop now"

    assert rules(lint_template(stored(raw))) == ["marketing_in_utility"]


# -- variable placement ------------------------------------------------------------------------------------
def test_body_starting_or_ending_with_a_variable_is_flagged() -> None:
    starts = lint_template(create("UTILITY", "{{1}}, tu turno quedó confirmado para el día de mañana.",
                                  example=["Ana"]))
    ends = lint_template(create("UTILITY", "Tu turno quedó confirmado para el día de mañana con {{1}}",
                                example=["Ana"]))
    inside = lint_template(create("UTILITY", "Tu turno quedó confirmado con {{1}}.", example=["Ana"]))

    assert rules(starts) == ["variables_at_edges"] and "starts" in starts[0].message
    assert rules(ends) == ["variables_at_edges"] and "ends" in ends[0].message
    assert inside == []


def test_adjacent_variables_are_flagged_even_with_a_space_between() -> None:
    findings = lint_template(create("UTILITY", "Hola {{1}} {{2}}, tu turno quedó confirmado para mañana temprano.",
                                    example=["Ana", "Pérez"]))

    assert rules(findings) == ["adjacent_variables"]
    assert "{{1}}{{2}}" in findings[0].message


def test_too_many_variables_for_the_text_is_flagged() -> None:
    findings = lint_template(create("UTILITY", "Pago {{1}} de {{2}} a {{3}} ok", example=["a", "b", "c"]))

    assert rules(findings) == ["too_many_variables_for_length"]
    assert "3 variable(s) but only 4 word(s)" in findings[0].message


# -- examples and formats ----------------------------------------------------------------------------------
def test_missing_or_short_examples_are_errors() -> None:
    none = lint_template(create("UTILITY", "Hola {{1}}, tu pedido {{2}} ya está en camino a tu casa."))
    short = lint_template(create("UTILITY", "Hola {{1}}, tu pedido {{2}} ya está en camino a tu casa.",
                                 example=["Ana"]))

    assert [(f.rule, f.severity) for f in none] == [("missing_examples", "error")]
    assert "body: example.body_text is missing" in none[0].message
    assert "example.body_text has 1 value(s) for 2 variable(s)" in short[0].message


def test_media_header_and_dynamic_url_without_examples_are_errors() -> None:
    raw = json.loads(json.dumps(DYNAMIC_URL))
    del raw["components"][0]["example"]
    del raw["components"][2]["buttons"][1]["example"]

    messages = [f.message for f in lint_template(stored(raw)) if f.rule == "missing_examples"]

    assert len(messages) == 2
    assert "image header needs example.header_handle" in messages[0]
    assert "button 1 (Shop Now): a dynamic URL needs an example" in messages[1]


def test_named_examples_must_cover_every_name() -> None:
    raw = json.loads(json.dumps(ORDER_NAMED))
    raw["components"][0]["example"]["body_text_named_params"].pop()

    findings = lint_template(TemplateInput.model_validate(raw))

    assert rules(findings) == ["missing_examples"]
    assert "body_text_named_params has no example for order_number" in findings[0].message


def test_parameter_format_must_match_the_placeholders() -> None:
    named_with_numbers = create("UTILITY", "Hola {{1}}, tu pedido ya está en camino a tu casa.",
                                example=["Ana"], parameter_format="named")
    positional_with_names = stored(ORDER_NAMED, parameter_format="POSITIONAL")

    findings = lint_template(named_with_numbers)
    assert "named_format_mismatch" in rules(findings)
    assert "parameter_format is NAMED but the template uses {{1}}" in next(
        f.message for f in findings if f.rule == "named_format_mismatch")
    assert "named_format_mismatch" in rules(lint_template(positional_with_names))


def test_positional_placeholders_must_be_numbered_in_order_without_gaps() -> None:
    out_of_order = lint_template(create("UTILITY", "Hola {{2}}, tu pedido {{1}} ya está en camino a tu casa.",
                                        example=["a", "b"]))
    gap = lint_template(create("UTILITY", "Hola {{1}}, tu pedido {{3}} ya está en camino a tu casa.",
                               example=["a", "b"]))

    assert rules(out_of_order) == ["positional_not_sequential"]
    assert rules(gap) == ["positional_not_sequential"]
    assert "{{1}}, {{3}}" in gap[0].message


def test_authentication_create_request_with_free_text_is_warned() -> None:
    findings = lint_template(create("AUTHENTICATION", "Tu código es {{1}}. Gracias por elegirnos.",
                                    example=["123456"]))

    assert rules(findings) == ["authentication_with_content"]
    assert "body text" in findings[0].message


def test_errors_come_before_warnings() -> None:
    body = "{{1}} tiene 20% de descuento en todas las compras de la semana en {{2}}"

    findings = lint_template(create("UTILITY", body))

    assert [f.severity for f in findings] == ["error", "warning", "warning"]
    assert rules(findings) == ["missing_examples", "marketing_in_utility", "variables_at_edges"]


def test_metas_preset_authentication_text_may_start_with_the_code() -> None:
    raw = json.loads(json.dumps(AUTH_CODE))
    raw["components"][0]["text"] = "{{1}} is your verification code."

    assert lint_template(stored(raw)) == []
