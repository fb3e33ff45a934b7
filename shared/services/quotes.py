"""The quote calculator ("cotizador"): a setup and a monthly estimate, every line explained, from a price book.

A prospect names channels, a bot generation (and the AI model tier), use cases with their integration counts,
expected monthly sessions and agent seats; `quote` prices each from a `PriceBook` (data, not code: the packaged
``shared/data/price_book.json`` holds illustrative defaults an operator overrides).

Rules:
- every line is ``quantity × unit_price`` rounded ROUND_HALF_UP to cents; subtotals and totals are sums of the
  rounded lines, so a quote adds up exactly;
- sessions are graduated: the plan's included sessions are free (first), the rest are priced by the tier each
  session number falls in (sessions 1–1,000 at one rate, 1,001–10,000 at another, ...), one line per tier used;
- a discount is a percentage of a subtotal, rounded to cents, shown as a negative line;
- WhatsApp message fees are Meta's, passed through at cost: never in the totals. With expected template messages
  per category and a market, they are estimated from the WhatsApp rate card as separate pass-through lines.

`quote` is pure and deterministic: no clock (the day for Meta's prices comes from the request or `on=`), no I/O
beyond the cached, packaged rate card when none is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.errors import InvalidInput
from shared.models.quotes import (
    CENT,
    BotPlanPrices,
    Discount,
    PriceBookDocument,
    Quote,
    QuoteLine,
    QuoteRequest,
    QuoteTotals,
    WhatsAppTemplateVolume,
    round_money,
    sum_amounts,
)
from shared.services.rate_card import CATEGORIES, RateCard, RateCardError

__all__ = ["DEFAULT_PRICE_BOOK", "META_FEES_NOTE", "PriceBook", "PriceBookError", "QuoteError", "quote"]

DEFAULT_PRICE_BOOK = Path(__file__).resolve().parents[1] / "data" / "price_book.json"
META_FEES_NOTE = ("WhatsApp message fees are not included: Meta charges them per delivered template message "
                  "(by category and the recipient's market) and they are passed through at cost.")
_ZERO = Decimal("0.00")


class PriceBookError(ValueError):
    """A price book that cannot be used: unreadable, incomplete, unknown channel types, bad session tiers."""


class QuoteError(InvalidInput):
    """A valid-looking request the price book or the rate card cannot answer (an unknown market, no date)."""


@dataclass(frozen=True)
class PriceBook:
    document: PriceBookDocument

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceBook:
        """The book at `path` (default: the packaged one), parsed once per path and cached."""
        return _load(str(Path(path).resolve() if path else DEFAULT_PRICE_BOOK))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PriceBook:
        """A complete book. Money may be strings, ints or Decimals (floats are read through their repr)."""
        try:
            return cls(PriceBookDocument.model_validate(raw))
        except ValidationError as exc:
            raise PriceBookError(f"invalid price book: {_describe(exc)}") from None

    def with_overrides(self, overrides: Mapping[str, Any]) -> PriceBook:
        """A new book: `overrides` merged over this one (objects merge key by key; lists and values replace),
        then validated as a whole. E.g. ``{"version": "acme-2026", "agents": {"monthly_fee": "19.00"}}``."""
        return PriceBook.from_dict(_merge(self.document.model_dump(mode="json", by_alias=True), overrides))

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def currency(self) -> str:
        return self.document.currency

    @property
    def effective_from(self) -> date:
        return self.document.effective_from

    def bot_plan(self, generation: str, ai_tier: str | None = None) -> BotPlanPrices:
        """The plan of a generation; the AI generation's plan is per model tier (LITE, PRO)."""
        generations = self.document.bot_generations
        if generation == "ai":
            tiers = {"LITE": generations.ai.model_tiers.LITE, "PRO": generations.ai.model_tiers.PRO}
            if ai_tier not in tiers:
                raise QuoteError(f"the ai generation is priced per model tier (LITE or PRO), not {ai_tier!r}")
            return tiers[ai_tier]
        plans = {"menu": generations.menu, "keywords": generations.keywords, "nlu": generations.nlu}
        if generation not in plans:
            raise QuoteError(f"unknown bot generation {generation!r}")
        return plans[generation]


