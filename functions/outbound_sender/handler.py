"""Outbound sender (SQS FIFO): window guard, Graph API send, error classification, outcome recorded once."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.envelopes import OutboundRequest
from shared.observability import NAMESPACE, logger, metrics, tracer
from shared.services.outbound import SenderService
from shared.wiring import sender_service

_METRIC = {"sent": "MessagesSent", "duplicate": "DuplicateSends", "refused": "SendRefused", "failed": "SendFailed",
           "read_marked": "ReadReceiptsSent", "unconfirmed": "SendUnconfirmed"}


@lru_cache(maxsize=1)
def get_service() -> SenderService:
    return sender_service(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    request = OutboundRequest.model_validate_json(record.body)
    logger.append_keys(tenant_id=request.tenant_id, channel_id=request.channel_id)
    outcome = get_service().send(request, attempt=attempt)
    metrics.add_metric(name=_METRIC[outcome.kind], unit=MetricUnit.Count, value=1)
    if outcome.kind in ("failed", "refused"):
        logger.warning("message not sent", extra={"outcome": outcome.kind, "reason": outcome.reason,
                                                  "code": outcome.code, "request_id": request.request_id})
        with single_metric(name="SendFailedByCode", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as m:
            m.add_dimension(name="code", value=str(outcome.code if outcome.code is not None else outcome.reason))
    if outcome.alert:
        metrics.add_metric(name="ChannelNeedsAttention", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=True)
