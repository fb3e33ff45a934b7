"""/v1/webhooks: integrators' subscriptions to domain events, their deliveries and replays (scope `admin`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from functions.api import deps
from shared.http.context import require
from shared.models.webhooks import (
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionInput,
    SubscriptionList,
    SubscriptionPatch,
)

router = APIGatewayHttpRouter()
TAGS = ["Webhooks"]


def _tenant() -> str:
    """The caller's tenant (the credential's, never the request's); 401/403 unless it holds `admin`."""
    return require(router, "admin").tenant_id or ""  # require() refuses credentials without a tenant


@router.post("/v1/webhooks", tags=TAGS, status_code=201, summary="Subscribe a URL to events",
             description="The URL must be https on port 443 and resolve only to public addresses. "
                         "The signing secret is returned once.")
def create_subscription(body: SubscriptionInput) -> SubscriptionCreated:
    tenant_id = _tenant()
    return deps.webhooks().create(tenant_id, body)


@router.get("/v1/webhooks", tags=TAGS, summary="List subscriptions")
def list_subscriptions() -> SubscriptionList:
    tenant_id = _tenant()
    return deps.webhooks().list(tenant_id)


@router.get("/v1/webhooks/<subscription_id>", tags=TAGS, summary="Get a subscription")
def get_subscription(subscription_id: str) -> Subscription:
    tenant_id = _tenant()
    return deps.webhooks().get(tenant_id, subscription_id)


@router.patch("/v1/webhooks/<subscription_id>", tags=TAGS, summary="Change, enable or disable a subscription")
def update_subscription(subscription_id: str, body: SubscriptionPatch) -> Subscription:
    tenant_id = _tenant()
    return deps.webhooks().update(tenant_id, subscription_id, body)


@router.delete("/v1/webhooks/<subscription_id>", tags=TAGS, status_code=204, summary="Delete a subscription",
               responses={204: {"description": "Deleted"}})
def delete_subscription(subscription_id: str) -> Response[None]:
    tenant_id = _tenant()
    deps.webhooks().delete(tenant_id, subscription_id)
    return Response(status_code=204, body=None)  # no body at all (a bare None would be serialized as "null")


@router.post("/v1/webhooks/<subscription_id>/rotate-secret", tags=TAGS, summary="Rotate the signing secret",
             description="The old secret keeps signing (a second v1 in the header) for 24 hours.")
def rotate_secret(subscription_id: str) -> SecretRotated:
    tenant_id = _tenant()
    return deps.webhooks().rotate_secret(tenant_id, subscription_id)


@router.get("/v1/webhooks/<subscription_id>/deliveries", tags=TAGS, summary="List deliveries, newest first")
def list_deliveries(subscription_id: str, status: Annotated[DeliveryStatus | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 50,
                    cursor: Annotated[str | None, Query(max_length=2048)] = None) -> DeliveryPage:
    tenant_id = _tenant()
    return deps.webhooks().list_deliveries(tenant_id, subscription_id, status=status, limit=limit, cursor=cursor)


@router.post("/v1/webhooks/deliveries/<delivery_id>/replay", tags=TAGS, summary="Send a delivery again now",
             description="Re-sends the stored payload as a new attempt (same X-Omnichannel-Delivery id).")
def replay_delivery(delivery_id: str) -> Delivery:
    tenant_id = _tenant()
    return deps.webhooks().replay(tenant_id, delivery_id)
