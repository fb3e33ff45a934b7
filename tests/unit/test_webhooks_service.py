"""Outbound webhooks: subscriptions, dispatch, retries, dead deliveries, 410, replay, idempotency, and the
REST routes over the service. In-memory fakes for the store, the sender, the clock and DNS."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import Conflict, InvalidInput, NotFound, RetryableError
from shared.models.webhooks import Delivery, DeliveryStatus, SubscriptionInput, SubscriptionPatch
from shared.services.webhook_security import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Target,
    verify,
)
from shared.services.webhooks import (
    RetryPolicy,
    SubscriptionChanges,
    SubscriptionRecord,
    WebhookSendError,
    WebhookService,
    delivery_id_for,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.216.34"


# --- fakes -----------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeDns:
    """Every name resolves to a public address unless told otherwise."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}

    def __call__(self, host: str, port: int) -> list[str]:
        answer = self.answers.get(host, [PUBLIC_IP])
        if not answer:
            raise OSError("NXDOMAIN")
        return answer


@dataclass
class Sent:
    target: Target
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


class FakeSender:
    """Answers with the queued status codes (or exceptions) per host, then 200."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.answers: dict[str, list[int | Exception]] = {}
        self.during_post: Callable[[], None] | None = None

    def answer(self, host: str, *answers: int | Exception) -> None:
        self.answers.setdefault(host, []).extend(answers)

    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append(Sent(target, body, dict(headers)))
        if self.during_post is not None:
            hook, self.during_post = self.during_post, None
            hook()
        queued = self.answers.get(target.host) or []
        answer = queued.pop(0) if queued else 200
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, host: str) -> list[Sent]:
        return [s for s in self.sent if s.target.host == host]


@dataclass
class FakeWebhookStore:
    """Same contract as DynamoWebhookStore (conditional writes included), in memory."""

    subs: dict[tuple[str, str], SubscriptionRecord] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    leases: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def add_subscription(self, record: SubscriptionRecord, *, max_per_tenant: int) -> bool:
        tenant = record.subscription.tenant_id
        if sum(1 for t, _ in self.subs if t == tenant) >= max_per_tenant:
            return False
        self.subs[(tenant, record.subscription.subscription_id)] = record
        return True

    def get_subscription(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        return self.subs.get((tenant_id, subscription_id))

    def list_subscriptions(self, tenant_id: str) -> list[SubscriptionRecord]:
        return [r for (t, _), r in sorted(self.subs.items()) if t == tenant_id]

    def update_subscription(self, tenant_id: str, subscription_id: str, changes: SubscriptionChanges
                            ) -> SubscriptionRecord | None:
        record = self.subs.get((tenant_id, subscription_id))
        if record is None:
            return None
        update: dict[str, Any] = {"updated_at": changes.updated_at}
        if changes.url is not None:
            update["url"] = changes.url
        if changes.events is not None:
            update["events"] = list(changes.events)
        if changes.description is not None:
            update["description"] = changes.description or None
        if changes.enabled is not None:
            update["enabled"] = changes.enabled
            update["disabled_reason"] = None if changes.enabled else changes.disabled_reason
        new = SubscriptionRecord(record.subscription.model_copy(update=update), record.secret,
                                 record.previous_secret, record.previous_secret_until)
        self.subs[(tenant_id, subscription_id)] = new
        return new

    def set_secret(self, tenant_id: str, subscription_id: str, *, secret: str, previous_secret: str | None,
                   previous_until: datetime | None, updated_at: datetime) -> SubscriptionRecord | None:
        record = self.subs.get((tenant_id, subscription_id))
        if record is None:
            return None
        new = SubscriptionRecord(record.subscription.model_copy(update={"updated_at": updated_at}), secret,
                                 previous_secret, previous_until)
        self.subs[(tenant_id, subscription_id)] = new
        return new

    def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool:
        return self.subs.pop((tenant_id, subscription_id), None) is not None

    def create_delivery(self, delivery: Delivery, *, lease_until: datetime) -> Delivery | None:
        key = (delivery.tenant_id, delivery.delivery_id)
        if key in self.deliveries:
            return self.deliveries[key]
        self.deliveries[key] = delivery
        self.leases[key] = lease_until
        return None

    def claim_attempt(self, delivery: Delivery, *, now: datetime, lease_until: datetime) -> bool:
        key = (delivery.tenant_id, delivery.delivery_id)
        stored = self.deliveries.get(key)
        lease = self.leases.get(key)
        if (stored is None or stored.attempts != delivery.attempts or stored.status != delivery.status
                or (lease is not None and lease >= now)):
            return False
        self.deliveries[key] = stored.model_copy(update={"attempts": stored.attempts + 1, "last_attempt_at": now})
        self.leases[key] = lease_until
        return True

    def record_outcome(self, delivery: Delivery) -> bool:
        key = (delivery.tenant_id, delivery.delivery_id)
        stored = self.deliveries.get(key)
        if stored is None or stored.attempts != delivery.attempts:
            return False
        self.deliveries[key] = delivery
        self.leases.pop(key, None)
        return True

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        return self.deliveries.get((tenant_id, delivery_id))

    def list_deliveries(self, tenant_id: str, subscription_id: str, *, status: DeliveryStatus | None,
                        limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
        items = [d for (t, _), d in self.deliveries.items() if t == tenant_id
                 and d.subscription_id == subscription_id and (status is None or d.status == status)]
        items.sort(key=lambda d: (d.created_at, d.delivery_id), reverse=True)
        start = int(cursor) if cursor else 0
        if cursor is not None and not cursor.isdigit():
            raise ValueError("invalid cursor")
        page = items[start:start + limit]
        return page, str(start + limit) if start + limit < len(items) else None


class Secrets:
    def __init__(self) -> None:
        self.n = 0

    def new_secret(self) -> str:
        self.n += 1
        return f"whsec_test_{self.n}"


@dataclass
class World:
    store: FakeWebhookStore
    sender: FakeSender
    clock: FakeClock
    dns: FakeDns
    service: WebhookService


def make_world(**kwargs: Any) -> World:
    store, sender, clock, dns = FakeWebhookStore(), FakeSender(), FakeClock(), FakeDns()
    service = WebhookService(store=store, sender=sender, clock=clock, resolver=dns, secrets=Secrets(), **kwargs)
    return World(store, sender, clock, dns, service)


@pytest.fixture
def world() -> World:
    return make_world()


def envelope(event_type: str = "MessageReceived", tenant_id: str = "acme", event_id: str = "evt-1",
             at: datetime = T0 + timedelta(seconds=5), **detail: Any) -> dict[str, Any]:
    """The EventBridge envelope as the webhooks queue receives it."""
    return {"version": "0", "id": event_id, "detail-type": event_type, "source": "omnichannel.messaging",
            "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": [], "detail": {"tenant_id": tenant_id, "channel_id": "ch-1", **detail}}


def subscribe(world: World, tenant_id: str = "acme", url: str = "https://hooks.acme.example/in",
              events: tuple[str, ...] = ("MessageReceived",)) -> tuple[str, str]:
    created = world.service.create(tenant_id, SubscriptionInput(url=url, events=list(events)))
    return created.subscription_id, created.secret


def only_delivery(world: World) -> Delivery:
    [delivery] = world.store.deliveries.values()
    return delivery


# --- subscriptions ---------------------------------------------------------------------------------------

def test_the_secret_is_shown_on_create_and_never_again(world: World) -> None:
    created = world.service.create("acme", SubscriptionInput(url="https://hooks.acme.example/in",
                                                             events=["MessageReceived", "ContactCreated"]))
    assert created.secret.startswith("whsec_") and created.subscription_id.startswith("wh_")
    shown = [world.service.get("acme", created.subscription_id), *world.service.list("acme").items]
    assert all("secret" not in s.model_dump() for s in shown)
    assert shown[0].events == ["MessageReceived", "ContactCreated"] and shown[0].enabled


@pytest.mark.parametrize("url", [
    "http://hooks.acme.example/in", "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/",
    "https://user:pw@hooks.acme.example/", "https://hooks.acme.example:8080/", "https://2130706433/",
])
def test_subscribing_an_unsafe_url_is_invalid_input(world: World, url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        world.service.create("acme", SubscriptionInput(url=url, events=["MessageReceived"]))
    assert err.value.errors[0]["location"] == "body.url"
    assert world.store.subs == {}


def test_a_name_resolving_to_a_private_address_cannot_be_subscribed(world: World) -> None:
    world.dns.answers["hooks.acme.example"] = [PUBLIC_IP, "10.0.0.7"]
    with pytest.raises(InvalidInput, match="non-public"):
        subscribe(world)


@pytest.mark.parametrize("payload", [
    {"url": "https://h.example/x", "events": ["NoSuchEvent"]},
    {"url": "https://h.example/x", "events": []},
    {"url": "https://h.example/x", "events": ["MessageReceived"], "secret": "mine"},
    {"events": ["MessageReceived"]},
])
def test_subscription_input_is_validated(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SubscriptionInput.model_validate(payload)


def test_repeated_event_types_are_kept_once() -> None:
    body = SubscriptionInput(url="https://h.example/x", events=["ContactCreated", "ContactCreated"])
    assert body.events == ["ContactCreated"]


def test_a_tenant_has_at_most_twenty_subscriptions(world: World) -> None:
    for _ in range(20):
        subscribe(world)
    with pytest.raises(Conflict):
        subscribe(world)
    subscribe(world, tenant_id="other")  # the cap is per tenant


def test_another_tenants_subscription_is_not_found(world: World) -> None:
    sub_id, _ = subscribe(world, tenant_id="acme")
    calls: list[Callable[[], object]] = [
        lambda: world.service.get("evil", sub_id),
        lambda: world.service.update("evil", sub_id, SubscriptionPatch(enabled=False)),
        lambda: world.service.delete("evil", sub_id),
        lambda: world.service.rotate_secret("evil", sub_id),
        lambda: world.service.list_deliveries("evil", sub_id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert world.service.get("acme", sub_id).enabled


def test_patch_disables_and_enables_and_clears_the_description(world: World) -> None:
    created = world.service.create("acme", SubscriptionInput(url="https://h.example/x", events=["ContactCreated"],
                                                             description="CRM sync"))
    off = world.service.update("acme", created.subscription_id, SubscriptionPatch(enabled=False))
    assert not off.enabled and off.disabled_reason == "manual" and off.description == "CRM sync"
    on = world.service.update("acme", created.subscription_id,
                              SubscriptionPatch.model_validate({"enabled": True, "description": None}))
    assert on.enabled and on.disabled_reason is None and on.description is None
    with pytest.raises(InvalidInput):
        world.service.update("acme", created.subscription_id, SubscriptionPatch(url="https://10.1.2.3/"))


# --- dispatch --------------------------------------------------------------------------------------------

def test_an_event_goes_only_to_enabled_subscriptions_of_its_tenant_that_want_its_type(world: World) -> None:
    wanted, secret = subscribe(world, url="https://wanted.example/in", events=("MessageReceived",))
    subscribe(world, url="https://other-type.example/in", events=("ContactCreated",))
    subscribe(world, tenant_id="globex", url="https://other-tenant.example/in", events=("MessageReceived",))
    disabled, _ = subscribe(world, url="https://disabled.example/in", events=("MessageReceived",))
    world.service.update("acme", disabled, SubscriptionPatch(enabled=False))

    result = world.service.dispatch(envelope(text="hola"))

    [sent] = world.sender.sent
    assert sent.target.host == "wanted.example" and sent.target.addresses == (PUBLIC_IP,)
    assert sent.json == {"id": "evt-1", "type": "MessageReceived", "occurred_at": "2025-03-01T12:00:05Z",
                         "tenant_id": "acme", "data": {"tenant_id": "acme", "channel_id": "ch-1", "text": "hola"}}
    assert sent.headers[EVENT_HEADER] == "MessageReceived"
    assert sent.headers[DELIVERY_HEADER] == delivery_id_for(wanted, "evt-1")
    assert sent.headers[TIMESTAMP_HEADER] == str(int(T0.timestamp()))
    assert verify(secret, sent.headers[SIGNATURE_HEADER], sent.body, T0)
    assert [o.status for o in result.outcomes] == ["succeeded"]
    assert only_delivery(world).status == "succeeded" and only_delivery(world).attempts == 1


def test_event_types_integrators_cannot_subscribe_to_are_ignored(world: World) -> None:
    subscribe(world)
    world.service.dispatch(envelope(event_type="WebhookQuarantined"))
    assert world.sender.sent == [] and world.store.deliveries == {}


def test_an_envelope_without_a_tenant_is_refused(world: World) -> None:
    with pytest.raises(ValueError):
        world.service.dispatch({"id": "x", "detail-type": "MessageReceived", "detail": {}})


def test_a_failed_attempt_is_retried_with_exponential_backoff(world: World) -> None:
    subscribe(world)
    world.sender.answer("hooks.acme.example", 500, 503, WebhookSendError("timeout (ReadTimeout)"))
    delays = []
    for attempt in (1, 2, 3):
        with pytest.raises(RetryableError) as err:
            world.service.dispatch(envelope(), attempt=attempt)
        delays.append(err.value.delay_s)
        world.clock.advance(err.value.delay_s or 0)
    assert delays == [10, 20, 40]
    delivery = only_delivery(world)
    assert delivery.status == "pending" and delivery.attempts == 3
    assert delivery.last_status_code is None and delivery.last_error == "timeout (ReadTimeout)"
    assert delivery.next_attempt_at == world.clock.now()

    world.service.dispatch(envelope(), attempt=4)
    assert only_delivery(world).status == "succeeded" and only_delivery(world).attempts == 4
    assert len(world.sender.sent) == 4


def test_backoff_doubles_from_ten_seconds_up_to_fifteen_minutes() -> None:
    policy = RetryPolicy()
    assert [policy.delay_after(n) for n in range(1, 10)] == [10, 20, 40, 80, 160, 320, 640, 900, 900]


def test_a_delivery_is_dead_after_the_last_attempt_and_stays_listed() -> None:
    world = make_world(retry=RetryPolicy(max_attempts=3))
    sub_id, _ = subscribe(world)
    world.sender.answer("hooks.acme.example", 500, 500, 502)
    for attempt in (1, 2):
        with pytest.raises(RetryableError):
            world.service.dispatch(envelope(), attempt=attempt)
    result = world.service.dispatch(envelope(), attempt=3)  # no exception: the record is done with

    assert [o.status for o in result.outcomes] == ["dead"]
    [dead] = world.service.list_deliveries("acme", sub_id, status="dead").items
    assert dead.attempts == 3 and dead.last_status_code == 502 and dead.next_attempt_at is None
    world.service.dispatch(envelope(), attempt=4)  # a late copy of the message does not revive it
    assert len(world.sender.sent) == 3


def test_redirects_are_failed_attempts_not_followed(world: World) -> None:
    subscribe(world)
    world.sender.answer("hooks.acme.example", 302)
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope())
    assert only_delivery(world).last_error == "HTTP 302" and len(world.sender.sent) == 1


def test_410_gone_disables_the_subscription_without_retrying(world: World) -> None:
    sub_id, _ = subscribe(world)
    world.sender.answer("hooks.acme.example", 410)

    world.service.dispatch(envelope())  # does not raise

    assert only_delivery(world).status == "failed" and only_delivery(world).last_status_code == 410
    sub = world.service.get("acme", sub_id)
    assert not sub.enabled and sub.disabled_reason == "gone"
    world.service.dispatch(envelope(event_id="evt-2"))
    assert len(world.sender.sent) == 1


def test_the_same_event_arriving_twice_is_delivered_once(world: World) -> None:
    subscribe(world)
    world.service.dispatch(envelope())
    result = world.service.dispatch(envelope())  # EventBridge / SQS at-least-once duplicate
    assert len(world.sender.sent) == 1 and result.duplicates == 1 and result.outcomes == []


def test_a_retry_resends_only_the_deliveries_that_failed(world: World) -> None:
    subscribe(world, url="https://ok.example/in")
    subscribe(world, url="https://flaky.example/in")
    world.sender.answer("flaky.example", 500)
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope(), attempt=1)
    world.service.dispatch(envelope(), attempt=2)
    assert len(world.sender.to("ok.example")) == 1
    assert len(world.sender.to("flaky.example")) == 2
    assert {d.status for d in world.store.deliveries.values()} == {"succeeded"}


def test_a_copy_running_while_an_attempt_is_in_flight_does_not_send_and_comes_back(world: World) -> None:
    subscribe(world)
    raised: list[RetryableError] = []

    def duplicate_copy_arrives() -> None:
        with pytest.raises(RetryableError) as err:
            world.service.dispatch(envelope())
        raised.append(err.value)

    world.sender.during_post = duplicate_copy_arrives
    world.service.dispatch(envelope())

    assert len(world.sender.sent) == 1
    assert raised and (raised[0].delay_s or 0) > 60  # after the lease: finishes the job if the holder crashed
    assert only_delivery(world).status == "succeeded"


def test_an_attempt_whose_holder_crashed_is_taken_over_after_the_lease(world: World) -> None:
    subscribe(world)

    def crash() -> None:
        raise RuntimeError("Lambda timed out")

    world.sender.during_post = crash
    with pytest.raises(RuntimeError):
        world.service.dispatch(envelope())
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope(), attempt=2)  # lease still held
    world.clock.advance(61)
    world.service.dispatch(envelope(), attempt=3)
    assert only_delivery(world).status == "succeeded" and only_delivery(world).attempts == 2


def test_deliveries_are_deferred_when_the_invocation_runs_out_of_time(world: World) -> None:
    subscribe(world)
    with pytest.raises(RetryableError) as err:
        world.service.dispatch(envelope(), time_left_s=lambda: 3.0)
    assert err.value.delay_s == 1 and world.sender.sent == [] and world.store.deliveries == {}


def test_a_subscription_created_after_the_event_does_not_receive_it(world: World) -> None:
    world.clock.advance(60)
    subscribe(world)
    world.service.dispatch(envelope(at=T0))
    assert world.sender.sent == []


def test_a_pending_delivery_ends_as_failed_when_its_subscription_is_disabled(world: World) -> None:
    sub_id, _ = subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope())
    world.service.update("acme", sub_id, SubscriptionPatch(enabled=False))
    world.service.dispatch(envelope(), attempt=2)
    delivery = only_delivery(world)
    assert delivery.status == "failed" and delivery.last_error == "the subscription was disabled"
    assert len(world.sender.sent) == 1


def test_every_attempt_is_reported_even_when_the_record_is_retried(world: World) -> None:
    subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    seen: list[str] = []
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope(), on_outcome=lambda o: seen.append(f"{o.status}:{o.status_code}"))
    assert seen == ["pending:500"]


# --- replay, deliveries, secrets -------------------------------------------------------------------------

def test_replay_resends_the_stored_payload_as_a_new_attempt() -> None:
    world = make_world(retry=RetryPolicy(max_attempts=1))
    sub_id, secret = subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    world.service.dispatch(envelope(text="hola"))
    dead = only_delivery(world)
    assert dead.status == "dead"

    world.clock.advance(3600)
    replayed = world.service.replay("acme", dead.delivery_id)

    assert replayed.status == "succeeded" and replayed.attempts == 2 and replayed.last_error is None
    first, again = world.sender.sent
    assert again.body == first.body and again.headers[DELIVERY_HEADER] == dead.delivery_id
    assert verify(secret, again.headers[SIGNATURE_HEADER], again.body, world.clock.now())
    assert world.service.list_deliveries("acme", sub_id, status="succeeded").items == [replayed]


def test_a_failed_replay_is_recorded_and_can_be_replayed_again() -> None:
    world = make_world(retry=RetryPolicy(max_attempts=1))
    subscribe(world)
    world.sender.answer("hooks.acme.example", 500, 500)
    world.service.dispatch(envelope())
    replayed = world.service.replay("acme", only_delivery(world).delivery_id)
    assert replayed.status == "failed" and replayed.last_status_code == 500
    assert world.service.replay("acme", replayed.delivery_id).status == "succeeded"


def test_replay_is_refused_for_pending_deliveries_other_tenants_and_disabled_subscriptions(world: World) -> None:
    sub_id, _ = subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    with pytest.raises(RetryableError):
        world.service.dispatch(envelope())
    delivery_id = only_delivery(world).delivery_id
    with pytest.raises(Conflict):
        world.service.replay("acme", delivery_id)  # still retried automatically
    with pytest.raises(NotFound):
        world.service.replay("evil", delivery_id)
    world.service.update("acme", sub_id, SubscriptionPatch(enabled=False))
    world.service.dispatch(envelope(), attempt=2)  # ends the pending delivery as failed
    with pytest.raises(Conflict, match="disabled"):
        world.service.replay("acme", delivery_id)


def test_a_url_that_rebinds_to_a_private_address_is_not_posted_to_on_replay() -> None:
    world = make_world(retry=RetryPolicy(max_attempts=1))
    subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    world.service.dispatch(envelope())
    world.dns.answers["hooks.acme.example"] = ["127.0.0.1"]
    replayed = world.service.replay("acme", only_delivery(world).delivery_id)
    assert replayed.status == "failed" and (replayed.last_error or "").startswith("unsafe target")
    assert len(world.sender.sent) == 1


def test_a_bad_cursor_is_invalid_input(world: World) -> None:
    sub_id, _ = subscribe(world)
    with pytest.raises(InvalidInput):
        world.service.list_deliveries("acme", sub_id, cursor="not-ours")


def test_rotation_signs_with_both_secrets_during_the_grace_period_then_only_the_new(world: World) -> None:
    sub_id, old = subscribe(world)
    rotated = world.service.rotate_secret("acme", sub_id)
    assert rotated.secret != old and rotated.previous_secret_valid_until == T0 + timedelta(hours=24)

    world.service.dispatch(envelope(event_id="evt-1"))
    sent = world.sender.sent[-1]
    assert verify(old, sent.headers[SIGNATURE_HEADER], sent.body, T0)
    assert verify(rotated.secret, sent.headers[SIGNATURE_HEADER], sent.body, T0)

    world.clock.advance(24 * 3600 + 1)
    world.service.dispatch(envelope(event_id="evt-2", at=world.clock.now()))
    sent = world.sender.sent[-1]
    assert verify(rotated.secret, sent.headers[SIGNATURE_HEADER], sent.body, world.clock.now())
    assert not verify(old, sent.headers[SIGNATURE_HEADER], sent.body, world.clock.now())


# --- the REST routes over the service --------------------------------------------------------------------

@dataclass
class Api:
    world: World
    app: Any

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, tenant: str = "acme",
             scopes: str = "admin", query: dict[str, str] | None = None) -> tuple[int, Any]:
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"}, "queryStringParameters": query,
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "test"},
                               "authorizer": {"lambda": {"kind": "api_key", "principal_id": "key-1",
                                                         "tenant_id": tenant, "scopes": scopes}},
                               "requestId": "r", "routeKey": "$default", "stage": "$default"},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
        }
        response = self.app.resolve(event, {})
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else ""


@pytest.fixture
def api(world: World, monkeypatch: pytest.MonkeyPatch) -> Api:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from functions.api import deps
    from functions.api.routes import webhooks as routes
    from shared.http import problems

    monkeypatch.setattr(deps, "webhooks", lambda: world.service)
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register(app)
    app.include_router(routes.router)
    return Api(world, app)


def test_api_subscribe_answers_201_with_the_secret_once(api: Api) -> None:
    status, created = api.call("POST", "/v1/webhooks", {"url": "https://hooks.acme.example/in",
                                                        "events": ["MessageReceived"]})
    assert status == 201 and created["secret"].startswith("whsec_") and created["tenant_id"] == "acme"
    status, listed = api.call("GET", "/v1/webhooks")
    assert status == 200 and [s["subscription_id"] for s in listed["items"]] == [created["subscription_id"]]
    assert "secret" not in listed["items"][0] and listed["next_cursor"] is None
    status, one = api.call("GET", f"/v1/webhooks/{created['subscription_id']}")
    assert status == 200 and "secret" not in one


def test_api_requires_the_admin_scope(api: Api) -> None:
    status, problem = api.call("GET", "/v1/webhooks", scopes="contacts:read")
    assert status == 403 and problem["code"] == "forbidden"


def test_api_validates_input_and_refuses_unsafe_urls(api: Api) -> None:
    status, problem = api.call("POST", "/v1/webhooks", {"url": "https://h.example/x", "events": ["Nope"]})
    assert status == 422 and problem["code"] == "invalid_input"
    status, problem = api.call("POST", "/v1/webhooks", {"url": "https://169.254.169.254/",
                                                        "events": ["ContactCreated"]})
    assert status == 422 and problem["errors"][0]["location"] == "body.url"


def test_api_answers_404_for_another_tenants_subscription_and_deletes_with_204(api: Api) -> None:
    _, created = api.call("POST", "/v1/webhooks", {"url": "https://h.example/x", "events": ["ContactCreated"]})
    path = f"/v1/webhooks/{created['subscription_id']}"
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                           ("GET", "/deliveries")):
        status, _ = api.call(method, path + suffix, {"enabled": False} if method == "PATCH" else None,
                             tenant="evil")
        assert status == 404, (method, suffix)
    status, patched = api.call("PATCH", path, {"enabled": False})
    assert status == 200 and patched["enabled"] is False
    assert api.call("DELETE", path) == (204, "")  # no body, not even "null"
    assert api.call("GET", path)[0] == 404


def test_api_lists_deliveries_by_status_and_replays_them(api: Api) -> None:
    world = api.world  # the routes call world.service: give it a single attempt
    world.service = WebhookService(store=world.store, sender=world.sender, clock=world.clock, resolver=world.dns,
                                   secrets=Secrets(), retry=RetryPolicy(max_attempts=1))
    sub_id, _ = subscribe(world)
    world.sender.answer("hooks.acme.example", 500)
    world.service.dispatch(envelope())

    status, page = api.call("GET", f"/v1/webhooks/{sub_id}/deliveries", query={"status": "dead", "limit": "10"})
    assert status == 200 and [d["status"] for d in page["items"]] == ["dead"]
    assert page["items"][0]["payload"]["type"] == "MessageReceived"
    assert api.call("GET", f"/v1/webhooks/{sub_id}/deliveries", query={"limit": "0"})[0] == 422

    status, replayed = api.call("POST", f"/v1/webhooks/deliveries/{page['items'][0]['delivery_id']}/replay")
    assert status == 200 and replayed["status"] == "succeeded" and replayed["attempts"] == 2
    assert api.call("POST", "/v1/webhooks/deliveries/whd_nope/replay")[0] == 404
