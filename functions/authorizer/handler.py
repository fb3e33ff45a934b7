"""Lambda authorizer (HTTP API, payload 2.0, simple responses): who is calling, and for which tenant.

Admits a tenant API key (`Authorization: Bearer <key>` or `X-Api-Key`) or an agent's Cognito JWT on /v1,
and only the platform operator key on /platform. The principal travels to the API functions as the
authorizer context; a denial is API Gateway's 403.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import Unauthorized
from shared.http.context import principal_context
from shared.observability import logger, metrics, tracer
from shared.services.auth import Authenticator
from shared.wiring import authenticator


@lru_cache(maxsize=1)
def get_service() -> Authenticator:
    return authenticator(get_settings())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The route (not the raw path, which the client shapes) decides tenant vs operator credentials.
    path = str(event.get("routeKey") or "").split(" ", 1)[-1]
    try:
        principal = get_service().authenticate(event.get("headers"), path)
    except Unauthorized as exc:
        logger.info("request denied", extra={"reason": str(exc), "path": path})
        metrics.add_metric(name="ApiAuthDenied", unit=MetricUnit.Count, value=1)
        return {"isAuthorized": False}
    logger.append_keys(tenant_id=principal.tenant_id, principal=principal.principal_id)
    return {"isAuthorized": True, "context": principal_context(principal)}
