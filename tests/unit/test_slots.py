"""Typed slots for `collect` nodes (shared/services/slots.py): what a customer types -> a clean value, or why not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.services.slots import SlotResult, parse_amount, parse_date, validate_slot

ALL_SLOTS = ("document_id", "full_name", "email", "phone", "date", "amount", "integer", "text", "yes_no", "image",
             "file", "choice")


def ok(value: Any) -> SlotResult:
    return SlotResult(True, value)


def bad(reason: str) -> SlotResult:
    return SlotResult(False, reason=reason)


# -- document ids --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("country", "typed", "expected"), [
    # Argentina: DNI of 7 or 8 digits, dots and spaces ignored
    ("AR", "30123456", ok("30123456")),
    ("AR", "30.123.456", ok("30123456")),
    ("AR", " 30 123 456 ", ok("30123456")),
    ("AR", "1234567", ok("1234567")),
    ("AR", "123456", bad("length")),
    ("AR", "123456789", bad("length")),
    ("AR", "30123456a", bad("digits_only")),
    ("AR", "treinta", bad("digits_only")),
    # Chile: RUT with its mod-11 check digit, normalized to body-check
    ("CL", "12.345.678-5", ok("12345678-5")),
    ("CL", "123456785", ok("12345678-5")),
    ("CL", "12.345.678-4", bad("rut_check_digit")),
    ("CL", "10.000.013-K", ok("10000013-K")),
    ("CL", "10000013-k", ok("10000013-K")),
    ("CL", "10000013-1", bad("rut_check_digit")),
    ("CL", "123-5", bad("rut_check_digit")),
    # Uruguay: CI with its check digit (7 or 8 digits)
    ("UY", "1.234.567-2", ok("12345672")),
    ("UY", "12345672", ok("12345672")),
    ("UY", "1.234.567-3", bad("ci_check_digit")),
    ("UY", "123.456-1", ok("1234561")),
    ("UY", "123.456-2", bad("ci_check_digit")),
    ("UY", "12345", bad("ci_check_digit")),
    # Brazil: CPF with both check digits; all-equal digits refused
    ("BR", "529.982.247-25", ok("52998224725")),
    ("BR", "52998224725", ok("52998224725")),
    ("BR", "529.982.247-26", bad("cpf_check_digit")),
    ("BR", "111.111.111-11", bad("cpf_check_digit")),
    ("BR", "5299822472", bad("cpf_check_digit")),
    # Mexico: CURP format (upper-cased)
    ("MX", "GODE561231HDFRRN09", ok("GODE561231HDFRRN09")),
    ("MX", "gode561231hdfrrn09", ok("GODE561231HDFRRN09")),
    ("MX", "GODE561231XDFRRN09", bad("curp_format")),
    ("MX", "GODE561231HDFRRN0", bad("curp_format")),
    # Peru: DNI of exactly 8 digits
    ("PE", "12345678", ok("12345678")),
    ("PE", "1234567", bad("length")),
    ("PE", "123456789", bad("length")),
    # Colombia: cédula of 6 to 10 digits
    ("CO", "123456", ok("123456")),
    ("CO", "1.023.456.789", ok("1023456789")),
    ("CO", "12345", bad("length")),
    ("CO", "12345678901", bad("length")),
    # no country: 6 to 12 digits
    (None, "123456", ok("123456")),
    (None, "123456789012", ok("123456789012")),
    (None, "1234567890123", bad("length")),
])
def test_document_ids_per_country(country: str | None, typed: str, expected: SlotResult) -> None:
    assert validate_slot("document_id", typed, [], country=country) == expected


@pytest.mark.parametrize(("country", "typed"), [("UY", "1234567²"), ("BR", "5299822472²")])
def test_document_with_a_superscript_digit_is_refused_not_a_crash(country: str, typed: str) -> None:
    result = validate_slot("document_id", typed, [], country=country)
    assert not result.ok


def test_ar_document_with_a_superscript_digit_is_not_accepted() -> None:
    assert validate_slot("document_id", "3012345²", [], country="AR") == bad("digits_only")


# -- names and emails ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("lucia fernandez", ok("Lucia Fernandez")),
    ("JUAN PEREZ", ok("Juan Perez")),
    ("  ana   maría  ", ok("Ana María")),
    ("O'Brien Smith", ok("O'Brien Smith")),
    ("Ana María-Luz", ok("Ana María-Luz")),
    ("Jo Li", ok("Jo Li")),
    ("Juan", bad("two_words")),
    ("Juan 123", bad("letters_only")),
    ("Juan P3rez", bad("letters_only")),
    ("Juan @", bad("letters_only")),
    ("A B", bad("too_short")),
    ("Ana " + "b" * 130, bad("two_words")),
])
def test_full_names(typed: str, expected: SlotResult) -> None:
    assert validate_slot("full_name", typed, []) == expected


def test_full_name_in_mixed_case_is_kept_as_typed() -> None:
    assert validate_slot("full_name", "María José de la Torre", []) == ok("María José de la Torre")


def test_full_name_length_limits() -> None:
    assert validate_slot("full_name", "Ana Paz", [], min_length=8) == bad("too_short")
    assert validate_slot("full_name", "Ana Paz", [], max_length=6) == bad("too_long")
    assert validate_slot("full_name", "Ana Paz", [], min_length=7, max_length=7) == ok("Ana Paz")


@pytest.mark.parametrize(("typed", "expected"), [
    ("lucia@example.com", ok("lucia@example.com")),
    ("Lucia.Fernandez@Example.COM", ok("lucia.fernandez@example.com")),
    ("<a@b.co>", ok("a@b.co")),
    ("  a+tag@sub.example.com.ar ", ok("a+tag@sub.example.com.ar")),
    ("a@b", bad("email_format")),
    ("x@localhost", bad("email_format")),
    ("a b@c.com", bad("email_format")),
    ("lucia.example.com", bad("email_format")),
    ("@example.com", bad("email_format")),
    ("a@-example.com", bad("email_format")),
    ("a" * 250 + "@b.com", bad("email_format")),
])
def test_emails(typed: str, expected: SlotResult) -> None:
    assert validate_slot("email", typed, []) == expected


# -- phones (shared/services/phone.py) -----------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "country", "expected"), [
    ("11 2222 3333", "AR", ok("+541122223333")),
    ("11 2222 3333", None, ok("+541122223333")),  # default country AR
    ("+54 9 11 2222-3333", None, ok("+5491122223333")),
    ("011 15 2222 3333", "AR", ok("+5491122223333")),  # domestic mobile form
    ("+54 11 15 2222-3333", None, ok("+5491122223333")),
    ("+56 9 1234 5678", None, ok("+56912345678")),
    ("55 1234 5678", "MX", ok("+525512345678")),
    ("+52 1 55 1234 5678", None, ok("+525512345678")),  # WhatsApp's old Mexican mobile 1
    ("abc", None, bad("phone_format")),
    ("123", "AR", bad("phone_format")),
    ("11 2222 3333", "UY", bad("phone_format")),
])
def test_phones(typed: str, country: str | None, expected: SlotResult) -> None:
    assert validate_slot("phone", typed, [], country=country) == expected


# -- dates ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("15/03/1990", ok("1990-03-15")),
    ("15-03-1990", ok("1990-03-15")),
    ("15.03.1990", ok("1990-03-15")),
    ("5/3/1990", ok("1990-03-05")),
    ("1990-03-15", ok("1990-03-15")),
    ("1990/3/5", ok("1990-03-05")),
    ("15 de marzo de 1990", ok("1990-03-15")),
    ("15 de Marzo del 1990", ok("1990-03-15")),
    ("3 setiembre 2001", ok("2001-09-03")),
    ("3 septiembre 2001", ok("2001-09-03")),
    ("1 de diciembre de 1985", ok("1985-12-01")),
    ("29/02/2024", ok("2024-02-29")),  # leap year
    ("29/02/2023", bad("date_format")),
    ("31/02/2020", bad("date_format")),
    ("32/01/2020", bad("date_format")),
    ("15/13/1990", bad("date_format")),
    ("15 de marzuelo de 1990", bad("date_format")),
    ("ayer", bad("date_format")),
    ("1990", bad("date_format")),
    ("", bad("empty")),
])
def test_dates(typed: str, expected: SlotResult) -> None:
    assert validate_slot("date", typed, []) == expected


def test_dates_are_day_first() -> None:
    # 03/04 is the 3rd of April in Spanish-speaking countries, never March 4th
    assert parse_date("03/04/2020").isoformat() == "2020-04-03"  # type: ignore[union-attr]


# -- amounts and integers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("$ 1.500.000", 1_500_000),
    ("$1.500.000,50", 1_500_000.5),
    ("1500000", 1_500_000),
    ("1 500 000", 1_500_000),
    ("1.234,56", 1234.56),
    ("1,234.56", 1234.56),
    ("10.25", 10.25),
    ("1,5", 1.5),
    ("150 mil", 150_000),
    ("1,5 millones", 1_500_000),
    ("2 palos", 2_000_000),
    ("3 lucas", 3000),
    ("USD 300", 300),
    ("300 pesos", 300),
    ("ARS 1.000", 1000),
])
def test_amounts(typed: str, expected: float) -> None:
    result = validate_slot("amount", typed, [])
    assert result.ok, result
    assert result.value == expected
    assert type(result.value) is type(expected)  # whole amounts are ints (they print without ".0")


@pytest.mark.parametrize("typed", ["abc", "1.5.0", "-500", "$-5", "150 mill", "1,50,0", "mil", "12abc"])
def test_not_amounts(typed: str) -> None:
    assert validate_slot("amount", typed, []) == bad("number_format")
    assert parse_amount(typed) is None


@pytest.mark.parametrize(("typed", "minimum", "maximum", "expected"), [
    ("999", 1000, None, bad("below_min")),
    ("1.000", 1000, None, ok(1000)),
    ("1.500.001", None, 1_500_000, bad("above_max")),
    ("1,5 millones", None, 1_500_000, ok(1_500_000)),
    ("0", 1, None, bad("below_min")),
])
def test_amount_limits(typed: str, minimum: float | None, maximum: float | None, expected: SlotResult) -> None:
    assert validate_slot("amount", typed, [], minimum=minimum, maximum=maximum) == expected


@pytest.mark.parametrize(("typed", "expected"), [
    ("5", ok(5)),
    ("0", ok(0)),
    ("60", ok(60)),
    ("61", bad("above_max")),
    ("1.000", bad("above_max")),
    ("5,5", bad("number_format")),
    ("2.5", bad("number_format")),
    ("cinco", bad("number_format")),
])
def test_integers(typed: str, expected: SlotResult) -> None:
    assert validate_slot("integer", typed, [], minimum=0, maximum=60) == expected


# -- yes / no ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("si", True), ("Sí", True), ("SI!", True), ("sí, claro", True), ("dale", True), ("ok", True),
    ("claro que sí", True), ("de acuerdo", True), ("por supuesto", True), ("confirmo", True), ("1", True),
    ("no", False), ("No, gracias", False), ("NO", False), ("nop", False), ("para nada", False),
    ("cancelar", False), ("2", False),
])
def test_yes_no(typed: str, expected: bool) -> None:
    assert validate_slot("yes_no", typed, []) == ok(expected)


@pytest.mark.parametrize("typed", ["tal vez", "capaz", "3", "quizás sí"])
def test_yes_no_refuses_anything_else(typed: str) -> None:
    assert validate_slot("yes_no", typed, []) == bad("yes_no")


# -- choices -------------------------------------------------------------------------------------------------
CHOICES = ["Rojo", "Azul", "Verde claro"]


@pytest.mark.parametrize(("typed", "expected"), [
    ("Rojo", ok("Rojo")),
    ("ROJO", ok("Rojo")),
    ("azúl", ok("Azul")),
    ("verde claro", ok("Verde claro")),
    ("1", ok("Rojo")),
    ("3", ok("Verde claro")),
    ("0", bad("not_a_choice")),
    ("4", bad("not_a_choice")),
    ("violeta", bad("not_a_choice")),
    ("verde", bad("not_a_choice")),
])
def test_choices_by_name_and_number(typed: str, expected: SlotResult) -> None:
    assert validate_slot("choice", typed, [], choices=CHOICES) == expected


# -- media ---------------------------------------------------------------------------------------------------
IMAGE = {"type": "image", "media_id": "m1", "mime_type": "image/jpeg", "s3_key": "media/demo/wa/x.jpg"}
IMAGE_2 = {"type": "image", "media_id": "m2", "mime_type": "image/png"}
PDF = {"type": "document", "media_id": "d1", "mime_type": "application/pdf"}
AUDIO = {"type": "audio", "media_id": "a1", "mime_type": "audio/ogg"}


@pytest.mark.parametrize(("slot", "text", "media", "expected"), [
    ("image", None, [IMAGE], ok(IMAGE)),
    ("image", "acá va", [IMAGE], ok(IMAGE)),
    ("image", None, [IMAGE, IMAGE_2], ok(IMAGE_2)),  # the last one of a burst
    ("image", None, [PDF], bad("expected_image")),
    ("image", "es una foto, te lo juro", [], bad("expected_image")),
    ("image", None, [AUDIO], bad("expected_image")),
    ("file", None, [PDF], ok(PDF)),
    ("file", None, [IMAGE], ok(IMAGE)),
    ("file", None, [AUDIO], bad("expected_file")),
    ("file", "recibo", [], bad("expected_file")),
])
def test_media_slots(slot: str, text: str | None, media: list[dict[str, Any]], expected: SlotResult) -> None:
    assert validate_slot(slot, text, media) == expected


# -- free text and patterns ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("slot", "typed", "kwargs", "expected"), [
    ("text", "  hola  ", {}, ok("hola")),
    ("text", "   ", {}, bad("empty")),
    ("text", None, {}, bad("empty")),
    ("text", "1234567890123456789012", {"pattern": r"\d{22}"}, ok("1234567890123456789012")),
    ("text", "123456789012345678901", {"pattern": r"\d{22}"}, bad("pattern")),
    ("text", "x1234567890123456789012", {"pattern": r"\d{22}"}, bad("pattern")),  # the whole text must match
    ("text", "C-1003", {"pattern": r"(?i)c-?\d{4}"}, ok("C-1003")),
    ("text", "c1003", {"pattern": r"(?i)c-?\d{4}"}, ok("c1003")),
    ("text", "falla", {"min_length": 5}, ok("falla")),
    ("text", "mal", {"min_length": 5}, bad("too_short")),
    ("text", "demasiado", {"max_length": 5}, bad("too_long")),
    ("document_id", "30123456", {"pattern": r"\d{7}", "country": "AR"}, bad("pattern")),  # pattern first
    ("email", None, {}, bad("empty")),
    ("amount", "", {}, bad("empty")),
])
def test_text_and_pattern(slot: str, typed: str | None, kwargs: dict[str, Any], expected: SlotResult) -> None:
    assert validate_slot(slot, typed, [], **kwargs) == expected


# -- never raises --------------------------------------------------------------------------------------------
_PIECES = st.sampled_from(["0", "1", "5", "9", ".", ",", "-", "/", " ", "$", "k", "K", "mil", "millones", "de",
                           "marzo", "@", "+", "(", ")", "si", "no", "ñ", "á", "\n", "\t", "'", "٣", "ｘ", "🙂"])
_TEXT = st.one_of(
    # arbitrary Unicode except "other number" characters (superscripts, fractions: see the xfail above) and
    # lone surrogates
    st.text(alphabet=st.characters(blacklist_categories=("No", "Cs")), max_size=60),
    st.lists(_PIECES, max_size=25).map("".join),
)
_MEDIA = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["image", "document", "audio", "video", "x"])},
                                        optional={"media_id": st.text(max_size=5)}), max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot=st.sampled_from(ALL_SLOTS), text=st.one_of(st.none(), _TEXT), media=_MEDIA,
       country=st.sampled_from([None, "AR", "CL", "UY", "BR", "MX", "PE", "CO", "US"]),
       pattern=st.sampled_from([None, r"\d+", r"(?i)c-?\d{4}"]))
def test_validate_slot_never_raises(slot: str, text: str | None, media: list[dict[str, Any]], country: str | None,
                                    pattern: str | None) -> None:
    result = validate_slot(slot, text, media, pattern=pattern, minimum=1, maximum=1e9, min_length=1,
                           max_length=100, choices=["Rojo", "Azul"], country=country)
    assert isinstance(result, SlotResult)
    assert result.ok == (result.reason is None)
    if not result.ok:
        assert result.value is None
