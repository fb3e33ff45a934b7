"""Reports (SQS `reports`, fed by the `reports` rule): hourly counters, conversation facts and agents' status time."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.services.reports import ReportAggregator
from shared.timestamps import instant
from shared.topology_names import ANALYTICS_TICK
from shared.wiring import report_aggregator, report_exports

if TYPE_CHECKING:  # the exports run on the schedule's tick only: not imported for every event
    from shared.services.report_exports import ReportExports


@lru_cache(maxsize=1)
def get_service() -> ReportAggregator:
    return report_aggregator(get_settings())


@lru_cache(maxsize=1)
def get_exports() -> ReportExports:
    return report_exports(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    envelope = json.loads(record.body)
    detail_type, detail = str(envelope.get("detail-type") or ""), envelope.get("detail") or {}
    if detail_type == ANALYTICS_TICK:
        logger.info("analytics export", extra={"exported": len(get_exports().export_due())})
        return
    logger.append_keys(tenant_id=detail.get("tenant_id"), conversation_id=detail.get("conversation_id"),
                       event_id=envelope.get("id"))
    outcome = get_service().on_event(detail_type, detail, event_id=str(envelope.get("id") or ""),
                                     event_time=instant(envelope.get("time")))
    if outcome == "duplicate":
        metrics.add_metric(name="ReportEventsDuplicate", unit=MetricUnit.Count, value=1)
    elif outcome == "counted":
        metrics.add_metric(name="ReportEventsCounted", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
