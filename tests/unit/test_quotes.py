"""The quote calculator: explained setup and monthly lines from a price book, graduated sessions, discounts,
Meta's WhatsApp fees as a pass-through estimate, and strict validation of requests and price books."""

from __future__ import annotations

import copy
import json
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.models.quotes import CHANNEL_KINDS, Quote, QuoteLine, QuoteRequest
from shared.services.quotes import DEFAULT_PRICE_BOOK, META_FEES_NOTE, PriceBook, PriceBookError, QuoteError, quote
from shared.services.rate_card import RateCard

D = Decimal


@pytest.fixture
def book() -> PriceBook:
    return PriceBook.load()


def default_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(DEFAULT_PRICE_BOOK.read_text(encoding="utf-8"))
    return raw


def request(**fields: Any) -> QuoteRequest:
    body: dict[str, Any] = {"channels": ["whatsapp"], "bot_generation": "menu", "expected_monthly_sessions": 0}
    body.update(fields)
    return QuoteRequest.model_validate(body)


def worked_request(**fields: Any) -> QuoteRequest:
    return request(**{
        "channels": ["whatsapp", "webchat"], "bot_generation": "ai", "ai_tier": "PRO",
        "use_cases": [{"name": "Seguimiento de pedidos", "complexity": "complex", "integrations": 3},
                      {"name": "Agendamiento de citas", "complexity": "standard", "integrations": 1}],
        "expected_monthly_sessions": 12_000, "agents": 5, **fields})


def rows(lines: list[QuoteLine]) -> list[tuple[str, int, Decimal, Decimal]]:
    return [(line.code, line.quantity, line.unit_price, line.amount) for line in lines]


def line(result: Quote, code: str) -> QuoteLine:
    matches = [x for x in result.lines() if x.code == code]
    assert len(matches) == 1, code
    return matches[0]


def session_rows(result: Quote) -> list[tuple[str, int, Decimal]]:
    return [(x.code, x.quantity, x.amount) for x in result.monthly_lines if x.code.startswith("sessions.")]


def validation_messages(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        QuoteRequest.model_validate(body)
    return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors())


# -- the packaged price book ---------------------------------------------------------------------------------
def test_the_packaged_book_is_versioned_illustrative_and_cached(book: PriceBook) -> None:
    raw = default_raw()

    assert book.version == raw["version"] and book.currency == "USD"
    assert book.effective_from == date.fromisoformat(raw["effective_from"])
    notes = " ".join(raw["notes"]).lower()
    assert "illustrative" in notes and "override" in notes
    assert set(book.document.channels) == set(CHANNEL_KINDS)
    assert PriceBook.load() is book and PriceBook.load(DEFAULT_PRICE_BOOK) is book


def test_packaged_session_rates_decrease_with_volume(book: PriceBook) -> None:
    generations = book.document.bot_generations
    for plan in (generations.menu, generations.keywords, generations.nlu, generations.ai.model_tiers.LITE,
                 generations.ai.model_tiers.PRO):
        prices = [tier.unit_price for tier in plan.session_tiers]
        assert prices == sorted(prices, reverse=True), plan.label


# -- the worked example --------------------------------------------------------------------------------------
def test_worked_example_every_line_and_total(book: PriceBook) -> None:
    # given WhatsApp + web chat, an AI PRO bot, two use cases (3 and 1 integrations), 12,000 sessions, 5 agents
    result = quote(worked_request(), book)

    # then setup: 150 + 40 + 2,500 + 2,000 + 3 × 400 + 800 + 1 × 400 = 7,090.00
    assert rows(result.setup_lines) == [
        ("channel.whatsapp.setup", 1, D("150.00"), D("150.00")),
        ("channel.webchat.setup", 1, D("40.00"), D("40.00")),
        ("bot.ai.pro.setup", 1, D("2500.00"), D("2500.00")),
        ("use_case.1.setup", 1, D("2000.00"), D("2000.00")),
        ("use_case.1.integrations.setup", 3, D("400.00"), D("1200.00")),
        ("use_case.2.setup", 1, D("800.00"), D("800.00")),
        ("use_case.2.integrations.setup", 1, D("400.00"), D("400.00")),
    ]
    # and monthly: 500 sessions included; 501-1,000 at 0.12, 1,001-10,000 at 0.09, 10,001-12,000 at 0.07
    assert rows(result.monthly_lines) == [
        ("channel.whatsapp.monthly", 1, D("40.00"), D("40.00")),
        ("channel.webchat.monthly", 1, D("10.00"), D("10.00")),
        ("bot.ai.pro.monthly", 1, D("349.00"), D("349.00")),
        ("sessions.included", 500, D("0"), D("0.00")),
        ("sessions.tier_1", 500, D("0.12"), D("60.00")),
        ("sessions.tier_2", 9_000, D("0.09"), D("810.00")),
        ("sessions.tier_3", 2_000, D("0.07"), D("140.00")),
        ("use_case.1.integrations.monthly", 3, D("50.00"), D("150.00")),
        ("use_case.2.integrations.monthly", 1, D("50.00"), D("50.00")),
        ("agents.monthly", 5, D("25.00"), D("125.00")),
    ]
    assert result.subtotals.setup == result.totals.setup == D("7090.00")
    assert result.subtotals.monthly == result.totals.monthly == D("1734.00")
    assert result.discount_lines == [] and result.passthrough_lines == []
    assert result.currency == "USD" and result.price_book_version == book.version
    assert META_FEES_NOTE in result.notes


