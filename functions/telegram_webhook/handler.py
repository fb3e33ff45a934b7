"""Telegram webhook (HTTP API): checks the secret token, enqueues durably, answers 200.

The answer to an inline-keyboard tap carries `answerCallbackQuery` (the Bot API runs one method given in the
webhook's response), so the customer's button stops spinning without another call.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import DomainError
from shared.http import webhooks
from shared.observability import logger, metrics, tracer, webhook_received
from shared.services.ingest import REFUSALS, IngestService
from shared.services.signature import header
from shared.services.telegram_parser import SECRET_HEADER
from shared.wiring import ingest_service

app = APIGatewayHttpResolver()
CHANNEL = "telegram"  # the channel-kind dimension of this webhook's metrics


@lru_cache(maxsize=1)
def get_service() -> IngestService:
    return ingest_service(get_settings())


@app.post("/webhooks/telegram/<channel_id>")
def receive(channel_id: str) -> Response[Any]:
    webhook_received(CHANNEL)
    event = app.current_event
    body = webhooks.raw_body(event)
    outcome = get_service().receive_telegram(channel_id, body, header(event.get("headers"), SECRET_HEADER))
    webhooks.record(outcome, channel_id)
    answer: dict[str, Any] = {"method": "answerCallbackQuery", "callback_query_id": outcome.answer_callback} \
        if outcome.answer_callback else {"received": outcome.enqueued, "quarantined": outcome.quarantined}
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=answer)


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    return webhooks.refused(exc, "Telegram", CHANNEL)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
