"""Auto reply (SQS, fed by the MessageReceived rule): the demo's fixed reply until the bot engine exists."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.events import MessageReceived
from shared.observability import logger, metrics, tracer
from shared.services.auto_reply import AutoReplyService
from shared.wiring import auto_reply_service


@lru_cache(maxsize=1)
def get_service() -> AutoReplyService:
    return auto_reply_service(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    event = MessageReceived.model_validate(json.loads(record.body)["detail"])
    logger.append_keys(tenant_id=event.tenant_id, channel_id=event.channel_id)
    if get_service().on_message(event).queued:
        metrics.add_metric(name="AutoRepliesQueued", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