def test_worked_example_lines_are_described_and_explained(book: PriceBook) -> None:
    result = quote(worked_request(), book)

    assert line(result, "channel.whatsapp.setup").description == "WhatsApp channel setup"
    assert line(result, "channel.webchat.monthly").description == "Web chat channel"
    assert line(result, "bot.ai.pro.monthly").explanation == "1 × 349.00 USD per month; includes 500 sessions a month"
    assert line(result, "sessions.included").explanation == (
        "500 of 12,000 expected sessions covered by the 500 included in the Generative AI bot (PRO) plan, "
        "at no charge")
    assert line(result, "sessions.tier_1").explanation == "500 sessions × 0.12 USD (sessions 501–1,000 of tier 1–1,000)"
    assert line(result, "sessions.tier_2").explanation == "9,000 sessions × 0.09 USD (tier 1,001–10,000)"
    assert line(result, "sessions.tier_3").explanation == (
        "2,000 sessions × 0.07 USD (sessions 10,001–12,000 of tier 10,001 and above)")
    assert line(result, "use_case.1.setup").description == "Use case setup: Seguimiento de pedidos"
    assert line(result, "use_case.1.integrations.setup").explanation == (
        "3 integrations × 400.00 USD one-time, per integration")
    assert line(result, "use_case.2.integrations.monthly").explanation == (
        "1 integration × 50.00 USD per month, per integration")
    assert line(result, "agents.monthly").explanation == "5 seats × 25.00 USD per month"
    assert all(x.description and x.explanation for x in result.lines())


def test_money_is_serialized_as_strings_with_2_or_4_decimals(book: PriceBook) -> None:
    result = quote(worked_request(whatsapp_templates={"market": "52", "messages": {"UTILITY": 3}}), book,
                   on=date(2026, 2, 1))
    body = result.model_dump(mode="json")

    assert body["subtotals"] == {"setup": "7090.00", "monthly": "1734.00"}
    assert body["totals"] == {"setup": "7090.00", "monthly": "1734.00"}
    assert body["setup_lines"][2] == {
        "code": "bot.ai.pro.setup", "description": "Generative AI bot (PRO) setup", "quantity": 1,
        "unit_price": "2500.00", "amount": "2500.00", "explanation": "1 × 2,500.00 USD one-time setup fee"}
    assert body["monthly_lines"][3]["unit_price"] == "0.00"
    assert body["passthrough_lines"][0]["unit_price"] == "0.0085"  # below a cent: 4 decimals
    assert body["passthrough_lines"][0]["amount"] == "0.03"  # 3 × 0.0085 = 0.0255, half up
    assert Quote.model_validate_json(result.model_dump_json()) == result


# -- sessions ------------------------------------------------------------------------------------------------
def test_zero_sessions_cost_only_the_platform_fee(book: PriceBook) -> None:
    result = quote(request(bot_generation="nlu", expected_monthly_sessions=0), book)

    assert session_rows(result) == [("sessions.included", 0, D("0.00"))]
    assert line(result, "sessions.included").explanation.startswith("0 of 0 expected sessions covered by the 1,500")
    assert result.totals.monthly == D("40.00") + D("149.00")


