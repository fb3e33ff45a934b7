"""The quote calculator's contracts: the price book document, a prospect's request, and the explained quote.

Money is `Decimal`, never float. In JSON (``model_dump(mode="json")`` / ``model_dump_json()``) every money
value is a string:

- amounts (line amounts, subtotals, totals): always 2 decimals, ``"1734.00"``, ``"-709.00"``;
- unit prices: 2 decimals when they are whole cents (``"150.00"``), otherwise 4 (``"0.0900"``, ``"0.0305"``).
  Price books and the rate card hold at most 4 decimals, so nothing is lost.

Every line satisfies ``amount == round_money(quantity × unit_price)`` (ROUND_HALF_UP to cents); subtotals are
sums of lines and totals are subtotals plus discount lines, so a quote always adds up to the cent. The `Quote`
model checks all of that when it is built or read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from shared.models.channel import ChannelKind
from shared.models.templates import TemplateCategory

__all__ = [
    "CENT",
    "CHANNEL_KINDS",
    "AiModelTier",
    "AiPrices",
    "BotGeneration",
    "BotGenerationPrices",
    "BotPlanPrices",
    "ChannelPrice",
    "Complexity",
    "Discount",
    "Money",
    "PriceBookDocument",
    "Quote",
    "QuoteLine",
    "QuoteRequest",
    "QuoteTotals",
    "SessionTier",
    "UnitPrice",
    "UseCaseRequest",
    "WhatsAppTemplateVolume",
    "format_unit_price",
    "round_money",
]

CENT = Decimal("0.01")
_BASIS_POINT = Decimal("0.0001")
CHANNEL_KINDS: tuple[str, ...] = get_args(ChannelKind)

BotGeneration = Literal["menu", "keywords", "nlu", "ai"]
AiModelTier = Literal["LITE", "PRO"]
Complexity = Literal["simple", "standard", "complex"]


def round_money(value: Decimal) -> Decimal:
    """To cents, ROUND_HALF_UP (halves away from zero: 0.125 -> 0.13, -0.125 -> -0.13)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_unit_price(value: Decimal) -> str:
    """2 decimals when the price is whole cents, else 4."""
    return f"{value:.2f}" if value == value.quantize(CENT) else f"{value:.4f}"


def _whole_cents(value: Decimal) -> Decimal:
    if value != value.quantize(CENT):
        raise ValueError("money amounts are whole cents (at most 2 decimals)")
    return value.quantize(CENT)


def _at_most_4_decimals(value: Decimal) -> Decimal:
    if value != value.quantize(_BASIS_POINT):
        raise ValueError("unit prices have at most 4 decimals")
    return value


