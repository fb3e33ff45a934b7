"""Template variables and send parameters, on Meta's own template examples (GET and create payloads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.models.templates import MessageTemplate, TemplateInput
from shared.services.template_params import (
    ParamProblem,
    TemplateParamError,
    TemplateVariable,
    build_components,
    placeholders,
    render_preview,
    required_slots,
    variables_of,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stored(raw: dict[str, Any], **overrides: Any) -> MessageTemplate:
    """A template as the sync stores it from Meta's GET /{WABA-ID}/message_templates item."""
    fields = {"tenant_id": "t1", "channel_id": "c1", "updated_at": T0, "status": "APPROVED", **raw, **overrides}
    fields.pop("id", None)
    return MessageTemplate.model_validate(fields)


# -- Meta's examples (research6 section 2), verbatim apart from the stored-model fields -----------------------
HELLO_WORLD = {
    "category": "MARKETING", "language": "en_US", "name": "hello_world", "id": "1192339204654487",
    "components": [
        {"format": "TEXT", "text": "Hello World", "type": "HEADER"},
        {"text": "Welcome and congratulations!! This message demonstrates your ability to send a message "
                 "notification from WhatsApp Business Platform’s Cloud API. Thank you for taking the time to test "
                 "with us.", "type": "BODY"},
        {"text": "WhatsApp Business API Team", "type": "FOOTER"},
    ],
}
APRIL_PROMO = {
    "category": "MARKETING", "language": "en_US", "name": "2023_april_promo", "id": "920070352646140",
    "components": [
        {"format": "TEXT", "text": "Fall Sale", "type": "HEADER"},
        {"example": {"body_text": [["Mark", "FALL25"]]},
         "text": "Hi {{1}}, our Fall Sale is on! Use promo code {{2}} Get an extra 25% off every order above $350!",
         "type": "BODY"},
        {"text": "Not interested in any of our sales? Tap Stop Promotions", "type": "FOOTER"},
        {"buttons": [{"text": "Stop promotions", "type": "QUICK_REPLY"}], "type": "BUTTONS"},
    ],
}
SEASONAL = {
    "category": "MARKETING", "language": "en", "name": "seasonal_promotion_text_only",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Our {{1}} is on!", "example": {"header_text": ["Summer Sale"]}},
        {"type": "BODY", "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
         "example": {"body_text": [["the end of August", "25OFF", "25%"]]}},
        {"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Unsubcribe from Promos"},
                                        {"type": "QUICK_REPLY", "text": "Unsubscribe from All"}]},
    ],
}
ORDER_NAMED = {
    "name": "order_confirmation", "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED",
    "components": [{"type": "body", "text": "Thank you, {{first_name}}! Your order number is {{order_number}}.",
                    "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Pablo"},
                                                           {"param_name": "order_number",
                                                            "example": "860198-230332"}]}}],
}
ORDER_DOCUMENT = {
    "category": "UTILITY", "language": "en_US", "name": "order_confirmation",
    "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::YXBwbGljYXRpb24vcGRm:ARZVv4zu"]}},
        {"type": "BODY", "text": "Thank you for your order, {{1}}! Your order number is {{2}}. Tap below to get help.",
         "example": {"body_text": [["Mark", "860198-230332"]]}},
        {"type": "BUTTONS", "buttons": [
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "16467043595"},
            {"type": "URL", "text": "Contact Support", "url": "https://www.examplesite.com/support"}]},
    ],
}
DYNAMIC_URL = {
    "category": "MARKETING", "language": "en_US", "name": "limited_time_offer",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBn:ARZ"]}},
        {"type": "BODY", "text": "Hi {{1}}! Our summer collection is here, with something for everyone.",
         "example": {"body_text": [["Pablo"]]}},
        {"type": "BUTTONS", "buttons": [
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "16467043595"},
            {"type": "URL", "text": "Shop Now", "url": "https://damp-sea-63235.herokuapp.com/shop?promo={{1}}",
             "example": ["summer2023"]}]},
    ],
}
# As GET returns an approved copy-code authentication template (Meta's preset text and an OTP button).
AUTH_CODE = {
    "category": "AUTHENTICATION", "language": "en_US", "name": "authentication_code_copy_code_button",
    "components": [
        {"type": "BODY", "text": "*{{1}}* is your verification code. For your security, do not share this code.",
         "example": {"body_text": [["123456"]]}},
        {"type": "FOOTER", "text": "This code expires in 10 minutes."},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ],
}