@pytest.mark.parametrize(("sessions", "expected"), [
    (1_000, [("sessions.included", 1_000, D("0.00"))]),
    (1_001, [("sessions.included", 1_000, D("0.00")), ("sessions.tier_2", 1, D("0.03"))]),
    (10_000, [("sessions.included", 1_000, D("0.00")), ("sessions.tier_2", 9_000, D("270.00"))]),
    (10_001, [("sessions.included", 1_000, D("0.00")), ("sessions.tier_2", 9_000, D("270.00")),
              ("sessions.tier_3", 1, D("0.02"))]),
])
def test_tier_boundaries_with_1000_included_sessions(book: PriceBook, sessions: int,
                                                     expected: list[tuple[str, int, Decimal]]) -> None:
    # AI LITE: 1,000 included, then 0.03 for sessions 1,001-10,000 and 0.02 from 10,001
    result = quote(request(bot_generation="ai", ai_tier="LITE", expected_monthly_sessions=sessions), book)

    assert session_rows(result) == expected


@pytest.mark.parametrize(("sessions", "expected"), [
    (999, [("sessions.tier_1", 999, D("9.99"))]),
    (1_000, [("sessions.tier_1", 1_000, D("10.00"))]),
    (1_001, [("sessions.tier_1", 1_000, D("10.00")), ("sessions.tier_2", 1, D("0.01"))]),
    (10_000, [("sessions.tier_1", 1_000, D("10.00")), ("sessions.tier_2", 9_000, D("54.00"))]),
    (10_001, [("sessions.tier_1", 1_000, D("10.00")), ("sessions.tier_2", 9_000, D("54.00")),
              ("sessions.tier_3", 1, D("0.00"))]),  # 0.004 rounds down to 0.00
    (10_002, [("sessions.tier_1", 1_000, D("10.00")), ("sessions.tier_2", 9_000, D("54.00")),
              ("sessions.tier_3", 2, D("0.01"))]),  # 0.008 rounds up to 0.01
])
def test_tier_boundaries_without_included_sessions(book: PriceBook, sessions: int,
                                                   expected: list[tuple[str, int, Decimal]]) -> None:
    # a menu plan with nothing included: 0.01 for 1-1,000, 0.006 for 1,001-10,000, 0.004 from 10,001
    no_allowance = book.with_overrides({"bot_generations": {"menu": {"included_sessions": 0}}})

    result = quote(request(expected_monthly_sessions=sessions), no_allowance)

    assert session_rows(result) == expected
    assert line(result, "sessions.tier_1").explanation == (
        f"{sessions if sessions < 1_000 else 1_000:,} sessions × 0.01 USD "
        + ("(sessions 1–999 of tier 1–1,000)" if sessions < 1_000 else "(tier 1–1,000)"))


def test_included_sessions_that_reach_past_a_tier_skip_it(book: PriceBook) -> None:
    # menu: 2,000 included, so tier 1 (1-1,000) is fully covered and tier 2 starts at session 2,001
    result = quote(request(expected_monthly_sessions=2_500), book)

    assert session_rows(result) == [("sessions.included", 2_000, D("0.00")), ("sessions.tier_2", 500, D("3.00"))]
    assert line(result, "sessions.tier_2").explanation == (
        "500 sessions × 0.0060 USD (sessions 2,001–2,500 of tier 1,001–10,000)")


def test_ai_lite_and_pro_are_priced_apart(book: PriceBook) -> None:
    lite = quote(request(bot_generation="ai", ai_tier="LITE", expected_monthly_sessions=5_000), book)
    pro = quote(request(bot_generation="ai", ai_tier="PRO", expected_monthly_sessions=5_000), book)

    assert line(lite, "bot.ai.lite.setup").amount == D("1500.00")
    assert line(pro, "bot.ai.pro.setup").amount == D("2500.00")
    assert line(lite, "bot.ai.lite.monthly").description == "Generative AI bot (LITE) platform"
    # LITE: 1,000 included + 4,000 × 0.03 = 120.00; PRO: 500 included + 500 × 0.12 + 4,000 × 0.09 = 420.00
    assert session_rows(lite) == [("sessions.included", 1_000, D("0.00")), ("sessions.tier_2", 4_000, D("120.00"))]
    assert session_rows(pro) == [("sessions.included", 500, D("0.00")), ("sessions.tier_1", 500, D("60.00")),
                                 ("sessions.tier_2", 4_000, D("360.00"))]
    assert lite.totals.monthly == D("40.00") + D("199.00") + D("120.00")
    assert pro.totals.monthly == D("40.00") + D("349.00") + D("420.00")


