"""WhatsApp webhook (HTTP API): GET answers Meta's handshake, POST verifies, enqueues durably, answers 200."""

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
from shared.services.signature import SIGNATURE_HEADER, header
from shared.wiring import ingest_service

app = APIGatewayHttpResolver()
CHANNEL = "whatsapp"  # the channel-kind dimension of this webhook's metrics


@lru_cache(maxsize=1)
def get_service() -> IngestService:
    return ingest_service(get_settings())


@app.get("/webhooks/whatsapp/<channel_id>")
def verify(channel_id: str) -> Response[Any]:
    challenge = get_service().verify_subscription(channel_id, app.current_event.query_string_parameters or {})
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/webhooks/whatsapp/<channel_id>")
def receive(channel_id: str) -> Response[Any]:
    webhook_received(CHANNEL)
    event = app.current_event
    body = webhooks.raw_body(event)
    outcome = get_service().receive(channel_id, body, header(event.get("headers"), SIGNATURE_HEADER))
    webhooks.record(outcome, channel_id)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"received": outcome.enqueued, "quarantined": outcome.quarantined})


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    return webhooks.refused(exc, "Meta", CHANNEL)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