def problems_of(template: MessageTemplate, values: dict[str, Any]) -> list[ParamProblem]:
    with pytest.raises(TemplateParamError) as caught:
        build_components(template, values)
    return caught.value.problems


# -- variables ---------------------------------------------------------------------------------------------
def test_placeholders_are_listed_once_in_order_of_appearance() -> None:
    assert placeholders("{{2}} then {{1}} then {{ 2 }} and {{first_name}}") == ["2", "1", "first_name"]
    assert placeholders(None) == []


def test_hello_world_has_no_variables_and_sends_no_components() -> None:
    template = stored(HELLO_WORLD)

    assert variables_of(template) == []
    assert build_components(template, {}) == []


def test_april_promo_variables_carry_examples_and_an_optional_quick_reply_payload() -> None:
    assert variables_of(stored(APRIL_PROMO)) == [
        TemplateVariable("body.1", "BODY", "text", "1", "Mark", max_length=1024),
        TemplateVariable("body.2", "BODY", "text", "2", "FALL25", max_length=1024),
        TemplateVariable("button.0", "BUTTONS", "payload", "Stop promotions", None, required=False,
                         max_length=256, index=0),
    ]
    assert required_slots(stored(APRIL_PROMO)) == ["body.1", "body.2"]


def test_seasonal_promotion_header_and_body_variables_take_their_examples() -> None:
    found = {v.slot: v.example for v in variables_of(stored(SEASONAL))}

    assert found == {"header.1": "Summer Sale", "body.1": "the end of August", "body.2": "25OFF", "body.3": "25%",
                     "button.0": None, "button.1": None}


def test_named_parameters_are_slotted_by_name_with_named_examples() -> None:
    template = TemplateInput.model_validate(ORDER_NAMED)

    assert [(v.slot, v.name, v.example) for v in variables_of(template)] == [
        ("body.first_name", "first_name", "Pablo"), ("body.order_number", "order_number", "860198-230332")]


def test_media_header_and_dynamic_url_button_are_variables_static_buttons_are_not() -> None:
    variables = variables_of(stored(DYNAMIC_URL))

    assert [(v.slot, v.kind, v.example) for v in variables] == [
        ("header", "image", "4::aW1hZ2UvanBn:ARZ"), ("body.1", "text", "Pablo"),
        ("button.1", "url_suffix", "summer2023")]
    assert [v.slot for v in variables_of(stored(ORDER_DOCUMENT))] == ["header", "body.1", "body.2"]


def test_a_url_example_given_as_the_whole_url_is_reduced_to_the_suffix() -> None:
    raw = json.loads(json.dumps(DYNAMIC_URL))
    raw["components"][2]["buttons"][1]["example"] = ["https://damp-sea-63235.herokuapp.com/shop?promo=summer2023"]

    assert variables_of(stored(raw))[-1].example == "summer2023"


def test_positional_variables_are_sent_in_number_order() -> None:
    template = stored({"name": "x", "language": "es", "components": [
        {"type": "BODY", "text": "Tu turno del {{2}} con {{1}} está confirmado, te esperamos."}]})

    assert [v.slot for v in variables_of(template)] == ["body.1", "body.2"]
    assert build_components(template, {"body.1": "la Dra. Paz", "body.2": "lunes"}) == [
        {"type": "body", "parameters": [{"type": "text", "text": "la Dra. Paz"}, {"type": "text", "text": "lunes"}]}]


# -- building components -----------------------------------------------------------------------------------
def test_april_promo_builds_body_parameters_and_a_payload_only_when_given() -> None:
    template = stored(APRIL_PROMO)
    body = {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "FALL25"}]}

    assert build_components(template, {"body.1": "Ana", "body.2": "FALL25"}) == [body]
    assert build_components(template, {"body.1": "Ana", "body.2": "FALL25", "button.0": "stop:c-42"}) == [
        body, {"type": "button", "sub_type": "quick_reply", "index": "0",
               "parameters": [{"type": "payload", "payload": "stop:c-42"}]}]


