"""Workflows (SQS, fed by EventBridge, the workflows' own messages and one-time schedules): domain events start
the workflows they trigger and answer waiting questions; `start`, `resume` and `continue` messages run
executions; the per-minute tick starts due cron workflows."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.services.workflows import WorkflowService
from shared.topology_names import WORKFLOW_EVENT_TYPES, WORKFLOW_TICK
from shared.wiring import workflow_service


@lru_cache(maxsize=1)
def get_service() -> WorkflowService:
    return workflow_service(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    body = json.loads(record.body)
    service = get_service()
    kind = body.get("kind")
    if kind is not None:
        logger.append_keys(tenant_id=body.get("tenant_id"), execution_id=body.get("execution_id"))
        if kind == "start":
            started = service.start(body)
            metrics.add_metric(name="WorkflowStarted" if started else "WorkflowStartSkipped", unit=MetricUnit.Count,
                               value=1)
        elif kind == "resume":
            resumed = service.resume(body)
            logger.info("workflow resume", extra={"reason": body.get("reason"), "resumed": resumed})
        elif kind == "continue":
            service.run(str(body["tenant_id"]), str(body["execution_id"]))
        else:
            logger.warning("unexpected workflow message", extra={"kind": kind})
        return
    detail_type, detail = body.get("detail-type"), body.get("detail") or {}
    if detail_type == WORKFLOW_TICK:
        logger.info("workflow tick", extra=service.tick())
    elif detail_type in WORKFLOW_EVENT_TYPES:
        logger.append_keys(tenant_id=detail.get("tenant_id"), conversation_id=detail.get("conversation_id"))
        result = service.on_event(str(detail_type), detail, event_id=str(body.get("id") or record.message_id))
        if result.get("started"):
            metrics.add_metric(name="WorkflowStarted", unit=MetricUnit.Count, value=result["started"])
    else:
        logger.warning("unexpected record", extra={"detail_type": detail_type})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
