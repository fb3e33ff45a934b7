"""Web chat's public API (HTTP API, no authorizer: visitors carry our signed session token).

  GET  /webchat/{channel_id}/widget.js   the embeddable widget (one <script> tag)
  GET  /webchat/{channel_id}/config      title, greeting, colour, pre-chat form
  POST /webchat/{channel_id}/sessions    a visitor session (anonymous, pre-chat data, or signed-in identity)
  GET  /webchat/{channel_id}/messages    the visitor's history               (Authorization: Bearer <token>)
  POST /webchat/{channel_id}/messages    the visitor writes or taps a button  (Bearer; 202 after the enqueue)
  POST /webchat/{channel_id}/read        the visitor saw our message          (Bearer)

CORS admits any page (the token, not cookies, authenticates); a channel that lists its sites' origins refuses
others with 403. Errors are problem+json.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import ChannelNotFound, EnqueueFailed
from shared.http import problems
from shared.observability import logger, metrics, tracer, webhook_received
from shared.services.signature import header
from shared.services.webchat import WIDGET_PATH, ReadInput, SessionInput, VisitorMessageInput, WebChatService
from shared.wiring import webchat_service

CORS = CORSConfig(allow_origin="*", allow_headers=["Authorization", "Content-Type"], max_age=600)
app = APIGatewayHttpResolver(cors=CORS, enable_validation=True)
problems.register(app)


@lru_cache(maxsize=1)
def get_service() -> WebChatService:
    return webchat_service(get_settings())


@lru_cache(maxsize=1)
def widget_source() -> str:
    return WIDGET_PATH.read_text(encoding="utf-8")


def _origin() -> str | None:
    return header(app.current_event.headers, "origin")


def _token() -> str | None:
    value = header(app.current_event.headers, "authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@app.get("/webchat/<channel_id>/widget.js")
def widget(channel_id: str) -> Response[str]:
    get_service().channel(channel_id)  # 404 for a channel that is not a live web chat
    return Response(status_code=200, content_type="application/javascript; charset=utf-8", body=widget_source(),
                    headers={"Cache-Control": "public, max-age=300"})


@app.get("/webchat/<channel_id>/config")
def config(channel_id: str) -> dict[str, Any]:
    return get_service().config(channel_id, _origin())


@app.post("/webchat/<channel_id>/sessions")
def start_session(channel_id: str, data: SessionInput) -> Response[dict[str, Any]]:
    session = get_service().start_session(channel_id, data, origin=_origin())
    metrics.add_metric(name="WebChatSessions", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=session)


@app.get("/webchat/<channel_id>/messages")
def history(channel_id: str) -> dict[str, Any]:
    return {"messages": get_service().history(channel_id, _token(), origin=_origin())}


@app.post("/webchat/<channel_id>/messages")
def post_message(channel_id: str, data: VisitorMessageInput) -> Response[dict[str, Any]]:
    webhook_received("webchat")  # the visitor's POST is web chat's webhook: the inbound rate beside the others
    accepted = get_service().post_message(channel_id, _token(), data, origin=_origin())
    metrics.add_metric(name="WebChatMessagesIn", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)


@app.post("/webchat/<channel_id>/read")
def mark_read(channel_id: str, data: ReadInput) -> Response[dict[str, Any]]:
    get_service().mark_read(channel_id, _token(), data, origin=_origin())
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body={"status": "accepted"})


@app.exception_handler(ChannelNotFound)
def _no_channel(exc: ChannelNotFound) -> Response[str]:
    return problems.problem(404, "channel_not_found", "Not found", f"no web chat channel {exc}")


@app.exception_handler(EnqueueFailed)
def _not_enqueued(exc: EnqueueFailed) -> Response[str]:
    logger.exception("durable enqueue failed: the widget retries with the same client_message_id")
    return problems.problem(503, "unavailable", "Service unavailable", "the message was not accepted; retry")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
