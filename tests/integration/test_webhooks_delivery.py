"""Outbound webhooks end to end on moto server: EventBridge rule -> `webhooks` queue -> dispatcher -> a
receiver on loopback (allow-listed for the test only); retries, dead deliveries and replay in DynamoDB."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb_webhooks import DynamoWebhookStore
from shared.config import get_settings
from shared.models.webhooks import Subscription, SubscriptionInput
from shared.services.webhook_security import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from shared.services.webhooks import SubscriptionRecord, WebhookService
from shared.topology_names import EVENT_SOURCE
from shared.wiring import webhook_service
from tests.integration.conftest import table, wait_for
from tests.integration.receiver import Receiver as LoopbackReceiver

pytestmark = pytest.mark.integration

ENV = {"WEBHOOKS_RETRY_BASE_DELAY_S": "1", "WEBHOOKS_RETRY_MAX_DELAY_S": "2", "WEBHOOKS_MAX_ATTEMPTS": "3"}


class Receiver(LoopbackReceiver):
    """Each tenant's subscription posts to /hooks/<tenant>."""

    def url(self, tenant_id: str) -> str:
        return super().url(f"hooks/{tenant_id}")

    def to(self, tenant_id: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == f"/hooks/{tenant_id}"]


def _reset() -> None:
    get_settings.cache_clear()
    handler = sys.modules.get("functions.webhook_dispatcher.handler")
    if handler is not None:
        handler.get_service.cache_clear()


@pytest.fixture(scope="module")
def receiver(stack: LocalStack) -> Iterator[Receiver]:
    local = Receiver()
    os.environ.update({**ENV, "WEBHOOKS_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{local.port}"})
    _reset()
    yield local
    local.server.shutdown()
    for name in (*ENV, "WEBHOOKS_ALLOW_PRIVATE_HOSTS"):
        os.environ.pop(name, None)
    _reset()


@pytest.fixture
def service(receiver: Receiver) -> WebhookService:
    return webhook_service(get_settings())


def publish(tenant_id: str, detail_type: str = "ContactCreated", **detail: Any) -> None:
    response = boto3.client("events", region_name="us-east-1").put_events(Entries=[{
        "Source": EVENT_SOURCE, "DetailType": detail_type, "EventBusName": os.environ["BUS_NAME"],
        "Detail": json.dumps({"tenant_id": tenant_id, "contact_id": "ct_1", "source": "api", **detail})}])
    assert response["FailedEntryCount"] == 0


def new_tenant() -> str:
    return f"wh-{uuid.uuid4().hex[:10]}"


def test_an_event_is_posted_signed_to_the_subscriber_and_recorded(receiver: Receiver,
                                                                  service: WebhookService) -> None:
    tenant = new_tenant()
    created = service.create(tenant, SubscriptionInput(url=receiver.url(tenant), events=["ContactCreated"]))

    publish(tenant, "ContactUpdated")  # not subscribed
    publish(tenant, "ContactCreated")

    [request] = wait_for(lambda: receiver.to(tenant))
    assert verify(created.secret, request["headers"][SIGNATURE_HEADER], request["body"],
                  datetime.now(UTC).timestamp())
    payload = json.loads(request["body"])
    assert payload["type"] == "ContactCreated" and payload["data"]["contact_id"] == "ct_1"
    [delivery] = wait_for(lambda: service.list_deliveries(tenant, created.subscription_id,
                                                          status="succeeded").items)
    assert delivery.delivery_id == request["headers"][DELIVERY_HEADER] and delivery.attempts == 1
    assert len(receiver.to(tenant)) == 1


def test_a_failing_subscriber_is_retried_then_dead_then_replayed(receiver: Receiver, stack: LocalStack,
                                                                 service: WebhookService) -> None:
    tenant = new_tenant()
    created = service.create(tenant, SubscriptionInput(url=receiver.url(tenant), events=["ContactCreated"]))
    receiver.answers.extend([500, 503, 500])  # WEBHOOKS_MAX_ATTEMPTS=3

    publish(tenant)

    [dead] = wait_for(lambda: service.list_deliveries(tenant, created.subscription_id, status="dead").items,
                      timeout=45)
    assert dead.attempts == 3 and dead.last_status_code == 500
    assert len({r["headers"][DELIVERY_HEADER] for r in receiver.to(tenant)}) == 1
    stack.wait_idle()

    replayed = service.replay(tenant, dead.delivery_id)

    assert replayed.status == "succeeded" and replayed.attempts == 4
    assert len(receiver.to(tenant)) == 4
    assert service.list_deliveries(tenant, created.subscription_id, status="dead").items == []


def test_the_subscription_cap_and_delete_keep_the_counter_right(stack: LocalStack) -> None:
    store = DynamoWebhookStore(table(stack))
    tenant, now = new_tenant(), datetime.now(UTC)

    def record(n: int) -> SubscriptionRecord:
        return SubscriptionRecord(Subscription(subscription_id=f"wh_{n}", tenant_id=tenant, url="https://h.example/",
                                               events=["ContactCreated"], created_at=now, updated_at=now), "s")

    assert store.add_subscription(record(1), max_per_tenant=2)
    assert store.add_subscription(record(2), max_per_tenant=2)
    assert not store.add_subscription(record(3), max_per_tenant=2)
    assert store.delete_subscription(tenant, "wh_1") and not store.delete_subscription(tenant, "wh_1")
    assert store.add_subscription(record(3), max_per_tenant=2)
    assert [r.subscription.subscription_id for r in store.list_subscriptions(tenant)] == ["wh_2", "wh_3"]
    assert store.get_subscription(new_tenant(), "wh_2") is None  # another tenant's key never reaches it