Money = Annotated[Decimal, AfterValidator(_whole_cents),
                  PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json")]
UnitPrice = Annotated[Decimal, AfterValidator(_at_most_4_decimals),
                      PlainSerializer(format_unit_price, return_type=str, when_used="json")]
# Price book figures: fees are whole cents, per-session prices up to 4 decimals; never negative.
Fee = Annotated[Decimal, Field(ge=0, decimal_places=2)]
SessionPrice = Annotated[Decimal, Field(ge=0, decimal_places=4)]
Count = Annotated[int, Field(strict=True, ge=0)]


# -- the price book document (shared/data/price_book.json) ---------------------------------------------------
class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ChannelPrice(_Doc):
    label: str = Field(min_length=1, max_length=40)
    setup_fee: Fee
    monthly_fee: Fee
    note: str | None = Field(default=None, max_length=400, description="Added to the notes of quotes with it")


class SessionTier(_Doc):
    """Sessions number `from`..`to` of the month (inclusive; `to` null = and above) cost `unit_price` each."""

    start: int = Field(alias="from", strict=True, ge=1)
    end: int | None = Field(alias="to", strict=True, ge=1)
    unit_price: SessionPrice


class BotPlanPrices(_Doc):
    """One bot plan: a generation (or the AI generation at one model tier)."""

    label: str = Field(min_length=1, max_length=60)
    setup_fee: Fee
    monthly_fee: Fee
    included_sessions: Count = Field(description="Sessions a month covered by the monthly fee")
    session_tiers: list[SessionTier] = Field(min_length=1, max_length=20)

    @field_validator("session_tiers")
    @classmethod
    def _graduated(cls, tiers: list[SessionTier]) -> list[SessionTier]:
        if tiers[0].start != 1:
            raise ValueError(f"the first session tier must start at session 1, not {tiers[0].start:,}")
        for number, tier in enumerate(tiers, 1):
            if tier.end is not None and tier.end < tier.start:
                raise ValueError(f"tier {number} ends (to {tier.end:,}) before it starts (from {tier.start:,})")
            if tier.end is None and number < len(tiers):
                raise ValueError(f"only the last tier may be open-ended (to: null), not tier {number}")
            previous = tiers[number - 2] if number > 1 else None
            if previous is not None and previous.end is not None:  # an open previous tier was refused above
                if tier.start <= previous.end:
                    raise ValueError(f"tier {number} (from {tier.start:,}) overlaps tier {number - 1} "
                                     f"(to {previous.end:,}); tiers must be ascending and contiguous")
                if tier.start > previous.end + 1:
                    raise ValueError(f"sessions {previous.end + 1:,}–{tier.start - 1:,} fall in no tier "
                                     f"(tier {number - 1} ends at {previous.end:,}, tier {number} starts at "
                                     f"{tier.start:,})")
        if tiers[-1].end is not None:
            raise ValueError("the last tier must be open-ended (to: null) so every session has a price")
        return tiers


class AiModelTiers(_Doc):
    LITE: BotPlanPrices
    PRO: BotPlanPrices


class AiPrices(_Doc):
    label: str = Field(min_length=1, max_length=60)
    model_tiers: AiModelTiers


class BotGenerationPrices(_Doc):
    menu: BotPlanPrices
    keywords: BotPlanPrices
    nlu: BotPlanPrices
    ai: AiPrices


class ComplexityPrice(_Doc):
    setup_fee: Fee
    description: str = Field(default="", max_length=200)


class ComplexityPrices(_Doc):
    simple: ComplexityPrice
    standard: ComplexityPrice
    complex: ComplexityPrice


class IntegrationPrice(_Doc):
    setup_fee: Fee = Field(description="One-time, per integration (an API of the business the bot calls)")
    monthly_fee: Fee = Field(description="Maintenance, per integration per month")


class UseCasePrices(_Doc):
    complexity: ComplexityPrices
    integration: IntegrationPrice


class AgentPrice(_Doc):
    label: str = Field(default="Agent seats", min_length=1, max_length=40)
    monthly_fee: Fee


class SessionsInfo(_Doc):
    unit: str = Field(min_length=1, max_length=200, description="What one session is")


class PriceBookDocument(_Doc):
    """The price book as stored (JSON). Versioned; an operator overrides the packaged illustrative defaults."""

    version: str = Field(min_length=1, max_length=40)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    effective_from: date
    notes: list[str] = Field(default_factory=list, max_length=20, description="About the book, for operators")
    quote_notes: list[str] = Field(default_factory=list, max_length=10, description="Shown on every quote")
    channels: dict[str, ChannelPrice]
    sessions: SessionsInfo
    bot_generations: BotGenerationPrices
    use_cases: UseCasePrices
    agents: AgentPrice

    @field_validator("channels")
    @classmethod
    def _every_channel_kind(cls, channels: dict[str, ChannelPrice]) -> dict[str, ChannelPrice]:
        unknown = sorted(set(channels) - set(CHANNEL_KINDS))
        if unknown:
            raise ValueError(f"unknown channel type {', '.join(map(repr, unknown))}; "
                             f"expected {', '.join(CHANNEL_KINDS)}")
        missing = [kind for kind in CHANNEL_KINDS if kind not in channels]
        if missing:
            raise ValueError(f"no price for channel {', '.join(map(repr, missing))}; every channel type needs one")
        return channels


# -- the request ---------------------------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class UseCaseRequest(_Request):
    name: str = Field(min_length=1, max_length=80, examples=["Seguimiento de pedidos"])
    complexity: Complexity
    integrations: int = Field(default=0, strict=True, ge=0, le=100,
                              description="APIs of the business the bot calls for this use case")


class WhatsAppTemplateVolume(_Request):
    """Expected template messages a month, for an estimate of Meta's fees (passed through at cost)."""

    market: str = Field(pattern=r"^(\+?[0-9]{1,15}|[a-z][a-z_]{1,39})$", examples=["+52", "mexico"],
                        description="A calling code or phone number ('+52', '1809') or a rate card market id")
    messages: dict[TemplateCategory, Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]] = Field(
        min_length=1, examples=[{"MARKETING": 5000, "UTILITY": 3000}])
    as_of: date | None = Field(default=None, description="Price Meta's fees as of this day (default: today)")


class Discount(_Request):
    percent: Decimal = Field(gt=0, le=100, decimal_places=2)
    reason: str = Field(min_length=1, max_length=200)
    applies_to: Literal["setup", "monthly", "both"] = "both"


