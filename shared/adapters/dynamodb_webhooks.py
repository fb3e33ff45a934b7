"""DynamoDB adapter for outbound webhooks: subscriptions and delivery records (single table).

  subscription  pk=T#<tenant>#WEBHOOKS              sk=SUB#<subscription_id>
  sub counter   pk=T#<tenant>#WEBHOOKS              sk=COUNT      n = subscriptions (the per-tenant cap's guard)
  delivery      pk=T#<tenant>#WHD#<delivery_id>     sk=DELIVERY
                gsi1pk=T#<tenant>#WHSUB#<subscription_id>             gsi1sk=<created iso>#<delivery_id>
                gsi2pk=T#<tenant>#WHSUB#<subscription_id>#<status>    gsi2sk=<created iso>#<delivery_id>
                expires_at = last attempt + retention (30 days by default)

A tenant's subscriptions share one partition: the dispatcher reads them with one Query per event, and the
counter item next to them makes "at most N per tenant" one transaction (counter + put). A delivery is its
own item, created with a conditional put (the idempotency guard for event x subscription); gsi1 lists a
subscription's deliveries newest first and gsi2 the ones in one status (e.g. every dead delivery) without
a filter. Every key starts with the tenant, so one tenant's ids never reach another tenant's items.
The signing secret is stored on the subscription item (the table is encrypted at rest with KMS); the API
never returns it after creation.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, _old_item, query_page
from shared.models.webhooks import Delivery, DeliveryStatus, Subscription
from shared.services.webhooks import SubscriptionChanges, SubscriptionRecord

_COUNTER_SK = "COUNT"
_SUB_PREFIX = "SUB#"


def subscriptions_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#WEBHOOKS"


def subscription_key(tenant_id: str, subscription_id: str) -> dict[str, str]:
    return {"pk": subscriptions_pk(tenant_id), "sk": f"{_SUB_PREFIX}{subscription_id}"}


def delivery_key(tenant_id: str, delivery_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#WHD#{delivery_id}", "sk": "DELIVERY"}


def _by_subscription(tenant_id: str, subscription_id: str) -> str:
    return f"T#{tenant_id}#WHSUB#{subscription_id}"


def _by_status(tenant_id: str, subscription_id: str, status: str) -> str:
    return f"{_by_subscription(tenant_id, subscription_id)}#{status}"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _required_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _record(item: dict[str, Any]) -> SubscriptionRecord:
    subscription = Subscription(
        subscription_id=item["subscription_id"], tenant_id=item["tenant_id"], url=item["url"],
        events=[str(e) for e in item.get("events") or ()], description=item.get("description"),
        campaign_id=item.get("campaign_id"), enabled=bool(item.get("enabled", True)),
        disabled_reason=item.get("disabled_reason"),
        created_at=_required_time(item["created_at"]), updated_at=_required_time(item["updated_at"]))
    return SubscriptionRecord(subscription=subscription, secret=item["secret"],
                              previous_secret=item.get("previous_secret"),
                              previous_secret_until=_time(item.get("previous_secret_until")))


def _delivery(item: dict[str, Any]) -> Delivery:
    code = item.get("last_status_code")
    return Delivery(
        delivery_id=item["delivery_id"], tenant_id=item["tenant_id"], subscription_id=item["subscription_id"],
        event_id=item["event_id"], event_type=item["event_type"], status=item["status"],
        attempts=int(item.get("attempts") or 0), last_status_code=int(code) if code is not None else None,
        last_error=item.get("last_error"), last_attempt_at=_time(item.get("last_attempt_at")),
        next_attempt_at=_time(item.get("next_attempt_at")), created_at=_required_time(item["created_at"]),
        payload=json.loads(item["payload"]))


class _Update:
    """SET/REMOVE clauses with attribute names always aliased (reserved words: url, status, ...)."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.removes: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def set(self, attr: str, value: Any) -> None:
        if value is None or value == "":
            self.remove(attr)
            return
        self.names[f"#{attr}"] = attr
        self.values[f":{attr}"] = value
        self.sets.append(f"#{attr} = :{attr}")

    def remove(self, attr: str) -> None:
        self.names[f"#{attr}"] = attr
        self.removes.append(f"#{attr}")

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        return " ".join(parts)


