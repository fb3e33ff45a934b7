"""WhatsApp per-message prices by date, market and category, from a dated rate card (data, not code).

Meta charges each delivered template message by its category (MARKETING, UTILITY, AUTHENTICATION) and the
recipient's market, which follows from the phone number's calling code (longest prefix: +1 809 is the
Dominican Republic, "Rest of Latin America", not North America; unlisted codes are the default market,
"other"). Meta changes prices at quarter starts, so the card holds versions by `effective_from` and a price is
always asked for a day. The packaged card is ``shared/data/whatsapp_rate_card.json``; each version is
complete (every market, every category), and its ``source``/``notes`` say where figures come from and which
ones are uncertain.

Not modelled (callers decide): utility templates inside an open customer-service window and free-entry-point
conversations are free; high monthly volumes get lower utility/authentication tiers. Prices are the base tier.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "CATEGORIES",
    "DEFAULT_CARD",
    "CostEstimate",
    "CostLine",
    "MarketPrices",
    "RateCard",
    "RateCardError",
    "RateCardVersion",
]

DEFAULT_CARD = Path(__file__).resolve().parents[1] / "data" / "whatsapp_rate_card.json"
CATEGORIES: tuple[str, ...] = ("MARKETING", "UTILITY", "AUTHENTICATION")


class RateCardError(ValueError):
    """A malformed card, or a question it cannot answer (a day before the first version, an unknown market)."""


@dataclass(frozen=True)
class MarketPrices:
    market: str
    label: str
    prices: Mapping[str, Decimal]  # MARKETING / UTILITY / AUTHENTICATION -> USD per delivered message

    def price(self, category: str) -> Decimal:
        key = _category(category)
        if key in self.prices:
            return self.prices[key]
        if key == "AUTHENTICATION" and "UTILITY" in self.prices:
            return self.prices["UTILITY"]
        raise RateCardError(f"no {key} price for market {self.market}")


@dataclass(frozen=True)
class RateCardVersion:
    effective_from: date
    markets: Mapping[str, MarketPrices]
    source: str = ""
    notes: str = ""

    def market(self, market: str) -> MarketPrices:
        try:
            return self.markets[market]
        except KeyError:
            raise RateCardError(f"unknown market {market!r} in the {self.effective_from} rate card") from None


@dataclass(frozen=True)
class CostLine:
    market: str
    label: str
    category: str
    count: int
    unit_price: Decimal
    total: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {"market": self.market, "label": self.label, "category": self.category, "count": self.count,
                "unit_price": str(self.unit_price), "total": str(self.total)}


@dataclass(frozen=True)
class CostEstimate:
    version: date  # the effective_from of the rate card version used
    currency: str
    lines: tuple[CostLine, ...]
    total: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates ISO, money as strings (never floats)."""
        return {"version": self.version.isoformat(), "currency": self.currency,
                "lines": [line.as_dict() for line in self.lines], "total": str(self.total)}


def _category(category: str) -> str:
    key = category.strip().upper()
    if key not in CATEGORIES:
        raise RateCardError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    return key


