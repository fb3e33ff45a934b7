"""The dated WhatsApp rate card: versions by day, markets by calling code, prices and estimates in Decimal."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.services.rate_card import DEFAULT_CARD, RateCard, RateCardError


@pytest.fixture
def card() -> RateCard:
    return RateCard.load()


def small_card(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "currency": "USD",
        "versions": [
            {"effective_from": "2025-07-01", "markets": {
                "mexico": {"label": "Mexico", "marketing": Decimal("0.0436"), "utility": Decimal("0.0085")},
                "other": {"label": "Other", "marketing": "0.0604", "utility": "0.0077", "authentication": "0.0077"}}},
        ],
        "calling_codes": {"52": "mexico"},
        "default_market": "other",
    }
    raw.update(overrides)
    return raw


# -- the packaged card -------------------------------------------------------------------------------------
def test_every_packaged_version_prices_every_market_in_every_category() -> None:
    raw = json.loads(DEFAULT_CARD.read_text(encoding="utf-8"))
    markets = set(raw["versions"][0]["markets"])

    assert {"argentina", "brazil", "chile", "colombia", "mexico", "peru", "rest_of_latin_america",
            "north_america", "spain", "india", "other"} <= markets
    assert set(raw["calling_codes"].values()) | {raw["default_market"]} <= markets
    for version in raw["versions"]:
        assert version["source"] and "notes" in version
        assert set(version["markets"]) == markets, version["effective_from"]
        for market, prices in version["markets"].items():
            assert {"label", "marketing", "utility", "authentication"} <= set(prices), market
    assert [v["effective_from"] for v in raw["versions"]] == sorted(v["effective_from"] for v in raw["versions"])


def test_load_is_cached_per_path(card: RateCard) -> None:
    assert RateCard.load() is card
    assert RateCard.load(DEFAULT_CARD) is card


# -- versions ----------------------------------------------------------------------------------------------
def test_the_new_version_applies_from_its_first_day(card: RateCard) -> None:
    assert card.version_for(date(2025, 9, 30)).effective_from == date(2025, 7, 1)
    assert card.version_for(date(2025, 10, 1)).effective_from == date(2025, 10, 1)
    # Argentina utility went down and Mexico marketing down on 2025-10-01
    assert card.price(date(2025, 9, 30), "argentina", "utility") == Decimal("0.0289")
    assert card.price(date(2025, 10, 1), "argentina", "utility") == Decimal("0.0260")
    assert card.price(date(2025, 9, 30), "mexico", "marketing") == Decimal("0.0436")
    assert card.price(date(2025, 10, 1), "mexico", "marketing") == Decimal("0.0305")


def test_later_changes_apply_and_untouched_prices_carry_forward(card: RateCard) -> None:
    assert card.price(date(2025, 12, 31), "north_america", "utility") == Decimal("0.0040")
    assert card.price(date(2026, 1, 1), "north_america", "utility") == Decimal("0.0034")
    assert card.price(date(2026, 10, 1), "mexico", "marketing") == Decimal("0.0397")
    assert card.price(date(2026, 10, 1), "peru", "authentication") == Decimal("0.0300")
    assert card.price(date(2025, 7, 1), "brazil", "marketing") == card.price(date(2027, 1, 1), "brazil", "marketing")


def test_a_day_before_the_first_version_has_no_price(card: RateCard) -> None:
    with pytest.raises(RateCardError, match="no rate card before 2025-07-01"):
        card.version_for(date(2025, 6, 30))


# -- markets -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("number", "market"), [
    ("+1 809 555 0100", "rest_of_latin_america"),  # Dominican Republic, not North America
    ("18295550100", "rest_of_latin_america"),
    ("+1 (650) 555-1234", "north_america"),
    ("12425550100", "other"),  # Bahamas: NANP but not US/Canada
    ("+54 9 11 5555-1234", "argentina"),
    ("5215512345678", "mexico"),  # WhatsApp still sends the old mobile 1 after 52
    ("+591 71234567", "rest_of_latin_america"),  # Bolivia: 591, not Peru's 51
    ("+51 912 345 678", "peru"),
    ("0034 612 345 678", "spain"),
    ("+86 10 1234 5678", "other"),  # no listed code: the default market
    ("+7 912 345 6789", "other"),
])
def test_the_market_is_the_longest_calling_code_prefix(card: RateCard, number: str, market: str) -> None:
    assert card.market_of(number) == market


def test_a_number_without_digits_is_refused(card: RateCard) -> None:
    with pytest.raises(RateCardError, match="no digits"):
        card.market_of("+ ( ) -")


# -- prices ------------------------------------------------------------------------------------------------
def test_categories_are_case_insensitive_and_unknown_ones_are_refused(card: RateCard) -> None:
    day = date(2026, 2, 1)

    assert card.price(day, "brazil", "MARKETING") == card.price(day, "brazil", "marketing") == Decimal("0.0625")
    with pytest.raises(RateCardError, match="unknown category 'service'"):
        card.price(day, "brazil", "service")
    with pytest.raises(RateCardError, match="unknown market 'atlantis'"):
        card.price(day, "atlantis", "utility")


def test_authentication_falls_back_to_the_utility_price() -> None:
    card = RateCard.from_dict(small_card())

    assert card.price(date(2025, 8, 1), "mexico", "authentication") == Decimal("0.0085")
    assert card.price(date(2025, 8, 1), "other", "authentication") == Decimal("0.0077")


def test_an_incomplete_card_is_refused() -> None:
    raw = small_card(calling_codes={"52": "mexico", "57": "colombia"})

    with pytest.raises(RateCardError, match="the 2025-07-01 version has no prices for colombia"):
        RateCard.from_dict(raw)
    with pytest.raises(RateCardError, match="marketing and utility prices are required"):
        RateCard.from_dict(small_card(versions=[{"effective_from": "2025-07-01", "markets": {
            "other": {"marketing": "0.06"}}}]))
    with pytest.raises(RateCardError, match="no versions"):
        RateCard.from_dict(small_card(versions=[]))


# -- estimates ---------------------------------------------------------------------------------------------
def test_estimate_totals_each_line_and_the_whole_in_decimal(card: RateCard) -> None:
    estimate = card.estimate(date(2026, 1, 15), [
        ("argentina", "MARKETING", 1000),
        (card.market_of("+1 809 555 0100"), "utility", 250),
        ("north_america", "authentication", 3),
    ])

    assert estimate.version == date(2026, 1, 1)
    assert [line.total for line in estimate.lines] == [Decimal("61.8"), Decimal("2.825"), Decimal("0.0102")]
    assert estimate.total == Decimal("64.6352")
    assert estimate.as_dict() == {
        "version": "2026-01-01",
        "currency": "USD",
        "lines": [
            {"market": "argentina", "label": "Argentina", "category": "MARKETING", "count": 1000,
             "unit_price": "0.0618", "total": "61.8000"},
            {"market": "rest_of_latin_america", "label": "Rest of Latin America", "category": "UTILITY",
             "count": 250, "unit_price": "0.0113", "total": "2.8250"},
            {"market": "north_america", "label": "North America", "category": "AUTHENTICATION", "count": 3,
             "unit_price": "0.0034", "total": "0.0102"},
        ],
        "total": "64.6352",
    }
    json.dumps(estimate.as_dict())  # JSON-serializable as is


def test_an_empty_estimate_costs_nothing_and_bad_counts_are_refused(card: RateCard) -> None:
    assert card.estimate(date(2026, 1, 15), []).total == Decimal(0)
    with pytest.raises(RateCardError, match="non-negative integer"):
        card.estimate(date(2026, 1, 15), [("brazil", "marketing", -1)])
