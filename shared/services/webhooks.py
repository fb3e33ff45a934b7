"""Outbound webhooks: integrators subscribe a URL to domain events; the dispatcher POSTs each event, signed.

Delivery guarantees:
- One delivery record per (event, subscription), its id derived from both; creating it is a conditional
  write, so the same event arriving twice (EventBridge and SQS are at-least-once) is not sent twice, and
  when one subscription of an event fails, the retry of the SQS record skips the ones already succeeded.
- An attempt is claimed on the record before the POST (attempt counter + a short lease), so two copies of
  the same SQS message running at once do not both send.
- 2xx: succeeded. 410 Gone: the subscription is disabled and the delivery failed. Anything else (other
  codes, 3xx (redirects are never followed), timeouts, an URL that now resolves to a private address):
  RetryableError with exponential backoff (base 10 s, cap 15 min) until the last attempt, then dead.
  Failed and dead deliveries stay listed and can be replayed; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from shared.errors import Conflict, InvalidInput, NotFound, RetryableError
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
from shared.ports import Clock
from shared.services.webhook_security import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Resolver,
    Target,
    UnsafeTarget,
    check_target,
    sign_many,
)
from shared.topology_names import WEBHOOK_EVENT_TYPES

USER_AGENT = "omnichannel-webhooks/1.0"


# --- ports -----------------------------------------------------------------------------------------------

class WebhookSendError(Exception):
    """No HTTP answer: timeout, connection refused or reset, TLS failure."""


class WebhookSender(Protocol):
    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        """POST `body` to one of `target.addresses` (never a fresh DNS lookup), with a timeout and without
        following redirects; returns the status code or raises WebhookSendError."""


class SecretGenerator(Protocol):
    def new_secret(self) -> str: ...


class TokenSecrets:
    def new_secret(self) -> str:
        return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SubscriptionRecord:
    """A subscription with its signing secret(s): what the store keeps, never what the API shows."""

    subscription: Subscription
    secret: str
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        keep_old = self.previous_secret and self.previous_secret_until and now < self.previous_secret_until
        return [self.secret, self.previous_secret] if keep_old and self.previous_secret else [self.secret]


@dataclass(frozen=True)
class SubscriptionChanges:
    updated_at: datetime
    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None  # "" removes it
    enabled: bool | None = None
    disabled_reason: str | None = None  # stored when enabled is False; removed when enabled is True


class WebhookStore(Protocol):
    def add_subscription(self, record: SubscriptionRecord, *, max_per_tenant: int) -> bool:
        """Store a new subscription; False when the tenant already has `max_per_tenant`."""

    def get_subscription(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None: ...

    def list_subscriptions(self, tenant_id: str) -> list[SubscriptionRecord]:
        """All of the tenant's subscriptions, oldest first."""

    def update_subscription(self, tenant_id: str, subscription_id: str, changes: SubscriptionChanges
                            ) -> SubscriptionRecord | None:
        """Apply the changes that are set; None when there is no such subscription."""

    def set_secret(self, tenant_id: str, subscription_id: str, *, secret: str, previous_secret: str | None,
                   previous_until: datetime | None, updated_at: datetime) -> SubscriptionRecord | None: ...

    def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool: ...

    def create_delivery(self, delivery: Delivery, *, lease_until: datetime) -> Delivery | None:
        """Store a new delivery whose first attempt is claimed (attempts=1); None when it was created,
        else the delivery already stored under that id."""

    def claim_attempt(self, delivery: Delivery, *, now: datetime, lease_until: datetime) -> bool:
        """Start attempt `delivery.attempts + 1` if the stored record still has this status and attempt
        count and no other attempt holds the lease; False otherwise."""

    def record_outcome(self, delivery: Delivery) -> bool:
        """Store the outcome of attempt `delivery.attempts` and release the lease; False when another
        attempt started meanwhile (the outcome is stale and dropped)."""

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(self, tenant_id: str, subscription_id: str, *, status: DeliveryStatus | None,
                        limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
        """Newest first; raises ValueError for a cursor this store did not issue for this query."""


# --- policy and values -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: int = 10
    max_delay_s: int = 900

    def delay_after(self, attempts: int) -> int:
        """Backoff after `attempts` failed attempts: 10, 20, 40, ... seconds, capped at 15 minutes."""
        return int(min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempts - 1)))


def delivery_id_for(subscription_id: str, event_id: str) -> str:
    """Deterministic: the same event for the same subscription is always the same delivery."""
    return "whd_" + hashlib.sha256(f"{subscription_id}|{event_id}".encode()).hexdigest()[:32]


