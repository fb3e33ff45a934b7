"""DynamoDB adapters. The ONLY place that knows key formats (see README "DynamoDB key design").

Single table, keys `pk`/`sk`, sparse GSIs:
  channel         pk=CHANNEL#<channel_id>                        sk=CHANNEL
  page account    pk=ACCOUNT#<messenger|instagram|email>#<account id or address>  sk=ACCOUNT   -> channel_id
  thread          pk=T#<tenant>#TH#<channel>#<contact_key>       sk=THREAD
  message         pk=T#<tenant>#MSG#<channel>#<message_id>       sk=MSG
                  gsi1pk=T#<tenant>#TH#<channel>#<contact_key>   gsi1sk=<iso time>#<message_id>   (thread timeline;
                  inbound: <iso sent>#<received ms>-<message_id>, because providers stamp whole seconds and two
                  messages of one second must keep the order the FIFO processed them in)
                  gsi2pk=T#<tenant>#WAMID#<channel>#<wamid>      gsi2sk=MSG   (outbound only, after Meta accepts)
  send claim      (the outbound message item itself, created before the Graph call)
  orphan status   pk=T#<tenant>#ORPHAN#<channel>#<wamid>         sk=STATUS#<status>
  quarantine      pk=T#<tenant>#QUARANTINE                       sk=<iso time>#<id>
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from shared.errors import InvalidInput
from shared.models.channel import Channel
from shared.models.envelopes import OutboundRequest, outbound_message_id
from shared.models.messages import STATUS_RANK, InboundMessage, StatusKind, StatusUpdate
from shared.ports import OutboundClaim, StatusApplied, Thread, ThreadTouch

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dt(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC) if ms is not None else None


def cancel_codes(exc: ClientError) -> list[str]:
    """The per-item reasons of a cancelled transaction ("ConditionalCheckFailed", "None", ...)."""
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]


def transact(client: Any, items: list[dict[str, Any]]) -> int | None:
    """Write `items` in one transaction: None when written, else the index of the first item whose condition
    failed. Any other cancellation (e.g. a TransactionConflict on a counter item) raises: the record is retried."""
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        failed = [i for i, code in enumerate(cancel_codes(exc)) if code == "ConditionalCheckFailed"]
        if failed:
            return failed[0]
        raise
    return None


def counter_update(table_name: str, key: dict[str, str], counters: Mapping[str, int]) -> dict[str, Any] | None:
    """The transaction item that ADDs the non-zero `counters` to one item (None when there is nothing to add)."""
    counters = {k: v for k, v in counters.items() if v}
    if not counters:
        return None
    return {"Update": {
        "TableName": table_name, "Key": key,
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(counters))),
        "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(counters)},
        "ExpressionAttributeValues": {f":a{i}": value for i, value in enumerate(counters.values())}}}


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


_DESERIALIZER = TypeDeserializer()
_KEY_ATTRS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """A listing cursor: the query's LastEvaluatedKey, opaque to clients."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, default=str, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition: str, attr: str = "gsi1pk") -> dict[str, Any] | None:
    """The start key of a cursor, accepted only for the partition it came from (never another tenant's)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise InvalidInput("malformed cursor") from None
    if (not isinstance(key, dict) or not set(key) <= _KEY_ATTRS or key.get(attr) != partition
            or not all(isinstance(v, str) for v in key.values())):
        raise InvalidInput("this cursor does not belong to this listing")
    return key


def query_page(table: Any, partition: str, *, limit: int, cursor: str | None, index: str | None = None,
               sk_prefix: str | None = None, newest_first: bool = True) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a partition (of the table or of a GSI), with a tenant-checked cursor."""
    pk_attr, sk_attr = (f"{index}pk", f"{index}sk") if index else ("pk", "sk")
    condition = Key(pk_attr).eq(partition)
    if sk_prefix:
        condition = condition & Key(sk_attr).begins_with(sk_prefix)
    kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "Limit": limit, "ScanIndexForward": not newest_first}
    if index:
        kwargs["IndexName"] = index
    start = decode_cursor(cursor, partition=partition, attr=pk_attr)
    if start:
        kwargs["ExclusiveStartKey"] = start
    result = table.query(**kwargs)
    return list(result["Items"]), encode_cursor(result.get("LastEvaluatedKey"))


