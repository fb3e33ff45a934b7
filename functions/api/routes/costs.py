"""/v1/costs: what a tenant's month of traffic cost AWS at list prices (cost attribution)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from functions.api import deps
from shared.http.context import require
from shared.models.costs import CostReport

router = APIGatewayHttpRouter()
TAGS = ["Usage and billing"]


@router.get("/v1/costs", tags=TAGS, summary="A month's AWS cost of the tenant's traffic, at list prices",
            description="The month's counted operations (messages, statuses, conversations, assignments, bot "
                        "sessions and turns, LLM tokens by tier, broadcast messages) times the measured AWS "
                        "resources of each (Lambda requests and GB-seconds, DynamoDB request units, SQS requests, "
                        "EventBridge events, API Gateway requests, LLM tokens), at us-east-1 list prices: one line "
                        "per operation and resource, subtotals per resource kind, a total in USD (6 decimals), the "
                        "operations that could not be priced, and the assumptions. Months are UTC. 400 when the "
                        "month is not YYYY-MM.")
def get_costs(month: Annotated[str | None, Query(description="YYYY-MM (UTC); default: this month")] = None
              ) -> CostReport:
    who = require(router, "reports:read")
    return deps.costs().monthly(who.tenant_id or "", month or datetime.now(UTC).strftime("%Y-%m"))
