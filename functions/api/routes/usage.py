"""/v1/usage, /v1/quotas and /v1/quotes: what a tenant's traffic counted as (sessions as the platforms we replace
sell them, Meta's per-message charges and the older 24-hour windows beside them), the plan's quotas, and the
quote calculator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from functions.api import deps
from shared.errors import InvalidInput
from shared.http.context import require
from shared.models.quotes import Quote, QuoteRequest
from shared.services.quotas import QuotaReport

router = APIGatewayHttpRouter()
TAGS = ["Usage and billing"]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get("/v1/usage", tags=TAGS, summary="A month's sessions and Meta charges, by channel",
            description="Sessions (by channel, kind — no bot, bot, AI by model tier — and how they ended), Meta's "
                        "per-message charges priced with the rate card (by category and market, user- vs "
                        "business-initiated) and the conversation-based 24-hour windows for comparison. Months "
                        "are UTC; a session counts in the month it started.")
def get_usage(month: Annotated[str | None, Query(description="YYYY-MM (UTC); default: this month",
                                                 max_length=7)] = None) -> dict[str, Any]:
    who = require(router, "reports:read")
    if month is None:
        month = datetime.now(UTC).strftime("%Y-%m")
    if not MONTH.match(month):
        raise InvalidInput(f"month must be YYYY-MM, not {month!r}")
    return deps.usage().monthly(who.tenant_id or "", month)


@router.get("/v1/quotas", tags=TAGS, summary="The plan's quotas: used, limit, overage and what happens at the limit",
            description="Sessions of this month (UTC), contacts, agents (users) and bots: how much is used of the "
                        "plan's limit, the percentage and alert thresholds reached, what is over the plan, and "
                        "what happens at 100%. Customers are never refused: sessions beyond the plan are served "
                        "and counted as over plan. An operator sets the limits with the platform plan endpoint.")
def get_quotas() -> QuotaReport:
    who = require(router, "reports:read")
    return deps.quotas().report(who.tenant_id or "")


@router.post("/v1/quotes", tags=TAGS, summary="Quote setup and monthly fees from the price book",
             description="Channels, bot generation, use cases with their integrations, expected monthly sessions "
                         "and agents give a setup and a monthly estimate, every line explained; Meta's WhatsApp "
                         "fees are a separate pass-through estimate when template volumes are given.")
def post_quote(body: QuoteRequest) -> Quote:
    require(router, "reports:read")
    from shared.services.quotes import PriceBook, quote

    return quote(body, PriceBook.load(), on=datetime.now(UTC).date())
