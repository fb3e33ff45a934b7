"""Inbound processor (SQS FIFO): normalize, store once, update the thread, publish domain events.

IngestLag is how long a unit took from the webhook's enqueue (the record's SentTimestamp) to processed, retries
and FIFO waits included: the lag a customer's message has before an agent or the bot can see it (alarmed).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.envelopes import InboundUnit
from shared.observability import logger, metrics, tracer
from shared.services.inbound import InboundService
from shared.wiring import inbound_service

_METRIC = {"stored": "MessagesStored", "duplicate": "DuplicateMessages", "status_applied": "StatusesApplied",
           "status_stale": "StatusesStale", "status_orphaned": "StatusesOrphaned",
           "account_applied": "AccountUpdates", "account_duplicate": "AccountUpdatesDuplicate",
           "account_ignored": "AccountUpdatesIgnored", "comment_stored": "CommentsStored",
           "comment_duplicate": "DuplicateComments", "comment_ignored": "CommentsIgnored"}


@lru_cache(maxsize=1)
def get_service() -> InboundService:
    return inbound_service(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    unit = InboundUnit.model_validate_json(record.body)
    logger.append_keys(tenant_id=unit.tenant_id, channel_id=unit.channel_id)
    outcome = get_service().process(unit, attempt=attempt)
    metrics.add_metric(name=_METRIC[outcome.kind], unit=MetricUnit.Count, value=1)
    if outcome.severity in ("warning", "critical"):  # alarmed (infra: the AccountHealthAlerts alarm)
        metrics.add_metric(name="AccountHealthAlerts", unit=MetricUnit.Count, value=1)
    if outcome.conversation_opened:
        metrics.add_metric(name="ConversationsOpened", unit=MetricUnit.Count, value=1)
    lag_ms = ingest_lag_ms(record)
    if lag_ms is not None:  # alarmed (infra: ingest-lag-p95)
        metrics.add_metric(name="IngestLag", unit=MetricUnit.Milliseconds, value=lag_ms)


def ingest_lag_ms(record: SQSRecord) -> int | None:
    """Now minus when SQS accepted the record (SentTimestamp, epoch ms), never negative (clock skew); None for a
    record without the attribute (a hand-made event), so a metric never fails work already done."""
    sent_ms = record.attributes.get("SentTimestamp")
    return None if sent_ms is None else max(0, int(time.time() * 1000) - int(sent_ms))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=True)