def new_subscription_id(now: datetime) -> str:
    """Time-ordered and unguessable: `wh_<ms since epoch, hex>` + 64 random bits."""
    return f"wh_{int(now.timestamp() * 1000):012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    tenant_id: str
    occurred_at: str
    detail: dict[str, Any]

    @classmethod
    def from_envelope(cls, envelope: Mapping[str, Any]) -> WebhookEvent:
        """The EventBridge envelope (`id`, `detail-type`, `time`, `detail`) as SQS receives it."""
        detail = envelope.get("detail")
        if not isinstance(detail, dict) or not detail.get("tenant_id") or not envelope.get("id"):
            raise ValueError("not a tenant event envelope (id, detail.tenant_id required)")
        return cls(event_id=str(envelope["id"]), event_type=str(envelope.get("detail-type") or ""),
                   tenant_id=str(detail["tenant_id"]), occurred_at=str(envelope.get("time") or ""), detail=detail)

    def payload(self) -> dict[str, Any]:
        """The JSON body integrators receive."""
        return {"id": self.event_id, "type": self.event_type, "occurred_at": self.occurred_at,
                "tenant_id": self.tenant_id, "data": self.detail}


@dataclass(frozen=True)
class AttemptOutcome:
    delivery_id: str
    subscription_id: str
    event_type: str
    status: DeliveryStatus
    attempt: int
    status_code: int | None
    error: str | None


@dataclass
class DispatchResult:
    event_type: str
    outcomes: list[AttemptOutcome] = field(default_factory=list)
    duplicates: int = 0  # deliveries that had already ended
    busy: int = 0  # another copy of the event is attempting the delivery right now
    deferred: int = 0  # not attempted: the invocation was running out of time


class _Skip(Enum):
    ENDED = "ended"  # the delivery already succeeded, failed or died
    BUSY = "busy"  # an attempt is in flight elsewhere


def _body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- the service -----------------------------------------------------------------------------------------

