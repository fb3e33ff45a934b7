"""Cost attribution: counted operations × measured resources × list prices, and GET /v1/costs."""

from __future__ import annotations

import copy
import json
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from shared.models.costs import CostReport
from shared.services.costs import (
    DEFAULT_PRICE_LIST,
    OPERATIONS,
    CostDataError,
    CostProfile,
    CostService,
    InvalidMonth,
    PriceList,
)

ALL_METERS = {"lambda.requests": "2", "lambda.arm64_gb_seconds": "0.5", "dynamodb.write_request_units": "3",
              "dynamodb.read_request_units": "1.5", "sqs.standard_requests": "4", "sqs.fifo_requests": "1",
              "eventbridge.custom_events": "2", "apigateway.http_requests": "1"}


@dataclass
class FakeCounts:
    """The reports store's port: a month's counted operations per tenant."""

    months: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def month_operations(self, tenant_id: str, month: str) -> dict[str, int]:
        self.asked.append((tenant_id, month))
        return dict(self.months.get((tenant_id, month), {}))


def hand_profile(operations: dict[str, dict[str, str]] | None = None) -> CostProfile:
    """A profile written by hand (the packaged one changes whenever `make bench` runs)."""
    tokens = {f"llm_{d}_tokens#{t}": {f"llm.{t}.{d}_tokens": "1"} for t in ("LITE", "PRO") for d in ("input", "output")}
    chosen = operations if operations is not None else {"messages_in": ALL_METERS, **tokens}
    return CostProfile.from_dict({
        "version": "test", "measured_at": "2026-11-22T00:00:00+00:00", "command": "by hand", "machine": "none",
        "method": "by hand", "lambda_memory_mb": {}, "import_ms": {}, "duration_model": {},
        "assumptions": [], "left_out": ["Nothing measured: a test profile."],
        "operations": {op: {"measured_as": "by hand", "derived_from": "", "resources": meters}
                       for op, meters in chosen.items()}})


def service(counts: FakeCounts | None = None, profile: CostProfile | None = None) -> CostService:
    return CostService(counts=counts or FakeCounts(), prices=PriceList.load(), profile=profile or hand_profile())


def amount(report: CostReport, operation: str, resource: str) -> Decimal:
    (line,) = [x for x in report.lines if x.operation == operation and x.resource == resource]
    return line.amount


# -- the price math ------------------------------------------------------------------------------------------
def test_price_math_by_hand_for_every_resource_kind() -> None:
    # given one million inbound messages, each using every AWS meter of the hand profile
    report = service().price({"messages_in": 1_000_000}, month="2026-11")
    # then each line is count × quantity × list price (aws_price_list.json)
    assert amount(report, "messages_in", "lambda.requests") == Decimal("0.400000")  # 2M × $0.20/1M
    assert amount(report, "messages_in", "lambda.arm64_gb_seconds") == Decimal("6.666700")  # 500k × $0.0000133334
    assert amount(report, "messages_in", "dynamodb.write_request_units") == Decimal("1.875000")  # 3M × $0.625/1M
    assert amount(report, "messages_in", "dynamodb.read_request_units") == Decimal("0.187500")  # 1.5M × $0.125/1M
    assert amount(report, "messages_in", "sqs.standard_requests") == Decimal("1.600000")  # 4M × $0.40/1M
    assert amount(report, "messages_in", "sqs.fifo_requests") == Decimal("0.500000")  # 1M × $0.50/1M
    assert amount(report, "messages_in", "eventbridge.custom_events") == Decimal("2.000000")  # 2M × $1.00/1M
    assert amount(report, "messages_in", "apigateway.http_requests") == Decimal("1.000000")  # 1M × $1.00/1M
    assert report.subtotals == {"lambda": Decimal("7.066700"), "dynamodb": Decimal("2.062500"),
                                "sqs": Decimal("2.100000"), "eventbridge": Decimal("2.000000"),
                                "apigateway": Decimal("1.000000"), "llm": Decimal("0")}
    assert report.total == Decimal("14.229200")


def test_llm_tokens_are_priced_per_tier_and_pro_costs_more_than_lite() -> None:
    tokens = {f"llm_{d}_tokens#{t}": 1_000_000 for t in ("LITE", "PRO") for d in ("input", "output")}
    report = service().price(tokens, month="2026-11")
    assert amount(report, "llm_input_tokens#LITE", "llm.LITE.input_tokens") == Decimal("0.060000")  # $0.00006/1K
    assert amount(report, "llm_output_tokens#LITE", "llm.LITE.output_tokens") == Decimal("0.240000")  # $0.00024/1K
    assert amount(report, "llm_input_tokens#PRO", "llm.PRO.input_tokens") == Decimal("0.800000")  # $0.0008/1K
    assert amount(report, "llm_output_tokens#PRO", "llm.PRO.output_tokens") == Decimal("3.200000")  # $0.0032/1K
    assert report.subtotals["llm"] == Decimal("4.300000")
    assert any("Nova Lite" in a and "Nova Pro" in a for a in report.assumptions)  # which model each tier is


