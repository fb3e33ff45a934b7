"""Webhook dispatcher (SQS `webhooks`, fed by the `integrator-webhooks` rule): signed POSTs to integrators."""

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
from shared.services.webhooks import AttemptOutcome, WebhookService
from shared.wiring import webhook_service

_METRIC = {"succeeded": "WebhooksDelivered", "pending": "WebhookAttemptsFailed", "failed": "WebhooksFailed",
           "dead": "WebhooksDead"}


@lru_cache(maxsize=1)
def get_service() -> WebhookService:
    return webhook_service(get_settings())


def report(outcome: AttemptOutcome) -> None:
    logger.info("webhook attempt", extra={
        "delivery_id": outcome.delivery_id, "subscription_id": outcome.subscription_id,
        "event_type": outcome.event_type, "status": outcome.status, "attempt": outcome.attempt,
        "status_code": outcome.status_code, "error": outcome.error})
    metrics.add_metric(name=_METRIC[outcome.status], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def handle_record(record: SQSRecord, attempt: int) -> None:
        envelope = json.loads(record.body)
        logger.append_keys(tenant_id=(envelope.get("detail") or {}).get("tenant_id"), event_id=envelope.get("id"))
        get_service().dispatch(envelope, attempt=attempt, on_outcome=report,
                               time_left_s=lambda: context.get_remaining_time_in_millis() / 1000)

    return process_sqs_batch(event, context, handle_record, fifo=False)