def _old_item(exc: ClientError) -> dict[str, Any]:
    """The item a failed condition returned (ReturnValuesOnConditionCheckFailure=ALL_OLD).

    The boto3 resource layer deserializes results but not error responses: the item arrives in wire
    format ({"S": "..."}) and is converted here, for every conditional write alike.
    """
    raw = exc.response.get("Item") or {}
    return {key: _DESERIALIZER.deserialize(value) for key, value in raw.items()}


def channel_key(channel_id: str) -> dict[str, str]:
    return {"pk": f"CHANNEL#{channel_id}", "sk": "CHANNEL"}


def thread_key(tenant_id: str, channel_id: str, contact_key: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#TH#{channel_id}#{contact_key}", "sk": "THREAD"}


def message_key(tenant_id: str, channel_id: str, message_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#MSG#{channel_id}#{message_id}", "sk": "MSG"}


def _clean(value: Any) -> Any:
    """DynamoDB items hold strings, ints and bools: floats travel as strings, empties are dropped."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != "" and v != [] and v != {}}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return str(value)
    return value


def account_key(kind: str, account_id: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{kind}#{account_id}", "sk": "ACCOUNT"}


def channel_to_item(channel: Channel) -> dict[str, Any]:
    return {**channel_key(channel.channel_id), "type": "channel",
            "gsi1pk": f"T#{channel.tenant_id}#CHANNELS", "gsi1sk": channel.channel_id,
            **_clean(channel.model_dump(mode="json"))}


class DynamoChannels:
    """Reads channel configuration by id (the webhook URL carries the channel id)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, channel_id: str) -> Channel | None:
        item = self._table.get_item(Key=channel_key(channel_id)).get("Item")
        if not item:
            return None
        fields = {k: v for k, v in item.items() if k in Channel.model_fields}
        return Channel.model_validate(fields)

    def put(self, channel: Channel) -> None:
        self._table.put_item(Item=channel_to_item(channel))
        self._index_account(channel)

    def create(self, channel: Channel) -> bool:
        """Store a new channel; False when the channel id is taken (by any tenant)."""
        try:
            self._table.put_item(Item=channel_to_item(channel), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        self._index_account(channel)
        return True

    def _index_account(self, channel: Channel) -> None:
        """Messenger/Instagram: Meta posts every Page of an app to one callback URL, so a webhook reaching one
        channel may carry entries of another: this item finds the channel of a Page or Instagram account."""
        if channel.kind in ("messenger", "instagram", "email"):  # email: the address finds its channel
            self._table.put_item(Item={**account_key(channel.kind, channel.phone_number_id), "type": "account",
                                       "channel_id": channel.channel_id})

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None:
        item = self._table.get_item(Key=account_key(kind, account_id)).get("Item")
        return self.get(str(item["channel_id"])) if item else None

    def list_for_tenant(self, tenant_id: str) -> list[Channel]:
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(
            f"T#{tenant_id}#CHANNELS"))["Items"]
        return [Channel.model_validate({k: v for k, v in i.items() if k in Channel.model_fields}) for i in items]


class DynamoMessageStore:
    """Messages, threads and statuses. Satisfies shared.ports.MessageStore."""

    def __init__(self, table: Any, *, retention_days: int = 0,
                 tenant_retention_days: Callable[[str], int] | None = None) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None
        self._tenant_retention = tenant_retention_days

    def _expiry(self, at: datetime, tenant_id: str | None = None) -> dict[str, int]:
        """TTL from the tenant's plan (`retention_days`) when it sets one, else the deployment default."""
        days = self._tenant_retention(tenant_id) if self._tenant_retention and tenant_id else 0
        retention = timedelta(days=days) if days > 0 else self._retention
        return {"expires_at": int((at + retention).timestamp())} if retention else {}

    # -- inbound ---------------------------------------------------------------------------------------
    def put_inbound(self, tenant_id: str, channel_id: str, message: InboundMessage, *, received_at: datetime
                    ) -> bool:
        body = message.model_dump(mode="json", by_alias=True, exclude_none=True,
                                  exclude={"provider_message_id", "sender", "sent_at", "type", "text"})
        item = {
            **message_key(tenant_id, channel_id, message.provider_message_id),
            "gsi1pk": thread_key(tenant_id, channel_id, message.sender.key)["pk"],
            "gsi1sk": f"{_iso(message.sent_at)}#{_ms(received_at):013d}-{message.provider_message_id}",
            "type": "message", "direction": "in", "tenant_id": tenant_id, "channel_id": channel_id,
            "message_id": message.provider_message_id, "provider_message_id": message.provider_message_id,
            "contact_key": message.sender.key, "message_type": message.type.value, "text": message.text,
            "sent_at": _iso(message.sent_at), "received_at": _iso(received_at),
            "content": json.dumps(body, separators=(",", ":"), ensure_ascii=False) if body else None,
            **self._expiry(received_at, tenant_id),
        }
        if message.media and (message.media.id or message.media.url):
            item["media_state"] = "pending"
        try:
            self._table.put_item(Item=_clean(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def touch_thread(self, tenant_id: str, channel_id: str, message: InboundMessage, *, new_conversation_id: str
                     ) -> ThreadTouch:
        sender = message.sender
        at_ms = _ms(message.sent_at)
        key = thread_key(tenant_id, channel_id, sender.key)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":ts": at_ms, ":mid": message.provider_message_id, ":mtype": message.type.value}
        sets = ["last_inbound_at = :ts", "last_inbound_id = :mid", "last_inbound_type = :mtype"]
        identity = {"tenant_id": tenant_id, "channel_id": channel_id, "contact_key": sender.key,
                    "address": sender.wa_id or sender.key, "wa_id": sender.wa_id, "user_id": sender.user_id,
                    "parent_user_id": sender.parent_user_id, "phone": sender.phone, "profile_name": sender.name,
                    "username": sender.username}
        for i, (attr, value) in enumerate((k, v) for k, v in identity.items() if v):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = value
            sets.append(f"#a{i} = :a{i}")
        # Continue the open conversation, or open one on first contact.
        continue_sets = sets + ["conversation_id = if_not_exists(conversation_id, :cid)",
                                "conversation_opened_at = if_not_exists(conversation_opened_at, :ts)",
                                "conversation_opened_by = if_not_exists(conversation_opened_by, :mid)"]
        try:
            attrs = self._table.update_item(
                Key=key, UpdateExpression="SET " + ", ".join(continue_sets),
                ConditionExpression="attribute_not_exists(last_inbound_at) OR last_inbound_at <= :ts",
                ExpressionAttributeNames=names, ExpressionAttributeValues={**values, ":cid": new_conversation_id},
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
            return ThreadTouch(self._thread(attrs), window_advanced=True,
                               conversation_opened=attrs.get("conversation_opened_by") == message.provider_message_id)
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            old = _old_item(exc)
        # An older message arriving late (Meta retries for days): the window never moves back.
        return ThreadTouch(self._thread(old) if old else Thread(tenant_id, channel_id, sender.key,
                                                                sender.wa_id or sender.key),
                           conversation_opened=old.get("conversation_opened_by") == message.provider_message_id,
                           window_advanced=False)

    @staticmethod
    def _thread(item: dict[str, Any]) -> Thread:
        return Thread(
            tenant_id=item["tenant_id"], channel_id=item["channel_id"], contact_key=item["contact_key"],
            address=item.get("address") or item["contact_key"], conversation_id=item.get("conversation_id"),
            conversation_opened_at=_dt(item.get("conversation_opened_at")),
            last_inbound_at=_dt(item.get("last_inbound_at")), name=item.get("profile_name"),
            phone=item.get("phone"), contact_id=item.get("contact_id"), last_inbound_id=item.get("last_inbound_id"),
            last_inbound_type=item.get("last_inbound_type"),
        )

    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None:
        item = self._table.get_item(Key=thread_key(tenant_id, channel_id, contact_key), ConsistentRead=True
                                    ).get("Item")
        return self._thread(item) if item else None

    # -- outbound --------------------------------------------------------------------------------------
    def outbound_item(self, request: OutboundRequest, *, now: datetime) -> dict[str, Any]:
        """An outbound message as the thread timeline shows it, in 'sending' state."""
        message_id = request.message_id
        return {
            **message_key(request.tenant_id, request.channel_id, message_id),
            "gsi1pk": thread_key(request.tenant_id, request.channel_id, request.contact_key)["pk"],
            "gsi1sk": f"{_iso(now)}#{message_id}",
            "type": "message", "direction": "out", "tenant_id": request.tenant_id, "channel_id": request.channel_id,
            "message_id": message_id, "request_id": request.request_id, "contact_key": request.contact_key,
            "to": request.to, "origin": request.origin, "message_type": request.content.type,
            "text": getattr(request.content, "body", None),
            "content": request.content.model_dump_json(exclude_none=True), "reply_to": request.reply_to,
            "status": "sending", "status_rank": 0, "created_at": _iso(now), "attempts": 1,
            **self._expiry(now, request.tenant_id),
        }

    @staticmethod
    def accepted_fields(request: OutboundRequest, provider_message_id: str, now: datetime) -> dict[str, Any]:
        """What an accepted send adds to the message item (the wamid index for statuses without callback data)."""
        return {"provider_message_id": provider_message_id, "accepted_at": _iso(now), "status": "accepted",
                "status_rank": STATUS_RANK[StatusKind.ACCEPTED],
                "gsi2pk": f"T#{request.tenant_id}#WAMID#{request.channel_id}#{provider_message_id}", "gsi2sk": "MSG"}

    @staticmethod
    def failed_fields(*, code: int | None, title: str | None, details: str | None, now: datetime,
                      status: str = "failed") -> dict[str, Any]:
        """What a failed (or refused) send sets on the message item."""
        return {"status": status, "status_rank": STATUS_RANK[StatusKind.FAILED], "failed_at": _iso(now),
                "error_code": code if code is not None else -1, "error_title": title or "",
                "error_details": details or ""}

    def claim_outbound(self, request: OutboundRequest, *, now: datetime) -> OutboundClaim:
        item = self.outbound_item(request, now=now)
        try:
            self._table.put_item(Item=_clean(item), ConditionExpression="attribute_not_exists(pk)",
                                 ReturnValuesOnConditionCheckFailure="ALL_OLD")
            return OutboundClaim.NEW
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            existing = _old_item(exc)
        return OutboundClaim.IN_FLIGHT if existing.get("status") == "sending" else OutboundClaim.DONE

    def record_sent(self, request: OutboundRequest, *, provider_message_id: str, now: datetime) -> None:
        # A status webhook may already have moved the message forward: only set 'accepted' if it has not.
        rank = STATUS_RANK[StatusKind.ACCEPTED]
        key = message_key(request.tenant_id, request.channel_id, request.message_id)
        base = ("SET provider_message_id = :pid, gsi2pk = :g2, gsi2sk = :g2s, accepted_at = :at")
        values = {":pid": provider_message_id, ":at": _iso(now),
                  ":g2": f"T#{request.tenant_id}#WAMID#{request.channel_id}#{provider_message_id}", ":g2s": "MSG"}
        try:
            self._table.update_item(Key=key, UpdateExpression=base + ", #s = :s, status_rank = :r",
                                    ConditionExpression="status_rank < :r",
                                    ExpressionAttributeNames={"#s": "status"},
                                    ExpressionAttributeValues={**values, ":s": "accepted", ":r": rank})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            self._table.update_item(Key=key, UpdateExpression=base, ExpressionAttributeValues=values)

    def record_failed(self, request: OutboundRequest, *, status: str, code: int | None, title: str | None,
                      details: str | None, now: datetime) -> None:
        key = message_key(request.tenant_id, request.channel_id, request.message_id)
        fields = self.failed_fields(code=code, title=title, details=details, now=now, status=status)
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        self._table.update_item(
            Key=key, UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":f{i}": value for i, value in enumerate(fields.values())},
        )

    # -- statuses --------------------------------------------------------------------------------------
    def _find_outbound(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> dict[str, str] | None:
        """The outbound message's key and our message id: from the callback data Meta echoes, else gsi2."""
        if update.callback_data and update.callback_data.startswith("out_"):
            return {**message_key(tenant_id, channel_id, update.callback_data), "message_id": update.callback_data}
        if update.callback_data and update.callback_data.startswith("bc:"):  # a broadcast send: its request id
            message_id = outbound_message_id(update.callback_data)
            return {**message_key(tenant_id, channel_id, message_id), "message_id": message_id}
        items = self._table.query(
            IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(
                f"T#{tenant_id}#WAMID#{channel_id}#{update.provider_message_id}"), Limit=1).get("Items", [])
        if not items:
            return None
        return {"pk": items[0]["pk"], "sk": items[0]["sk"], "message_id": items[0]["message_id"]}

    def apply_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> StatusApplied | None:
        key = self._find_outbound(tenant_id, channel_id, update)
        if key is None:
            return None
        if update.status is None:  # a status value we do not know yet: never let it move anything
            return StatusApplied(message_id=key["message_id"], contact_key=None, previous_status=None,
                                 advanced=False)
        at = _iso(update.at)
        stamp = f"{update.status.value}_at"
        sets = ["provider_message_id = :pid", f"{stamp} = if_not_exists({stamp}, :at)"]
        values: dict[str, Any] = {":pid": update.provider_message_id, ":at": at}
        if update.pricing:
            sets.append("pricing = if_not_exists(pricing, :pricing)")
            values[":pricing"] = _clean(update.pricing.model_dump(mode="json"))
        if update.conversation:
            sets.append("wa_conversation = if_not_exists(wa_conversation, :conv)")
            values[":conv"] = _clean(update.conversation.model_dump(mode="json"))
        if update.errors:
            err = update.errors[0]
            sets += ["error_code = :ec", "error_title = :et", "error_details = :ed"]
            values.update({":ec": err.code if err.code is not None else -1, ":et": err.title or err.message or "",
                           ":ed": err.details or ""})
        advance = sets + ["#s = :s", "status_rank = :r"]
        try:
            attrs = self._table.update_item(
                Key={"pk": key["pk"], "sk": key["sk"]}, UpdateExpression="SET " + ", ".join(advance),
                ConditionExpression="attribute_exists(pk) AND status_rank < :r",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={**values, ":s": update.raw_status, ":r": update.rank},
                ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ).get("Attributes", {})
            return StatusApplied(message_id=key["message_id"], contact_key=attrs.get("contact_key"),
                                 previous_status=attrs.get("status"), advanced=True)
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            old = _old_item(exc)
        if not old:
            return None  # the callback data named a message we never stored
        # Stale or repeated status: never downgrade, but keep the pricing/conversation/timestamp it carries
        # that the item lacks. A plain repeat (Meta re-sends for days) adds nothing and costs no write.
        missing = [s for s, needed in ((sets[1], stamp not in old),
                                       ("pricing = if_not_exists(pricing, :pricing)", "pricing" not in old),
                                       ("wa_conversation = if_not_exists(wa_conversation, :conv)",
                                        "wa_conversation" not in old)) if needed and s in sets]
        if missing:
            used = {":pid", *(name for s in missing for name in (":at", ":pricing", ":conv") if name in s)}
            self._table.update_item(Key={"pk": key["pk"], "sk": key["sk"]},
                                    UpdateExpression="SET " + ", ".join(["provider_message_id = :pid", *missing]),
                                    ExpressionAttributeValues={k: v for k, v in values.items() if k in used})
        return StatusApplied(message_id=str(old.get("message_id")), contact_key=old.get("contact_key"),
                             previous_status=old.get("status"), advanced=False)

    def apply_read_watermark(self, tenant_id: str, channel_id: str, contact_key: str, watermark: datetime,
                             update: StatusUpdate, *, recent: int = 50) -> list[StatusApplied]:
        """Read up to the watermark: the thread's newest `recent` items before it (gsi1, newest first); each
        outbound one not yet read moves to read through apply_status (forward only, idempotent)."""
        items = self._table.query(
            IndexName="gsi1", ScanIndexForward=False, Limit=recent,
            KeyConditionExpression=Key("gsi1pk").eq(thread_key(tenant_id, channel_id, contact_key)["pk"])
            & Key("gsi1sk").lte(f"{_iso(watermark)}#~")).get("Items", [])
        read_rank = STATUS_RANK[StatusKind.READ]
        applied: list[StatusApplied] = []
        for item in items:
            pid, message_id = item.get("provider_message_id"), item.get("message_id")
            if (item.get("direction") != "out" or not pid or not message_id
                    or int(item.get("status_rank", 0)) >= read_rank):
                continue
            one = self.apply_status(tenant_id, channel_id, update.model_copy(update={
                "provider_message_id": pid, "callback_data": message_id}))
            if one is not None:
                applied.append(StatusApplied(message_id=one.message_id, contact_key=one.contact_key,
                                             previous_status=one.previous_status, advanced=one.advanced,
                                             provider_message_id=pid))
        return applied

    def record_orphan_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> None:
        self._table.put_item(Item=_clean({
            "pk": f"T#{tenant_id}#ORPHAN#{channel_id}#{update.provider_message_id}",
            "sk": f"STATUS#{update.raw_status}", "type": "orphan_status", "tenant_id": tenant_id,
            "channel_id": channel_id, "status": update.raw_status, "at": _iso(update.at),
            "detail": update.model_dump_json(exclude_none=True),
        }))

    # -- media -----------------------------------------------------------------------------------------
    def record_media(self, tenant_id: str, channel_id: str, provider_message_id: str, *, state: str,
                     s3_key: str | None = None, size: int | None = None, error: str | None = None,
                     attempts: int | None = None) -> None:
        fields = _clean({"media_state": state, "media_s3_key": s3_key, "media_size": size, "media_error": error,
                         "media_attempts": attempts})
        if state == "stored":
            fields["media_error"] = ""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        self._table.update_item(
            Key=message_key(tenant_id, channel_id, provider_message_id),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":f{i}": value for i, value in enumerate(fields.values())},
        )

    # -- reads used by tests, the local stack and later the REST API ---------------------------------
    def get_message(self, tenant_id: str, channel_id: str, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key=message_key(tenant_id, channel_id, message_id)
                                                           ).get("Item")
        return item

    def thread_messages(self, tenant_id: str, channel_id: str, contact_key: str) -> list[dict[str, Any]]:
        pk = thread_key(tenant_id, channel_id, contact_key)["pk"]
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(pk)}
        while True:
            page = self._table.query(**kwargs)
            items.extend(i for i in page.get("Items", []) if not i.get("item_kind"))  # not notes/routing records
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoQuarantineIndex:
    """Quarantine records (the raw body goes to S3 through the BlobStore)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, *, tenant_id: str, channel_id: str, record_id: str, reasons: list[str], s3_key: str,
            received_at: datetime) -> None:
        self._table.put_item(Item={
            "pk": f"T#{tenant_id}#QUARANTINE", "sk": f"{_iso(received_at)}#{record_id}", "type": "quarantine",
            "tenant_id": tenant_id, "channel_id": channel_id, "reasons": reasons[:100], "body_s3_key": s3_key,
            "received_at": _iso(received_at),
        })

    def list(self, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#QUARANTINE"), ScanIndexForward=False,
            Limit=limit).get("Items", [])
        return items