def test_each_line_rounds_half_up_to_cents(book: PriceBook) -> None:
    # 2 sessions × 0.0125 = 0.025: half up gives 0.03 (banker's rounding would give 0.02)
    custom = book.with_overrides({"bot_generations": {"menu": {"included_sessions": 0, "session_tiers": [
        {"from": 1, "to": None, "unit_price": "0.0125"}]}}})

    result = quote(request(expected_monthly_sessions=2), custom)

    assert session_rows(result) == [("sessions.tier_1", 2, D("0.03"))]
    assert line(result, "sessions.tier_1").explanation == "2 sessions × 0.0125 USD (sessions 1–2 of tier 1 and above)"


# -- discounts -----------------------------------------------------------------------------------------------
def test_a_discount_is_a_negative_line_on_each_subtotal(book: PriceBook) -> None:
    result = quote(worked_request(discount={"percent": "10", "reason": "Cliente fundador"}), book)

    assert rows(result.discount_lines) == [("discount.setup", 1, D("-709.00"), D("-709.00")),
                                           ("discount.monthly", 1, D("-173.40"), D("-173.40"))]
    assert result.subtotals.setup == D("7090.00") and result.totals.setup == D("6381.00")
    assert result.subtotals.monthly == D("1734.00") and result.totals.monthly == D("1560.60")
    assert line(result, "discount.setup").description == "Setup discount (10%)"
    assert line(result, "discount.monthly").explanation == (
        "10% of the 1,734.00 USD monthly subtotal = 173.40 USD, rounded half up to cents; reason: Cliente fundador")


def test_a_discount_can_apply_to_one_section_and_rounds_half_up(book: PriceBook) -> None:
    # 0.75% of 1,734.00 = 13.005: half up gives 13.01
    result = quote(worked_request(discount={"percent": "0.75", "reason": "Promoción", "applies_to": "monthly"}), book)

    assert rows(result.discount_lines) == [("discount.monthly", 1, D("-13.01"), D("-13.01"))]
    assert result.totals.setup == D("7090.00") and result.totals.monthly == D("1720.99")
    assert line(result, "discount.monthly").description == "Monthly discount (0.75%)"


def test_a_full_discount_brings_totals_to_zero(book: PriceBook) -> None:
    result = quote(worked_request(discount={"percent": 100, "reason": "Piloto gratuito"}), book)

    assert result.totals.setup == result.totals.monthly == D("0.00")


# -- lines always add up -------------------------------------------------------------------------------------
def random_request(rng: random.Random) -> QuoteRequest:
    generation = rng.choice(["menu", "keywords", "nlu", "ai"])
    channels = rng.sample(CHANNEL_KINDS, rng.randint(1, len(CHANNEL_KINDS)))
    body: dict[str, Any] = {
        "channels": channels,
        "bot_generation": generation,
        "ai_tier": rng.choice(["LITE", "PRO"]) if generation == "ai" else None,
        "use_cases": [{"name": f"Caso {n}", "complexity": rng.choice(["simple", "standard", "complex"]),
                       "integrations": rng.randint(0, 6)} for n in range(rng.randint(0, 4))],
        "expected_monthly_sessions": rng.choice([0, 1, 499, 500, 999, 1_000, 1_001, 2_000, 9_999, 10_000, 10_001,
                                                 rng.randint(0, 250_000)]),
        "agents": rng.randint(0, 40),
    }
    if rng.random() < 0.5:
        body["discount"] = {"percent": str(Decimal(rng.randint(1, 10_000)) / 100), "reason": "Negociación",
                            "applies_to": rng.choice(["setup", "monthly", "both"])}
    if "whatsapp" in channels and rng.random() < 0.5:
        body["whatsapp_templates"] = {
            "market": rng.choice(["+52", "57", "1809", "argentina", "other", "+86"]),
            "messages": {c: rng.randint(0, 50_000) for c in rng.sample(["MARKETING", "UTILITY", "AUTHENTICATION"],
                                                                       rng.randint(1, 3))}}
    return QuoteRequest.model_validate(body)