def test_seasonal_promotion_builds_header_and_body_text_parameters() -> None:
    values = {"header.1": "Winter Sale", "body.1": "the end of July", "body.2": "WINTER", "body.3": 30}

    assert build_components(stored(SEASONAL), values) == [
        {"type": "header", "parameters": [{"type": "text", "text": "Winter Sale"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "the end of July"},
                                        {"type": "text", "text": "WINTER"}, {"type": "text", "text": "30"}]},
    ]


def test_named_template_send_matches_metas_verbatim_send_example() -> None:
    template = stored(ORDER_NAMED)

    components = build_components(template, {"body.first_name": "Jessica", "body.order_number": "SKBUP2-4CPIG9"})

    assert components == [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "first_name", "text": "Jessica"},
        {"type": "text", "parameter_name": "order_number", "text": "SKBUP2-4CPIG9"}]}]


def test_names_in_the_text_make_a_template_named_even_when_the_sync_missed_parameter_format() -> None:
    template = stored(ORDER_NAMED, parameter_format="POSITIONAL")

    components = build_components(template, {"body.first_name": "Jessica", "body.order_number": "1"})

    assert components[0]["parameters"][0] == {"type": "text", "parameter_name": "first_name", "text": "Jessica"}


def test_document_header_takes_a_link_with_filename_or_a_media_id() -> None:
    template = stored(ORDER_DOCUMENT)
    body = {"body.1": "Mark", "body.2": "860198-230332"}

    by_link = build_components(template, {**body, "header": {"link": "https://cdn.example.com/i.pdf",
                                                             "filename": "invoice.pdf"}})
    by_id = build_components(template, {**body, "header": {"id": "1037543291543636"}})
    by_url = build_components(template, {**body, "header": "https://cdn.example.com/i.pdf"})

    assert by_link[0] == {"type": "header", "parameters": [
        {"type": "document", "document": {"link": "https://cdn.example.com/i.pdf", "filename": "invoice.pdf"}}]}
    assert by_id[0] == {"type": "header", "parameters": [{"type": "document", "document": {"id": "1037543291543636"}}]}
    assert by_url[0]["parameters"][0] == {"type": "document", "document": {"link": "https://cdn.example.com/i.pdf"}}


@pytest.mark.parametrize(("header", "message"), [
    ("http://cdn.example.com/i.pdf", "document link must be an https URL"),
    ("cdn.example.com/i.pdf", "document link must be an https URL"),
    ({"link": "https://a.example/x.pdf", "id": "1"}, "give exactly one of link or id for the document"),
    ({"url": "https://a.example/x.pdf"}, "unexpected document keys: url"),
    (42, "expected an https URL, {'link': url} or {'id': media_id} for the document"),
])
def test_bad_media_values_are_refused_precisely(header: Any, message: str) -> None:
    problems = problems_of(stored(ORDER_DOCUMENT), {"header": header, "body.1": "Mark", "body.2": "1"})

    assert problems == [ParamProblem("header", message)]


def test_image_header_refuses_a_filename() -> None:
    problems = problems_of(stored(DYNAMIC_URL), {"header": {"link": "https://a.example/p.jpg", "filename": "p.jpg"},
                                                 "body.1": "Ana", "button.1": "x"})

    assert problems == [ParamProblem("header", "unexpected image keys: filename")]


def test_dynamic_url_button_builds_a_url_parameter_at_its_position() -> None:
    components = build_components(stored(DYNAMIC_URL), {
        "header": "https://cdn.example.com/summer.jpg", "body.1": "Pablo", "button.1": "summer2026"})

    assert components == [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/summer.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Pablo"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "summer2026"}]},
    ]


@pytest.mark.parametrize(("suffix", "message"), [
    ("summer 2026", "URL suffix must not contain spaces"),
    ("a<b>", "URL suffix contains characters not allowed in a URL: '<' '>'"),
    ("x" * 2001, "URL suffix is 2001 characters; the limit is 2000"),
])
def test_bad_url_suffixes_are_refused(suffix: str, message: str) -> None:
    problems = problems_of(stored(DYNAMIC_URL), {"header": "https://a.example/p.jpg", "body.1": "Ana",
                                                 "button.1": suffix})

    assert problems == [ParamProblem("button.1", message)]


