"""Usage meter (SQS `usage`, fed by the `usage` rule): counts sessions and Meta's per-message charges."""

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
from shared.services.usage import UsageMeter
from shared.wiring import usage_meter


@lru_cache(maxsize=1)
def get_service() -> UsageMeter:
    return usage_meter(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    envelope = json.loads(record.body)
    detail_type, detail = str(envelope.get("detail-type") or ""), envelope.get("detail") or {}
    logger.append_keys(tenant_id=detail.get("tenant_id"), event_id=envelope.get("id"))
    outcome = get_service().on_event(detail_type, detail)
    if outcome == "started":
        metrics.add_metric(name="SessionsStarted", unit=MetricUnit.Count, value=1)
    elif outcome == "priced":
        metrics.add_metric(name="MetaMessagesPriced", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
