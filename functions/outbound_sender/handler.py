"""Outbound sender (SQS FIFO): window guard, Graph API send, error classification, outcome recorded once.

A failed send is counted twice: SendFailed with the `service` dimension only (alarmed: infra send-failed) and
SendFailed by `error_code` (the provider's code, "none" when it gave none) for the dashboard. Refusals (our own
guard: window closed, channel disabled, ...) are SendRefused.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.envelopes import OutboundRequest
from shared.observability import logger, metric_by, metrics, tracer
from shared.services.outbound import SenderService
from shared.services.pii import redact
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
        # A provider's message may name the recipient (Twilio: "The 'To' number +1555... is not valid"): redacted.
        reason = redact(outcome.reason).text if outcome.reason else None
        logger.warning("message not sent", extra={"outcome": outcome.kind, "reason": reason,
                                                  "code": outcome.code, "request_id": request.request_id})
    if outcome.kind == "failed":  # beside the plain SendFailed above, which the send-failed alarm reads
        metric_by("SendFailed", MetricUnit.Count, 1, error_code="none" if outcome.code is None else str(outcome.code))
    if outcome.alert:
        metrics.add_metric(name="ChannelNeedsAttention", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=True)
