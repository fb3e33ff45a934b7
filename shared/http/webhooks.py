"""What every provider webhook handler does around the ingest service: count what it accepted, and answer what
ingest refused (REFUSALS) with the status and reason, the provider retrying only a failed durable enqueue. A bad
signature is counted by the channel's kind (whatsapp, messenger, instagram, telegram, sms), never its id; what
arrived is counted by the handler (shared.observability.webhook_received)."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from shared.errors import DomainError, EnqueueFailed, SignatureInvalid
from shared.observability import logger, metric_by, metrics
from shared.services.ingest import IngestOutcome, refusal


def raw_body(event: Any) -> bytes:
    """The request body exactly as the provider sent it (what signatures are computed over)."""
    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")


def record(outcome: IngestOutcome, channel_id: str) -> None:
    logger.append_keys(tenant_id=outcome.tenant_id, channel_id=channel_id)
    metrics.add_metric(name="WebhookUnitsEnqueued", unit=MetricUnit.Count, value=outcome.enqueued)
    if outcome.quarantined:
        metrics.add_metric(name="WebhookQuarantined", unit=MetricUnit.Count, value=outcome.quarantined)
        logger.warning("webhook parts quarantined", extra={"reasons": outcome.quarantine_reasons})


def refused(exc: DomainError, provider: str, channel: str) -> Response[Any]:
    """channel: the kind of channel the delivery was for (the WebhookSignatureRejected dimension)."""
    status, reason = refusal(exc)
    if isinstance(exc, SignatureInvalid):  # alarmed (infra: signature-rejected)
        metric_by("WebhookSignatureRejected", MetricUnit.Count, 1, channel=channel)
    if isinstance(exc, EnqueueFailed):
        logger.exception(f"durable enqueue failed: not acknowledging, {provider} will retry")
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": reason})