class WebhookService:
    def __init__(self, *, store: WebhookStore, sender: WebhookSender, clock: Clock, resolver: Resolver,
                 retry: RetryPolicy = RetryPolicy(), allow_private: frozenset[str] = frozenset(),
                 max_subscriptions: int = 20, secrets: SecretGenerator | None = None,
                 rotation_grace: timedelta = timedelta(hours=24), lease: timedelta = timedelta(seconds=60),
                 min_time_left_s: float = 8.0) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self._resolver = resolver
        self._retry = retry
        self._allow_private = allow_private
        self._max_subscriptions = max_subscriptions
        self._secrets = secrets or TokenSecrets()
        self._rotation_grace = rotation_grace
        self._lease = lease
        self._min_time_left_s = min_time_left_s

    # -- subscriptions -----------------------------------------------------------------------------------
    def _vet(self, url: str) -> str:
        try:
            return check_target(url, resolver=self._resolver, allow_private=self._allow_private).url
        except UnsafeTarget as exc:
            raise InvalidInput(f"url: {exc}", errors=[{"location": "body.url", "message": str(exc),
                                                       "type": "unsafe_url"}]) from None

    def create(self, tenant_id: str, body: SubscriptionInput) -> SubscriptionCreated:
        url = self._vet(body.url)
        now = self._clock.now()
        subscription = Subscription(subscription_id=new_subscription_id(now), tenant_id=tenant_id, url=url,
                                    events=list(body.events), description=body.description or None,
                                    campaign_id=body.campaign_id, created_at=now, updated_at=now)
        secret = self._secrets.new_secret()
        if not self._store.add_subscription(SubscriptionRecord(subscription, secret),
                                            max_per_tenant=self._max_subscriptions):
            raise Conflict(f"a tenant can have at most {self._max_subscriptions} webhook subscriptions")
        return SubscriptionCreated(**subscription.model_dump(), secret=secret)

    def list(self, tenant_id: str) -> SubscriptionList:
        return SubscriptionList(items=[r.subscription for r in self._store.list_subscriptions(tenant_id)])

    def _record(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord:
        record = self._store.get_subscription(tenant_id, subscription_id)
        if record is None:
            raise NotFound(f"webhook subscription {subscription_id} not found")
        return record

    def get(self, tenant_id: str, subscription_id: str) -> Subscription:
        return self._record(tenant_id, subscription_id).subscription

    def update(self, tenant_id: str, subscription_id: str, patch: SubscriptionPatch) -> Subscription:
        given = patch.model_fields_set
        enabled = patch.enabled if "enabled" in given else None
        changes = SubscriptionChanges(
            updated_at=self._clock.now(),
            url=self._vet(patch.url) if patch.url is not None else None,
            events=tuple(patch.events) if patch.events is not None else None,
            description=(patch.description or "") if "description" in given else None,
            enabled=enabled, disabled_reason="manual" if enabled is False else None)
        record = self._store.update_subscription(tenant_id, subscription_id, changes)
        if record is None:
            raise NotFound(f"webhook subscription {subscription_id} not found")
        return record.subscription

    def delete(self, tenant_id: str, subscription_id: str) -> None:
        if not self._store.delete_subscription(tenant_id, subscription_id):
            raise NotFound(f"webhook subscription {subscription_id} not found")

    def rotate_secret(self, tenant_id: str, subscription_id: str) -> SecretRotated:
        """A new secret; the old one keeps signing (as a second v1) for the grace period, so integrators
        can deploy the new secret without rejecting deliveries in between."""
        current = self._record(tenant_id, subscription_id)
        now = self._clock.now()
        secret = self._secrets.new_secret()
        until = now + self._rotation_grace if self._rotation_grace > timedelta(0) else None
        record = self._store.set_secret(tenant_id, subscription_id, secret=secret,
                                        previous_secret=current.secret if until else None,
                                        previous_until=until, updated_at=now)
        if record is None:
            raise NotFound(f"webhook subscription {subscription_id} not found")
        return SecretRotated(subscription_id=subscription_id, secret=secret, previous_secret_valid_until=until)

    # -- deliveries --------------------------------------------------------------------------------------
    def list_deliveries(self, tenant_id: str, subscription_id: str, *, status: DeliveryStatus | None = None,
                        limit: int = 50, cursor: str | None = None) -> DeliveryPage:
        self._record(tenant_id, subscription_id)
        try:
            items, next_cursor = self._store.list_deliveries(tenant_id, subscription_id, status=status,
                                                             limit=limit, cursor=cursor)
        except ValueError:
            raise InvalidInput("invalid cursor") from None
        return DeliveryPage(items=items, next_cursor=next_cursor)

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery:
        delivery = self._store.get_delivery(tenant_id, delivery_id)
        if delivery is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return delivery

    def replay(self, tenant_id: str, delivery_id: str) -> Delivery:
        """Send the stored payload again now, as a new attempt (same delivery id, fresh signature)."""
        delivery = self.get_delivery(tenant_id, delivery_id)
        if delivery.status == "pending":
            raise Conflict("this delivery is still being retried automatically")
        record = self._store.get_subscription(tenant_id, delivery.subscription_id)
        if record is None:
            raise Conflict("the subscription of this delivery was deleted")
        if not record.subscription.enabled:
            raise Conflict("the subscription is disabled; enable it before replaying")
        now = self._clock.now()
        if not self._store.claim_attempt(delivery, now=now, lease_until=now + self._lease):
            raise Conflict("another attempt of this delivery is in progress; retry shortly")
        updated, _ = self._attempt(record, _with_attempt(delivery, delivery.attempts + 1, now), automatic=False)
        return updated

    def dispatch(self, envelope: Mapping[str, Any], *, attempt: int = 1,
                 time_left_s: Callable[[], float] | None = None,
                 on_outcome: Callable[[AttemptOutcome], None] | None = None) -> DispatchResult:
        """Deliver one EventBridge event to every enabled subscription of its tenant that wants its type.

        `attempt` is the SQS receive count; `time_left_s` the invocation's remaining time; `on_outcome` is
        told about every attempt as it ends (logs, metrics), also when this call then raises.
        Raises RetryableError (delay: the shortest backoff) while any delivery still has attempts left,
        another copy of the event holds an attempt, or the invocation ran out of time."""
        event = WebhookEvent.from_envelope(envelope)
        result = DispatchResult(event_type=event.event_type)
        if event.event_type not in WEBHOOK_EVENT_TYPES:
            return result
        occurred = _parse_time(event.occurred_at)
        delays: list[int] = []
        for record in self._store.list_subscriptions(event.tenant_id):
            sub = record.subscription
            if event.event_type not in sub.events:
                continue
            if sub.campaign_id is not None and event.detail.get("campaign_id") != sub.campaign_id:
                continue
            if not sub.enabled:
                if attempt > 1:  # a retry: a delivery left pending for it ends here, visibly
                    self._abandon(event.tenant_id, delivery_id_for(sub.subscription_id, event.event_id))
                continue
            # EventBridge times have whole seconds: a subscription created after the event never gets it
            if occurred is not None and sub.created_at > occurred + timedelta(seconds=1):
                continue
            if time_left_s is not None and time_left_s() < self._min_time_left_s:
                result.deferred += 1
                delays.append(1)
                continue
            claimed = self._claim(record, event)
            if claimed is _Skip.ENDED:
                result.duplicates += 1
                continue
            if isinstance(claimed, _Skip):
                # Not acknowledged: if the holder crashed, this copy must finish the job after the lease.
                result.busy += 1
                delays.append(int(self._lease.total_seconds()) + 1)
                continue
            updated, delay = self._attempt(record, claimed, automatic=True)
            outcome = AttemptOutcome(updated.delivery_id, sub.subscription_id, event.event_type, updated.status,
                                     updated.attempts, updated.last_status_code, updated.last_error)
            result.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if delay is not None:
                delays.append(delay)
        if delays:
            failed = sum(1 for o in result.outcomes if o.status == "pending")
            raise RetryableError(f"webhook deliveries to retry: {failed} failed, {result.busy} in progress "
                                 f"elsewhere, {result.deferred} deferred", delay_s=min(delays))
        return result

    # -- internals ---------------------------------------------------------------------------------------
    def _claim(self, record: SubscriptionRecord, event: WebhookEvent) -> Delivery | _Skip:
        """The delivery with a new attempt claimed, or why there is nothing to attempt."""
        now = self._clock.now()
        fresh = Delivery(delivery_id=delivery_id_for(record.subscription.subscription_id, event.event_id),
                         tenant_id=event.tenant_id, subscription_id=record.subscription.subscription_id,
                         event_id=event.event_id, event_type=event.event_type, status="pending", attempts=1,
                         last_attempt_at=now, created_at=now, payload=event.payload())
        existing = self._store.create_delivery(fresh, lease_until=now + self._lease)
        if existing is None:
            return fresh
        if existing.status != "pending":
            return _Skip.ENDED
        if not self._store.claim_attempt(existing, now=now, lease_until=now + self._lease):
            return _Skip.BUSY
        return _with_attempt(existing, existing.attempts + 1, now)

    def _abandon(self, tenant_id: str, delivery_id: str) -> None:
        delivery = self._store.get_delivery(tenant_id, delivery_id)
        if delivery is not None and delivery.status == "pending":
            self._store.record_outcome(delivery.model_copy(update={
                "status": "failed", "last_error": "the subscription was disabled", "next_attempt_at": None}))

    def _post(self, record: SubscriptionRecord, delivery: Delivery, now: datetime) -> tuple[int | None, str | None]:
        try:
            target = check_target(record.subscription.url, resolver=self._resolver,
                                  allow_private=self._allow_private)
        except UnsafeTarget as exc:
            return None, f"unsafe target: {exc}"
        body = _body(delivery.payload)
        timestamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   SIGNATURE_HEADER: sign_many(record.signing_secrets(now), timestamp, body),
                   TIMESTAMP_HEADER: str(timestamp), EVENT_HEADER: delivery.event_type,
                   DELIVERY_HEADER: delivery.delivery_id}
        try:
            code = self._sender.post(target, body, headers)
        except WebhookSendError as exc:
            return None, (str(exc) or type(exc).__name__)[:500]
        return code, None if 200 <= code < 300 else f"HTTP {code}"

    def _attempt(self, record: SubscriptionRecord, delivery: Delivery, *, automatic: bool
                 ) -> tuple[Delivery, int | None]:
        """POST once and record the outcome; returns the delivery and the retry delay (None: no retry)."""
        now = self._clock.now()
        code, error = self._post(record, delivery, now)
        delay: int | None = None
        status: DeliveryStatus
        if code is not None and 200 <= code < 300:
            status = "succeeded"
        elif code == 410:
            status, error = "failed", "410 Gone: the subscription was disabled"
            sub = record.subscription
            self._store.update_subscription(sub.tenant_id, sub.subscription_id, SubscriptionChanges(
                updated_at=now, enabled=False, disabled_reason="gone"))
        elif automatic and delivery.attempts < self._retry.max_attempts:
            status, delay = "pending", self._retry.delay_after(delivery.attempts)
        else:
            status = "dead" if automatic else "failed"
        outcome = delivery.model_copy(update={
            "status": status, "last_status_code": code, "last_error": error, "last_attempt_at": now,
            "next_attempt_at": now + timedelta(seconds=delay) if delay is not None else None})
        self._store.record_outcome(outcome)
        return outcome, delay


def _with_attempt(delivery: Delivery, attempts: int, now: datetime) -> Delivery:
    return delivery.model_copy(update={"attempts": attempts, "last_attempt_at": now})
