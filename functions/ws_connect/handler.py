"""WebSocket API (agents' and supervisors' push channel, and web chat visitors'): $connect, $disconnect, $default.

$connect authenticates the token itself (query string `token`, or the `Authorization` / `X-Api-Key` header)
instead of a Lambda authorizer; a refusal is the handshake's 401/403. A web chat widget connects with
`?visitor=<session token>` instead: its connection only ever gets that visitor's messages.
$default answers `{"action":"ping"}` with `{"type":"pong"}` and ignores anything else. Pushes are sent by realtime_push.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import ChannelNotFound, Forbidden, Unauthorized
from shared.observability import logger, metrics, tracer
from shared.services.auth import Authenticator
from shared.services.realtime import RealtimeService
from shared.services.signature import header
from shared.services.webchat import WebChatService
from shared.wiring import authenticator, realtime_service, webchat_service

WS_PATH = "/v1/ws"  # a tenant path: the operator key is never accepted here


@lru_cache(maxsize=1)
def get_service() -> RealtimeService:
    return realtime_service(get_settings())


@lru_cache(maxsize=1)
def get_webchat() -> WebChatService:
    return webchat_service(get_settings())


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    return authenticator(get_settings())


def _credentials(event: dict[str, Any]) -> dict[str, str]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = (event.get("queryStringParameters") or {}).get("token")  # browsers cannot set WebSocket headers
    return {**headers, "authorization": f"Bearer {token}"} if token else headers


def _connect_visitor(event: dict[str, Any], token: str, connection_id: str) -> dict[str, Any]:
    origin = header(event.get("headers"), "origin")
    try:
        connection = get_webchat().connect(token, connection_id, origin=origin)
    except (Unauthorized, Forbidden, ChannelNotFound) as exc:
        logger.info("visitor connection refused", extra={"reason": str(exc)})
        metrics.add_metric(name="WebSocketRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": 403 if isinstance(exc, Forbidden) else 401}
    logger.append_keys(tenant_id=connection.tenant_id, channel_id=connection.channel_id)
    metrics.add_metric(name="WebChatConnected", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


def _connect(event: dict[str, Any], connection_id: str) -> dict[str, Any]:
    visitor = (event.get("queryStringParameters") or {}).get("visitor")
    if visitor:
        return _connect_visitor(event, visitor, connection_id)
    try:
        principal = get_authenticator().authenticate(_credentials(event), WS_PATH)
        connection = get_service().connect(principal, connection_id)
    except (Unauthorized, Forbidden) as exc:
        logger.info("connection refused", extra={"reason": str(exc)})
        metrics.add_metric(name="WebSocketRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": 403 if isinstance(exc, Forbidden) else 401}
    logger.append_keys(tenant_id=connection.tenant_id, principal=connection.principal_id)
    logger.info("connected", extra={"role": connection.role})
    metrics.add_metric(name="WebSocketConnected", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), str(request.get("connectionId") or "")
    logger.append_keys(connection_id=connection_id, route=route)
    if route == "$connect":
        return _connect(event, connection_id)
    if route == "$disconnect":
        get_service().disconnect(connection_id)  # an agent's or a web chat visitor's: the lookup says which
        return {"statusCode": 200}
    try:
        action = json.loads(event.get("body") or "{}").get("action")
    except (ValueError, AttributeError):
        action = None
    if action == "ping":
        get_service().ping(connection_id)
    return {"statusCode": 200}