def test_lines_always_add_up_to_the_totals(book: PriceBook) -> None:
    rng = random.Random(20260101)
    for _ in range(400):
        req = random_request(rng)

        result = quote(req, book, on=date(2026, 3, 1))

        setup, monthly = sum(x.amount for x in result.setup_lines), sum(x.amount for x in result.monthly_lines)
        assert (result.subtotals.setup, result.subtotals.monthly) == (setup, monthly)
        discounts = {x.code: x.amount for x in result.discount_lines}
        assert result.totals.setup == setup + discounts.get("discount.setup", 0)
        assert result.totals.monthly == monthly + discounts.get("discount.monthly", 0)
        assert result.passthrough_total == sum((x.amount for x in result.passthrough_lines), D(0))
        for x in result.lines():
            assert x.amount == (x.unit_price * x.quantity).quantize(D("0.01"), rounding=ROUND_HALF_UP), x.code
            assert x.amount.as_tuple().exponent == -2, x.code
        assert result.totals.setup >= 0 and result.totals.monthly >= 0
        # every expected session is either included or in exactly one tier line
        assert sum(q for _, q, _ in session_rows(result)) == req.expected_monthly_sessions
        codes = [x.code for x in result.lines()]
        assert len(codes) == len(set(codes))
        assert quote(req, book, on=date(2026, 3, 1)) == result  # deterministic


# -- request validation --------------------------------------------------------------------------------------
BASE = {"channels": ["whatsapp"], "bot_generation": "menu", "expected_monthly_sessions": 100}


def test_an_unknown_channel_is_refused_naming_the_choices() -> None:
    messages = validation_messages({**BASE, "channels": ["whatsapp", "fax"]})

    assert "channels.1: Input should be 'whatsapp', 'telegram', 'messenger', 'instagram', 'sms'" in messages


def test_duplicate_or_no_channels_are_refused() -> None:
    assert "duplicate channel 'whatsapp': list each channel once" in validation_messages(
        {**BASE, "channels": ["whatsapp", "sms", "whatsapp"]})
    assert "channels: List should have at least 1 item" in validation_messages({**BASE, "channels": []})


def test_ai_needs_a_model_tier_and_only_ai_takes_one() -> None:
    assert "ai_tier (LITE or PRO) is required when bot_generation is 'ai'" in validation_messages(
        {**BASE, "bot_generation": "ai"})
    assert "ai_tier only applies to bot_generation 'ai', not 'menu'" in validation_messages(
        {**BASE, "ai_tier": "PRO"})
    assert "ai_tier: Input should be 'LITE' or 'PRO'" in validation_messages(
        {**BASE, "bot_generation": "ai", "ai_tier": "ULTRA"})


@pytest.mark.parametrize(("fields", "where"), [
    ({"expected_monthly_sessions": -1}, "expected_monthly_sessions"),
    ({"agents": -3}, "agents"),
    ({"use_cases": [{"name": "Pagos", "complexity": "simple", "integrations": -1}]}, "use_cases.0.integrations"),
    ({"channels": ["whatsapp"], "whatsapp_templates": {"market": "52", "messages": {"MARKETING": -5}}},
     "whatsapp_templates.messages.MARKETING"),
])
def test_negative_numbers_are_refused(fields: dict[str, Any], where: str) -> None:
    assert f"{where}: Input should be greater than or equal to 0" in validation_messages({**BASE, **fields})


def test_numbers_must_be_integers_not_strings_or_floats() -> None:
    assert "expected_monthly_sessions: Input should be a valid integer" in validation_messages(
        {**BASE, "expected_monthly_sessions": "12000"})
    assert "agents: Input should be a valid integer" in validation_messages({**BASE, "agents": 2.5})


def test_unknown_fields_are_refused_at_every_level() -> None:
    assert "sesiones: Extra inputs are not permitted" in validation_messages({**BASE, "sesiones": 10})
    assert "use_cases.0.apis: Extra inputs are not permitted" in validation_messages(
        {**BASE, "use_cases": [{"name": "Pagos", "complexity": "simple", "apis": 2}]})


