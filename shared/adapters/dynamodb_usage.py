"""DynamoDB adapter for usage metering (single table).

  session      pk=T#<t>#USES#<channel>#<contact_key>   sk=S     the contact's current/last session (JSON), version
  priced       pk=T#<t>#UPRICED#<provider message id>  sk=P     marker: this message's pricing was counted (TTL)
  CBP window   pk=T#<t>#UCBP#<channel>#<contact>#<cat>  sk=W     when the contact's current 24-hour window opened
  counters     pk=T#<t>#USAGE#<YYYY-MM>                sk=<channel>#<shard>   numeric attributes, ADDed
Counters are spread over SHARDS items per channel and month (by contact), so a broadcast's statuses do not all
update one item; a month's usage is one Query of its partition, summed per channel. Every write that counts is
one TransactWriteItems: the conditional state change and the ADDs it causes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from shared.adapters.dynamodb import counter_update, transact
from shared.services.usage import Add, Pricing, SessionMark

SHARDS = 4
_MARK_FIELDS = frozenset(f.name for f in fields(SessionMark))
MARKER_DAYS = 60  # Meta sends a message's statuses within days; markers outlive that


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _shard(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % SHARDS


class DynamoUsage:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client

    # -- sessions ---------------------------------------------------------------------------------------------
    @staticmethod
    def _session_key(tenant_id: str, channel_id: str, contact_key: str) -> dict[str, str]:
        return {"pk": f"T#{tenant_id}#USES#{channel_id}#{contact_key}", "sk": "S"}

    def session(self, tenant_id: str, channel_id: str, contact_key: str) -> SessionMark | None:
        item = self._table.get_item(Key=self._session_key(tenant_id, channel_id, contact_key),
                                    ConsistentRead=True).get("Item")
        if item is None:
            return None
        data = {k: v for k, v in json.loads(item["data"]).items() if k in _MARK_FIELDS}
        return SessionMark(**{**data, "started_at": _dt(data["started_at"]), "last_at": _dt(data["last_at"]),
                              "ended_at": _dt(data.get("ended_at")), "version": int(item["version"])})

    def save_session(self, tenant_id: str, mark: SessionMark, *, expected_version: int | None,
                     adds: Sequence[Add] = ()) -> bool:
        data = {k: v for k, v in asdict(mark).items() if k != "version"}
        data.update(started_at=_iso(mark.started_at), last_at=_iso(mark.last_at), ended_at=_iso(mark.ended_at))
        put: dict[str, Any] = {"TableName": self._table.name, "Item": {
            **self._session_key(tenant_id, mark.channel_id, mark.contact_key), "data": json.dumps(data),
            "version": mark.version}}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put |= {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": expected_version}}
        return self._transact([{"Put": put}, *self._adds(tenant_id, adds, spread=mark.contact_key)]) is None

    # -- Meta pricing ------------------------------------------------------------------------------------------
    @staticmethod
    def _window_key(tenant_id: str, channel_id: str, contact_key: str, category: str) -> dict[str, str]:
        return {"pk": f"T#{tenant_id}#UCBP#{channel_id}#{contact_key}#{category}", "sk": "W"}

    def cbp_window(self, tenant_id: str, channel_id: str, contact_key: str, category: str) -> datetime | None:
        item = self._table.get_item(Key=self._window_key(tenant_id, channel_id, contact_key, category),
                                    ConsistentRead=True).get("Item")
        return _dt(item["opened"]) if item else None

    def price_once(self, tenant_id: str, priced: Pricing, *, add: Add,
                   window: tuple[datetime | None, datetime] | None) -> bool | None:
        expires = int((priced.at + timedelta(days=MARKER_DAYS)).timestamp())
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self._table.name,
            "Item": {"pk": f"T#{tenant_id}#UPRICED#{priced.provider_message_id}", "sk": "P",
                     "category": priced.category, "expires_at": expires},
            "ConditionExpression": "attribute_not_exists(pk)"}}]
        if window is not None:
            before, opened = window
            put: dict[str, Any] = {"TableName": self._table.name, "Item": {
                **self._window_key(tenant_id, priced.channel_id, priced.contact_key, priced.category),
                "opened": _iso(opened),
                "expires_at": int((opened + timedelta(days=2)).timestamp())}}
            if before is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put |= {"ConditionExpression": "opened = :o", "ExpressionAttributeValues": {":o": _iso(before)}}
            items.append({"Put": put})
        failed = self._transact([*items, *self._adds(tenant_id, [add], spread=priced.contact_key)])
        if failed is None:
            return True
        return False if failed == 0 else None  # already counted; or the window moved meanwhile

    # -- counters ----------------------------------------------------------------------------------------------
    def _adds(self, tenant_id: str, adds: Sequence[Add], *, spread: str) -> list[dict[str, Any]]:
        items = (counter_update(self._table.name, {"pk": f"T#{tenant_id}#USAGE#{add.month}",
                                                   "sk": f"{add.channel_id}#{_shard(spread)}"}, add.counters)
                 for add in adds)
        return [item for item in items if item is not None]

    def _transact(self, items: list[dict[str, Any]]) -> int | None:
        return transact(self._client, items)

    def month(self, tenant_id: str, month: str, *, consistent: bool = False) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"T#{tenant_id}#USAGE#{month}"),
                                  "ConsistentRead": consistent}
        while True:
            page = self._table.query(**kwargs)
            for item in page["Items"]:
                channel = str(item["sk"]).rsplit("#", 1)[0]
                bucket = out.setdefault(channel, {})
                for key, value in item.items():
                    if key not in ("pk", "sk"):
                        bucket[key] = bucket.get(key, 0) + int(value)
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
