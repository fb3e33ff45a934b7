"""SMS webhook (HTTP API): Twilio's inbound messages and status callbacks. Verifies X-Twilio-Signature over the
public URL Twilio called, enqueues durably, answers 200 with empty TwiML (no automatic reply: the bot and agents
answer through the outbound sender). Twilio retries for seconds, not days: the answer waits for the enqueue."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import DomainError
from shared.http import webhooks
from shared.http.context import public_base
from shared.observability import logger, metrics, tracer, webhook_received
from shared.services.ingest import REFUSALS, IngestService
from shared.services.signature import header
from shared.services.twilio_signature import SIGNATURE_HEADER
from shared.wiring import ingest_service

app = APIGatewayHttpResolver()
CHANNEL = "sms"  # the channel-kind dimension of this webhook's metrics
TWIML = "text/xml"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@lru_cache(maxsize=1)
def get_service() -> IngestService:
    return ingest_service(get_settings())


def public_url(event: dict[str, Any]) -> str:
    """The URL exactly as Twilio requested it (scheme, host, path, query): what it signed."""
    base = public_base(event)
    query = event.get("rawQueryString") or ""
    return f"{base}{event.get('rawPath') or ''}" + (f"?{query}" if query else "")


@app.post("/webhooks/sms/<channel_id>")
def receive(channel_id: str) -> Response[Any]:
    webhook_received(CHANNEL)
    event = app.current_event
    body = webhooks.raw_body(event)
    outcome = get_service().receive_sms(channel_id, body, header(event.get("headers"), SIGNATURE_HEADER),
                                        public_url(event.raw_event))
    webhooks.record(outcome, channel_id)
    return Response(status_code=200, content_type=TWIML, body=EMPTY_TWIML)


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    return webhooks.refused(exc, "Twilio", CHANNEL)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