def test_every_problem_is_reported_at_once_in_template_order() -> None:
    values = {"header.1": "Summer\nSale", "body.1": "   ", "body.3": "25%", "body.9": "x", "button.0": "ok"}

    with pytest.raises(TemplateParamError) as caught:
        build_components(stored(SEASONAL), values)

    assert caught.value.problems == [
        ParamProblem("header.1", "text parameters cannot contain newlines or tabs or more than 4 consecutive spaces"),
        ParamProblem("body.1", "must not be empty"),
        ParamProblem("body.2", "missing"),
        ParamProblem("body.9", "the template has no such variable"),
    ]
    assert str(caught.value).startswith("header.1: text parameters cannot contain newlines")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["tab\there", "five     spaces", "line\r\nbreak"])
def test_text_parameters_refuse_tabs_newlines_and_long_space_runs(text: str) -> None:
    problems = problems_of(stored(APRIL_PROMO), {"body.1": text, "body.2": "FALL25"})

    assert problems == [ParamProblem(
        "body.1", "text parameters cannot contain newlines or tabs or more than 4 consecutive spaces")]


def test_four_spaces_in_a_row_are_still_allowed() -> None:
    assert build_components(stored(APRIL_PROMO), {"body.1": "Ana    María", "body.2": "FALL25"})


def test_numbers_become_text_but_booleans_and_objects_do_not() -> None:
    assert build_components(stored(APRIL_PROMO), {"body.1": 7, "body.2": 2.5})[0]["parameters"] == [
        {"type": "text", "text": "7"}, {"type": "text", "text": "2.5"}]

    problems = problems_of(stored(APRIL_PROMO), {"body.1": True, "body.2": ["x"]})

    assert problems == [
        ParamProblem("body.1", "expected text (a string or a number), got bool"),
        ParamProblem("body.2", "expected text (a string or a number), got list"),
    ]


def test_a_body_parameter_over_1024_characters_is_refused() -> None:
    problems = problems_of(stored(APRIL_PROMO), {"body.1": "a" * 1025, "body.2": "FALL25"})

    assert problems == [ParamProblem("body.1", "text is 1025 characters; the limit is 1024")]


def test_the_body_is_measured_after_substitution() -> None:
    # 86 characters of fixed text: 86 + 900 + 100 > 1024 although each parameter fits
    problems = problems_of(stored(APRIL_PROMO), {"body.1": "a" * 900, "body.2": "b" * 100})

    assert problems == [ParamProblem("body", "text after substitution is 1086 characters; the limit is 1024")]


def test_the_text_header_is_measured_after_substitution() -> None:
    values = {"header.1": "x" * 50, "body.1": "a", "body.2": "b", "body.3": "c"}

    problems = problems_of(stored(SEASONAL), values)

    assert problems == [ParamProblem("header", "text after substitution is 61 characters; the limit is 60")]


