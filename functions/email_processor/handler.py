"""Email processor (SQS `email`, fed by SES's receipt rule: raw MIME to S3, its notification through SNS).

Each notification becomes one inbound unit per email channel it was addressed to (shared.services.email_channel):
verdicts checked, auto-replies and bounces dropped, threaded by Message-ID, attachments copied to S3. What is
refused or dropped is counted and logged with the reason; a failed read or enqueue is retried by SQS.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.observability import logger, metrics, tracer, webhook_received
from shared.services.email_channel import EmailIngestService, notification_of
from shared.wiring import email_ingest_service

_METRIC = {"enqueued": "EmailReceived", "refused": "EmailRefused", "ignored": "EmailIgnored",
           "no_channel": "EmailNoChannel", "malformed": "EmailMalformed"}


@lru_cache(maxsize=1)
def get_service() -> EmailIngestService:
    return email_ingest_service(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    if attempt == 1:  # SES's delivery, counted once however often it is retried
        webhook_received("email")
    try:
        notification = notification_of(record.body)
    except ValueError:
        notification = {}
    mail = notification.get("mail") if isinstance(notification.get("mail"), dict) else {}
    logger.append_keys(ses_message_id=(mail or {}).get("messageId"))
    outcome = get_service().receive(notification)
    metrics.add_metric(name=_METRIC[outcome.kind], unit=MetricUnit.Count, value=1)
    if outcome.kind == "enqueued":
        logger.info("email enqueued", extra={"channels": outcome.channels})
    else:
        logger.warning("email not enqueued", extra={"outcome": outcome.kind, "reason": outcome.reason})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
