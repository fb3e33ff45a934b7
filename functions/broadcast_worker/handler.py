"""Broadcast worker (SQS `broadcasts`, batch size 1): prepare an audience, send one bucket, or tick.

Messages: {"op": "prepare", tenant_id, broadcast_id}, {"op": "send", tenant_id, broadcast_id, bucket}, and the
per-minute schedule's BroadcastTick event. Long work hands itself over before the deadline (a new message).
A crash leaves the message to come back after its visibility timeout; claims make the repeat harmless.

Progress: each bucket run adds its recipients sent, failed, unconfirmed and left for a retry
(BroadcastMessages*), besides one Broadcast_<op>_<outcome> count per message handled.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.services.broadcast_sender import BucketResult
from shared.services.broadcasts import BroadcastService
from shared.topology_names import BROADCAST_TICK
from shared.wiring import broadcast_service

HANDOVER_MS = 60_000  # stop taking new groups with this much time left


class WorkMessage(BaseModel):
    op: Literal["prepare", "send"]
    tenant_id: str = Field(min_length=1)
    broadcast_id: str = Field(min_length=1)
    bucket: int | None = Field(default=None, ge=0)


@lru_cache(maxsize=1)
def get_service() -> BroadcastService:
    return broadcast_service(get_settings(), on_bucket=record_bucket)


def record_bucket(result: BucketResult) -> None:
    """One bucket run's progress (zeros included, so the series are continuous while a broadcast sends)."""
    for name, count in (("BroadcastMessagesSent", result.sent), ("BroadcastMessagesFailed", result.failed),
                        ("BroadcastMessagesUnconfirmed", result.unconfirmed),
                        ("BroadcastMessagesRetryLater", result.retry_later)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)


def _handover_ms() -> int:
    return int(os.environ.get("BROADCAST_HANDOVER_MS", HANDOVER_MS))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def deadline_reached() -> bool:
        return context.get_remaining_time_in_millis() < _handover_ms()

    @tracer.capture_method
    def handle_record(record: SQSRecord, attempt: int) -> None:
        body = json.loads(record.body)
        if body.get("detail-type") == BROADCAST_TICK:
            result = get_service().tick()
            metrics.add_metric(name="BroadcastsStarted", unit=MetricUnit.Count, value=result["started"])
            return
        message = WorkMessage.model_validate(body)
        logger.append_keys(tenant_id=message.tenant_id, broadcast_id=message.broadcast_id, bucket=message.bucket)
        service = get_service()
        if message.op == "prepare":
            outcome = service.run_prepare(message.tenant_id, message.broadcast_id, deadline_reached)
        else:
            if message.bucket is None:
                logger.warning("send message without a bucket dropped")
                return
            outcome = service.run_send(message.tenant_id, message.broadcast_id, message.bucket, deadline_reached)
        logger.info("broadcast work", extra={"op": message.op, "outcome": outcome, "attempt": attempt})
        metrics.add_metric(name=f"Broadcast_{message.op}_{outcome}", unit=MetricUnit.Count, value=1)

    return process_sqs_batch(event, context, handle_record, fifo=False)