def test_other_request_rules_have_clear_messages() -> None:
    assert "duplicate use case name 'pagos': name each use case once" in validation_messages(
        {**BASE, "use_cases": [{"name": "Pagos", "complexity": "simple"}, {"name": "pagos", "complexity": "simple"}]})
    assert "use_cases.0.complexity: Input should be 'simple', 'standard' or 'complex'" in validation_messages(
        {**BASE, "use_cases": [{"name": "Pagos", "complexity": "huge"}]})
    assert "whatsapp_templates needs 'whatsapp' among the channels" in validation_messages(
        {**BASE, "channels": ["sms"], "whatsapp_templates": {"market": "52", "messages": {"UTILITY": 1}}})
    assert "discount.percent: Input should be less than or equal to 100" in validation_messages(
        {**BASE, "discount": {"percent": 120, "reason": "x"}})
    assert "discount.reason: Field required" in validation_messages({**BASE, "discount": {"percent": 5}})
    assert "whatsapp_templates.messages.SERVICE" in validation_messages(
        {**BASE, "whatsapp_templates": {"market": "52", "messages": {"SERVICE": 1}}})


def test_a_request_with_defaults_is_minimal() -> None:
    req = QuoteRequest.model_validate(BASE)

    assert req.use_cases == [] and req.agents == 0 and req.discount is None and req.whatsapp_templates is None


# -- price book validation -----------------------------------------------------------------------------------
def broken(change: Any) -> str:
    raw = default_raw()
    change(raw)
    with pytest.raises(PriceBookError) as caught:
        PriceBook.from_dict(raw)
    return str(caught.value)


def tiers(raw: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = raw["bot_generations"]["nlu"]["session_tiers"]
    return result


def test_unknown_or_missing_channel_types_are_refused() -> None:
    assert "channels: unknown channel type 'fax'; expected whatsapp, telegram" in broken(
        lambda raw: raw["channels"].update(fax={"label": "Fax", "setup_fee": "1.00", "monthly_fee": "1.00"}))
    assert "channels: no price for channel 'email'; every channel type needs one" in broken(
        lambda raw: raw["channels"].pop("email"))


def test_missing_generation_prices_are_refused() -> None:
    assert "bot_generations.nlu: Field required" in broken(lambda raw: raw["bot_generations"].pop("nlu"))
    assert "bot_generations.ai.model_tiers.PRO: Field required" in broken(
        lambda raw: raw["bot_generations"]["ai"]["model_tiers"].pop("PRO"))
    assert "bot_generations.menu.monthly_fee: Field required" in broken(
        lambda raw: raw["bot_generations"]["menu"].pop("monthly_fee"))
    assert "use_cases.complexity.complex: Field required" in broken(
        lambda raw: raw["use_cases"]["complexity"].pop("complex"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t[1].update({"from": 900}), "tier 2 (from 900) overlaps tier 1 (to 1,000)"),
    (lambda t: t[1].update({"from": 1_000}), "tier 2 (from 1,000) overlaps tier 1 (to 1,000)"),
    (lambda t: t[1].update({"from": 1_100}), "sessions 1,001–1,099 fall in no tier"),
    (lambda t: t[0].update({"from": 2}), "the first session tier must start at session 1, not 2"),
    (lambda t: t[1].update({"to": 500}), "tier 2 ends (to 500) before it starts (from 1,001)"),
    (lambda t: t[1].update({"to": None}), "only the last tier may be open-ended (to: null), not tier 2"),
    (lambda t: t[2].update({"to": 50_000}), "the last tier must be open-ended (to: null)"),
    (lambda t: t.reverse(), "the first session tier must start at session 1, not 10,001"),
])
def test_non_monotonic_overlapping_or_incomplete_tiers_are_refused(change: Any, message: str) -> None:
    text = broken(lambda raw: change(tiers(raw)))

    assert text.startswith("invalid price book: bot_generations.nlu.session_tiers: ")
    assert message in text


def test_bad_money_and_unknown_keys_in_a_book_are_refused() -> None:
    assert "agents.monthly_fee: Input should be greater than or equal to 0" in broken(
        lambda raw: raw["agents"].update(monthly_fee="-1.00"))
    assert "channels.sms.setup_fee: Decimal input should have no more than 2 decimal places" in broken(
        lambda raw: raw["channels"]["sms"].update(setup_fee="80.005"))
    assert "unit_price: Decimal input should have no more than 4 decimal places" in broken(
        lambda raw: tiers(raw)[0].update(unit_price="0.00001"))
    assert "channels.sms.setup_fe: Extra inputs are not permitted" in broken(
        lambda raw: raw["channels"]["sms"].update(setup_fe="1.00"))
    assert "currency: String should match pattern" in broken(lambda raw: raw.update(currency="usd"))