def test_amounts_are_rounded_half_up_to_a_millionth_of_a_dollar() -> None:
    # 3 messages × 2 requests × $0.0000002 = $0.0000012 -> 0.000001; 5 × 2 × 0.0000002 = 0.000002
    assert amount(service().price({"messages_in": 3}, month="2026-11"), "messages_in", "lambda.requests") \
        == Decimal("0.000001")
    report = service().price({"messages_in": 5}, month="2026-11")
    line = next(x for x in report.lines if x.resource == "lambda.requests")
    assert (line.quantity, line.unit_price, line.amount) == (Decimal("10"), Decimal("0.0000002"), Decimal("0.000002"))
    dumped = line.model_dump(mode="json")
    assert (dumped["unit_price"], dumped["amount"]) == ("0.0000002", "0.000002")  # no exponents in JSON


def test_lines_add_up_to_the_subtotals_and_the_total() -> None:
    counts = {op: 1234 + 17 * i for i, op in enumerate(OPERATIONS)}
    report = service(profile=CostProfile.load()).price(counts, month="2026-11")
    assert report.lines
    for kind, subtotal in report.subtotals.items():
        assert subtotal == sum((x.amount for x in report.lines if x.kind == kind), Decimal(0))
    assert report.total == sum((x.amount for x in report.lines), Decimal(0)) == sum(report.subtotals.values())


def test_zero_traffic_costs_nothing() -> None:
    priced = service(profile=CostProfile.load())
    for counts in ({}, dict.fromkeys(OPERATIONS, 0)):
        report = priced.price(counts, month="2026-11")
        assert report.lines == [] and report.total == Decimal(0) and report.unpriced == {}
        assert report.model_dump(mode="json")["total"] == "0.000000"


def test_an_unknown_operation_is_reported_unpriced_not_ignored() -> None:
    report = service().price({"messages_in": 10, "voice_minutes": 7}, month="2026-11")
    assert report.unpriced == {"voice_minutes": 7}
    assert {x.operation for x in report.lines} == {"messages_in"}
    assert report.counts == {"messages_in": 10, "voice_minutes": 7}  # what was counted, as given


def test_missing_keys_count_zero() -> None:
    report = service().price({"llm_input_tokens#PRO": 1000}, month="2026-11")
    assert {x.operation for x in report.lines} == {"llm_input_tokens#PRO"} and report.unpriced == {}


def test_broadcast_messages_are_priced_once_not_again_as_messages_out() -> None:
    profile = hand_profile({"messages_out": {"lambda.requests": "1"}, "broadcast_messages": {"lambda.requests": "3"}})
    report = service(profile=profile).price({"messages_out": 10, "broadcast_messages": 4}, month="2026-11")
    counts = {x.operation: (x.count, x.quantity) for x in report.lines}
    assert counts == {"messages_out": (6, Decimal("6")), "broadcast_messages": (4, Decimal("12"))}


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        service().price({"messages_in": -1}, month="2026-11")


def test_monthly_asks_the_port_for_the_tenant_and_month() -> None:
    counts = FakeCounts({("acme", "2026-10"): {"llm_output_tokens#PRO": 2000}})
    report = service(counts).monthly("acme", "2026-10")
    assert counts.asked == [("acme", "2026-10")]
    assert (report.tenant_id, report.month, report.total) == ("acme", "2026-10", Decimal("0.006400"))  # 2K × $0.0032


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", "2026-11-01", "", "2026-00"])
def test_a_month_that_is_not_yyyy_mm_is_refused(month: str) -> None:
    with pytest.raises(InvalidMonth, match="YYYY-MM"):
        service().monthly("acme", month)


# -- the packaged data ---------------------------------------------------------------------------------------
def test_every_counted_operation_has_a_profile_and_every_meter_a_price() -> None:
    profile = CostProfile.load()  # validates shared/data/cost_profile.json against its pydantic model
    assert set(profile.document.operations) == set(OPERATIONS)
    service(profile=profile)  # refuses a profile using a meter the price list does not price
    for op in OPERATIONS:
        assert profile.document.operations[op].resources, op


