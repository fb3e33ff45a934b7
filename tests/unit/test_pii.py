"""PII redaction: what is swapped for placeholders, what is left alone, and restoration."""

from __future__ import annotations

import pytest

from shared.services.pii import Redactor, redact, restore


@pytest.mark.parametrize(("text", "kind", "original"), [
    ("escribime a Juan.Perez85@gmail.com", "EMAIL", "Juan.Perez85@gmail.com"),
    ("mi cel es +54 9 11 5555-6666", "PHONE", "+54 9 11 5555-6666"),
    ("whatsapp +5215512345678", "PHONE", "+5215512345678"),
    ("llamame al 11 5555 6666", "PHONE", "11 5555 6666"),
    ("fijo (011) 4555-6666", "PHONE", "(011) 4555-6666"),
    ("mi número es 4555-6666", "PHONE", "4555-6666"),
    ("mi número es 3001234567", "PHONE", "3001234567"),
    ("tarjeta 4111 1111 1111 1111", "CARD", "4111 1111 1111 1111"),
    ("tarjeta 5500-0000-0000-0004", "CARD", "5500-0000-0000-0004"),
    ("la 4111111111111111 por favor", "CARD", "4111111111111111"),
    ("amex 3782 822463 10005", "CARD", "3782 822463 10005"),
    ("tarjeta 4111 1111 1111 1112", "CARD", "4111 1111 1111 1112"),  # mistyped (not Luhn-valid): still a card
    ("DNI 30.123.456", "DOC", "30.123.456"),
    ("mi dni es 30123456", "DOC", "30123456"),
    ("documento 7.123.456", "DOC", "7.123.456"),
    ("CUIT 20-30123456-7", "DOC", "20-30123456-7"),
    ("cuil 20301234567", "DOC", "20301234567"),
    ("CPF 123.456.789-09", "DOC", "123.456.789-09"),
    ("RUT 12.345.678-5", "DOC", "12.345.678-5"),
    ("run 7654321-6", "DOC", "7654321-6"),
    ("mi CURP es GODE561231HDFRRN09", "DOC", "GODE561231HDFRRN09"),
    ("cédula 1023456789", "DOC", "1023456789"),
    ("cc 52345678", "DOC", "52345678"),
    ("CBU 0110599520000001234567", "ACCOUNT", "0110599520000001234567"),
    ("CLABE 032180000118359719", "ACCOUNT", "032180000118359719"),
    ("IBAN ES91 2100 0418 4502 0005 1332", "ACCOUNT", "ES91 2100 0418 4502 0005 1332"),
    ("iban DE89370400440532013000", "ACCOUNT", "DE89370400440532013000"),
    ("número de cuenta: 1234567890123", "ACCOUNT", "1234567890123"),
])
def test_detects_each_kind(text: str, kind: str, original: str) -> None:
    result = redact(text)
    placeholder = f"[{kind}_1]"
    assert result.mapping == {placeholder: original}
    assert placeholder in result.text
    assert original not in result.text


@pytest.mark.parametrize("text", [
    "me cobraron $ 1.500.000 de más",
    "son 50000 pesos",
    "el total: 15000000",
    "pagué $50000 y USD 1200",
    "me pasaron 1.500,50",
    "cuesta 2.500.000",
    "el pedido 12345678 no llegó",
    "ticket 998877665",
    "llega el 12/03/2024 o el 2024-03-12 o el 12-03-2024 o el 12.03.2024",
    "a las 10:30 hs, 2 unidades, año 2025",
    "tengo 3 hijos y 1500000 de deuda",
    "código postal 1425",
    "mi tarjeta termina en 1111",
])
def test_leaves_amounts_dates_and_short_numbers_alone(text: str) -> None:
    result = redact(text)
    assert result.mapping == {}
    assert result.text == text


def test_order_matters_card_before_phone_and_email_before_numbers() -> None:
    result = redact("tarjeta 4111 1111 1111 1111, mail ana.30123456@correo.com.ar")
    assert result.text == "tarjeta [CARD_1], mail [EMAIL_1]"


def test_long_runs_are_split_into_the_pieces_that_classify() -> None:
    result = redact("datos: 30123456 1155556666")
    assert result.text == "datos: [DOC_1] [PHONE_1]"


def test_iban_followed_by_an_upper_case_word() -> None:
    result = redact("IBAN ES9121000418450200051332 OK")
    assert result.text == "IBAN [ACCOUNT_1] OK"


def test_same_value_same_placeholder_across_texts() -> None:
    redactor = Redactor()
    first = redactor.redact("mi mail es ana@example.com y mi tel 11 5555-6666")
    second = redactor.redact("repito: ANA@example.com, tel 1155556666, otro mail beto@example.com")
    assert first == "mi mail es [EMAIL_1] y mi tel [PHONE_1]"
    assert second == "repito: [EMAIL_1], tel [PHONE_1], otro mail [EMAIL_2]"
    assert redactor.mapping == {"[EMAIL_1]": "ana@example.com", "[PHONE_1]": "11 5555-6666",
                                "[EMAIL_2]": "beto@example.com"}


def test_restore_is_recursive_and_tolerates_missing_brackets() -> None:
    redactor = Redactor()
    redactor.redact("ana@example.com 30.123.456")
    restored = redactor.restore({"email": "[EMAIL_1]", "ids": ["DOC_1", {"deep": "dni [DOC_1]."}], "n": 3,
                                 "unknown": "[PHONE_9]"})
    assert restored == {"email": "ana@example.com", "ids": ["30.123.456", {"deep": "dni 30.123.456."}], "n": 3,
                        "unknown": "[PHONE_9]"}


def test_redact_value_uses_keys_as_context_and_redacts_integers_under_pii_keys() -> None:
    redactor = Redactor()
    value = redactor.redact_value({"name": "Ana", "dni": 7123456, "total": 15000000, "customer_phone": 1155556666,
                                   "items": [{"email": "ana@example.com"}], "ok": True, "price": 12.5})
    assert value == {"name": "Ana", "dni": "[DOC_1]", "total": 15000000, "customer_phone": "[PHONE_1]",
                     "items": [{"email": "[EMAIL_1]"}], "ok": True, "price": 12.5}
    assert redactor.mapping == {"[DOC_1]": "7123456", "[PHONE_1]": "1155556666", "[EMAIL_1]": "ana@example.com"}


def test_seeded_mapping_keeps_numbering_and_reuses_placeholders() -> None:
    redactor = Redactor({"[EMAIL_1]": "ana@example.com", "[PHONE_2]": "1155556666"})
    text = redactor.redact("ana@example.com, beto@example.com, 11 5555 6666, 3001234567")
    assert text == "[EMAIL_1], [EMAIL_2], [PHONE_2], [PHONE_3]"


def test_reserve_avoids_reusing_placeholders_seen_in_history() -> None:
    redactor = Redactor()
    redactor.reserve(["antes: [EMAIL_1] y [DOC_4]"])
    assert redactor.redact("ana@example.com dni 30123456") == "[EMAIL_2] dni [DOC_5]"


def test_module_level_restore() -> None:
    result = redact("tel +54 9 11 5555-6666")
    assert restore(f"ok {result.text}", result.mapping) == "ok tel +54 9 11 5555-6666"
    assert restore("nothing", {}) == "nothing"


def test_empty_text() -> None:
    assert redact("").text == ""
