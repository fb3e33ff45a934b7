"""Messenger and Instagram webhooks (HTTP API): GET answers Meta's handshake, POST verifies X-Hub-Signature-256,
enqueues durably (one unit per messaging item), answers 200. Meta retries what is not acknowledged."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import ChannelNotFound, DomainError
from shared.http import webhooks
from shared.observability import logger, metrics, tracer, webhook_received
from shared.services.ingest import REFUSALS, IngestService
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


def _path_kind() -> str:
    """The kind in the request's path as a metric dimension: one of the two, never whatever a caller wrote."""
    path = app.current_event.path
    return next((k for k in ("messenger", "instagram") if f"/webhooks/{k}/" in path), "unknown")


@app.get("/webhooks/<kind>/<channel_id>")
def verify(kind: str, channel_id: str) -> Response[Any]:
    challenge = get_service().verify_subscription(channel_id, app.current_event.query_string_parameters or {},
                                                  _kind(kind))
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/webhooks/<kind>/<channel_id>")
def receive(kind: str, channel_id: str) -> Response[Any]:
    channel = _kind(kind)
    webhook_received(channel)
    event = app.current_event
    body = webhooks.raw_body(event)
    outcome = get_service().receive_page(channel_id, channel, body,
                                         header(event.get("headers"), SIGNATURE_HEADER))
    webhooks.record(outcome, channel_id)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"received": outcome.enqueued, "quarantined": outcome.quarantined})


@app.exception_handler(list(REFUSALS))
def _refused(exc: DomainError) -> Response[Any]:
    return webhooks.refused(exc, "Meta", _path_kind())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
