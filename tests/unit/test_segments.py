"""The segment filter language: schema, whitelist, every operator per field type, limits, and injection attempts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import DomainError
from shared.models.crm import ConsentRecord, ConsentStatus, Contact, CustomFieldDef, Identity
from shared.models.segments import (
    BUILTIN_FIELDS,
    MAX_CONDITIONS,
    OPS_BY_TYPE,
    AllGroup,
    Condition,
    NotGroup,
    Segment,
    SegmentInput,
    parse_filter,
)
from shared.services.segments import FilterProblem, SegmentInvalid, compile_filter, fold_text, segment_matches

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)

DEFS = {
    d.key: d
    for d in (
        CustomFieldDef(key="barrio", label="Barrio", type="text"),
        CustomFieldDef(key="puntos", label="Puntos", type="number"),
        CustomFieldDef(key="cumple", label="Cumpleaños", type="date"),
        CustomFieldDef(key="socio", label="Socio", type="boolean"),
        CustomFieldDef(key="intereses", label="Intereses", type="list", options=("fútbol", "tenis", "pádel")),
        CustomFieldDef(key="notas", label="Notas", type="list"),
    )
}


def contact(contact_id: str = "c1", **attributes: Any) -> Contact:
    return Contact(tenant_id="t1", contact_id=contact_id, created_at=attributes.pop("created_at", NOW - 30 * DAY),
                   updated_at=NOW - DAY, **attributes)


def cond(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def matches(filter_: Any, subject: Contact, now: datetime = NOW) -> bool:
    return compile_filter(filter_, DEFS)(subject, now)


def errors_of(filter_: Any) -> tuple[str, ...]:
    with pytest.raises(SegmentInvalid) as caught:
        compile_filter(filter_, DEFS)
    return caught.value.errors


def opted(status: ConsentStatus) -> ConsentRecord:
    return ConsentRecord(status=status, at=NOW - 10 * DAY, source="whatsapp")


JOSE = contact(
    name="José  Pérez",
    language="es-AR",
    owner_agent_id="Agent-7",
    identities=(
        Identity(kind="whatsapp", value="5491155550101"),
        Identity(kind="phone", value="+5491155550101"),
        Identity(kind="email", value="Jose.Perez@Example.com"),
    ),
    tags=("VIP", "Cliente Frecuente"),
    lifecycle="customer",
    consent={"marketing": opted("opted_in"), "utility": opted("opted_out")},
    created_at=NOW - 100 * DAY,
    last_inbound_at=NOW - 2 * DAY,
    last_outbound_at=NOW - 10 * DAY,
    over_cap=True,
    fields={"barrio": "Núñez", "puntos": 1500, "cumple": "1990-07-14", "socio": True,
            "intereses": ["fútbol", "pádel"], "notas": ["Llamar Lunes"]},
)
EMPTY = contact("c2")  # nothing optional set: no name, tags, identities, consent, activity or custom fields


# --------------------------------------------------------------------------------------------------
# Every operator on every field type: (condition, JOSE matches, EMPTY matches)
# --------------------------------------------------------------------------------------------------

CASES: list[tuple[dict[str, Any], bool, bool]] = [
    # text: case-, accent- and spacing-insensitive; missing only matches neq and exists:false
    (cond("name", "eq", "jose perez"), True, False),
    (cond("name", "eq", "JOSÉ PÉREZ"), True, False),
    (cond("name", "eq", "jose"), False, False),
    (cond("name", "neq", "jose perez"), False, True),
    (cond("name", "neq", "maria"), True, True),
    (cond("name", "contains", "PEREZ"), True, False),
    (cond("name", "contains", "gomez"), False, False),
    (cond("name", "starts_with", "josé"), True, False),
    (cond("name", "starts_with", "perez"), False, False),
    (cond("name", "in", ["ana", "José Pérez"]), True, False),
    (cond("name", "in", ["ana", "jose"]), False, False),
    (cond("name", "exists", True), True, False),
    (cond("name", "exists", False), False, True),
    (cond("language", "eq", "ES-ar"), True, False),
    (cond("owner_agent_id", "eq", "agent-7"), True, False),
    (cond("email", "eq", "jose.perez@example.com"), True, False),
    (cond("email", "contains", "@example.com"), True, False),
    (cond("email", "exists", False), False, True),
    (cond("phone", "eq", "+54 9 11 5555-0101"), True, False),
    (cond("phone", "starts_with", "+54"), True, False),
    (cond("phone", "starts_with", "+598"), False, False),
    (cond("phone", "neq", "5491155550101"), False, True),
    (cond("fields.barrio", "eq", "nunez"), True, False),
    (cond("fields.barrio", "contains", "ÑU"), True, False),
    (cond("fields.barrio", "exists", False), False, True),
    # tags (folded too)
    (cond("tags", "has", "vip"), True, False),
    (cond("tags", "has", "nuevo"), False, False),
    (cond("tags", "has_any", ["nuevo", "cliente frecuente"]), True, False),
    (cond("tags", "has_any", ["nuevo", "moroso"]), False, False),
    (cond("tags", "has_all", ["VIP", "Cliente Frecuente"]), True, False),
    (cond("tags", "has_all", ["VIP", "nuevo"]), False, False),
    (cond("tags", "has_none", ["moroso"]), True, True),
    (cond("tags", "has_none", ["moroso", "vip"]), False, True),
    # enums
    (cond("lifecycle", "eq", "customer"), True, False),
    (cond("lifecycle", "neq", "customer"), False, True),
    (cond("lifecycle", "in", ["new", "lead"]), False, True),
    (cond("channel", "eq", "whatsapp"), True, False),
    (cond("channel", "eq", "email"), True, False),
    (cond("channel", "eq", "telegram"), False, False),
    (cond("channel", "neq", "telegram"), True, True),
    (cond("channel", "neq", "whatsapp"), False, True),
    (cond("channel", "in", ["instagram", "messenger"]), False, False),
    (cond("channel", "in", ["instagram", "phone"]), True, False),
    (cond("consent.marketing", "eq", "opted_in"), True, False),
    (cond("consent.marketing", "eq", "none"), False, True),
    (cond("consent.marketing", "neq", "opted_in"), False, True),
    (cond("consent.utility", "eq", "opted_out"), True, False),
    (cond("consent.utility", "in", ["opted_out", "none"]), True, True),
    (cond("consent.utility", "in", ["opted_in"]), False, False),
    # datetimes (EMPTY was created 30 days before NOW, JOSE 100 days before)
    (cond("last_inbound_at", "after", "2026-03-01"), True, False),
    (cond("last_inbound_at", "after", "2026-03-03T00:00:00Z"), False, False),
    (cond("last_inbound_at", "before", "2026-03-03T00:00:00+00:00"), True, False),
    (cond("last_inbound_at", "before", "2026-03-01T00:00:00-03:00"), False, False),
    (cond("last_inbound_at", "within_days", 3), True, False),
    (cond("last_inbound_at", "within_days", 1), False, False),
    (cond("last_inbound_at", "exists", True), True, False),
    (cond("last_inbound_at", "exists", False), False, True),
    (cond("last_outbound_at", "within_days", 10), True, False),
    (cond("last_outbound_at", "within_days", 9), False, False),
    (cond("created_at", "within_days", 60), False, True),
    (cond("created_at", "before", "2026-01-01"), True, False),
    (cond("created_at", "exists", True), True, True),
    # numbers (custom); neq matches a missing value
    (cond("fields.puntos", "eq", 1500), True, False),
    (cond("fields.puntos", "eq", 1500.0), True, False),
    (cond("fields.puntos", "neq", 1500), False, True),
    (cond("fields.puntos", "neq", 10), True, True),
    (cond("fields.puntos", "gt", 1500), False, False),
    (cond("fields.puntos", "gt", 1499.5), True, False),
    (cond("fields.puntos", "gte", 1500), True, False),
    (cond("fields.puntos", "lt", 1500), False, False),
    (cond("fields.puntos", "lt", 2000), True, False),
    (cond("fields.puntos", "lte", 1500), True, False),
    (cond("fields.puntos", "between", [1500, 1500]), True, False),
    (cond("fields.puntos", "between", [0, 1000]), False, False),
    (cond("fields.puntos", "exists", True), True, False),
    (cond("fields.puntos", "exists", False), False, True),
    # booleans; a missing custom boolean is neither true nor false
    (cond("over_cap", "eq", True), True, False),
    (cond("over_cap", "eq", False), False, True),
    (cond("fields.socio", "eq", True), True, False),
    (cond("fields.socio", "eq", False), False, False),
    # dates (custom)
    (cond("fields.cumple", "eq", "1990-07-14"), True, False),
    (cond("fields.cumple", "eq", "1990-07-15"), False, False),
    (cond("fields.cumple", "before", "1990-07-15"), True, False),
    (cond("fields.cumple", "before", "1990-07-14"), False, False),
    (cond("fields.cumple", "after", "1990-07-13"), True, False),
    (cond("fields.cumple", "after", "1990-07-14"), False, False),
    (cond("fields.cumple", "between", ["1990-01-01", "1990-07-14"]), True, False),
    (cond("fields.cumple", "between", ["1991-01-01", "1999-12-31"]), False, False),
    # list custom fields, folded; options checked accent-insensitively
    (cond("fields.intereses", "has", "padel"), True, False),
    (cond("fields.intereses", "has", "tenis"), False, False),
    (cond("fields.intereses", "has_any", ["tenis", "Fútbol"]), True, False),
    (cond("fields.intereses", "has_any", ["tenis"]), False, False),
    (cond("fields.notas", "has", "llamar lunes"), True, False),
]


@pytest.mark.parametrize(("condition", "jose", "empty"), CASES,
                         ids=[f"{c['field']}-{c['op']}-{c['value']}" for c, _, _ in CASES])
def test_each_operator_matches_exactly_the_contacts_it_describes(condition: dict[str, Any], jose: bool,
                                                                  empty: bool) -> None:
    predicate = compile_filter(condition, DEFS)

    assert predicate(JOSE, NOW) is jose
    assert predicate(EMPTY, NOW) is empty


def test_the_cases_cover_every_operator_of_every_field_type() -> None:
    custom_types = {"fields.barrio": "text", "fields.puntos": "number", "fields.cumple": "date",
                    "fields.socio": "boolean", "fields.intereses": "list", "fields.notas": "list"}
    field_types = {**BUILTIN_FIELDS, **custom_types}
    covered = {(field_types[c["field"]], c["op"]) for c, _, _ in CASES}

    expected = {(field_type, op) for field_type, ops in OPS_BY_TYPE.items() for op in ops}
    assert expected - covered == set()


def test_within_days_counts_back_from_the_now_passed_in() -> None:
    # given a contact last heard from on 2026-03-02 12:00
    predicate = compile_filter(cond("last_inbound_at", "within_days", 7), DEFS)

    assert predicate(JOSE, NOW) is True
    assert predicate(JOSE, NOW + 5 * DAY) is True
    assert predicate(JOSE, NOW + 5 * DAY + timedelta(seconds=1)) is False  # exactly 7 days is still within
    assert predicate(JOSE, NOW - 3 * DAY) is False  # an activity after `now` is not "in the last 7 days"


def test_naive_datetimes_on_the_contact_and_now_are_read_as_utc() -> None:
    naive = contact(last_inbound_at=datetime(2026, 3, 2, 12, 0))
    predicate = compile_filter(cond("last_inbound_at", "within_days", 2), DEFS)

    assert predicate(naive, datetime(2026, 3, 4, 12, 0)) is True
    assert predicate(naive, NOW + timedelta(seconds=1)) is False


def test_a_datetime_with_an_offset_is_compared_as_the_same_instant() -> None:
    at = contact(last_inbound_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))  # 2026-02-28 23:00 in Buenos Aires

    assert matches(cond("last_inbound_at", "before", "2026-03-01T00:00:00-03:00"), at) is True
    assert matches(cond("last_inbound_at", "before", "2026-03-01T00:00:00Z"), at) is False


def test_text_folding_ignores_case_accents_and_extra_spaces() -> None:
    assert fold_text("  José   PÉREZ ") == "jose perez"
    assert fold_text("Muñoz") == "munoz"
    assert fold_text("Straße") == "strasse"


# --------------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------------


def test_all_needs_every_item_and_any_needs_one() -> None:
    vip, customer, lead = cond("tags", "has", "vip"), cond("lifecycle", "eq", "customer"), cond(
        "lifecycle", "eq", "lead")

    assert matches({"all": [vip, customer]}, JOSE) is True
    assert matches({"all": [vip, lead]}, JOSE) is False
    assert matches({"any": [lead, vip]}, JOSE) is True
    assert matches({"any": [lead, cond("tags", "has", "nuevo")]}, JOSE) is False


def test_not_inverts_its_item() -> None:
    assert matches({"not": cond("tags", "has", "vip")}, JOSE) is False
    assert matches({"not": cond("tags", "has", "vip")}, EMPTY) is True


def test_groups_nest_four_levels_deep() -> None:
    filter_ = {"all": [cond("over_cap", "eq", True), {"any": [
        cond("lifecycle", "eq", "lead"),
        {"not": {"all": [cond("tags", "has", "moroso"), cond("name", "exists", True)]}},
    ]}]}

    assert matches(filter_, JOSE) is True
    assert matches(filter_, JOSE.model_copy(update={"tags": ("moroso",)})) is False
    assert matches(filter_, EMPTY) is False


def test_a_bare_condition_is_a_whole_filter() -> None:
    assert matches(cond("lifecycle", "eq", "customer"), JOSE) is True


def test_an_empty_group_is_rejected_rather_than_matching_everyone_or_no_one() -> None:
    assert errors_of({"all": []}) == ("all: List should have at least 1 item after validation, not 0",)
    assert errors_of({"any": [{"any": []}]}) == ("any[0].any: List should have at least 1 item after validation, "
                                                 "not 0",)


# --------------------------------------------------------------------------------------------------
# Merged contacts and segment_matches
# --------------------------------------------------------------------------------------------------


def test_a_merged_contact_never_matches() -> None:
    merged = EMPTY.model_copy(update={"merged_into": "c1"})

    assert matches(cond("name", "exists", False), EMPTY) is True
    assert matches(cond("name", "exists", False), merged) is False
    assert matches({"not": cond("tags", "has", "vip")}, merged) is False


def test_segment_matches_yields_matching_contacts_in_order_and_skips_merged_ones() -> None:
    first, second = contact("a", tags=("vip",)), contact("b", tags=("vip",))
    merged = contact("m", tags=("vip",), merged_into="a")
    predicate = compile_filter(cond("tags", "has", "vip"), DEFS)

    found = segment_matches([EMPTY, second, merged, first], predicate, NOW)

    assert [c.contact_id for c in found] == ["b", "a"]


def test_segment_matches_skips_merged_contacts_even_with_a_hand_written_predicate() -> None:
    merged = contact("m", merged_into="a")

    assert list(segment_matches([merged, EMPTY], lambda c, now: True, NOW)) == [EMPTY]


def test_segment_matches_is_lazy() -> None:
    def endless() -> Any:
        n = 0
        while True:
            n += 1
            yield contact(f"c{n}", tags=("vip",) if n % 3 == 0 else ())

    found = segment_matches(endless(), compile_filter(cond("tags", "has", "vip"), DEFS), NOW)

    assert [next(found).contact_id for _ in range(2)] == ["c3", "c6"]


# --------------------------------------------------------------------------------------------------
# Errors: path, reason
# --------------------------------------------------------------------------------------------------


def test_an_unknown_custom_field_is_named_with_its_path() -> None:
    filter_ = {"all": [cond("name", "exists", True), cond("tags", "has", "vip"), cond("fields.ciudad", "eq", "x")]}

    assert errors_of(filter_) == ("all[2].field: unknown field 'fields.ciudad'",)


@pytest.mark.parametrize("field", ["__class__", "contact_id", "tenant_id", "merged_into", "consent", "fields",
                                   "fields.__class__", "fields.Barrio", "name; DROP TABLE contacts", "Name"])
def test_a_field_outside_the_whitelist_is_rejected(field: str) -> None:
    assert errors_of({"any": [cond(field, "eq", "x")]}) == (f"any[0].field: unknown field {field!r}",)


def test_an_operator_that_does_not_fit_the_field_type_is_rejected() -> None:
    assert errors_of({"not": cond("name", "gt", 3)}) == (
        "not.op: operator 'gt' does not apply to text field 'name' (use contains, eq, exists, in, neq, starts_with)",)
    assert errors_of(cond("fields.socio", "neq", True)) == (
        "op: operator 'neq' does not apply to boolean field 'fields.socio' (use eq)",)
    assert errors_of(cond("fields.cumple", "within_days", 3))[0].startswith(
        "op: operator 'within_days' does not apply to date field 'fields.cumple'")


def test_an_unknown_operator_is_rejected() -> None:
    assert errors_of(cond("name", "__eq__", "x")) == ("op: unknown operator '__eq__'",)
    assert errors_of(cond("name", "like", "%x%")) == ("op: unknown operator 'like'",)


@pytest.mark.parametrize(("condition", "message"), [
    (cond("name", "eq", 3), "'eq' expects a string"),
    (cond("name", "eq", ["jose"]), "'eq' expects a string"),
    (cond("name", "eq", None), "'eq' expects a string"),
    (cond("name", "eq", "   "), "text must not be empty"),
    (cond("name", "in", []), "'in' expects a non-empty list of strings"),
    (cond("name", "in", ["a", 1]), "'in' expects a non-empty list of strings"),
    (cond("name", "exists", "yes"), "'exists' expects true or false"),
    (cond("phone", "eq", "n/a"), "a phone number needs digits"),
    (cond("tags", "has", "x' OR 1=1 --"), "not a valid tag: \"x' OR 1=1 --\""),
    (cond("tags", "has_all", "vip"), "'has_all' expects a non-empty list of strings"),
    (cond("lifecycle", "eq", "Customer"), "unknown lifecycle value 'Customer' (use churned, customer, lead, new, "
                                          "qualified)"),
    (cond("channel", "in", ["whatsapp", "sms"]), "unknown channel value 'sms' (use email, instagram, messenger, "
                                                 "phone, telegram, webchat, whatsapp, whatsapp_bsuid)"),
    (cond("consent.marketing", "eq", None), "'eq' expects a string"),
    (cond("last_inbound_at", "within_days", 0), "'within_days' expects a whole number of days from 1 to 3650"),
    (cond("last_inbound_at", "within_days", 3651), "'within_days' expects a whole number of days from 1 to 3650"),
    (cond("last_inbound_at", "within_days", 1.5), "'within_days' expects a whole number of days from 1 to 3650"),
    (cond("last_inbound_at", "within_days", True), "'within_days' expects a whole number of days from 1 to 3650"),
    (cond("last_inbound_at", "before", "2026-03-01T09:00:00"),
     "datetime '2026-03-01T09:00:00' needs a timezone offset (e.g. 2026-03-01T09:00:00-03:00)"),
    (cond("created_at", "after", "yesterday"),
     "expected an ISO 8601 datetime with offset, or a date YYYY-MM-DD, got 'yesterday'"),
    (cond("created_at", "after", 1767225600), "expected an ISO 8601 datetime with offset, or a date YYYY-MM-DD, "
                                              "got '1767225600'"),
    (cond("fields.puntos", "gt", "10"), "'gt' expects a number"),
    (cond("fields.puntos", "eq", True), "'eq' expects a number"),
    (cond("fields.puntos", "between", [10]), "'between' expects [low, high] as two numbers"),
    (cond("fields.puntos", "between", [10, "20"]), "'between' expects [low, high] as two numbers"),
    (cond("fields.puntos", "between", [20, 10]), "'between' expects [low, high] with low <= high, got [20, 10]"),
    (cond("over_cap", "eq", "true"), "'eq' expects true or false"),
    (cond("fields.cumple", "eq", "14/07/1990"), "expected a date as YYYY-MM-DD, got '14/07/1990'"),
    (cond("fields.cumple", "eq", "1990-02-30"), "expected a date as YYYY-MM-DD, got '1990-02-30'"),
    (cond("fields.cumple", "between", ["1990-12-31", "1990-01-01"]),
     "'between' expects [low, high] with low <= high, got ['1990-12-31', '1990-01-01']"),
    (cond("fields.cumple", "between", "1990-01-01"), "'between' expects [first, last] as two dates YYYY-MM-DD"),
    (cond("fields.intereses", "has", "golf"), "not an option of 'fields.intereses': 'golf'"),
    (cond("fields.intereses", "has_any", "tenis"), "'has_any' expects a non-empty list of strings"),
], ids=lambda v: str(v) if isinstance(v, str) else f"{v['field']}-{v['op']}-{v['value']}")
def test_a_value_of_the_wrong_type_is_rejected_with_the_reason(condition: dict[str, Any], message: str) -> None:
    assert errors_of({"all": [cond("name", "exists", True), condition]}) == (f"all[1].value: {message}",)


def test_every_problem_is_reported_at_once() -> None:
    filter_ = {"all": [cond("fields.ciudad", "eq", "x"), cond("name", "gt", 1), {"not": cond("over_cap", "eq", 1)}]}

    with pytest.raises(SegmentInvalid) as caught:
        compile_filter(filter_, DEFS)

    assert caught.value.errors == (
        "all[0].field: unknown field 'fields.ciudad'",
        "all[1].op: operator 'gt' does not apply to text field 'name' (use contains, eq, exists, in, neq, "
        "starts_with)",
        "all[2].not.value: 'eq' expects true or false",
    )
    assert str(caught.value) == "; ".join(caught.value.errors)
    assert caught.value.problems[0] == FilterProblem("all[0].field", "unknown field 'fields.ciudad'")
    assert caught.value.problems[2] == FilterProblem("all[2].not.value", "'eq' expects true or false")


def test_segment_invalid_is_a_value_error_and_a_domain_error() -> None:
    with pytest.raises(SegmentInvalid) as caught:
        compile_filter(cond("fields.ciudad", "eq", "x"), DEFS)

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, DomainError)


def test_a_custom_field_unknown_to_this_tenant_is_rejected_even_if_another_tenant_has_it() -> None:
    assert compile_filter(cond("fields.barrio", "eq", "x"), DEFS)(contact(fields={"barrio": "x"}), NOW) is True
    with pytest.raises(SegmentInvalid, match=r"^field: unknown field 'fields.barrio'$"):
        compile_filter(cond("fields.barrio", "eq", "x"), {})


def test_a_condition_is_checked_against_the_custom_field_type() -> None:
    as_text = {"puntos": CustomFieldDef(key="puntos", label="Puntos", type="text")}

    assert compile_filter(cond("fields.puntos", "eq", "1500"), as_text)(JOSE, NOW) is False  # stored as a number
    with pytest.raises(SegmentInvalid, match=r"^value: 'gt' expects a number$"):
        compile_filter(cond("fields.puntos", "gt", "10"), DEFS)


# --------------------------------------------------------------------------------------------------
# Injection-looking input is data, or is refused by the schema
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x' OR 1=1 --", "__class__", "${jndi:ldap://x}", "'; DROP TABLE contacts; --",
                                   "{{7*7}}", "contact.merged_into", "#pk", ":v0", "1) or (1=1"])
def test_an_injection_looking_value_is_compared_as_plain_text(value: str) -> None:
    literal = contact("lit", name=value, fields={"barrio": value})

    for field in ("name", "fields.barrio"):
        assert matches(cond(field, "eq", value), literal) is True
        assert matches(cond(field, "eq", value), JOSE) is False
        assert matches(cond(field, "contains", value), EMPTY) is False


@pytest.mark.parametrize("value", [{"$ne": None}, {"$gt": ""}, {"__class__": "x"}, [{"$ne": None}], [["nested"]]])
def test_an_object_value_is_rejected_by_the_schema(value: Any) -> None:
    assert errors_of({"all": [cond("name", "eq", value)]}) == (
        "all[0].value: must be a string (up to 500 characters), a finite number, a boolean, null, or a list of "
        "those; never an object",)


def test_extra_keys_are_refused_in_conditions_and_groups() -> None:
    assert errors_of({"all": [{**cond("name", "eq", "x"), "$where": "1"}]}) == (
        "all[0].$where: Extra inputs are not permitted",)
    assert errors_of({"all": [cond("name", "eq", "x")], "any": [cond("name", "eq", "y")]}) == (
        "any: Extra inputs are not permitted",)


def test_something_that_is_neither_a_condition_nor_a_group_is_refused() -> None:
    message = 'expected a condition {"field", "op", "value"} or a group {"all"|"any"|"not"}'

    assert errors_of("name = 'x'") == (message,)
    assert errors_of({"all": [cond("name", "eq", "x"), {"or": []}]}) == (f"all[1]: {message}",)


def test_a_missing_value_is_refused() -> None:
    assert errors_of({"field": "name", "op": "exists"}) == ("value: Field required",)


# --------------------------------------------------------------------------------------------------
# Size bounds
# --------------------------------------------------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = cond("name", "exists", True)
    for level in range(levels):
        node = {"all": [node]} if level % 2 == 0 else {"not": {"not": node}} if level % 3 == 0 else {"any": [node]}
    return node


def test_four_levels_of_groups_are_accepted_and_five_are_not() -> None:
    assert matches({"all": [{"any": [{"not": {"all": [cond("name", "exists", True)]}}]}]}, JOSE) is False
    assert errors_of({"all": [{"any": [{"not": {"all": [{"any": [cond("name", "exists", True)]}]}}]}]}) == (
        "all[0].any[0].not.all[0].any: groups nest at most 4 levels deep",)
    with pytest.raises(SegmentInvalid) as caught:
        compile_filter(nested(6), DEFS)
    assert caught.value.problems[0].message == "groups nest at most 4 levels deep"
    assert caught.value.problems[0].path.count(".") == 4


def test_a_very_deep_filter_is_refused_quickly_without_recursion() -> None:
    node: Any = cond("name", "exists", True)
    for _ in range(100_000):
        node = {"not": node}

    started = time.perf_counter()
    errors = errors_of(node)

    assert errors == ("not.not.not.not.not: groups nest at most 4 levels deep",)
    assert time.perf_counter() - started < 0.5


def test_fifty_conditions_are_accepted_and_fifty_one_are_not() -> None:
    fifty = [cond("tags", "has", f"t{i}") for i in range(MAX_CONDITIONS)]

    assert matches({"any": fifty}, contact(tags=("t49",))) is True
    assert errors_of({"any": [*fifty[:25], {"all": [*fifty[25:], cond("name", "exists", True)]}]}) == (
        "a filter holds at most 50 conditions",)


def test_a_huge_group_is_refused_before_its_items_are_read() -> None:
    assert errors_of({"all": [{"any": [1] * 1_000_000}]}) == ("all[0].any: a group holds at most 50 items",)


def test_too_many_groups_are_refused() -> None:
    wide = {"all": [{"not": {"not": cond("name", "exists", True)}} for _ in range(MAX_CONDITIONS)]}

    assert errors_of(wide) == ("a filter holds at most 100 groups",)


def test_long_values_and_long_lists_are_refused() -> None:
    assert errors_of(cond("name", "contains", "x" * 501))[0].startswith("value: must be a string (up to 500")
    assert compile_filter(cond("name", "contains", "x" * 500), DEFS)(contact(name="x" * 600), NOW) is True
    assert errors_of(cond("name", "in", [f"n{i}" for i in range(101)])) == (
        "value: a list value holds at most 100 items",)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(number: float) -> None:
    assert errors_of(cond("fields.puntos", "gt", number))[0].startswith("value: must be a string")


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def test_a_parsed_filter_round_trips_through_json_with_not_as_its_key() -> None:
    raw = {"all": [cond("tags", "has", "vip"), {"not": {"any": [cond("fields.puntos", "between", [1, 2.5])]}}]}
    segment = Segment(segment_id="s1", tenant_id="t1", name="VIP activos", filter=raw, created_at=NOW,
                      updated_at=NOW)

    dumped = segment.model_dump(mode="json")

    assert dumped["filter"] == raw
    assert Segment.model_validate_json(segment.model_dump_json()) == segment
    assert isinstance(segment.filter, AllGroup)
    assert isinstance(segment.filter.all[1], NotGroup)


def test_compile_filter_accepts_a_parsed_filter() -> None:
    parsed = parse_filter({"not": cond("tags", "has", "vip")})

    assert compile_filter(parsed, DEFS)(EMPTY, NOW) is True
    assert compile_filter(NotGroup(not_=Condition(field="tags", op="has", value="vip")), DEFS)(JOSE, NOW) is False


def test_segment_input_accepts_name_description_and_filter_only() -> None:
    ok = SegmentInput.model_validate({"name": "  Clientes VIP ", "filter": cond("tags", "has", "vip")})
    assert ok.name == "Clientes VIP"
    assert ok.description is None

    with pytest.raises(ValidationError, match="tenant_id"):
        SegmentInput.model_validate({"name": "x", "filter": cond("tags", "has", "vip"), "tenant_id": "other"})
    with pytest.raises(ValidationError, match="name"):
        SegmentInput.model_validate({"name": "   ", "filter": cond("tags", "has", "vip")})
    with pytest.raises(ValidationError, match="name"):
        SegmentInput.model_validate({"name": "x" * 101, "filter": cond("tags", "has", "vip")})


def test_a_segment_input_with_a_deep_filter_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="groups nest at most 4 levels deep"):
        SegmentInput.model_validate({"name": "x", "filter": nested(6)})