class QuoteRequest(_Request):
    channels: list[ChannelKind] = Field(min_length=1, max_length=len(CHANNEL_KINDS))
    bot_generation: BotGeneration
    ai_tier: AiModelTier | None = Field(default=None, description="Required with bot_generation 'ai', else absent")
    use_cases: list[UseCaseRequest] = Field(default_factory=list, max_length=50)
    expected_monthly_sessions: int = Field(strict=True, ge=0, le=1_000_000_000)
    agents: int = Field(default=0, strict=True, ge=0, le=100_000, description="Agent seats")
    whatsapp_templates: WhatsAppTemplateVolume | None = None
    discount: Discount | None = None

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, channels: list[str]) -> list[str]:
        seen: set[str] = set()
        for channel in channels:
            if channel in seen:
                raise ValueError(f"duplicate channel {channel!r}: list each channel once")
            seen.add(channel)
        return channels

    @field_validator("use_cases")
    @classmethod
    def _unique_use_cases(cls, use_cases: list[UseCaseRequest]) -> list[UseCaseRequest]:
        seen: set[str] = set()
        for use_case in use_cases:
            key = use_case.name.casefold()
            if key in seen:
                raise ValueError(f"duplicate use case name {use_case.name!r}: name each use case once")
            seen.add(key)
        return use_cases

    @model_validator(mode="after")
    def _consistent(self) -> QuoteRequest:
        if self.bot_generation == "ai" and self.ai_tier is None:
            raise ValueError("ai_tier (LITE or PRO) is required when bot_generation is 'ai'")
        if self.bot_generation != "ai" and self.ai_tier is not None:
            raise ValueError(f"ai_tier only applies to bot_generation 'ai', not {self.bot_generation!r}")
        if self.whatsapp_templates is not None and "whatsapp" not in self.channels:
            raise ValueError("whatsapp_templates needs 'whatsapp' among the channels")
        return self


# -- the quote -----------------------------------------------------------------------------------------------
class QuoteLine(BaseModel):
    """One explained line: amount = quantity × unit_price, rounded half up to cents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="Stable machine id, e.g. channel.whatsapp.setup, sessions.tier_2")
    description: str = Field(description="Human readable, e.g. 'WhatsApp channel setup'")
    quantity: int = Field(ge=0)
    unit_price: UnitPrice
    amount: Money
    explanation: str = Field(description="How the amount was computed")

    @model_validator(mode="after")
    def _adds_up(self) -> QuoteLine:
        expected = round_money(self.unit_price * self.quantity)
        if self.amount != expected:
            raise ValueError(f"line {self.code}: {self.quantity} × {self.unit_price} is {expected}, not {self.amount}")
        return self


class QuoteTotals(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    setup: Money = Field(description="One-time")
    monthly: Money = Field(description="Every month")


class Quote(BaseModel):
    """Setup (one-time) and monthly estimates, every line explained.

    `discount_lines` have code ``discount.setup`` or ``discount.monthly`` and negative amounts; totals are the
    subtotals plus them. `passthrough_lines` (third parties' fees, e.g. Meta's WhatsApp message prices, passed
    through at cost) are an estimate apart: `passthrough_total` is a monthly figure and NOT part of `totals`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str
    price_book_version: str
    setup_lines: list[QuoteLine]
    monthly_lines: list[QuoteLine]
    subtotals: QuoteTotals
    discount_lines: list[QuoteLine] = Field(default_factory=list)
    totals: QuoteTotals
    passthrough_lines: list[QuoteLine] = Field(default_factory=list)
    passthrough_total: Money = Decimal("0.00")
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _adds_up(self) -> Quote:
        codes = [line.code for line in self.lines()]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"duplicate line codes: {', '.join(duplicates)}")
        if any(line.code not in ("discount.setup", "discount.monthly") for line in self.discount_lines):
            raise ValueError("discount lines have code discount.setup or discount.monthly")
        checks: list[tuple[str, Decimal, Decimal]] = [
            ("setup subtotal", self.subtotals.setup, sum_amounts(self.setup_lines)),
            ("monthly subtotal", self.subtotals.monthly, sum_amounts(self.monthly_lines)),
            ("setup total", self.totals.setup,
             self.subtotals.setup + sum_amounts(x for x in self.discount_lines if x.code == "discount.setup")),
            ("monthly total", self.totals.monthly,
             self.subtotals.monthly + sum_amounts(x for x in self.discount_lines if x.code == "discount.monthly")),
            ("pass-through total", self.passthrough_total, sum_amounts(self.passthrough_lines)),
        ]
        for name, stated, computed in checks:
            if stated != computed:
                raise ValueError(f"the {name} is {computed}, not {stated}")
        if self.totals.setup < 0 or self.totals.monthly < 0:
            raise ValueError("totals cannot be negative")
        return self

    def lines(self) -> list[QuoteLine]:
        """Every line: setup, monthly, discounts, pass-through."""
        return [*self.setup_lines, *self.monthly_lines, *self.discount_lines, *self.passthrough_lines]


def sum_amounts(lines: Iterable[QuoteLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))