def quote(request: QuoteRequest, book: PriceBook, *, on: date | None = None,
          rate_card: RateCard | None = None) -> Quote:
    """Price `request` with `book`.

    `on` is the day Meta's fees are priced for when the request gives WhatsApp template volumes without
    ``as_of`` (the caller passes today); `rate_card` defaults to the packaged WhatsApp rate card.
    """
    cur = book.currency
    setup: list[QuoteLine] = []
    monthly: list[QuoteLine] = []
    notes = list(book.document.quote_notes)

    for kind in request.channels:
        channel = book.document.channels[kind]
        setup.append(_line(f"channel.{kind}.setup", f"{channel.label} channel setup", 1, channel.setup_fee,
                           f"1 × {_unit(channel.setup_fee)} {cur} one-time setup fee"))
        monthly.append(_line(f"channel.{kind}.monthly", f"{channel.label} channel", 1, channel.monthly_fee,
                             f"1 × {_unit(channel.monthly_fee)} {cur} per month"))
        if channel.note:
            notes.append(channel.note)

    plan = book.bot_plan(request.bot_generation, request.ai_tier)
    plan_code = "bot." + request.bot_generation + (f".{request.ai_tier.lower()}" if request.ai_tier else "")
    setup.append(_line(f"{plan_code}.setup", f"{plan.label} setup", 1, plan.setup_fee,
                       f"1 × {_unit(plan.setup_fee)} {cur} one-time setup fee"))
    monthly.append(_line(f"{plan_code}.monthly", f"{plan.label} platform", 1, plan.monthly_fee,
                         f"1 × {_unit(plan.monthly_fee)} {cur} per month; includes "
                         f"{_count(plan.included_sessions, 'session')} a month"))
    monthly.extend(_session_lines(request.expected_monthly_sessions, plan, cur))

    complexity = book.document.use_cases.complexity
    complexities = {"simple": complexity.simple, "standard": complexity.standard, "complex": complexity.complex}
    integration = book.document.use_cases.integration
    for number, use_case in enumerate(request.use_cases, 1):
        price = complexities[use_case.complexity]
        detail = f"{use_case.complexity} use case" + (f": {price.description}" if price.description else "")
        setup.append(_line(f"use_case.{number}.setup", f"Use case setup: {use_case.name}", 1, price.setup_fee,
                           f"1 × {_unit(price.setup_fee)} {cur} ({detail})"))
        if use_case.integrations:
            many = _count(use_case.integrations, "integration")
            setup.append(_line(f"use_case.{number}.integrations.setup", f"Integration setup: {use_case.name}",
                               use_case.integrations, integration.setup_fee,
                               f"{many} × {_unit(integration.setup_fee)} {cur} one-time, per integration"))
            monthly.append(_line(f"use_case.{number}.integrations.monthly",
                                 f"Integration maintenance: {use_case.name}", use_case.integrations,
                                 integration.monthly_fee,
                                 f"{many} × {_unit(integration.monthly_fee)} {cur} per month, per integration"))

    if request.agents:
        seat = book.document.agents
        monthly.append(_line("agents.monthly", seat.label, request.agents, seat.monthly_fee,
                             f"{_count(request.agents, 'seat')} × {_unit(seat.monthly_fee)} {cur} per month"))

    subtotals = QuoteTotals(setup=sum_amounts(setup), monthly=sum_amounts(monthly))
    discounts = _discount_lines(request.discount, subtotals, cur)
    totals = QuoteTotals(
        setup=subtotals.setup + sum_amounts(x for x in discounts if x.code == "discount.setup"),
        monthly=subtotals.monthly + sum_amounts(x for x in discounts if x.code == "discount.monthly"))

    passthrough: list[QuoteLine] = []
    if "whatsapp" in request.channels:
        notes.append(META_FEES_NOTE)
        if request.whatsapp_templates is not None:
            passthrough, note = _meta_lines(request.whatsapp_templates, book, on, rate_card)
            notes.append(note)

    return Quote(currency=cur, price_book_version=book.version, setup_lines=setup, monthly_lines=monthly,
                 subtotals=subtotals, discount_lines=discounts, totals=totals, passthrough_lines=passthrough,
                 passthrough_total=sum_amounts(passthrough), notes=notes)


# -- lines ---------------------------------------------------------------------------------------------------
def _line(code: str, description: str, quantity: int, unit_price: Decimal, explanation: str) -> QuoteLine:
    return QuoteLine(code=code, description=description, quantity=quantity, unit_price=unit_price,
                     amount=round_money(unit_price * quantity), explanation=explanation)


