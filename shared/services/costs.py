"""Cost attribution: what a tenant's month of traffic cost AWS at list prices, from its counted operations.

The reports store counts a tenant's operations per month (`OperationCounts`: messages in and out, status
updates, conversations opened and closed, assignments, bot sessions and turns, LLM tokens by tier, broadcast
messages). The **resource profile** (shared/data/cost_profile.json, measured by `make bench`) says how much of
each AWS meter one operation uses: Lambda requests and arm64 GB-seconds, DynamoDB write and read request units,
SQS requests (standard, FIFO), EventBridge events, API Gateway requests; a token uses one token of its tier. The
**price list** (shared/data/aws_price_list.json) prices each meter, with the day and the source of each price.

A report has one line per (operation, meter): count × quantity per operation × unit price, rounded half up to
6 decimals; subtotals per resource kind and the total are sums of the lines. Keys the profile does not know
are listed as `unpriced` (never silently dropped); missing keys count 0.

`broadcast_messages` are a subset of `messages_out` (a broadcast recipient is also an outbound message): they
are priced with their own profile (the broadcast worker sends them, not the outbound queue) and `messages_out`
is priced for the rest, so no message is priced twice.

Pure: no clock, no I/O beyond reading the two packaged files once (cached).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from shared.errors import ApiProblem
from shared.models.costs import (
    CostLine,
    CostProfileDocument,
    CostReport,
    PriceListDocument,
    ResourceKind,
    round_usd,
)
from shared.services.reports import OPERATION_COUNTERS

__all__ = ["DEFAULT_PRICE_LIST", "DEFAULT_PROFILE", "OPERATIONS", "SUBSETS", "CostDataError", "CostProfile",
           "CostService", "InvalidMonth", "OperationCounts", "PriceList", "check_month"]

DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_PRICE_LIST = DATA / "aws_price_list.json"
DEFAULT_PROFILE = DATA / "cost_profile.json"
# The operations the reports count per month (ReportAggregator.month_operations): every one has a profile.
OPERATIONS: tuple[str, ...] = tuple(OPERATION_COUNTERS)
# part -> whole: the part is counted inside the whole too, so the whole is priced for whole - part.
SUBSETS: dict[str, str] = {"broadcast_messages": "messages_out"}
KINDS: tuple[ResourceKind, ...] = ("lambda", "dynamodb", "sqs", "eventbridge", "apigateway", "llm")
Document = TypeVar("Document", PriceListDocument, CostProfileDocument)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class OperationCounts(Protocol):
    """A tenant's counted operations in a month (UTC, "YYYY-MM"): operation key -> count; absent keys are 0."""

    def month_operations(self, tenant_id: str, month: str) -> dict[str, int]: ...


class InvalidMonth(ApiProblem):
    """Answered 400: the month is not YYYY-MM."""

    code, title = "invalid_month", "Invalid month"


class CostDataError(ValueError):
    """A price list or profile file that cannot be used (unreadable, invalid, a meter without a price)."""


def check_month(month: str) -> str:
    if not MONTH.match(month):
        raise InvalidMonth(f"month must be YYYY-MM (e.g. 2026-11), not {month!r}")
    return month


@dataclass(frozen=True)
class PriceList:
    document: PriceListDocument

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceList:
        """The list at `path` (default: the packaged one), parsed once per path."""
        return cls.from_dict(_read(path or DEFAULT_PRICE_LIST))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PriceList:
        return cls(_validated(PriceListDocument, raw, "price list"))


@dataclass(frozen=True)
class CostProfile:
    document: CostProfileDocument

    @classmethod
    def load(cls, path: str | Path | None = None) -> CostProfile:
        return cls.from_dict(_read(path or DEFAULT_PROFILE))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CostProfile:
        return cls(_validated(CostProfileDocument, raw, "cost profile"))