class DynamoWebhookStore:
    """Satisfies shared.services.webhooks.WebhookStore."""

    def __init__(self, table: Any, *, retention_days: int = 30) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    # -- subscriptions -----------------------------------------------------------------------------------
    def add_subscription(self, record: SubscriptionRecord, *, max_per_tenant: int) -> bool:
        sub = record.subscription
        item: dict[str, Any] = {
            **subscription_key(sub.tenant_id, sub.subscription_id), "type": "webhook_subscription",
            "subscription_id": sub.subscription_id, "tenant_id": sub.tenant_id, "url": sub.url,
            "events": list(sub.events), "enabled": sub.enabled, "created_at": _iso(sub.created_at),
            "updated_at": _iso(sub.updated_at), "secret": record.secret}
        if sub.description:
            item["description"] = sub.description
        if sub.campaign_id:
            item["campaign_id"] = sub.campaign_id
        try:
            self._table.meta.client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table.name,
                            "Key": {"pk": subscriptions_pk(sub.tenant_id), "sk": _COUNTER_SK},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :max",
                            "ExpressionAttributeValues": {":one": 1, ":max": max_per_tenant}}},
                {"Put": {"TableName": self._table.name, "Item": item,
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def get_subscription(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        item = self._table.get_item(Key=subscription_key(tenant_id, subscription_id)).get("Item")
        return _record(item) if item else None

    def list_subscriptions(self, tenant_id: str) -> list[SubscriptionRecord]:
        condition = Key("pk").eq(subscriptions_pk(tenant_id)) & Key("sk").begins_with(_SUB_PREFIX)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page["Items"])
            if not page.get("LastEvaluatedKey"):
                return [_record(i) for i in items]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update_subscription(self, tenant_id: str, subscription_id: str, update: _Update
                             ) -> SubscriptionRecord | None:
        try:
            item = self._table.update_item(
                Key=subscription_key(tenant_id, subscription_id), UpdateExpression=update.expression(),
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values, ReturnValues="ALL_NEW")["Attributes"]
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        return _record(item)

    def update_subscription(self, tenant_id: str, subscription_id: str, changes: SubscriptionChanges
                            ) -> SubscriptionRecord | None:
        update = _Update()
        update.set("updated_at", _iso(changes.updated_at))
        if changes.url is not None:
            update.set("url", changes.url)
        if changes.events is not None:
            update.set("events", list(changes.events))
        if changes.description is not None:
            update.set("description", changes.description)
        if changes.enabled is not None:
            update.set("enabled", changes.enabled)
            update.set("disabled_reason", None if changes.enabled else changes.disabled_reason)
        return self._update_subscription(tenant_id, subscription_id, update)

    def set_secret(self, tenant_id: str, subscription_id: str, *, secret: str, previous_secret: str | None,
                   previous_until: datetime | None, updated_at: datetime) -> SubscriptionRecord | None:
        update = _Update()
        update.set("secret", secret)
        update.set("previous_secret", previous_secret)
        update.set("previous_secret_until", _iso(previous_until) if previous_until else None)
        update.set("updated_at", _iso(updated_at))
        return self._update_subscription(tenant_id, subscription_id, update)

    def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool:
        try:
            self._table.meta.client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self._table.name, "Key": subscription_key(tenant_id, subscription_id),
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Update": {"TableName": self._table.name,
                            "Key": {"pk": subscriptions_pk(tenant_id), "sk": _COUNTER_SK},
                            "UpdateExpression": "ADD n :minus", "ExpressionAttributeValues": {":minus": -1}}},
            ])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    # -- deliveries --------------------------------------------------------------------------------------
    def _expires_at(self, at: datetime) -> int:
        return int((at + self._retention).timestamp())

    def create_delivery(self, delivery: Delivery, *, lease_until: datetime) -> Delivery | None:
        order = f"{_iso(delivery.created_at)}#{delivery.delivery_id}"
        item: dict[str, Any] = {
            **delivery_key(delivery.tenant_id, delivery.delivery_id), "type": "webhook_delivery",
            "gsi1pk": _by_subscription(delivery.tenant_id, delivery.subscription_id), "gsi1sk": order,
            "gsi2pk": _by_status(delivery.tenant_id, delivery.subscription_id, delivery.status), "gsi2sk": order,
            "delivery_id": delivery.delivery_id, "tenant_id": delivery.tenant_id,
            "subscription_id": delivery.subscription_id, "event_id": delivery.event_id,
            "event_type": delivery.event_type, "status": delivery.status, "attempts": delivery.attempts,
            "created_at": _iso(delivery.created_at), "payload": json.dumps(delivery.payload, separators=(",", ":")),
            "lease_until": _iso(lease_until), "expires_at": self._expires_at(delivery.created_at)}
        if delivery.last_attempt_at:
            item["last_attempt_at"] = _iso(delivery.last_attempt_at)
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)",
                                 ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            old = _old_item(exc) or self._table.get_item(
                Key=delivery_key(delivery.tenant_id, delivery.delivery_id), ConsistentRead=True).get("Item")
            return _delivery(old)
        return None

    def claim_attempt(self, delivery: Delivery, *, now: datetime, lease_until: datetime) -> bool:
        try:
            self._table.update_item(
                Key=delivery_key(delivery.tenant_id, delivery.delivery_id),
                UpdateExpression="SET attempts = :next, last_attempt_at = :now, lease_until = :lease",
                ConditionExpression="attempts = :seen AND #st = :status "
                                    "AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":next": delivery.attempts + 1, ":seen": delivery.attempts,
                                           ":status": delivery.status, ":now": _iso(now),
                                           ":lease": _iso(lease_until)})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def record_outcome(self, delivery: Delivery) -> bool:
        update = _Update()
        update.set("status", delivery.status)
        update.set("gsi2pk", _by_status(delivery.tenant_id, delivery.subscription_id, delivery.status))
        update.set("last_status_code", delivery.last_status_code)
        update.set("last_error", delivery.last_error)
        update.set("last_attempt_at", _iso(delivery.last_attempt_at) if delivery.last_attempt_at else None)
        update.set("next_attempt_at", _iso(delivery.next_attempt_at) if delivery.next_attempt_at else None)
        update.set("expires_at", self._expires_at(delivery.last_attempt_at or delivery.created_at))
        update.remove("lease_until")
        update.names["#attempts"] = "attempts"
        update.values[":attempts"] = delivery.attempts
        try:
            self._table.update_item(
                Key=delivery_key(delivery.tenant_id, delivery.delivery_id), UpdateExpression=update.expression(),
                ConditionExpression="#attempts = :attempts", ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        item = self._table.get_item(Key=delivery_key(tenant_id, delivery_id)).get("Item")
        return _delivery(item) if item else None

    def list_deliveries(self, tenant_id: str, subscription_id: str, *, status: DeliveryStatus | None,
                        limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
        index, partition = (("gsi2", _by_status(tenant_id, subscription_id, status)) if status else
                            ("gsi1", _by_subscription(tenant_id, subscription_id)))
        items, next_cursor = query_page(self._table, partition, index=index, limit=limit, cursor=cursor)
        return [_delivery(i) for i in items], next_cursor
