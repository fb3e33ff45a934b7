"""Plans and quotas on the local stack: a tenant whose plan includes 2 sessions a month has 3 customers write; all 3
are served, `GET /v1/quotas` shows 3 used of 2 with 1 over the plan, and the integrator's webhook gets exactly one
QuotaThresholdReached per threshold (80% and 100%), however the events were delivered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore
from tests.integration.api_client import OPERATOR_KEY, call
from tests.integration.conftest import table, wait_for
from tests.integration.receiver import Receiver, receiver_fixture  # noqa: F401 - the fixture
from tests.integration.tenants import Tenant

pytestmark = pytest.mark.integration

CUSTOMERS = ("5491160000901", "5491160000902", "5491160000903")
BOT = """
id: avisos
name: Avisos
channels: ["*"]
start: main
flows:
  main:
    start: fin
    nodes:
      fin: {type: close, text: "Chau"}
"""


def test_customers_beyond_the_plan_are_served_counted_over_plan_and_alerted_once(stack: LocalStack,
                                                                                receiver: Receiver) -> None:
    shop = Tenant(stack, "quota-tienda", "300000000000901")
    other = Tenant(stack, "quota-otra", "300000000000902")
    plan = call(stack, "PUT", f"/platform/v1/tenants/{shop.tenant_id}/plan", {
        "name": "mini", "rate_limit_per_s": 1000, "max_sessions_per_month": 2, "max_agents": 3, "max_bots": 1},
        key=OPERATOR_KEY)
    assert plan.status == 200, plan.text
    assert plan.body["plan"]["alert_thresholds"] == [80, 100]
    shop.api("POST", "/v1/webhooks", {"url": receiver.url("hooks"),
                                      "events": ["QuotaThresholdReached"]}, status=201)

    for number, wa_id in enumerate(CUSTOMERS, 1):
        shop.say(wa_id, f"Hola, soy el cliente {number}")
    stack.wait_idle()

    # all three are served: each message is stored in an open conversation the agents see
    store = DynamoMessageStore(table(stack))
    for number, wa_id in enumerate(CUSTOMERS, 1):
        texts = [m.get("text") for m in store.thread_messages(shop.tenant_id, shop.channel_id, wa_id)]
        assert f"Hola, soy el cliente {number}" in texts
    open_keys = {c["contact_key"] for c in shop.api("GET", "/v1/conversations?status=open")["items"]}
    assert set(CUSTOMERS) <= open_keys

    def counted() -> dict[str, Any] | None:
        quotas = {q["resource"]: q for q in shop.api("GET", "/v1/quotas")["items"]}
        return quotas if quotas["sessions"]["used"] == 3 else None

    quotas = wait_for(counted)
    month = datetime.now(UTC).strftime("%Y-%m")
    sessions = quotas["sessions"]
    assert (sessions["period"], sessions["used"], sessions["limit"], sessions["percent"], sessions["over_plan"]) == (
        month, 3, 2, 150.0, 1)
    assert sessions["thresholds_reached"] == [80, 100] and "Never refused" in sessions["at_limit"]
    assert (quotas["contacts"]["used"], quotas["contacts"]["over_plan"]) == (3, None)
    assert (quotas["agents"]["limit"], quotas["bots"]["limit"]) == (3, 1)
    usage = shop.api("GET", f"/v1/usage?month={month}")
    assert (usage["max_sessions_per_month"], usage["sessions_over_plan"]) == (2, 1)

    wait_for(lambda: len([p for p in receiver.payloads("hooks") if p["type"] == "QuotaThresholdReached"]) >= 2)
    stack.wait_idle()  # anything late (a second alert, a redelivery) has arrived by now
    alerts = [p["data"] for p in receiver.payloads("hooks") if p["type"] == "QuotaThresholdReached"]
    assert sorted((a["resource"], a["period"], a["threshold_percent"], a["used"], a["limit"]) for a in alerts) == [
        ("sessions", month, 80, 2, 2), ("sessions", month, 100, 2, 2)]

    # configuration is refused at its limit (409, naming the plan and the limit); a new version is not a new bot
    shop.api("POST", "/v1/bots", {"source": BOT, "activate": False}, status=201)
    shop.api("POST", "/v1/bots", {"source": BOT.replace("Chau", "Adiós"), "activate": False}, status=201)
    refused = shop.api("POST", "/v1/bots", {"source": BOT.replace("id: avisos", "id: otro"), "activate": False},
                       status=409)
    assert refused["code"] == "quota_reached" and "'mini' allows 1 bots (max_bots)" in refused["detail"]

    # tenant isolation: the other tenant's quotas are its own (default plan, nothing used)
    theirs = {q["resource"]: q for q in other.api("GET", "/v1/quotas")["items"]}
    assert (theirs["sessions"]["used"], theirs["sessions"]["limit"]) == (0, 2000)