def _validated(model: type[Document], raw: dict[str, Any], what: str) -> Document:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CostDataError(f"invalid {what}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


def _read(path: str | Path) -> dict[str, Any]:
    """The JSON object of a data file, parsed once per resolved path."""
    return _read_resolved(str(Path(path).resolve()))


@lru_cache(maxsize=8)
def _read_resolved(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CostDataError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CostDataError(f"{path} is not a JSON object")
    return data


class CostService:
    def __init__(self, *, counts: OperationCounts, prices: PriceList, profile: CostProfile) -> None:
        self._counts, self._prices, self._profile = counts, prices, profile
        meters = {m for op in profile.document.operations.values() for m in op.resources}
        missing = sorted(meters - set(prices.document.prices))
        if missing:
            raise CostDataError(f"the profile uses meters the price list does not price: {', '.join(missing)}")

    def monthly(self, tenant_id: str, month: str) -> CostReport:
        """The month's report for a tenant: its counted operations, priced."""
        counts = self._counts.month_operations(tenant_id, check_month(month))
        return self.price(counts, month=month, tenant_id=tenant_id)

    def price(self, counts: dict[str, int], *, month: str, tenant_id: str | None = None) -> CostReport:
        """Price counted operations (pure: also what-ifs, e.g. ``{"messages_in": 10_000}``)."""
        operations, prices = self._profile.document.operations, self._prices.document.prices
        unpriced = {k: v for k, v in sorted(counts.items()) if k not in operations}
        priced = {k: v for k, v in counts.items() if k in operations}
        for key, value in priced.items():
            if value < 0:
                raise ValueError(f"a count cannot be negative: {key}={value}")
        lines = []
        for operation in sorted(priced, key=_order):
            count = _billed(operation, priced)
            if count == 0:
                continue
            for meter, per_operation in operations[operation].resources.items():
                quantity = per_operation * count
                if quantity == 0:
                    continue
                price = prices[meter]
                unit_price = price.unit_price
                lines.append(CostLine(operation=operation, resource=meter, kind=price.kind, count=count,
                                      quantity=quantity, unit=price.unit, unit_price=unit_price,
                                      amount=round_usd(quantity * unit_price)))
        subtotals = {kind: sum((x.amount for x in lines if x.kind == kind), Decimal(0)) for kind in KINDS}
        return CostReport(tenant_id=tenant_id, month=month, price_list_version=self._prices.document.version,
                          profile_version=self._profile.document.version, counts=dict(sorted(counts.items())),
                          lines=lines, subtotals=subtotals, total=sum(subtotals.values(), Decimal(0)),
                          unpriced=unpriced, assumptions=self.assumptions())

    def assumptions(self) -> list[str]:
        prices, profile = self._prices.document, self._profile.document
        tiers = "; ".join(f"{tier} as {model}" for tier, model in sorted(prices.llm_tiers.items()))
        return [
            f"List prices in {prices.region} (price list {prices.version}); free tiers and volume discounts are "
            "not deducted.",
            "Lambda on arm64 at each function's configured memory; its duration is modelled from measured CPU "
            "time, AWS calls and channel API calls (see the profile's duration model).",
            "DynamoDB on demand; request units from the item sizes measured when the profile was made.",
            f"LLM tokens priced per tier: {tiers}.",
            "broadcast_messages are also counted in messages_out: they are priced with the broadcast profile and "
            "messages_out for the rest.",
            f"Per-operation figures come from profile {profile.version} (measured {profile.measured_at:%Y-%m-%d} "
            "on the local stack with `make bench`): one scenario per operation, not this tenant's own traffic.",
            "Not included: storage and data transfer, CloudWatch, S3, Secrets Manager and KMS requests, and the "
            "REST requests of agents and integrators.",
            *profile.left_out,
        ]


def _billed(operation: str, counts: dict[str, int]) -> int:
    """How many of `operation` are priced with its own profile: a whole minus its parts (never below 0)."""
    parts = sum(counts.get(part, 0) for part, whole in SUBSETS.items() if whole == operation)
    return max(0, counts[operation] - parts)


def _order(operation: str) -> tuple[int, str]:
    return (OPERATIONS.index(operation) if operation in OPERATIONS else len(OPERATIONS), operation)
