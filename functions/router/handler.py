"""Router (SQS, fed by EventBridge): the contact center's routing. Handoffs and messages of unowned conversations
are routed to a campaign; closed, unassigned and transferred conversations, agents going online or raising
their limit drain the waiting queues; going offline re-queues; a per-minute tick finishes what crashes left.

Each assignment from a campaign's queue to an agent (ConversationAssigned, reason "queue") is counted as it is
published: AssignmentWait (its wait_s) and AssignedWithinSla / AssignedAfterSla against ASSIGNMENT_SLA_S, so
the dashboard charts service level = within / (within + after) and an alarm watches it. Manual assignments,
takes, transfers, reopenings and external desks are not waits in a queue and are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.events import (
    AgentCapacityChanged,
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationUnassigned,
    HandoffRequested,
    MessageReceived,
    TenantEvent,
)
from shared.observability import logger, metrics, tracer
from shared.services.routing import RoutingService
from shared.topology_names import ASSIGNMENT_SLA_S, ROUTING_TICK
from shared.wiring import routing_service


@lru_cache(maxsize=1)
def get_service() -> RoutingService:
    return routing_service(get_settings(), published=record_assignments)


def record_assignments(events: Sequence[TenantEvent]) -> None:
    """Metrics of the queue assignments among published events: wait, and within or after the SLA (both always
    written, 0 or 1, so a window of only late assignments still has a `within` series to divide)."""
    for event in events:
        if isinstance(event, ConversationAssigned) and event.reason == "queue" and event.assignee_kind == "agent":
            within = event.wait_s <= ASSIGNMENT_SLA_S
            metrics.add_metric(name="AssignmentWait", unit=MetricUnit.Seconds, value=event.wait_s)
            metrics.add_metric(name="AssignedWithinSla", unit=MetricUnit.Count, value=int(within))
            metrics.add_metric(name="AssignedAfterSla", unit=MetricUnit.Count, value=int(not within))


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    body = json.loads(record.body)
    kind, detail = body.get("detail-type"), body.get("detail") or {}
    logger.append_keys(tenant_id=detail.get("tenant_id"), conversation_id=detail.get("conversation_id"))
    service = get_service()
    if kind == "HandoffRequested":
        result = service.on_handoff(HandoffRequested.model_validate(detail))
        logger.info("handoff routed", extra={"outcome": result.outcome, "campaign_id": result.campaign_id})
        metrics.add_metric(name=f"Routing_{result.outcome}", unit=MetricUnit.Count, value=1)
    elif kind == "MessageReceived":
        result = service.on_message(MessageReceived.model_validate(detail))
        if result.outcome not in ("bot", "already_routed", "closed", "no_campaign"):
            metrics.add_metric(name=f"Routing_{result.outcome}", unit=MetricUnit.Count, value=1)
    elif kind == "ConversationClosed":
        closed = ConversationClosed.model_validate(detail)
        if closed.campaign_id or closed.assignee:
            service.on_capacity_freed(closed.tenant_id, campaign_id=closed.campaign_id, agent_id=closed.assignee)
    elif kind == "ConversationUnassigned":
        left = ConversationUnassigned.model_validate(detail)
        service.on_capacity_freed(left.tenant_id, campaign_id=left.campaign_id, agent_id=left.agent_id)
    elif kind == "AgentStatusChanged":
        service.on_agent_status(AgentStatusChanged.model_validate(detail))
    elif kind == "AgentCapacityChanged":
        service.on_capacity(AgentCapacityChanged.model_validate(detail))
    elif kind == ROUTING_TICK:
        logger.info("routing tick", extra=service.tick())
    else:
        logger.warning("unexpected record", extra={"detail_type": kind})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
