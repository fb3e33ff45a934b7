"""Bot turn (SQS, fed by EventBridge): MessageReceived, ConversationClosed and BotFlowRequested (a workflow
starts a flow) events, and the bot's own idle-timeout checks. One turn per conversation at a time; bursts are
coalesced (shared.services.bot_runtime).

BotTurnLatency is the time this function spent on a record that ran a turn (engine, model calls, integrations,
replies enqueued), by the generation that answered it (rules, keywords, intents, knowledge, generative, fallback,
none), plus once without that dimension for the alarm (a percentile cannot be summed across dimensions).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.models.events import BotFlowRequested, BotTimeoutCheck, ConversationClosed, MessageReceived
from shared.observability import logger, metric_by, metrics, tracer
from shared.services.bot_runtime import BotOutcome, BotRuntime
from shared.wiring import bot_runtime


@lru_cache(maxsize=1)
def get_service() -> BotRuntime:
    return bot_runtime(get_settings())


@tracer.capture_method
def handle_record(record: SQSRecord, attempt: int) -> None:
    body = json.loads(record.body)
    kind, detail = body.get("detail-type"), body["detail"]
    logger.append_keys(tenant_id=detail.get("tenant_id"), conversation_id=detail.get("conversation_id"))
    outcome: BotOutcome
    started = time.perf_counter()
    if kind == "MessageReceived":
        outcome = get_service().on_message(MessageReceived.model_validate(detail))
    elif kind == "ConversationClosed":
        outcome = get_service().on_conversation_closed(ConversationClosed.model_validate(detail))
    elif kind == "BotFlowRequested":
        outcome = get_service().on_flow_requested(BotFlowRequested.model_validate(detail))
    elif kind == "BotTimeoutCheck":
        outcome = get_service().on_timeout_check(BotTimeoutCheck.model_validate(detail))
    else:
        logger.warning("unexpected record", extra={"detail_type": kind})
        return
    latency_ms = (time.perf_counter() - started) * 1000
    logger.info("bot record handled", extra={"kind": outcome.kind, "generation": outcome.generation,
                                              "replies": outcome.replies, "ended": outcome.ended})
    if outcome.kind == "turn":
        metrics.add_metric(name="BotTurns", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BotTurnLatency", unit=MetricUnit.Milliseconds, value=latency_ms)  # alarmed
        metric_by("BotTurnLatency", MetricUnit.Milliseconds, latency_ms, generation=outcome.generation or "none")
    if outcome.ended:
        metrics.add_metric(name=f"BotSessionsEnded_{outcome.ended}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, fifo=False)