def test_currency_and_date_time_values_are_accepted_in_the_body() -> None:
    template = stored(ORDER_NAMED)
    values = {"body.first_name": {"type": "date_time", "fallback_value": "February 25, 1977"},
              "body.order_number": {"type": "currency", "fallback_value": "$100.99", "code": "USD",
                                    "amount_1000": 100990}}

    assert build_components(template, values) == [{"type": "body", "parameters": [
        {"type": "date_time", "parameter_name": "first_name", "date_time": {"fallback_value": "February 25, 1977"}},
        {"type": "currency", "parameter_name": "order_number",
         "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}}]}]


def test_bad_currency_values_and_header_currency_are_refused() -> None:
    currency = {"type": "currency", "fallback_value": "$1", "code": "usd", "amount_1000": 1000}

    problems = problems_of(stored(SEASONAL), {"header.1": {**currency, "code": "USD"}, "body.1": currency,
                                              "body.2": {**currency, "code": "USD", "amount_1000": 1.5},
                                              "body.3": {"type": "date_time"}})

    assert problems == [
        ParamProblem("header.1", "currency and date_time values are only accepted in the body"),
        ParamProblem("body.1", "currency code must be an ISO 4217 code such as USD"),
        ParamProblem("body.2", "currency amount_1000 must be an integer (the amount times 1000)"),
        ParamProblem("body.3", "date_time needs a fallback_value string"),
    ]


def test_location_header_sends_coordinates_and_optional_name() -> None:
    template = stored({"name": "store", "language": "es", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Tu pedido te espera en esta sucursal hasta las 20 hs."}]})

    components = build_components(template, {"header": {"latitude": -34.6037, "longitude": "-58.3816",
                                                        "name": "Sucursal Centro"}})

    assert components == [{"type": "header", "parameters": [{"type": "location", "location": {
        "latitude": "-34.6037", "longitude": "-58.3816", "name": "Sucursal Centro"}}]}]
    assert problems_of(template, {"header": {"latitude": 91, "longitude": 0}}) == [
        ParamProblem("header", "location latitude must be between -90 and 90")]
    assert problems_of(template, {"header": {"latitude": "north", "longitude": 0}}) == [
        ParamProblem("header", "location latitude must be a number")]


def test_copy_code_button_sends_a_coupon_of_at_most_15_characters() -> None:
    template = stored({"name": "coupon", "language": "en_US", "components": [
        {"type": "BODY", "text": "Use the code below at checkout to finish your order today."},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Unsubscribe"},
                                        {"type": "COPY_CODE", "example": "250FF"}]}]})

    assert variables_of(template)[1].example == "250FF"
    assert build_components(template, {"button.1": "25OFF"}) == [
        {"type": "button", "sub_type": "copy_code", "index": "1",
         "parameters": [{"type": "coupon_code", "coupon_code": "25OFF"}]}]
    assert problems_of(template, {"button.1": "A" * 16}) == [
        ParamProblem("button.1", "coupon code is 16 characters; the limit is 15")]
    assert problems_of(template, {}) == [ParamProblem("button.1", "missing")]


def test_a_payload_over_256_characters_is_refused_and_an_empty_one_is_left_out() -> None:
    template = stored(APRIL_PROMO)

    assert problems_of(template, {"body.1": "a", "body.2": "b", "button.0": "p" * 257}) == [
        ParamProblem("button.0", "payload is 257 characters; the limit is 256")]
    assert len(build_components(template, {"body.1": "a", "body.2": "b", "button.0": ""})) == 1


def test_authentication_template_sends_the_code_in_body_and_otp_button() -> None:
    components = build_components(stored(AUTH_CODE), {"body.1": "482913", "button.0": "482913"})

    # the shape the OTP bot node sends (shared/services/bot_engine.py)
    assert components == [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]},
    ]


# -- preview -----------------------------------------------------------------------------------------------
def test_preview_substitutes_given_values_and_keeps_missing_placeholders() -> None:
    preview = render_preview(stored(SEASONAL), {"header.1": "Winter Sale", "body.2": "WINTER"})

    assert preview == {
        "header": "Our Winter Sale is on!",
        "body": "Shop now through {{1}} and use code WINTER to get {{3}} off of all merchandise.",
        "footer": "Use the buttons below to manage your marketing subscriptions",
        "buttons": [{"type": "QUICK_REPLY", "text": "Unsubcribe from Promos"},
                    {"type": "QUICK_REPLY", "text": "Unsubscribe from All"}],
    }


def test_preview_shows_media_urls_phone_numbers_and_named_values() -> None:
    dynamic = render_preview(stored(DYNAMIC_URL), {"header": "https://cdn.example.com/s.jpg", "body.1": "Pablo"})
    named = render_preview(stored(ORDER_NAMED), {"body.first_name": "Jessica", "body.order_number": {
        "type": "currency", "fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}})

    assert dynamic["header"] == "[image: https://cdn.example.com/s.jpg]"
    assert dynamic["buttons"] == [
        {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "16467043595"},
        {"type": "URL", "text": "Shop Now", "url": "https://damp-sea-63235.herokuapp.com/shop?promo={{1}}"}]
    assert render_preview(stored(DYNAMIC_URL), {"button.1": "winter"})["buttons"][1]["url"] == (
        "https://damp-sea-63235.herokuapp.com/shop?promo=winter")
    assert named["body"] == "Thank you, Jessica! Your order number is $100.99."
    assert named["header"] is None and named["footer"] is None
