"""DynamoDB adapter for report aggregates (single table).

  buckets      pk=T#<t>#RPT#<YYYY-MM-DD (UTC)>     sk=<dim>#<HH>           numeric attributes, ADDed
  fact         pk=T#<t>#RCONV#<conversation>        sk=F                    the conversation's fact (JSON), version
  closed row   pk=T#<t>#RCLOSED#<YYYY-MM-DD (UTC)>  sk=<conversation>       the fact of a closed conversation (export)
  thread       pk=T#<t>#RTHREAD#<channel>#<contact> sk=P                    the thread's current conversation
  contact      pk=T#<t>#RCONTACT#<contact>          sk=C                    the contact had a conversation before
  agents       pk=T#<t>#RAGENTS                     sk=<user>               each agent's status and since, version
  marker       pk=T#<t>#RSEEN#<event>               sk=M                    this event was counted (TTL 35 days)
  BI export    pk=T#<t>#RBIEXPORT                   sk=<YYYY-MM-DD>         the day's analytics files were written

`<dim>` is `all#-`, `ch#<channel>`, `cp#<campaign>` or `ag#<user>`; a report reads one Query per UTC day
(begins_with the dimension), never a scan. Every event is one TransactWriteItems: the marker first (a failed
condition there means "already counted"), then the conditional state writes, then the ADDs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import counter_update, message_key, transact
from shared.services.reports import AgentMark, CampaignRules, Change, ConversationFact

MARKER_DAYS = 35  # redeliveries (SQS retries, EventBridge retries for 24 h) come well within this
_FACT_FIELDS = frozenset(f.name for f in fields(ConversationFact)) - {"version"}
_TIMES = ("opened_at", "closed_at", "human_requested_at", "first_response_at", "first_agent_response_at",
          "awaiting_since", "last_reply_at")


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def fact_json(fact: ConversationFact) -> str:
    data = {k: v for k, v in asdict(fact).items() if k != "version"}
    for name in _TIMES:
        data[name] = _iso(getattr(fact, name))
    return json.dumps(data, separators=(",", ":"))


def fact_of(raw: str, version: int) -> ConversationFact:
    data = {k: v for k, v in json.loads(raw).items() if k in _FACT_FIELDS}
    for name in _TIMES:
        data[name] = _dt(data.get(name))
    data["agents"] = tuple(data.get("agents") or ())
    data["scored"] = tuple(tuple(s) for s in data.get("scored") or ())
    return ConversationFact(**data, version=version)


def _versioned_put(table: str, item: dict[str, Any], version: int) -> dict[str, Any]:
    """Put `item` as version + 1 if the stored one is still `version` (-1: there is none yet)."""
    put: dict[str, Any] = {"TableName": table, "Item": {**item, "version": version + 1}}
    if version < 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put |= {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": version}}
    return {"Put": put}


class DynamoReports:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client

    # -- reading state --------------------------------------------------------------------------------------------
    def fact(self, tenant_id: str, conversation_id: str) -> ConversationFact | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#RCONV#{conversation_id}", "sk": "F"},
                                    ConsistentRead=True).get("Item")
        return fact_of(item["data"], int(item["version"])) if item else None

    def thread(self, tenant_id: str, channel_id: str, contact_key: str) -> tuple[str, datetime] | None:
        item = self._table.get_item(Key=self._thread_key(tenant_id, channel_id, contact_key),
                                    ConsistentRead=True).get("Item")
        return (str(item["conversation_id"]), datetime.fromisoformat(item["opened_at"])) if item else None

    def contact_seen(self, tenant_id: str, contact: str) -> bool:
        return "Item" in self._table.get_item(Key={"pk": f"T#{tenant_id}#RCONTACT#{contact}", "sk": "C"},
                                              ConsistentRead=True)

    def agent(self, tenant_id: str, user_id: str) -> AgentMark | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#RAGENTS", "sk": user_id},
                                    ConsistentRead=True).get("Item")
        return self._mark(item) if item else None

    def agents(self, tenant_id: str) -> list[AgentMark]:
        return [self._mark(i) for i in self._query(Key("pk").eq(f"T#{tenant_id}#RAGENTS"))]

    @staticmethod
    def _mark(item: dict[str, Any]) -> AgentMark:
        return AgentMark(user_id=str(item["sk"]), status=str(item["status"]),
                         since=datetime.fromisoformat(item["since"]), break_type=item.get("break_type"),
                         version=int(item["version"]))

    @staticmethod
    def _thread_key(tenant_id: str, channel_id: str, contact_key: str) -> dict[str, str]:
        return {"pk": f"T#{tenant_id}#RTHREAD#{channel_id}#{contact_key}", "sk": "P"}

    # -- writing ------------------------------------------------------------------------------------------------
    def commit(self, tenant_id: str, change: Change) -> bool | None:
        table = self._table.name
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
            "Item": {"pk": f"T#{tenant_id}#RSEEN#{change.marker}", "sk": "M",
                     "expires_at": int((datetime.now(UTC) + timedelta(days=MARKER_DAYS)).timestamp())}}}]
        if change.fact is not None:
            fact, data = change.fact, fact_json(change.fact)
            items.append(_versioned_put(table, {"pk": f"T#{tenant_id}#RCONV#{fact.conversation_id}", "sk": "F",
                                                "data": data}, fact.version))
            if fact.closed_at is not None:
                items.append({"Put": {"TableName": table, "Item": {
                    "pk": f"T#{tenant_id}#RCLOSED#{fact.closed_at.astimezone(UTC).date().isoformat()}",
                    "sk": fact.conversation_id, "data": data, "version": fact.version + 1}}})
            if change.reopened_from is not None:
                items.append({"Delete": {"TableName": table, "Key": {
                    "pk": f"T#{tenant_id}#RCLOSED#{change.reopened_from.isoformat()}", "sk": fact.conversation_id}}})
        if change.thread is not None:
            channel_id, contact_key, conversation_id, opened_at = change.thread
            items.append({"Put": {"TableName": table, "Item": {
                **self._thread_key(tenant_id, channel_id, contact_key), "conversation_id": conversation_id,
                "opened_at": _iso(opened_at)}}})
        if change.contact is not None:
            items.append({"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                                  "Item": {"pk": f"T#{tenant_id}#RCONTACT#{change.contact}", "sk": "C"}}})
        if change.agent is not None:
            mark = change.agent
            items.append(_versioned_put(table, {
                "pk": f"T#{tenant_id}#RAGENTS", "sk": mark.user_id, "status": mark.status, "since": _iso(mark.since),
                **({"break_type": mark.break_type} if mark.break_type else {})}, mark.version))
        merged: dict[tuple[str, str], dict[str, int]] = {}  # one item per bucket, however many adds reach it
        for add in change.adds:
            hour = add.hour.astimezone(UTC)
            bucket = merged.setdefault((hour.date().isoformat(), f"{add.dim}#{hour:%H}"), {})
            for name, value in add.counters.items():
                bucket[name] = bucket.get(name, 0) + value
        for (day, sk), counters in merged.items():
            update = counter_update(table, {"pk": f"T#{tenant_id}#RPT#{day}", "sk": sk}, counters)
            if update is not None:
                items.append(update)
        failed = transact(self._client, items)
        return True if failed is None else False if failed == 0 else None  # written; counted already; a race

    # -- reading reports -----------------------------------------------------------------------------------------
    def buckets(self, tenant_id: str, day: date, prefix: str) -> list[tuple[str, int, dict[str, int]]]:
        out = []
        condition = Key("pk").eq(f"T#{tenant_id}#RPT#{day.isoformat()}")
        for item in self._query(condition & Key("sk").begins_with(prefix) if prefix else condition):
            dimension, hour = str(item["sk"]).rsplit("#", 1)
            out.append((dimension, int(hour), {k: int(v) for k, v in item.items() if k not in ("pk", "sk")}))
        return out

    def closed(self, tenant_id: str, day: date) -> list[ConversationFact]:
        return [fact_of(i["data"], int(i["version"]))
                for i in self._query(Key("pk").eq(f"T#{tenant_id}#RCLOSED#{day.isoformat()}"))]

    # -- BI export bookkeeping -----------------------------------------------------------------------------------
    def exported(self, tenant_id: str, day: date) -> bool:
        return "Item" in self._table.get_item(Key={"pk": f"T#{tenant_id}#RBIEXPORT", "sk": day.isoformat()})

    def mark_exported(self, tenant_id: str, day: date) -> None:
        self._table.put_item(Item={"pk": f"T#{tenant_id}#RBIEXPORT", "sk": day.isoformat(),
                                   "at": datetime.now(UTC).isoformat(),
                                   "expires_at": int((datetime.now(UTC) + timedelta(days=40)).timestamp())})

    def _query(self, condition: Any) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        out: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**kwargs)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- message sentiment ---------------------------------------------------------------------------------------
    def set_sentiment(self, tenant_id: str, channel_id: str, message_id: str, label: str, score: float) -> None:
        try:
            self._table.update_item(Key=message_key(tenant_id, channel_id, message_id),
                                    UpdateExpression="SET sentiment = :s, sentiment_score = :v",
                                    ConditionExpression="attribute_exists(pk)",
                                    ExpressionAttributeValues={":s": label, ":v": Decimal(str(score))})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


class CachedCampaignRules:
    """A campaign's opening hours and service level (business-hours response times), read at most once a minute
    per campaign and container: called as the aggregator's `campaigns` port."""

    TTL_S = 60.0

    def __init__(self, center: Any, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._center = center  # DynamoContactCenter
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, CampaignRules | None]] = {}

    def __call__(self, tenant_id: str, campaign_id: str) -> CampaignRules | None:
        hit = self._cache.get((tenant_id, campaign_id))
        if hit and hit[0] > self._clock():
            return hit[1]
        campaign = self._center.get_campaign(tenant_id, campaign_id)
        rules = CampaignRules(campaign.schedule, campaign.sla_threshold_s) if campaign else None
        self._cache[(tenant_id, campaign_id)] = (self._clock() + self.TTL_S, rules)
        return rules