def _price(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise RateCardError(f"{where}: a price must be a number")
    try:
        price = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise RateCardError(f"{where}: a price must be a number") from None
    if not price.is_finite() or price < 0:
        raise RateCardError(f"{where}: a price must be a non-negative number")
    return price


def _version(raw: Mapping[str, Any]) -> RateCardVersion:
    try:
        effective = date.fromisoformat(str(raw["effective_from"]))
    except (KeyError, ValueError):
        raise RateCardError("every version needs an ISO effective_from date") from None
    markets: dict[str, MarketPrices] = {}
    for market, entry in (raw.get("markets") or {}).items():
        where = f"{effective} {market}"
        prices = {category: _price(entry[category.lower()], f"{where} {category.lower()}")
                  for category in CATEGORIES if category.lower() in entry}
        if "MARKETING" not in prices or "UTILITY" not in prices:
            raise RateCardError(f"{where}: marketing and utility prices are required")
        markets[market] = MarketPrices(market, str(entry.get("label") or market), prices)
    return RateCardVersion(effective, markets, str(raw.get("source") or ""), str(raw.get("notes") or ""))


@dataclass(frozen=True)
class RateCard:
    currency: str
    versions: tuple[RateCardVersion, ...]  # by effective_from, oldest first
    calling_codes: Mapping[str, str]  # calling code digits -> market
    default_market: str
    source: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> RateCard:
        """The card at `path` (default: the packaged one), parsed once per path and cached."""
        return _load(str(Path(path).resolve() if path else DEFAULT_CARD))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RateCard:
        """Parse and check a card: complete versions, known markets, no duplicate dates.

        Prices should be Decimal (``json.loads(..., parse_float=Decimal)``); ints, strings and floats (through
        their repr) are accepted.
        """
        versions = sorted((_version(v) for v in raw.get("versions") or []), key=lambda v: v.effective_from)
        if not versions:
            raise RateCardError("the rate card has no versions")
        dates = [v.effective_from for v in versions]
        if len(set(dates)) != len(dates):
            raise RateCardError("two rate card versions share an effective_from date")
        default = str(raw.get("default_market") or "other")
        codes = {str(code): str(market) for code, market in (raw.get("calling_codes") or {}).items()}
        if any(not code.isdigit() for code in codes):
            raise RateCardError("calling codes must be digits only")
        needed = set(codes.values()) | {default}
        for version in versions:
            missing = sorted(needed - set(version.markets))
            if missing:
                raise RateCardError(f"the {version.effective_from} version has no prices for {', '.join(missing)}")
        return cls(str(raw.get("currency") or "USD"), tuple(versions), codes, default, str(raw.get("source") or ""))

    def version_for(self, day: date) -> RateCardVersion:
        """The version in force on `day`: the latest whose effective_from is on or before it."""
        current = None
        for version in self.versions:
            if version.effective_from > day:
                break
            current = version
        if current is None:
            raise RateCardError(f"no rate card before {self.versions[0].effective_from} (asked for {day})")
        return current

    def market_of(self, wa_id_or_e164: str) -> str:
        """The pricing market of a number ("+54 9 11 ...", "5491...", "0054..."): the longest calling code
        prefix of its digits, or the default market when no code matches."""
        digits = "".join(ch for ch in wa_id_or_e164 if ch.isdigit())
        if digits.startswith("00"):
            digits = digits[2:]
        if not digits:
            raise RateCardError("not a phone number: no digits")
        for length in range(min(len(digits), max(map(len, self.calling_codes), default=0)), 0, -1):
            market = self.calling_codes.get(digits[:length])
            if market is not None:
                return market
        return self.default_market

    def price(self, day: date, market: str, category: str) -> Decimal:
        """USD per delivered message; AUTHENTICATION falls back to the UTILITY price when the card has none."""
        return self.version_for(day).market(market).price(category)

    def estimate(self, day: date, lines: Iterable[tuple[str, str, int]]) -> CostEstimate:
        """The cost of sending `count` messages of `category` to `market`, per line and in total."""
        version = self.version_for(day)
        out: list[CostLine] = []
        for market, category, count in lines:
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise RateCardError(f"count for {market}/{category} must be a non-negative integer")
            prices = version.market(market)
            unit = prices.price(category)
            out.append(CostLine(market, prices.label, _category(category), count, unit, unit * count))
        total = sum((line.total for line in out), Decimal(0))
        return CostEstimate(version.effective_from, self.currency, tuple(out), total)


@lru_cache(maxsize=8)
def _load(path: str) -> RateCard:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, json.JSONDecodeError) as exc:
        raise RateCardError(f"cannot read the rate card {path}: {exc}") from exc
    return RateCard.from_dict(raw)
