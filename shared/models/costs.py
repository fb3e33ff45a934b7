"""Cost attribution's contracts: the price list, the measured resource profile, and a month's cost report.

- `PriceListDocument` (shared/data/aws_price_list.json, edited by hand): one price per meter ("lambda.requests",
  "dynamodb.write_request_units", "llm.LITE.input_tokens", ...) with the day it was checked and its source.
- `CostProfileDocument` (shared/data/cost_profile.json, written by `make bench`): per counted operation, the
  quantity of each meter one operation uses, and how that was measured.
- `CostReport`: lines per (operation, meter) with quantity × unit price, subtotals per resource kind, a total.

Money is `Decimal`, never float; in JSON every amount is a string with 6 decimals (``"0.001234"``) and unit
prices are written in full, without exponent (``"0.0000002"``). Each line's amount is quantity × unit price
rounded half up to 6 decimals; subtotals and the total are sums of the rounded lines, so a report adds up
exactly (checked when one is built).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

__all__ = [
    "MICRO",
    "CostLine",
    "CostProfileDocument",
    "CostReport",
    "OperationProfile",
    "Price",
    "PriceListDocument",
    "ResourceKind",
    "round_usd",
]

MICRO = Decimal("0.000001")
ResourceKind = Literal["lambda", "dynamodb", "sqs", "eventbridge", "apigateway", "llm"]
LlmTier = Literal["LITE", "PRO"]


def round_usd(value: Decimal) -> Decimal:
    """To 6 decimals (a millionth of a dollar), ROUND_HALF_UP."""
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """Every digit, no exponent: 2E-7 -> "0.0000002", 2E+4 -> "20000"."""
    return format(value.normalize(), "f")


Usd = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.6f}", return_type=str, when_used="json")]
Exact = Annotated[Decimal, PlainSerializer(_plain, return_type=str, when_used="json")]
NonNegative = Annotated[Decimal, Field(ge=0)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- the price list ------------------------------------------------------------------------------------------------
class Price(_Doc):
    kind: ResourceKind
    label: str = Field(min_length=1)
    unit: str = Field(min_length=1, description="What one unit is: request, GB-second, write request unit, token")
    price: NonNegative = Field(description="USD for `per` units")
    per: int = Field(ge=1, description="How many units `price` is for (1, 1000, 1000000)")
    checked_on: date = Field(description="The day the price was checked against its source")
    source: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="Where ../shared/reference/ states it (file:line), or why not")

    @property
    def unit_price(self) -> Decimal:
        return self.price / self.per


class PriceListDocument(_Doc):
    version: str = Field(min_length=1)
    region: str
    currency: Literal["USD"]
    notes: list[str] = []
    llm_tiers: dict[LlmTier, str] = Field(description="The model each LLM tier is priced as")
    prices: dict[str, Price]

    @model_validator(mode="after")
    def _every_tier_priced(self) -> PriceListDocument:
        for tier in ("LITE", "PRO"):
            for direction in ("input", "output"):
                if f"llm.{tier}.{direction}_tokens" not in self.prices:
                    raise ValueError(f"no price for llm.{tier}.{direction}_tokens")
        return self


# -- the measured profile --------------------------------------------------------------------------------------------
class OperationProfile(_Doc):
    measured_as: str
    derived_from: str = Field(description="The phases (and operations) it is the difference of; empty: not measured")
    resources: dict[str, NonNegative] = Field(description="Meter -> quantity per one operation")
    calls: dict[str, float] = Field(default={}, description="AWS calls per operation (service:Operation), for "
                                                             "reading; negative where a difference removed calls")
    clamped: list[str] = Field(default=[], description="Meters whose difference came out negative (noise), set to 0")


class CostProfileDocument(_Doc):
    version: str = Field(min_length=1)
    measured_at: datetime
    command: str
    machine: str
    method: str
    lambda_memory_mb: dict[str, int] = Field(description="Memory of each function measured (infra/topology.py)")
    import_ms: dict[str, float]
    duration_model: dict[str, float]
    assumptions: list[str]
    left_out: list[str]
    operations: dict[str, OperationProfile]


# -- the report --------------------------------------------------------------------------------------------------------
class CostLine(BaseModel):
    """One operation's use of one meter in the month: amount = quantity × unit_price, rounded to 6 decimals."""

    model_config = ConfigDict(frozen=True)

    operation: str
    resource: str = Field(description="The meter, e.g. dynamodb.write_request_units")
    kind: ResourceKind
    count: int = Field(ge=0, description="Operations priced on this line")
    quantity: Exact = Field(description="count × the profile's quantity per operation")
    unit: str
    unit_price: Exact = Field(description="USD per unit")
    amount: Usd


class CostReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str | None = None
    month: str
    currency: Literal["USD"] = "USD"
    price_list_version: str
    profile_version: str
    counts: dict[str, int] = Field(description="The month's counted operations, as the reports store gave them")
    lines: list[CostLine]
    subtotals: dict[ResourceKind, Usd] = Field(description="Sum of the lines of each resource kind")
    total: Usd = Field(description="Sum of the subtotals (and of the lines)")
    unpriced: dict[str, int] = Field(description="Counted operations the profile has no figures for: not in the total")
    assumptions: list[str]

    @model_validator(mode="after")
    def _adds_up(self) -> CostReport:
        for line in self.lines:
            if line.amount != round_usd(line.quantity * line.unit_price):
                raise ValueError(f"line {line.operation}/{line.resource} does not equal quantity × unit price")
        for kind, subtotal in self.subtotals.items():
            if subtotal != sum((x.amount for x in self.lines if x.kind == kind), Decimal(0)):
                raise ValueError(f"the {kind} subtotal is not the sum of its lines")
        if self.total != sum(self.subtotals.values(), Decimal(0)):
            raise ValueError("the total is not the sum of the subtotals")
        return self
