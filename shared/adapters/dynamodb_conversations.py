"""DynamoDB adapter for conversations (keys in README "DynamoDB key design"):

  conversation   pk=T#<t>#TH#<channel>#<contact_key>   sk=CONV#<conversation_id>   (beside its thread)
                 gsi1pk=T#<t>#CONVS          gsi1sk=<opened iso>#<conversation_id>  (tenant listing, newest first)
                 gsi2pk=T#<t>#CONV#<id>      gsi2sk=CONV                             (lookup by id)
Messages are read from the thread timeline (gsi1 of the message items) between opened and closed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, decode_cursor, encode_cursor, thread_key
from shared.models.conversations import Conversation, MessageView
from shared.ports import Page


def _conv_item(item: dict[str, Any]) -> Conversation:
    data = {k: v for k, v in item.items() if k in Conversation.model_fields}
    if isinstance(data.get("agents"), set):
        data["agents"] = sorted(data["agents"])
    return Conversation.model_validate(data)




def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class DynamoConversations:
    def __init__(self, table: Any) -> None:
        self._table = table

    def open(self, conversation: Conversation) -> None:
        """Idempotent: a redelivered first message finds the record already there."""
        c = conversation
        pk = thread_key(c.tenant_id, c.channel_id, c.contact_key)["pk"]
        item = {
            "pk": pk,
            "sk": f"CONV#{c.conversation_id}",
            "gsi1pk": f"T#{c.tenant_id}#CONVS",
            "gsi1sk": f"{_iso(c.opened_at)}#{c.conversation_id}",
            "gsi2pk": f"T#{c.tenant_id}#CONV#{c.conversation_id}",
            "gsi2sk": "CONV",
            **{k: v for k, v in c.model_dump(mode="json").items() if v not in (None, [], {})},
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def _item(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        items = self._table.query(
            IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(f"T#{tenant_id}#CONV#{conversation_id}"), Limit=1
        )["Items"]
        return items[0] if items else None

    def get(self, tenant_id: str, conversation_id: str) -> Conversation | None:
        item = self._item(tenant_id, conversation_id)
        return _conv_item(item) if item else None

    def page(
        self,
        tenant_id: str,
        *,
        status: str | None,
        channel_id: str | None,
        contact_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        conditions = [
            Attr(name).eq(value)
            for name, value in (("status", status), ("channel_id", channel_id), ("contact_id", contact_id))
            if value
        ]
        return self.listing(tenant_id, conditions=conditions, limit=limit, cursor=cursor)

    def listing(self, tenant_id: str, *, conditions: Sequence[Any] = (), since: datetime | None = None,
                until: datetime | None = None, limit: int, cursor: str | None) -> Page:
        """The tenant's conversations, newest first, opened within [since, until] and matching every condition
        (boto3 `Attr` conditions on the conversation record)."""
        index_pk = f"T#{tenant_id}#CONVS"
        key = Key("gsi1pk").eq(index_pk)
        if since is not None and until is not None:
            key = key & Key("gsi1sk").between(_iso(since), _iso(until) + "~")
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": key, "ScanIndexForward": False}
        if conditions:
            expr = conditions[0]
            for cond in conditions[1:]:
                expr = expr & cond
            kwargs["FilterExpression"] = expr
        start = decode_cursor(cursor, partition=index_pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        items: list[Conversation] = []
        # A filter applies after the read: keep reading until the page is full or the index ends.
        while True:
            kwargs["Limit"] = max(limit - len(items), 1) * (4 if conditions else 1)
            result = self._table.query(**kwargs)
            for item in result["Items"]:
                if len(items) < limit:
                    items.append(_conv_item(item))
                    last = {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
            more = result.get("LastEvaluatedKey")
            if len(items) >= limit:
                return Page(items, encode_cursor(last) if (more or len(result["Items"]) > 0) else None)
            if not more:
                return Page(items, None)
            kwargs["ExclusiveStartKey"] = more

    def messages(self, conversation: Conversation, *, limit: int = 200) -> list[MessageView]:
        pk = thread_key(conversation.tenant_id, conversation.channel_id, conversation.contact_key)["pk"]
        start = _iso(conversation.opened_at)
        cond = Key("gsi1pk").eq(pk) & Key("gsi1sk").gte(start)
        if conversation.closed_at:
            cond = Key("gsi1pk").eq(pk) & Key("gsi1sk").between(start, _iso(conversation.closed_at) + "~")
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=cond, Limit=limit)["Items"]
        out = []
        for i in items:
            if i.get("item_kind"):  # internal notes and routing records share the timeline (transcripts read them)
                continue
            direction = "out" if i.get("direction") == "out" else "in"
            at = i.get("sent_at") or i.get("created_at") or str(i["gsi1sk"]).split("#", 1)[0]
            media = i.get("media")
            raw = _email_raw(i)
            out.append(
                MessageView(
                    message_id=str(i.get("message_id") or i.get("provider_message_id") or i["pk"]),
                    direction=direction,
                    type=str(i.get("message_type") or i.get("type") or "unknown"),
                    text=i.get("text"),
                    status=i.get("status"),
                    at=_dt(str(at)) if isinstance(at, str) else at,
                    provider_message_id=i.get("provider_message_id"),
                    error_code=int(i["error_code"]) if i.get("error_code") not in (None, -1) else None,
                    error_title=i.get("error_title") or None,
                    media=media if isinstance(media, dict) else None,
                    media_stored=bool(i.get("media_s3_key")) and i.get("media_state") == "stored",
                    media_key=i.get("media_s3_key") or None,
                    origin=i.get("origin") if direction == "out" else None,
                    subject=raw.get("subject") or None,
                    sentiment=i.get("sentiment"),
                    attachments=raw.get("attachments") or None,
                )
            )
        return out


def _email_raw(item: dict[str, Any]) -> dict[str, Any]:
    """What an inbound email kept raw (subject and attachments); {} for other messages."""
    if '"email"' not in str(item.get("content") or ""):  # cheap: most messages carry no email content
        return {}
    try:
        content = json.loads(str(item["content"]))
    except ValueError:
        return {}
    raw = content.get("raw") if isinstance(content, dict) and content.get("provider") == "email" else None
    return raw if isinstance(raw, dict) else {}
