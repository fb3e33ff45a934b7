"""Messenger and Instagram webhooks (HTTP API): GET answers Meta's handshake, POST verifies X-Hub-Signature-256,
enqueues durably (one unit per messaging item), answers 200. Meta retries what is not acknowledged."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import ChannelNotFound, DomainError, EnqueueFailed, SignatureInvalid
from shared.observability import logger, metrics, tracer
from shared.services.ingest import REFUSALS, IngestService, refusal
from shared.services.signature import SIGNATURE_HEADER, header
from shared.wiring import ingest_service

app = APIGatewayHttpResolver()


@lru_cache(maxsize=1)
def get_service() -> IngestService:
    return ingest_service(get_settings())


def _kind(value: str) -> Literal["messenger", "instagram"]:
    if value not in ("messenger", "instagram"):
        raise ChannelNotFound(value)  # only these two routes lead here
    return "instagram" if value == "instagram" else "messenger"


@app.get("/webhooks/<kind>/<channel_id>")
def verify(kind: str, channel_id: str) -> Response[Any]:
    challenge = get_service().verify_subscription(channel_id, app.current_event.query_string_parameters or {},
                                                  _kind(kind))
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/webhooks/<kind>/<channel_id>")
def receive(kind: str, channel_id: str) -> Response[Any]:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    outcome = get_service().receive_page(channel_id, _kind(kind), body,
                                         header(event.get("headers"), SIGNATURE_HEADER))
    logger.append_keys(tenant_id=outcome.tenant_id, channel_id=channel_id)
    metrics.add_metric(name="WebhookUnitsEnqueued", unit=MetricUnit.Count, value=outcome.enqueued)
    if outcome.quarantined:
        metrics.add_metric(name="WebhookQuarantined", unit=MetricUnit.Count, value=outcome.quarantined)
        logger.warning("webhook parts quarantined", extra={"reasons": outcome.quarantine_reasons})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"received": outcome.enqueued, "quarantined": outcome.quarantined})


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    status, reason = refusal(exc)
    if isinstance(exc, SignatureInvalid):
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
    if isinstance(exc, EnqueueFailed):
        logger.exception("durable enqueue failed: not acknowledging, Meta will retry")
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": reason})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
