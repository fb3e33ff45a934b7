"""Incoming-webhook trigger of workflows (HTTP API, public): POST /hooks/workflows/{workflow_id}?token=<token>.

The token is the workflow's own HMAC (compared in constant time); the tenant comes from the workflow, never
from the body. The body is JSON: `{"contact": {"phone"|"email"|"contact_id": ...}, "data": {...}}` — `data` is
available to the steps as `trigger.<name>`. 202 once the start is durably enqueued; a repeated delivery with the
same `Idempotency-Key` header (or the same body) starts one execution. Errors are problem+json.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import InvalidInput, NotFound
from shared.http import problems
from shared.http.context import IDEMPOTENCY_HEADER
from shared.http.webhooks import raw_body
from shared.observability import logger, metrics, tracer
from shared.services.signature import header
from shared.services.workflows import WorkflowService
from shared.wiring import workflow_service

MAX_BODY = 256 * 1024
app = APIGatewayHttpResolver()
problems.register(app)


@lru_cache(maxsize=1)
def get_service() -> WorkflowService:
    return workflow_service(get_settings())


@app.post("/hooks/workflows/<workflow_id>")
def receive(workflow_id: str) -> Response[dict[str, Any]]:
    event = app.current_event
    token = (event.query_string_parameters or {}).get("token") or ""
    if not token:
        raise NotFound("no such workflow hook")
    body = raw_body(event)
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the body is larger than {MAX_BODY} bytes")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object")
    key = header(event.headers, IDEMPOTENCY_HEADER) or hashlib.sha256(body).hexdigest()
    result = get_service().run_webhook(workflow_id, token, payload, delivery_key=key)
    metrics.add_metric(name="WorkflowWebhooks", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=result)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
