"""Usage on the local stack: a customer who writes three times in a day, answered and closed each time, is three
sessions; the pricing of WhatsApp status webhooks is Meta's charge (priced once with the rate card) and the
older 24-hour windows are counted beside it; `GET /v1/usage` shows it to the tenant and to no other."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore
from shared.services.rate_card import RateCard
from tests.integration.conftest import table, wait_for
from tests.integration.payloads import envelope
from tests.integration.tenants import Tenant

pytestmark = pytest.mark.integration

WA_ID = "5491160000821"


def status(shop: Tenant, wamid: str, value: str, category: str, pricing_type: str) -> None:
    item: dict[str, Any] = {"id": wamid, "status": value, "timestamp": str(int(datetime.now(UTC).timestamp())),
                            "recipient_id": WA_ID, "pricing": {"billable": pricing_type == "regular",
                                                              "pricing_model": "PMP", "type": pricing_type,
                                                              "category": category}}
    code, _ = shop.stack.post_webhook(envelope({"statuses": [item]}, pni=shop.pni), secret=shop.secret,
                                      channel_id=shop.channel_id)
    assert code == 200


def reply_and_close(shop: Tenant, text: str) -> str:
    """Answer the customer's open conversation through the API, then close it; the reply's wamid."""
    conversation = wait_for(lambda: [c for c in shop.api("GET", "/v1/conversations?status=open")["items"]
                                     if c["contact_key"] == WA_ID])[0]
    cid = conversation["conversation_id"]
    shop.api("POST", f"/v1/conversations/{cid}/messages", {"content": {"type": "text", "body": text}}, status=202)
    store = DynamoMessageStore(table(shop.stack))

    def sent() -> str | None:
        out = [m for m in store.thread_messages(shop.tenant_id, shop.channel_id, WA_ID)
               if m["direction"] == "out" and m.get("text") == text and m.get("provider_message_id")]
        return str(out[0]["provider_message_id"]) if out else None

    wamid = str(wait_for(sent))
    shop.api("POST", f"/v1/conversations/{cid}/close", {})
    return wamid


def test_three_contacts_in_a_day_are_three_sessions_and_meta_charges_are_priced_once(stack: LocalStack) -> None:
    shop = Tenant(stack, "usage-tienda", "300000000000821")
    other = Tenant(stack, "usage-otra", "300000000000822")
    month = datetime.now(UTC).strftime("%Y-%m")

    shop.say(WA_ID, "Hola, ¿tienen stock?")
    first = reply_and_close(shop, "Sí, tenemos.")
    status(shop, first, "sent", "service", "free_customer_service")
    status(shop, first, "delivered", "service", "free_customer_service")  # pricing twice: counted once
    shop.say(WA_ID, "¿Y hacen envíos?")
    second = reply_and_close(shop, "Sí, a todo el país.")
    status(shop, second, "sent", "marketing", "regular")  # what Meta says the message was
    shop.say(WA_ID, "Gracias")
    stack.wait_idle()

    def counted() -> dict[str, Any] | None:
        usage = shop.api("GET", f"/v1/usage?month={month}")
        done = usage["sessions"]["total"] == 3 and usage["sessions"]["ended"].get("agent") == 2 and \
            usage["meta"]["messages"] == {"marketing": 1, "service": 1}
        return usage if done else None

    try:
        usage = wait_for(counted)
    except AssertionError:
        raise AssertionError(shop.api("GET", f"/v1/usage?month={month}")) from None
    sessions = usage["sessions"]
    assert (sessions["no_bot"], sessions["bot_only"], sessions["ai"], sessions["not_ended"]) == (3, 0, {}, 1)
    assert usage["sessions_by_channel"][shop.channel_id]["total"] == 3
    meta = usage["meta"]
    card = RateCard.load()
    price = card.price(datetime.now(UTC).date(), card.market_of(WA_ID), "MARKETING")
    assert meta["billable"] == {"marketing": 1} and Decimal(meta["total_cost_usd"]) == price
    assert (meta["user_initiated"], meta["business_initiated"]) == (1, 1)
    assert meta["cbp_windows"] == {"marketing": 1, "service": 1}
    assert meta["by_market"] == {card.market_of(WA_ID): {"marketing": 1, "service": 1}}

    assert other.api("GET", f"/v1/usage?month={month}")["sessions"]["total"] == 0  # tenants see only theirs
    bad = shop.api("GET", "/v1/usage?month=2026-13", status=422)
    assert "YYYY-MM" in str(bad)


def test_the_quote_calculator_explains_every_line(stack: LocalStack) -> None:
    shop = Tenant(stack, "usage-cotiza", "300000000000823")
    quote = shop.api("POST", "/v1/quotes", {
        "channels": ["whatsapp", "webchat"], "bot_generation": "ai", "ai_tier": "PRO",
        "use_cases": [{"name": "Seguimiento de pedidos", "complexity": "complex", "integrations": 3}],
        "expected_monthly_sessions": 12000, "agents": 5,
        "whatsapp_templates": {"market": "+54", "messages": {"MARKETING": 1000}}})
    lines = quote["setup_lines"] + quote["monthly_lines"]
    assert all(line["explanation"] for line in lines)
    assert Decimal(quote["totals"]["monthly"]) == sum(Decimal(line["amount"]) for line in quote["monthly_lines"])
    assert [p["code"] for p in quote["passthrough_lines"]] == ["meta.whatsapp.marketing"]
    assert any("Meta" in note for note in quote["notes"])
    refused = shop.api("POST", "/v1/quotes", {"channels": ["fax"], "bot_generation": "menu",
                                              "use_cases": [], "expected_monthly_sessions": 10}, status=422)
    assert "channels" in str(refused) and "webchat" in str(refused)  # where, and what is allowed
