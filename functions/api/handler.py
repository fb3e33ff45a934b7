"""The developer REST API (/v1): Powertools resolver, pydantic models, OpenAPI generated from the code.

Every route runs behind the Lambda authorizer; the middlewares count the tenant's rate and honour
Idempotency-Key on POST. Errors are RFC 9457 problem+json (shared/http/problems.py).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import deps
from functions.api.routes import routers
from shared.config import get_settings
from shared.http import problems
from shared.http.context import idempotency_middleware, rate_limit_middleware
from shared.observability import logger, metrics, tracer

API_TITLE = "Omnichannel messaging API"
API_VERSION = "1.0.0"
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": HTTPBearer(description="A tenant API key, or an agent's JWT from the Cognito user pool"),
    "apiKey": APIKey(name="X-Api-Key", in_=APIKeyIn.header, description="A tenant API key"),
}

app = APIGatewayHttpResolver(enable_validation=True)
problems.register(app)
for router in routers():
    app.include_router(router)
app.use(middlewares=[rate_limit_middleware(lambda tenant, second: deps.tenancy().hit(tenant, second)),
                     idempotency_middleware(lambda: get_settings().table_name)])


def openapi_json() -> str:
    """The OpenAPI document, generated from the routes and models, with the problem+json errors added."""
    document = json.loads(app.get_openapi_json_schema(
        title=API_TITLE, version=API_VERSION, openapi_version="3.1.0",
        description="Contacts, conversations and messages of one tenant. The tenant is always the credential's.",
        security_schemes=SECURITY_SCHEMES, security=[{"bearer": []}, {"apiKey": []}]))
    return json.dumps(problems.document_errors(document), indent=1, sort_keys=True)


@app.get("/v1/openapi.json", include_in_schema=False, middlewares=[])
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


app.enable_swagger(path="/v1/docs", title=API_TITLE, version=API_VERSION, security_schemes=SECURITY_SCHEMES,
                   security=[{"bearer": []}, {"apiKey": []}])


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
