"""Reports on the local stack: the DynamoDB adapter (moto server) keeps a generated month that matches a recount;
end to end, a customer's conversation answered and closed through the API, with a CSAT answer, shows in
`GET /v1/reports/*` for its tenant only, and the message carries its sentiment."""

from __future__ import annotations

import copy
import csv
import io
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb_reports import DynamoReports
from shared.services.reports import ReportAggregator
from tests.integration.conftest import table, wait_for
from tests.integration.tenants import Tenant
from tests.unit.test_reports import CAMPAIGNS, generate_month

pytestmark = pytest.mark.integration

WA_ID = "5491160000931"


def test_the_adapter_keeps_a_generated_month_that_matches_a_recount(stack: LocalStack) -> None:
    tenant = f"rpt-{uuid.uuid4().hex[:8]}"
    events, truth = generate_month(3, conversations=40)
    store = DynamoReports(table(stack))
    agg = ReportAggregator(store, campaigns=lambda t, c: CAMPAIGNS.get(c))
    delivered = sorted(events + events[::7], key=lambda x: x[3])  # at-least-once, duplicates next to originals
    outcomes = [agg.on_event(kind, {**copy.deepcopy(d), "tenant_id": tenant}, event_id=i, event_time=at)
                for kind, d, i, at in delivered]
    assert outcomes.count("counted") == len(events)
    assert outcomes.count("duplicate") == len(events[::7])

    def report(name: str, **kw: Any) -> dict[str, Any]:
        return agg.report(tenant, name, start=date(2026, 10, 31), end=date(2026, 12, 31),
                          time_zone="America/Bogota", **kw)

    opened = {s["date"]: s["opened"] for s in report("conversations")["series"] if s["opened"]}
    assert opened == {d.isoformat(): n for d, n in truth["opened"].items()}
    assert report("messages")["totals"]["in"] == sum(truth["in"].values())
    assert report("responses")["totals"]["response"]["count"] == sum(truth["out"].values())
    board = {row["agent"]: row for row in report("agents")["agents"]}
    assert {a: r["assigned"] for a, r in board.items()} == dict(truth["assigned"])
    closed_rows = [f for day in (date(2026, 11, 1) + timedelta(days=n) for n in range(45))
                   for f in store.closed(tenant, day)]
    assert len(closed_rows) == sum(truth["closed"].values())
    assert all(f.opened_at is not None and f.closed_at is not None for f in closed_rows)


def test_a_conversation_shows_in_the_reports_of_its_tenant_only(stack: LocalStack) -> None:
    shop = Tenant(stack, "reportes-tienda", "300000000000931")
    other = Tenant(stack, "reportes-otra", "300000000000932")
    today = datetime.now(UTC).date().isoformat()
    window = f"from={today}&to={today}&tz=UTC"

    shop.say(WA_ID, "Hola, el pedido llegó roto, es un desastre")
    conversation = shop.conversation(WA_ID)
    cid = conversation["conversation_id"]
    shop.api("POST", f"/v1/conversations/{cid}/messages", {"content": {"type": "text", "body": "Lo sentimos"}},
             status=202)
    wait_for(lambda: shop.api("GET", f"/v1/reports/messages?{window}")["totals"]["out"] == 1)
    shop.api("POST", f"/v1/conversations/{cid}/close", {})
    shop.api("POST", f"/v1/conversations/{cid}/csat", {"score": 2, "answer_id": "form-1"}, status=202)
    shop.api("POST", f"/v1/conversations/{cid}/csat", {"score": 2, "answer_id": "form-1"}, status=202)  # again
    stack.wait_idle()

    def done() -> dict[str, Any] | None:
        totals = shop.api("GET", f"/v1/reports/conversations?{window}")["totals"]
        csat = shop.api("GET", f"/v1/reports/csat?{window}")["totals"]
        return totals if totals["closed"] == 1 and csat["answers"] == 1 else None

    try:
        conversations = wait_for(done)
    except AssertionError:
        raise AssertionError(shop.api("GET", f"/v1/reports/conversations?{window}")) from None
    assert conversations["opened"] == 1 and conversations["closed_by"] == {"agent": 1}
    assert conversations["handled_by"] == {"agent": 1}
    messages = shop.api("GET", f"/v1/reports/messages?{window}")["totals"]
    assert messages["in"] == 1 and messages["out_by"] == {"api": 1} and messages["in_by_type"] == {"text": 1}
    responses = shop.api("GET", f"/v1/reports/responses?{window}")["totals"]
    assert responses["first_response"]["count"] == 1 and responses["first_response"]["by"] == {"api": 1}
    assert shop.api("GET", f"/v1/reports/csat?{window}")["totals"]["distribution"]["2"] == 1
    by_channel = shop.api("GET", f"/v1/reports/messages?{window}&channel={shop.channel_id}")["totals"]
    assert by_channel["in"] == 1

    sentiment = shop.api("GET", f"/v1/reports/sentiment?{window}")["totals"]
    assert sentiment["messages"] == {"NEGATIVE": 1} and sentiment["conversations"] == {"NEGATIVE": 1}
    detail = shop.api("GET", f"/v1/conversations/{cid}")
    assert [m["sentiment"] for m in detail["messages"] if m["direction"] == "in"] == ["NEGATIVE"]

    export = shop.api("POST", "/v1/reports/exports", {"from": today, "to": today, "tz": "UTC"})
    assert export["rows"] == 1
    with urllib.request.urlopen(export["download_url"], timeout=10) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8-sig"))))
    assert [(r["conversation_id"], r["csat"], r["handled_by"], r["sentiment"]) for r in rows] == \
        [(cid, "2", "agent", "NEGATIVE")]
    assert other.api("POST", "/v1/reports/exports", {"from": today, "to": today, "tz": "UTC"})["rows"] == 0
    summary = shop.api("GET", f"/v1/reports/monthly/{today[:7]}?tz=UTC")
    assert summary["figures"]["conversations_closed"] == 1 and summary["figures"]["csat_avg"] == 2.0
    assert summary["usage"]["sessions"] == 1
    assert "only finished" in str(shop.api("POST", f"/v1/reports/analytics/{today}", status=422))
    costs = shop.api("GET", f"/v1/costs?month={today[:7]}")  # the same counters, priced with the profile
    assert costs["counts"]["messages_in"] == 1 and costs["counts"]["messages_out"] == 1
    assert float(costs["total"]) > 0 and not costs["unpriced"]
    assert float(other.api("GET", f"/v1/costs?month={today[:7]}")["total"]) == 0

    assert other.api("GET", f"/v1/reports/conversations?{window}")["totals"]["opened"] == 0  # tenants apart
    bad = shop.api("GET", f"/v1/reports/conversations?{window.replace('UTC', 'Asia/Kolkata')}", status=422)
    assert "whole number of hours" in str(bad)
    unknown = shop.api("GET", f"/v1/reports/nope?{window}", status=422)
    assert "conversations" in str(unknown)
    missing = shop.api("POST", "/v1/conversations/nope/csat", {"score": 3}, status=404)
    assert missing
    assert shop.api("POST", f"/v1/conversations/{cid}/csat", {"score": 9}, status=422)