def test_the_price_list_gives_date_and_source_of_each_price_and_the_model_of_each_tier() -> None:
    prices = PriceList.load().document
    for meter, price in prices.prices.items():
        assert price.source and price.reference and price.checked_on, meter
    assert "amazon.nova-lite" in prices.llm_tiers["LITE"] and "amazon.nova-pro" in prices.llm_tiers["PRO"]


def test_the_profile_was_measured_with_the_memory_the_functions_have_today() -> None:
    # A memory change in infra/topology.py changes Lambda GB-seconds: re-measure (`make bench`) when this fails.
    from infra import topology

    measured = CostProfile.load().document.lambda_memory_mb
    assert measured, "the profile names the functions it measured"
    configured = {f.name: f.memory_mb for f in topology.FUNCTIONS}
    assert {name: configured.get(name) for name in measured} == measured


def test_a_price_list_without_a_tier_price_and_a_profile_with_an_unpriced_meter_are_refused() -> None:
    raw = json.loads(DEFAULT_PRICE_LIST.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    del broken["prices"]["llm.PRO.output_tokens"]
    with pytest.raises(CostDataError, match=r"llm\.PRO\.output_tokens"):
        PriceList.from_dict(broken)
    with pytest.raises(CostDataError, match="kinesis.records"):
        service(profile=hand_profile({"messages_in": {"kinesis.records": "1"}}))


def test_a_report_that_does_not_add_up_cannot_be_built() -> None:
    good = service().price({"messages_in": 100}, month="2026-11").model_dump()
    with pytest.raises(ValueError, match="total"):
        CostReport.model_validate({**good, "total": good["total"] + Decimal("0.000001")})


# -- GET /v1/costs ---------------------------------------------------------------------------------------------
def api_event(path: str, *, scopes: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": "ANY /v1/{proxy+}", "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}), "headers": {}, "queryStringParameters": query,
        "pathParameters": {"proxy": path.removeprefix("/v1/")},
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "test"}, "requestId": "r", "routeKey": "ANY /v1/{proxy+}",
                           "stage": "$default", "timeEpoch": 0,
                           "authorizer": {"lambda": {"kind": "api_key", "principal_id": "key_1", "tenant_id": "acme",
                                                     "scopes": scopes, "rate_limit_per_s": 20}}},
        "body": None, "isBase64Encoded": False,
    }


@pytest.fixture
def counts() -> FakeCounts:
    return FakeCounts({("acme", "2026-10"): {"messages_in": 1_000_000, "sms_segments": 3}})


@pytest.fixture
def api(counts: FakeCounts, monkeypatch: pytest.MonkeyPatch) -> APIGatewayHttpResolver:
    from functions.api import deps
    from functions.api.routes import costs
    from shared.http import problems

    monkeypatch.setattr(deps, "costs", lambda: service(counts))
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register(app)
    app.include_router(costs.router)
    return app


def get(app: APIGatewayHttpResolver, **kwargs: Any) -> tuple[int, Any]:
    context: Any = {}  # the route never reads the Lambda context
    result = app.resolve(api_event("/v1/costs", **kwargs), context)
    return result["statusCode"], json.loads(result["body"])


def test_get_costs_prices_the_credentials_tenant_month(api: APIGatewayHttpResolver, counts: FakeCounts) -> None:
    status, body = get(api, scopes="reports:read", query={"month": "2026-10"})
    assert status == 200, body
    assert counts.asked == [("acme", "2026-10")]
    assert (body["tenant_id"], body["month"], body["total"]) == ("acme", "2026-10", "14.229200")
    assert body["unpriced"] == {"sms_segments": 3} and body["subtotals"]["dynamodb"] == "2.062500"
    assert {"operation": "messages_in", "resource": "lambda.requests", "kind": "lambda", "count": 1_000_000,
            "quantity": "2000000", "unit": "request", "unit_price": "0.0000002", "amount": "0.400000"} in body["lines"]


def test_get_costs_refuses_a_bad_month_with_400_and_the_reason(api: APIGatewayHttpResolver, counts: FakeCounts) -> None:
    status, body = get(api, scopes="reports:read", query={"month": "2026-13"})
    assert status == 400 and body["code"] == "invalid_month" and "YYYY-MM" in body["detail"]
    assert counts.asked == []


def test_get_costs_needs_reports_read(api: APIGatewayHttpResolver, counts: FakeCounts) -> None:
    assert get(api, scopes="contacts:read", query={"month": "2026-10"})[0] == 403
    assert counts.asked == []