def _session_lines(sessions: int, plan: BotPlanPrices, cur: str) -> list[QuoteLine]:
    """The included sessions (free) first, then one line per tier the remaining session numbers fall in."""
    lines: list[QuoteLine] = []
    included = plan.included_sessions
    if included:
        covered = min(sessions, included)
        lines.append(_line("sessions.included", "Included bot sessions", covered, _ZERO,
                           f"{covered:,} of {_count(sessions, 'expected session')} covered by the "
                           f"{included:,} included in the {plan.label} plan, at no charge"))
    for number, tier in enumerate(plan.session_tiers, 1):
        first = max(tier.start, included + 1)
        last = sessions if tier.end is None else min(tier.end, sessions)
        if last < first:
            continue
        span = f"{tier.start:,}–{tier.end:,}" if tier.end is not None else f"{tier.start:,} and above"
        whole = first == tier.start and last == tier.end
        where = f"tier {span}" if whole else f"sessions {first:,}–{last:,} of tier {span}"
        quantity = last - first + 1
        lines.append(_line(f"sessions.tier_{number}", f"Bot sessions, tier {span}", quantity, tier.unit_price,
                           f"{_count(quantity, 'session')} × {_unit(tier.unit_price)} {cur} ({where})"))
    return lines


def _discount_lines(discount: Discount | None, subtotals: QuoteTotals, cur: str) -> list[QuoteLine]:
    if discount is None:
        return []
    percent = f"{discount.percent.normalize():f}%"
    sections = ("setup", "monthly") if discount.applies_to == "both" else (discount.applies_to,)
    lines = []
    for section in sections:
        subtotal = subtotals.setup if section == "setup" else subtotals.monthly
        amount = -round_money(subtotal * discount.percent / 100)
        lines.append(_line(f"discount.{section}", f"{section.capitalize()} discount ({percent})", 1, amount,
                           f"{percent} of the {_money(subtotal)} {cur} {section} subtotal = {_money(-amount)} {cur}, "
                           f"rounded half up to cents; reason: {discount.reason}"))
    return lines


def _meta_lines(volume: WhatsAppTemplateVolume, book: PriceBook, on: date | None,
                rate_card: RateCard | None) -> tuple[list[QuoteLine], str]:
    day = volume.as_of or on
    if day is None:
        raise QuoteError("a day is needed to price Meta's fees: give whatsapp_templates.as_of")
    card = rate_card or RateCard.load()
    if card.currency != book.currency:
        raise QuoteError(f"the WhatsApp rate card is in {card.currency}, the price book in {book.currency}")
    given = volume.market.lstrip("+")
    try:
        market = card.market_of(given) if given.isdigit() else given
        version = card.version_for(day)
        if market not in version.markets:
            known = ", ".join(sorted(version.markets))
            raise QuoteError(f"unknown WhatsApp market {volume.market!r}; give a calling code or one of {known}")
        counts = sorted(volume.messages.items(), key=lambda item: CATEGORIES.index(item[0]))
        estimate = card.estimate(day, [(market, category, count) for category, count in counts])
    except RateCardError as exc:
        raise QuoteError(f"cannot estimate Meta's fees: {exc}") from None
    lines = []
    for cost in estimate.lines:
        category = cost.category.lower()
        lines.append(_line(
            f"meta.whatsapp.{category}", f"WhatsApp {category} template messages, {cost.label} (Meta's price)",
            cost.count, cost.unit_price,
            f"{_count(cost.count, 'message')} × {_unit(cost.unit_price)} {estimate.currency}: Meta's "
            f"{cost.category} price for {cost.label} in the rate card of {estimate.version.isoformat()}; "
            f"Meta's fee, passed through at cost"))
    label = estimate.lines[0].label if estimate.lines else market
    note = (f"The pass-through section estimates Meta's WhatsApp fees for {label} on {day.isoformat()} from "
            f"Meta's rate card of {estimate.version.isoformat()}: it is Meta's price, passed through at cost, "
            "and not part of the totals.")
    return lines, note


# -- helpers -------------------------------------------------------------------------------------------------
def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):,.2f}"


def _unit(value: Decimal) -> str:
    """Like `format_unit_price` (2 or 4 decimals), with thousands separators."""
    return f"{value:,.2f}" if value == value.quantize(CENT) else f"{value:,.4f}"


def _count(quantity: int, noun: str) -> str:
    return f"{quantity:,} {noun}" + ("" if quantity == 1 else "s")


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        merged[key] = _merge(current, value) if isinstance(current, Mapping) and isinstance(value, Mapping) \
            else value
    return merged


def _describe(exc: ValidationError) -> str:
    """`loc: message` per error, pydantic's "Value error, " prefix dropped."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


@lru_cache(maxsize=8)
def _load(path: str) -> PriceBook:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, json.JSONDecodeError) as exc:
        raise PriceBookError(f"cannot read the price book {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise PriceBookError(f"the price book {path} is not a JSON object")
    return PriceBook.from_dict(raw)