def test_an_unreadable_book_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PriceBookError, match="cannot read the price book"):
        PriceBook.load(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(PriceBookError, match="is not a JSON object"):
        PriceBook.load(tmp_path / "list.json")


# -- custom price books --------------------------------------------------------------------------------------
def test_a_custom_book_from_a_dict_replaces_the_defaults(book: PriceBook) -> None:
    raw = copy.deepcopy(default_raw())
    raw.update(version="acme-2026-03", quote_notes=["Precios sin IVA."])
    raw["channels"]["whatsapp"].update(setup_fee="0.00", monthly_fee="99.90")
    raw["bot_generations"]["ai"]["model_tiers"]["PRO"]["included_sessions"] = 0
    custom = PriceBook.from_dict(raw)

    result = quote(worked_request(), custom)

    assert result.price_book_version == "acme-2026-03"
    assert line(result, "channel.whatsapp.setup").amount == D("0.00")
    assert line(result, "channel.whatsapp.monthly").amount == D("99.90")
    assert session_rows(result)[0] == ("sessions.tier_1", 1_000, D("120.00"))
    assert result.notes[0] == "Precios sin IVA."
    assert quote(worked_request(), book).price_book_version == book.version  # the default is untouched


def test_overrides_merge_over_a_book_and_are_validated(book: PriceBook, tmp_path: Path) -> None:
    custom = book.with_overrides({"version": "acme", "agents": {"monthly_fee": "19.00"}})

    assert custom.document.agents.monthly_fee == D("19.00") and custom.document.agents.label == "Agent seats"
    assert custom.document.channels == book.document.channels
    assert book.document.agents.monthly_fee == D("25.00")
    with pytest.raises(PriceBookError, match="agents.monthly_fee: Input should be greater than or equal to 0"):
        book.with_overrides({"agents": {"monthly_fee": "-5"}})
    # a file saved from a dumped book loads back to the same book
    path = tmp_path / "acme.json"
    path.write_text(json.dumps(custom.document.model_dump(mode="json", by_alias=True)), encoding="utf-8")
    assert PriceBook.load(path) == custom


def test_a_channel_note_reaches_the_quote(book: PriceBook) -> None:
    with_sms = quote(request(channels=["sms"]), book)
    without = quote(request(channels=["telegram"]), book)

    assert any("SMS carrier fees" in note for note in with_sms.notes)
    assert not any("SMS" in note for note in without.notes)


# -- Meta's WhatsApp fees (pass-through) ---------------------------------------------------------------------
def test_without_whatsapp_there_is_no_meta_note(book: PriceBook) -> None:
    result = quote(request(channels=["webchat", "email"]), book)

    assert META_FEES_NOTE not in result.notes and result.passthrough_lines == []


def test_meta_fees_are_noted_but_not_included_without_volumes(book: PriceBook) -> None:
    result = quote(request(), book)

    assert "passed through at cost" in META_FEES_NOTE and "Meta" in META_FEES_NOTE
    assert META_FEES_NOTE in result.notes
    assert result.passthrough_lines == [] and result.passthrough_total == D("0.00")


def test_meta_fees_are_estimated_from_the_rate_card_as_a_separate_section(book: PriceBook) -> None:
    card = RateCard.load()
    day = date(2026, 2, 1)
    volumes = {"market": "+52", "messages": {"UTILITY": 3_000, "MARKETING": 5_000}, "as_of": day.isoformat()}

    result = quote(worked_request(whatsapp_templates=volumes), book)

    marketing, utility = card.price(day, "mexico", "MARKETING"), card.price(day, "mexico", "UTILITY")
    assert rows(result.passthrough_lines) == [
        ("meta.whatsapp.marketing", 5_000, marketing, (marketing * 5_000).quantize(D("0.01"), ROUND_HALF_UP)),
        ("meta.whatsapp.utility", 3_000, utility, (utility * 3_000).quantize(D("0.01"), ROUND_HALF_UP)),
    ]
    assert rows(result.passthrough_lines) == [("meta.whatsapp.marketing", 5_000, D("0.0305"), D("152.50")),
                                              ("meta.whatsapp.utility", 3_000, D("0.0085"), D("25.50"))]
    assert result.passthrough_total == D("178.00")
    # Meta's price, apart from ours: the totals are those of the quote without volumes
    assert result.totals == quote(worked_request(), book).totals
    marketing_line = line(result, "meta.whatsapp.marketing")
    assert marketing_line.description == "WhatsApp marketing template messages, Mexico (Meta's price)"
    assert marketing_line.explanation == ("5,000 messages × 0.0305 USD: Meta's MARKETING price for Mexico in the rate "
                                          "card of 2026-01-01; Meta's fee, passed through at cost")
    assert any("it is Meta's price, passed through at cost, and not part of the totals" in n for n in result.notes)


def test_the_market_is_a_calling_code_or_a_market_id(book: PriceBook) -> None:
    def estimate(market: str) -> list[tuple[str, int, Decimal, Decimal]]:
        volumes = {"market": market, "messages": {"MARKETING": 100}}
        return rows(quote(request(whatsapp_templates=volumes), book, on=date(2026, 2, 1)).passthrough_lines)

    assert estimate("52") == estimate("+52") == estimate("mexico")
    assert estimate("1809") == estimate("rest_of_latin_america") != estimate("1")  # Dominican Republic
    assert estimate("+86") == estimate("other")  # unlisted codes are the default market


def test_the_day_comes_from_the_request_or_the_caller(book: PriceBook) -> None:
    volumes = {"market": "mexico", "messages": {"MARKETING": 1_000}}

    before = quote(request(whatsapp_templates=volumes), book, on=date(2025, 9, 30))
    after = quote(request(whatsapp_templates=volumes), book, on=date(2025, 10, 1))
    pinned = quote(request(whatsapp_templates={**volumes, "as_of": "2025-09-30"}), book, on=date(2025, 10, 1))

    assert line(before, "meta.whatsapp.marketing").unit_price == D("0.0436")
    assert line(after, "meta.whatsapp.marketing").unit_price == D("0.0305")
    assert pinned.passthrough_lines == before.passthrough_lines
    with pytest.raises(QuoteError, match="a day is needed to price Meta's fees"):
        quote(request(whatsapp_templates=volumes), book)


def test_an_unknown_market_or_day_is_a_quote_error(book: PriceBook) -> None:
    with pytest.raises(QuoteError, match="unknown WhatsApp market 'atlantis'; give a calling code or one of"):
        quote(request(whatsapp_templates={"market": "atlantis", "messages": {"UTILITY": 1}}), book,
              on=date(2026, 1, 1))
    with pytest.raises(QuoteError, match="no rate card before 2025-07-01"):
        quote(request(whatsapp_templates={"market": "52", "messages": {"UTILITY": 1}, "as_of": "2024-01-01"}), book)


def test_a_given_rate_card_is_used(book: PriceBook) -> None:
    card = RateCard.from_dict({"currency": "USD", "calling_codes": {"57": "colombia"}, "default_market": "other",
                               "versions": [{"effective_from": "2026-01-01", "markets": {
                                   "colombia": {"label": "Colombia", "marketing": "0.5000", "utility": "0.0100"},
                                   "other": {"label": "Other", "marketing": "0.0600", "utility": "0.0080"}}}]})

    result = quote(request(whatsapp_templates={"market": "+57", "messages": {"AUTHENTICATION": 10}}), book,
                   on=date(2026, 5, 1), rate_card=card)

    # authentication falls back to the utility price when the card has none
    assert rows(result.passthrough_lines) == [("meta.whatsapp.authentication", 10, D("0.0100"), D("0.10"))]


# -- the quote model keeps itself honest ---------------------------------------------------------------------
def test_a_quote_that_does_not_add_up_is_refused(book: PriceBook) -> None:
    body = quote(worked_request(), book).model_dump(mode="json")
    body["totals"]["monthly"] = "1734.01"

    with pytest.raises(ValidationError, match="the monthly total is 1734.00, not 1734.01"):
        Quote.model_validate(body)
    with pytest.raises(ValidationError, match="line x: 3 × 0.0125 is 0.04, not 0.03"):
        QuoteLine(code="x", description="x", quantity=3, unit_price=D("0.0125"), amount=D("0.03"), explanation="x")
