"""E.164 normalization: the LATAM forms that split contacts map to one canonical key; junk is refused with a reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from shared.services.phone import InvalidPhone, normalize_phone, phone_variants, whatsapp_wa_id_to_e164

E164 = re.compile(r"\+[1-9]\d{4,14}")

AR_MOBILE = "+5491123456789"
MX_MOBILE = "+525512345678"
BR_MOBILE = "+5511987654321"

# (raw, default_country, canonical)
LATAM_FORMS: list[tuple[str, str | None, str]] = [
    # Argentina: mobiles, Buenos Aires (2-digit area code)
    ("+54 9 11 2345-6789", None, AR_MOBILE),
    ("5491123456789", None, AR_MOBILE),  # WhatsApp wa_id
    ("011 15 2345 6789", "AR", AR_MOBILE),
    ("011 15-2345-6789", "ar", AR_MOBILE),
    ("+54 11 15 2345 6789", None, AR_MOBILE),
    ("+54 9 11 15 2345 6789", None, AR_MOBILE),
    ("0054 9 11 2345 6789", None, AR_MOBILE),
    ("(011) 15 2345.6789", "AR", AR_MOBILE),
    ("11 15 2345 6789", "AR", AR_MOBILE),
    ("5491123456789", "AR", AR_MOBILE),
    ("+54 (0) 11 15 2345 6789", None, AR_MOBILE),
    # Argentina: 3- and 4-digit area codes, with and without '15'
    ("0351 15 234 5678", "AR", "+5493512345678"),  # Córdoba
    ("+54 9 351 234 5678", None, "+5493512345678"),
    ("+54 351 15 234 5678", None, "+5493512345678"),
    ("0341 15 678 9012", "AR", "+5493416789012"),  # Rosario
    ("02966 15 12 3456", "AR", "+5492966123456"),  # Río Gallegos
    ("+54 9 2966 12 3456", None, "+5492966123456"),
    ("02901 15 41 2345", "AR", "+5492901412345"),  # Ushuaia: 4-digit code ending in 1
    ("03715 15 41 2345", "AR", "+5493715412345"),  # Las Lomitas: the area code itself ends in 15
    # Argentina: landlines keep +54 and 10 digits
    ("+54 11 2345 6789", None, "+541123456789"),
    ("011 4345-6789", "AR", "+541143456789"),
    ("(0351) 423-4567", "AR", "+543514234567"),
    ("0800 333 4444", "AR", "+548003334444"),
    # Mexico
    ("+521 55 1234 5678", None, MX_MOBILE),
    ("5215512345678", None, MX_MOBILE),
    ("+52 55 1234 5678", None, MX_MOBILE),
    ("525512345678", None, MX_MOBILE),
    ("55 1234 5678", "MX", MX_MOBILE),
    ("044 55 1234 5678", "MX", MX_MOBILE),
    ("045 55 1234 5678", "MX", MX_MOBILE),
    ("01 55 1234 5678", "MX", MX_MOBILE),
    ("1 55 1234 5678", "MX", MX_MOBILE),
    ("5215512345678", "MX", MX_MOBILE),
    ("+52 1 (33) 1234-5678", None, "+523312345678"),
    # Brazil: mobiles, with and without the 9th digit
    ("+55 11 98765-4321", None, BR_MOBILE),
    ("55 11 8765 4321", None, BR_MOBILE),
    ("551187654321", None, BR_MOBILE),  # older WhatsApp wa_id
    ("(11) 98765-4321", "BR", BR_MOBILE),
    ("(11) 8765-4321", "BR", BR_MOBILE),
    ("011 98765-4321", "BR", BR_MOBILE),
    ("0 21 11 98765 4321", "BR", BR_MOBILE),  # trunk 0 + carrier 21 + DDD
    ("0 15 11 8765 4321", "BR", BR_MOBILE),
    ("5511987654321", "BR", BR_MOBILE),
    ("+55 21 7123 4567", None, "+5521971234567"),
    ("+55 (21) 6123-4567", None, "+5521961234567"),
    # Brazil: landlines stay 8 digits
    ("+55 11 3456-7890", None, "+551134567890"),
    ("(11) 2345-6789", "BR", "+551123456789"),
    ("0 41 21 5432 1098", "BR", "+552154321098"),
    # Colombia
    ("+57 300 123 4567", None, "+573001234567"),
    ("300 123 4567", "CO", "+573001234567"),
    ("(601) 234 5678", "CO", "+576012345678"),
    ("009 57 310 555 1234", "CO", "+573105551234"),
    ("005 54 9 11 2345 6789", "CO", AR_MOBILE),
    # Chile
    ("+56 9 8765 4321", None, "+56987654321"),
    ("9 8765 4321", "CL", "+56987654321"),
    ("09 8765 4321", "CL", "+56987654321"),
    ("(2) 2345 6789", "CL", "+56223456789"),
    # Peru
    ("+51 987 654 321", None, "+51987654321"),
    ("987 654 321", "PE", "+51987654321"),
    ("(01) 234-5678", "PE", "+5112345678"),
    ("044 123456", "PE", "+5144123456"),
    # Uruguay
    ("+598 99 123 456", None, "+59899123456"),
    ("099 123 456", "UY", "+59899123456"),
    ("2901 2345", "UY", "+59829012345"),
    # US / Canada (NANP)
    ("+1 (212) 555-0100", None, "+12125550100"),
    ("(212) 555-0100", "US", "+12125550100"),
    ("1-212-555-0100", "US", "+12125550100"),
    ("212.555.0100", "CA", "+12125550100"),
    ("011 54 9 11 2345 6789", "US", AR_MOBILE),
    ("001 416 555 0199", "MX", "+14165550199"),
    # BR international prefix with a carrier code
    ("0014 1 212 555 0100", "BR", "+12125550100"),
    ("0021 54 9 11 2345 6789", "BR", AR_MOBILE),
]

EUROPE_FORMS: list[tuple[str, str | None, str]] = [
    ("+34 612 34 56 78", None, "+34612345678"),
    ("612 345 678", "ES", "+34612345678"),
    ("+351 912 345 678", None, "+351912345678"),
    ("+44 (0)20 7946 0958", None, "+442079460958"),
    ("07700 900123", "GB", "+447700900123"),
    ("0151 12345678", "DE", "+4915112345678"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps the 0 of landlines
    ("+39 312 345 6789", None, "+393123456789"),
]


@pytest.mark.parametrize(("raw", "country", "canonical"), LATAM_FORMS)
def test_latam_forms_of_one_subscriber_normalize_to_one_canonical_key(
        raw: str, country: str | None, canonical: str) -> None:
    assert normalize_phone(raw, default_country=country) == canonical


@pytest.mark.parametrize(("raw", "country", "canonical"), EUROPE_FORMS)
def test_european_national_and_international_forms_normalize(raw: str, country: str | None, canonical: str) -> None:
    assert normalize_phone(raw, default_country=country) == canonical


@pytest.mark.parametrize(("raw", "country", "canonical"), LATAM_FORMS + EUROPE_FORMS)
def test_normalizing_is_idempotent(raw: str, country: str | None, canonical: str) -> None:
    once = normalize_phone(raw, default_country=country)
    assert normalize_phone(once) == once
    assert normalize_phone(once, default_country=country) == once  # a default country never rewrites an E.164


@pytest.mark.parametrize(("raw", "country", "reason"), [
    ("", None, "empty"),
    ("  - ( ) ", "AR", "empty"),
    ("+54 11 CALL-NOW", None, "letters"),
    ("11 2345 6789 ext 12", "AR", "letters"),
    ("+54 11 2345#6789", None, "unexpected character"),
    ("54+91123456789", None, r"'\+' is only allowed once"),
    ("++5491123456789", None, r"'\+' is only allowed once"),
    ("+54 9 11 2345 678", None, "too short"),
    ("+54 11 2345 678", None, "too short"),
    ("+54 9 11 2345 67890", None, "too long"),
    ("+54 11 55 2345 6789", None, "no '15' mobile prefix"),
    ("+54 22 15 2345 6789", None, "no '15' mobile prefix"),  # 11 is the only 2-digit area code
    ("15 2345 6789", "AR", "missing its area code"),
    ("+54 9 800 333 4444", None, "invalid AR area code"),
    ("+52 55 1234 567", None, "too short"),
    ("+52 01 2345 6789", None, "invalid MX area code"),
    ("+55 20 98765 4321", None, "invalid BR area code"),
    ("+55 11 88765 4321", None, "mobiles and start with 9"),
    ("+55 11 1234 5678", None, "cannot start with 0 or 1"),
    ("+55 11 9876 543", None, "too short"),
    ("+57 200 123 4567", None, "invalid CO number"),
    ("+57 1 234 5678", None, "too short"),
    ("+56 8765 4321", None, "too short"),
    ("+51 887 654 321", None, "start with 9"),
    ("+598 59 123 456", None, "invalid UY number"),
    ("+1 212 555 010", None, "too short"),
    ("+1 112 555 0100", None, "invalid NANP area code"),
    ("+1 212 155 0100", None, "invalid NANP exchange code"),
    ("+999 123 4567", None, "unknown country calling code"),
    ("+86 138 0013 8000", None, "unknown country calling code"),
    ("+0 54 9 11 2345 6789", None, "cannot start with 0"),
    ("+54", None, "only the country calling code"),
    ("+5491123456789012345678", None, "too long"),
    ("011 15 2345 6789", None, "without default_country"),
    ("011 15 2345 6789", "ZZ", "unknown default_country"),
    ("5511987654321", "AR", "too long"),  # a foreign number needs '+' or '00' when a default country is given
])
def test_unusable_input_is_refused_with_the_reason(raw: str, country: str | None, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        normalize_phone(raw, default_country=country)


def test_invalid_phone_is_a_value_error_and_keeps_the_number_out_of_the_message() -> None:
    with pytest.raises(ValueError, match="too short") as caught:
        normalize_phone("+54 9 11 2345 678")
    assert "2345" not in str(caught.value)


@pytest.mark.parametrize(("wa_id", "canonical"), [
    ("5491123456789", AR_MOBILE),
    ("5215512345678", MX_MOBILE),
    ("525512345678", MX_MOBILE),
    ("551187654321", BR_MOBILE),
    ("5511987654321", BR_MOBILE),
    ("573001234567", "+573001234567"),
    ("56987654321", "+56987654321"),
    ("51987654321", "+51987654321"),
    ("59899123456", "+59899123456"),
    ("12125550100", "+12125550100"),
])
def test_whatsapp_wa_ids_map_to_the_canonical_key(wa_id: str, canonical: str) -> None:
    assert whatsapp_wa_id_to_e164(wa_id) == canonical


@pytest.mark.parametrize(("wa_id", "reason"), [
    ("+5491123456789", "digits only"),
    ("54 9 11 2345 6789", "digits only"),
    ("", "digits only"),
    ("0091123456789", "cannot start with 0"),
    ("99912345678", "unknown country calling code"),
])
def test_malformed_wa_ids_are_refused(wa_id: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        whatsapp_wa_id_to_e164(wa_id)


@pytest.mark.parametrize(("e164", "expected"), [
    (AR_MOBILE, (AR_MOBILE, "+541123456789")),
    ("+541123456789", ("+541123456789", AR_MOBILE)),  # a number block is fixed or mobile, never both
    ("+548003334444", ("+548003334444",)),  # toll-free: no mobile form
    (MX_MOBILE, (MX_MOBILE, "+5215512345678")),
    (BR_MOBILE, (BR_MOBILE, "+551187654321")),
    ("+5511923456789", ("+5511923456789",)),  # its 8-digit form would read as a landline
    ("+551134567890", ("+551134567890",)),
    ("+12125550100", ("+12125550100",)),
    ("+573001234567", ("+573001234567",)),
])
def test_variants_list_the_canonical_first_then_the_other_spellings(e164: str, expected: tuple[str, ...]) -> None:
    assert phone_variants(e164) == expected


@pytest.mark.parametrize("spelling", ["+5215512345678", "5215512345678", "+52 55 1234 5678"])
def test_variants_of_any_spelling_start_with_the_canonical(spelling: str) -> None:
    assert phone_variants(spelling) == (MX_MOBILE, "+5215512345678")


@pytest.mark.parametrize(("raw", "country", "canonical"), LATAM_FORMS + EUROPE_FORMS)
def test_variants_round_trip_to_the_same_subscriber(raw: str, country: str | None, canonical: str) -> None:
    variants = phone_variants(normalize_phone(raw, default_country=country))
    assert variants[0] == canonical
    assert len(set(variants)) == len(variants)
    for variant in variants:
        assert E164.fullmatch(variant)
        # the same group whichever spelling arrives first
        assert set(phone_variants(variant)) == set(variants)
        if not canonical.startswith("+54"):  # AR: a bare +54 <10 digits> may be a landline, so it stays as written
            assert normalize_phone(variant) == canonical


def test_whatsapp_and_crm_spellings_of_an_argentine_mobile_meet_through_variants() -> None:
    typed_without_9 = normalize_phone("+54 11 2345 6789")
    from_whatsapp = whatsapp_wa_id_to_e164("5491123456789")
    assert typed_without_9 != from_whatsapp
    assert typed_without_9 in phone_variants(from_whatsapp)
    assert from_whatsapp in phone_variants(typed_without_9)


# --- properties (only when hypothesis is installed) -----------------------------------------------------------------

COUNTRIES = [None, "AR", "MX", "BR", "CO", "CL", "PE", "UY", "US", "ES"]


def run_property(check: Callable[..., None], *strategies: Any, examples: int) -> None:
    """Run `check` under hypothesis (imported here so the module still loads without it)."""
    from hypothesis import given, settings

    settings(max_examples=examples, deadline=None)(given(*strategies)(check))()


def test_property_any_text_is_refused_or_becomes_a_stable_e164() -> None:
    pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    def check(raw: str, country: str | None) -> None:
        try:
            result = normalize_phone(raw, default_country=country)
        except InvalidPhone:
            return
        assert E164.fullmatch(result)
        assert normalize_phone(result) == result
        assert phone_variants(result)[0] == result

    run_property(check, st.text(alphabet="0123456789+-() .x", max_size=24), st.sampled_from(COUNTRIES), examples=500)


def test_property_argentine_mobile_spellings_agree() -> None:
    pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    def check(area: str, data: st.DataObject) -> None:
        # local numbers never start with 0 or 1; area code + local number = 10 digits
        local = data.draw(st.sampled_from("23456789")) + data.draw(
            st.text(alphabet="0123456789", min_size=9 - len(area), max_size=9 - len(area)))
        canonical = "+549" + area + local
        for raw, country in [
            ("+54 9 " + area + " " + local, None),
            ("549" + area + local, None),
            ("0" + area + " 15 " + local, "AR"),
            ("+54 " + area + " 15-" + local, None),
            (area + "15" + local, "AR"),
        ]:
            assert normalize_phone(raw, default_country=country) == canonical, raw
        assert phone_variants(canonical) == (canonical, "+54" + area + local)

    run_property(check, st.sampled_from(["11", "351", "341", "261", "2966", "2901", "3715", "3783"]), st.data(),
                 examples=300)


def test_property_brazilian_mobile_with_or_without_the_ninth_digit_agree() -> None:
    pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    def check(ddd: str, first: str, rest: str) -> None:
        eight = first + rest
        canonical = "+55" + ddd + "9" + eight
        assert normalize_phone("+55 " + ddd + " " + eight) == canonical
        assert whatsapp_wa_id_to_e164("55" + ddd + eight) == canonical
        assert normalize_phone("(" + ddd + ") 9" + eight[:4] + "-" + eight[4:], default_country="BR") == canonical
        assert normalize_phone("0 31 " + ddd + " " + eight, default_country="BR") == canonical
        assert phone_variants(canonical) == (canonical, "+55" + ddd + eight)

    run_property(check, st.sampled_from(["11", "21", "31", "41", "51", "61", "71", "81", "91", "99"]),
                 st.sampled_from("6789"), st.text(alphabet="0123456789", min_size=7, max_size=7), examples=300)
