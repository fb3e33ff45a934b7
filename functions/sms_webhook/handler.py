"""SMS webhook (HTTP API): Twilio's inbound messages and status callbacks. Verifies X-Twilio-Signature over the
public URL Twilio called, enqueues durably, answers 200 with empty TwiML (no automatic reply: the bot and agents
answer through the outbound sender). Twilio retries for seconds, not days: the answer waits for the enqueue."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import DomainError, EnqueueFailed, SignatureInvalid
from shared.http.context import base_url
from shared.observability import logger, metrics, tracer
from shared.services.ingest import REFUSALS, IngestService, refusal
from shared.services.signature import header
from shared.services.twilio_signature import SIGNATURE_HEADER
from shared.wiring import ingest_service

app = APIGatewayHttpResolver()
TWIML = "text/xml"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@lru_cache(maxsize=1)
def get_service() -> IngestService:
    return ingest_service(get_settings())


def public_url(event: dict[str, Any]) -> str:
    """The URL exactly as Twilio requested it (scheme, host, path, query): what it signed."""
    settings = get_settings()
    base = settings.public_base_url.rstrip("/") if settings.public_base_url else base_url(event)
    query = event.get("rawQueryString") or ""
    return f"{base}{event.get('rawPath') or ''}" + (f"?{query}" if query else "")


@app.post("/webhooks/sms/<channel_id>")
def receive(channel_id: str) -> Response[Any]:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    outcome = get_service().receive_sms(channel_id, body, header(event.get("headers"), SIGNATURE_HEADER),
                                        public_url(event.raw_event))
    logger.append_keys(tenant_id=outcome.tenant_id, channel_id=channel_id)
    metrics.add_metric(name="WebhookUnitsEnqueued", unit=MetricUnit.Count, value=outcome.enqueued)
    if outcome.quarantined:
        metrics.add_metric(name="WebhookQuarantined", unit=MetricUnit.Count, value=outcome.quarantined)
        logger.warning("webhook parts quarantined", extra={"reasons": outcome.quarantine_reasons})
    return Response(status_code=200, content_type=TWIML, body=EMPTY_TWIML)


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    status, reason = refusal(exc)
    if isinstance(exc, SignatureInvalid):
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
    if isinstance(exc, EnqueueFailed):
        logger.exception("durable enqueue failed: not acknowledging, Twilio will retry")
    return Response(status_code=status, content_type="application/json", body={"error": reason})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
