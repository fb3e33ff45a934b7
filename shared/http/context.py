"""The authenticated principal of the current request, and the middlewares every tenant API runs.

The Lambda authorizer puts the principal in `requestContext.authorizer.lambda`; nothing else can set
it (API Gateway strips client-supplied request contexts). A missing principal fails closed with 401.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthorized
from shared.models.tenancy import Principal

IDEMPOTENCY_HEADER = "idempotency-key"


def base_url(event: Any) -> str:
    """The API's public base URL as the caller reached it (API Gateway sets X-Forwarded-Proto)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    return f"{scheme}://{(event.get('requestContext') or {}).get('domainName', '')}"


def public_base(event: Any) -> str:
    """The base URL callers use: the configured PUBLIC_BASE_URL (a custom domain), else the request's own."""
    from shared.config import get_settings

    configured = get_settings().public_base_url
    return configured.rstrip("/") if configured else base_url(event)


def principal_of(event: Any) -> Principal:
    ctx = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    kind = ctx.get("kind")
    if kind not in ("api_key", "user", "operator"):
        raise Unauthorized("no authenticated principal")
    scopes = tuple(s for s in str(ctx.get("scopes", "")).split() if s)
    return Principal(kind=kind, principal_id=str(ctx.get("principal_id", "")), tenant_id=ctx.get("tenant_id") or None,
                     scopes=scopes, role=ctx.get("role") or None,
                     rate_limit_per_s=int(ctx.get("rate_limit_per_s") or 20))


def principal_context(principal: Principal) -> dict[str, str | int | bool]:
    """What the authorizer returns as context (flat strings and numbers only)."""
    return {"kind": principal.kind, "principal_id": principal.principal_id, "tenant_id": principal.tenant_id or "",
            "scopes": " ".join(principal.scopes), "role": principal.role or "",
            "rate_limit_per_s": principal.rate_limit_per_s}


def require(app: Any, scope: str) -> Principal:
    """The caller, if it holds `scope`; 403 otherwise."""
    who = principal_of(app.current_event.raw_event)
    if who.tenant_id is None:
        raise Unauthorized("a tenant credential is required")
    if not who.allows(scope):
        raise Forbidden(f"this credential lacks the '{scope}' scope")
    return who


def rate_limit_middleware(hit: Callable[[str, int], int]) -> Callable[[Any, NextMiddleware], Response[Any]]:
    """Fixed one-second windows per tenant, counted in DynamoDB so all Lambda instances share them."""

    def middleware(app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        try:
            who = principal_of(app.current_event.raw_event)
        except Unauthorized:
            return next_middleware(app)  # public routes (docs); every other route calls require()
        if who.tenant_id:
            now = int(time.time())
            if hit(who.tenant_id, now) > who.rate_limit_per_s:
                raise RateLimited(f"over {who.rate_limit_per_s} requests per second for this tenant", retry_after_s=1)
        return next_middleware(app)

    return middleware


@lru_cache(maxsize=256)
def _idempotent_runner(table_name: str, tenant_id: str) -> Any:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(table_name=table_name, key_attr="pk", sort_key_attr="sk",
                                     static_pk_value=f"T#{tenant_id}#IDEMPOTENCY", expiry_attr="expires_at")
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="[route, body_sha]",
                               expires_after_seconds=24 * 3600)

    def run(request: dict[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return call()

    return idempotent_function(run, data_keyword_argument="request", persistence_store=store, config=config), config


def idempotency_middleware(table_name: Callable[[], str]) -> Callable[[Any, NextMiddleware], Response[Any]]:
    """`Idempotency-Key` on POST: the first answer is stored for 24 h and replayed for the same key and body.

    The same key with a different body or route is 422; a retry while the first is still running is 409.
    """

    def middleware(app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event
        headers = {k.lower(): v for k, v in (event.headers or {}).items()}
        key = headers.get(IDEMPOTENCY_HEADER)
        if event.http_method != "POST" or not key:
            return next_middleware(app)
        try:
            who = principal_of(event.raw_event)
        except Unauthorized:
            return next_middleware(app)
        if len(key) > 255:
            raise InvalidInput("Idempotency-Key must be at most 255 characters")
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        def call() -> dict[str, Any]:
            response = next_middleware(app)
            body = response.body
            if not isinstance(body, str | bytes | type(None)):
                body = json.dumps(body, default=str)
            if isinstance(body, bytes):
                body = body.decode("utf-8")
            return {"status": response.status_code, "headers": dict(response.headers or {}), "body": body or ""}

        request = {"key": f"{who.principal_id}:{key}", "route": f"{event.http_method} {event.path}",
                   "body_sha": hashlib.sha256((event.body or "").encode("utf-8")).hexdigest()}
        try:
            runner, config = _idempotent_runner(table_name(), who.tenant_id or "platform")
            if app.lambda_context is not None:
                config.register_lambda_context(app.lambda_context)
            stored = runner(request=request, call=call)
        except IdempotencyValidationError:
            raise InvalidInput("this Idempotency-Key was used with a different request") from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict("a request with this Idempotency-Key is still in progress") from None
        headers_out = {k: v for k, v in stored["headers"].items() if k.lower() != "content-length"}
        return Response(status_code=int(stored["status"]), body=stored["body"], headers=headers_out)

    return middleware


def as_utc(value: datetime | None) -> datetime | None:
    """A query-string datetime without a zone is read as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
