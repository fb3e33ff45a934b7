"""DynamoDB adapter of templates and broadcasts (README "DynamoDB key design", broadcasts table).

  template        pk=T#<t>#TPL#<channel>          sk=<name>#<language>      doc JSON
  health          pk=T#<t>#HEALTH#<channel>       sk=CURRENT | EV#<iso>#<rand>
  broadcast       pk=T#<t>#BROADCASTS             sk=BC#<id>   doc JSON + status + version;
                  sparse gsi1 BCSCHED / <iso at>#<t>#<id> while scheduled,
                  sparse gsi2 BCACTIVE / <t>#<id> while preparing or sending (the tick's recovery list)
  prepare state   pk=T#<t>#BC#<id>                sk=PREP      seq, cursor, counts by exclusion reason
  counters        pk=T#<t>#BC#<id>                sk=CNT#<shard>  ADD-only counters, sharded by bucket
  bucket          pk=T#<t>#BC#<id>                sk=B#<bucket>   state pending | done; BUCKETS: pending count
  recipient       pk=T#<t>#BCR#<id>#<bucket>      sk=R#<wa_id>  status, attempt, params, error;
                  sparse gsi1 T#<t>#BCF#<id> / <wa_id> while failed or unconfirmed (the failed view)
  exclusion       pk=T#<t>#BCX#<id>               sk=<wa_id or contact id>  reason
  reply pointer   pk=T#<t>#BCLAST#<channel>#<contact_key>  sk=BC  the last broadcast sent to this thread

Recipients are keyed by address, so preparing twice writes the same items (duplicates collapse) and a
bucket is one partition of ~100 items that a worker reads in one query. Claims and outcomes are
TransactWriteItems over a group: every recipient conditioned on the state it was read in, with the
counters of the group in the same transaction, so counts are exact under retries and crashes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _clean, _condition_failed, _iso, decode_cursor, encode_cursor, query_page
from shared.errors import InvalidInput, StaleBroadcast
from shared.models.broadcasts import Broadcast, Exclusion, Recipient
from shared.models.templates import ChannelHealth, HealthEvent, MessageTemplate
from shared.ports import Page
from shared.services.broadcast_sender import RecipientWrite, ReplyWindow
from shared.services.broadcast_tracking import ReplyPointer

SCHEDULED = "BCSCHED"
ACTIVE = "BCACTIVE"
SHARDS = 16
TXN_MAX = 100
ACTIVE_STATUSES = frozenset({"preparing", "sending"})


def broadcast_key(tenant_id: str, broadcast_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#BROADCASTS", "sk": f"BC#{broadcast_id}"}


def _meta_pk(tenant_id: str, broadcast_id: str) -> str:
    return f"T#{tenant_id}#BC#{broadcast_id}"


def recipient_key(tenant_id: str, broadcast_id: str, bucket: int, to: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#BCR#{broadcast_id}#{bucket:05d}", "sk": f"R#{to}"}


def _failed_pk(tenant_id: str, broadcast_id: str) -> str:
    return f"T#{tenant_id}#BCF#{broadcast_id}"


def _reply_pointer_key(tenant_id: str, channel_id: str, contact_key: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#BCLAST#{channel_id}#{contact_key}", "sk": "BC"}


def _reply_pointer_item(tenant_id: str, broadcast_id: str, r: Recipient, reply: ReplyWindow) -> dict[str, Any]:
    """The thread's last broadcast, kept (TTL) as long as replies are attributed to it."""
    return {**_reply_pointer_key(tenant_id, reply.channel_id, r.contact_key), "broadcast_id": broadcast_id,
            "bucket": r.bucket, "to": r.to, "at": _iso(reply.sent_at), "expires_at": int(reply.until.timestamp())}


def _num(value: Any) -> int:
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class PrepState:
    seq: int
    cursor: str | None
    counts: dict[str, int]
    done: bool


class DynamoBroadcasts:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name

    # -- broadcasts ------------------------------------------------------------------------------------
    def put(self, broadcast: Broadcast, *, expected_version: int | None) -> None:
        item: dict[str, Any] = {
            **broadcast_key(broadcast.tenant_id, broadcast.broadcast_id), "tenant_id": broadcast.tenant_id,
            "broadcast_id": broadcast.broadcast_id, "status": broadcast.status, "version": broadcast.version,
            "doc": broadcast.model_dump_json(), "created_at": _iso(broadcast.created_at),
        }
        if broadcast.status == "scheduled" and broadcast.schedule_at is not None:
            item["gsi1pk"] = SCHEDULED
            item["gsi1sk"] = f"{_iso(broadcast.schedule_at)}#{broadcast.tenant_id}#{broadcast.broadcast_id}"
        if broadcast.status in ACTIVE_STATUSES:
            item["gsi2pk"] = ACTIVE
            item["gsi2sk"] = f"{broadcast.tenant_id}#{broadcast.broadcast_id}"
        kwargs: dict[str, Any] = {}
        if expected_version is None:
            kwargs = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            kwargs = {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": expected_version}}
        try:
            self._table.put_item(Item=item, **kwargs)
        except ClientError as exc:
            if _condition_failed(exc):
                raise StaleBroadcast(broadcast.broadcast_id) from None
            raise

    def get(self, tenant_id: str, broadcast_id: str) -> Broadcast | None:
        item = self._table.get_item(Key=broadcast_key(tenant_id, broadcast_id), ConsistentRead=True).get("Item")
        return Broadcast.model_validate_json(item["doc"]) if item else None

    def list_broadcasts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#BROADCASTS", limit=limit, cursor=cursor,
                                        sk_prefix="BC#", newest_first=True)
        return Page([Broadcast.model_validate_json(i["doc"]) for i in items], next_cursor)

    def due_scheduled(self, now: datetime) -> list[tuple[str, str]]:
        """Scheduled broadcasts whose time has come (100 per tick)."""
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(SCHEDULED)
                                  & Key("gsi1sk").lte(_iso(now) + "~"), Limit=100)["Items"]
        return [(str(i["tenant_id"]), str(i["broadcast_id"])) for i in items]

    def scheduled(self) -> list[tuple[str, str]]:
        """Every scheduled broadcast, whenever it is due."""
        out: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(SCHEDULED)}
        while True:
            page = self._table.query(**kwargs)
            out += [(str(i["tenant_id"]), str(i["broadcast_id"])) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def active(self) -> list[tuple[str, str]]:
        items = self._table.query(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(ACTIVE),
                                  Limit=500)["Items"]
        return [(str(i["tenant_id"]), str(i["broadcast_id"])) for i in items]

    # -- preparation -----------------------------------------------------------------------------------
    def prep_state(self, tenant_id: str, broadcast_id: str) -> PrepState:
        item = self._table.get_item(Key={"pk": _meta_pk(tenant_id, broadcast_id), "sk": "PREP"},
                                    ConsistentRead=True).get("Item") or {}
        counts = {k[2:]: _num(v) for k, v in item.items() if k.startswith("c_")}
        return PrepState(seq=_num(item.get("seq")), cursor=item.get("cursor") or None, counts=counts,
                         done=bool(item.get("done")))

    def save_prep(self, tenant_id: str, broadcast_id: str, *, seq: int, cursor: str | None, adds: dict[str, int],
                  done: bool) -> bool:
        """Advance the checkpoint from `seq` (False: another worker advanced it first)."""
        sets = ["seq = :next", "#cur = :cursor", "done = :done"]
        values: dict[str, Any] = {":next": seq + 1, ":cursor": cursor or "", ":done": done, ":seq": seq}
        names = {"#cur": "cursor"}
        add_parts = []
        for i, (name, value) in enumerate(sorted(adds.items())):
            names[f"#a{i}"] = f"c_{name}"
            values[f":a{i}"] = value
            add_parts.append(f"#a{i} :a{i}")
        expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(add_parts) if add_parts else "")
        try:
            self._table.update_item(Key={"pk": _meta_pk(tenant_id, broadcast_id), "sk": "PREP"},
                                    UpdateExpression=expression,
                                    ConditionExpression="attribute_not_exists(seq) OR seq = :seq",
                                    ExpressionAttributeNames=names, ExpressionAttributeValues=values)
            return True
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise

    def reset_prep(self, tenant_id: str, broadcast_id: str, buckets: int) -> None:
        """Forget a previous preparation: its recipients, exclusions, buckets and counters."""
        pks = [f"T#{tenant_id}#BCR#{broadcast_id}#{b:05d}" for b in range(buckets)]
        pks += [_meta_pk(tenant_id, broadcast_id), f"T#{tenant_id}#BCX#{broadcast_id}"]
        with self._table.batch_writer() as batch:
            for pk in pks:
                kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk),
                                          "ProjectionExpression": "pk, sk"}
                while True:
                    page = self._table.query(**kwargs)
                    for item in page["Items"]:
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def put_recipients(self, tenant_id: str, broadcast_id: str, recipients: Sequence[Recipient]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for r in recipients:
                batch.put_item(Item=self._recipient_item(tenant_id, broadcast_id, r))

    def put_exclusions(self, tenant_id: str, broadcast_id: str, exclusions: Sequence[Exclusion]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for e in exclusions:
                sk = e.to or (f"C#{e.contact_id}" if e.contact_id else f"R#{secrets.token_hex(6)}")
                batch.put_item(Item=_clean({"pk": f"T#{tenant_id}#BCX#{broadcast_id}", "sk": sk,
                                            "type": "bc_exclusion", "doc": e.model_dump_json()}))

    def bucket_count(self, tenant_id: str, broadcast_id: str, bucket: int) -> int:
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(
            f"T#{tenant_id}#BCR#{broadcast_id}#{bucket:05d}"), "Select": "COUNT"}
        total = 0
        while True:
            page = self._table.query(**kwargs)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def init_buckets(self, tenant_id: str, broadcast_id: str, sizes: dict[int, int], total: int) -> None:
        pk = _meta_pk(tenant_id, broadcast_id)
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for bucket, size in sizes.items():
                batch.put_item(Item={"pk": pk, "sk": f"B#{bucket:05d}", "state": "pending" if size else "done",
                                     "size": size})
            batch.put_item(Item={"pk": pk, "sk": "BUCKETS", "pending": sum(1 for s in sizes.values() if s),
                                 "total": total})

    def pending_buckets(self, tenant_id: str, broadcast_id: str) -> list[int]:
        out: list[int] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(_meta_pk(tenant_id, broadcast_id))
                                  & Key("sk").begins_with("B#")}
        while True:
            page = self._table.query(**kwargs)
            out += [int(str(i["sk"])[2:]) for i in page["Items"] if i.get("state") == "pending"]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def finish_bucket(self, tenant_id: str, broadcast_id: str, bucket: int) -> int | None:
        """Mark a bucket done; the number of buckets still pending, or None if it was already done."""
        pk = _meta_pk(tenant_id, broadcast_id)
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._name, "Key": {"pk": pk, "sk": f"B#{bucket:05d}"},
                            "UpdateExpression": "SET #st = :done", "ConditionExpression": "#st = :pending",
                            "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": {":done": "done", ":pending": "pending"}}},
                {"Update": {"TableName": self._name, "Key": {"pk": pk, "sk": "BUCKETS"},
                            "UpdateExpression": "ADD pending :minus",
                            "ExpressionAttributeValues": {":minus": -1}}},
            ])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return None
            raise
        item = self._table.get_item(Key={"pk": pk, "sk": "BUCKETS"}, ConsistentRead=True).get("Item") or {}
        return _num(item.get("pending"))

    def reopen_buckets(self, tenant_id: str, broadcast_id: str, buckets: Iterable[int]) -> list[int]:
        """Set buckets back to pending (a retry); returns the ones that were done and are now pending."""
        pk = _meta_pk(tenant_id, broadcast_id)
        reopened = []
        for bucket in sorted(set(buckets)):
            try:
                self._client.transact_write_items(TransactItems=[
                    {"Update": {"TableName": self._name, "Key": {"pk": pk, "sk": f"B#{bucket:05d}"},
                                "UpdateExpression": "SET #st = :pending", "ConditionExpression": "#st = :done",
                                "ExpressionAttributeNames": {"#st": "state"},
                                "ExpressionAttributeValues": {":done": "done", ":pending": "pending"}}},
                    {"Update": {"TableName": self._name, "Key": {"pk": pk, "sk": "BUCKETS"},
                                "UpdateExpression": "ADD pending :one", "ExpressionAttributeValues": {":one": 1}}},
                ])
                reopened.append(bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
        return reopened

    # -- recipients ------------------------------------------------------------------------------------
    @staticmethod
    def _recipient_item(tenant_id: str, broadcast_id: str, r: Recipient) -> dict[str, Any]:
        item: dict[str, Any] = _clean({**recipient_key(tenant_id, broadcast_id, r.bucket, r.to), "type": "bc_recipient",
                       "to": r.to, "bucket": r.bucket, "contact_id": r.contact_id, "contact_key": r.contact_key,
                       "market": r.market, "params": json.dumps(r.params, separators=(",", ":")),
                       "status": r.status, "attempt": r.attempt})
        return item

    @staticmethod
    def _recipient(item: dict[str, Any]) -> Recipient:
        def dt(name: str) -> datetime | None:
            value = item.get(name)
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None

        return Recipient(to=str(item["to"]), bucket=_num(item["bucket"]), contact_id=item.get("contact_id"),
                         contact_key=str(item["contact_key"]), market=str(item.get("market") or "other"),
                         params=json.loads(item.get("params") or "{}"), status=item["status"],
                         attempt=_num(item.get("attempt")), message_id=item.get("message_id"),
                         provider_message_id=item.get("provider_message_id"), error_class=item.get("error_class"),
                         error_code=_num(item["error_code"]) if item.get("error_code") is not None else None,
                         error_title=item.get("error_title"), error_details=item.get("error_details"),
                         retry_at=dt("retry_at"), claimed_at=dt("claimed_at"), updated_at=dt("updated_at"),
                         billable=item.get("billable"))

    def recipients(self, tenant_id: str, broadcast_id: str, bucket: int) -> list[Recipient]:
        out: list[Recipient] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(
            f"T#{tenant_id}#BCR#{broadcast_id}#{bucket:05d}"), "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            out += [self._recipient(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_recipient(self, tenant_id: str, broadcast_id: str, bucket: int, to: str) -> Recipient | None:
        item = self._table.get_item(Key=recipient_key(tenant_id, broadcast_id, bucket, to),
                                    ConsistentRead=True).get("Item")
        return self._recipient(item) if item else None

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=items)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise

    def _claim_item(self, tenant_id: str, broadcast_id: str, r: Recipient, message_id: str, now: datetime
                    ) -> dict[str, Any]:
        return {"Update": {
            "TableName": self._name, "Key": recipient_key(tenant_id, broadcast_id, r.bucket, r.to),
            "UpdateExpression": "SET #s = :sending, attempt = :next, claimed_at = :now, "
                                "message_id = :mid, updated_at = :now",
            "ConditionExpression": "#s = :queued AND attempt = :att",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":sending": "sending",
                                          ":next": r.attempt + 1, ":now": _iso(now), ":mid": message_id,
                                          ":queued": "queued", ":att": r.attempt}}}

    def claim(self, tenant_id: str, broadcast_id: str, claims: Sequence[tuple[Recipient, str]], now: datetime
              ) -> list[Recipient]:
        """The per-recipient idempotency record, written before the send: queued → sending (attempt + 1).

        One transaction for the group; if any recipient moved meanwhile (a duplicate worker), each is claimed
        on its own. Returns the recipients this worker now holds."""
        items = [self._claim_item(tenant_id, broadcast_id, r, mid, now) for r, mid in claims]
        held = [r.model_copy(update={"status": "sending", "attempt": r.attempt + 1, "message_id": mid,
                                     "claimed_at": now}) for r, mid in claims]
        if not items:
            return []
        if len(items) <= TXN_MAX and self._transact(items):
            return held
        out = []
        for item, recipient in zip(items, held, strict=True):
            if self._transact([item]):
                out.append(recipient)
        return out

    def _counter_item(self, tenant_id: str, broadcast_id: str, shard: int, adds: dict[str, int]
                      ) -> dict[str, Any] | None:
        adds = {k: v for k, v in adds.items() if v}
        if not adds:
            return None
        names = {f"#c{i}": k for i, k in enumerate(sorted(adds))}
        values = {f":c{i}": adds[k] for i, k in enumerate(sorted(adds))}
        return {"Update": {"TableName": self._name, "Key": {"pk": _meta_pk(tenant_id, broadcast_id),
                                                            "sk": f"CNT#{shard:02d}"},
                           "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(adds))),
                           "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}

    def _write_item(self, tenant_id: str, broadcast_id: str, w: RecipientWrite, *, expect: str
                    ) -> dict[str, Any]:
        r = w.recipient
        names: dict[str, str] = {"#s": "status"}
        values: dict[str, Any] = {":expect": expect, ":att": r.attempt}
        sets = []
        for i, (name, value) in enumerate(sorted(w.fields.items())):
            if value is None:
                continue
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        removes = [n for n, v in w.fields.items() if v is None]
        if w.failed_view:
            sets += ["gsi1pk = :fpk", "gsi1sk = :to"]
            values.update({":fpk": _failed_pk(tenant_id, broadcast_id), ":to": r.to})
        else:
            removes += ["gsi1pk", "gsi1sk"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(sorted(set(removes))) if removes else "")
        return {"Update": {"TableName": self._name, "Key": recipient_key(tenant_id, broadcast_id, r.bucket, r.to),
                           "UpdateExpression": expression, "ConditionExpression": "#s = :expect AND attempt = :att",
                           "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}

    def record(self, tenant_id: str, broadcast_id: str, writes: Sequence[RecipientWrite], *, expect: str = "sending"
               ) -> list[RecipientWrite]:
        """Apply outcomes to recipients still in `expect` (and the same attempt), counters in the same
        transaction. A recipient a status webhook already moved is skipped (its counters moved then).
        Message items (the thread history) are written afterwards, outside the transaction."""
        if not writes:
            return []
        shard = writes[0].recipient.bucket % SHARDS
        applied: list[RecipientWrite] = []
        total: dict[str, int] = {}
        for w in writes:
            for k, v in w.adds.items():
                total[k] = total.get(k, 0) + v
        items = [self._write_item(tenant_id, broadcast_id, w, expect=expect) for w in writes]
        counter = self._counter_item(tenant_id, broadcast_id, shard, total)
        if len(items) + 1 <= TXN_MAX and self._transact(items + ([counter] if counter else [])):
            applied = list(writes)
        else:
            for w, item in zip(writes, items, strict=True):
                single = self._counter_item(tenant_id, broadcast_id, shard, w.adds)
                if self._transact([item] + ([single] if single else [])):
                    applied.append(w)
        after = [item for w in applied for item in w.items]
        after += [_reply_pointer_item(tenant_id, broadcast_id, w.recipient, w.reply) for w in applied if w.reply]
        if after:
            with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
                for item in after:
                    batch.put_item(Item=_clean(item))
        return applied

    def move(self, tenant_id: str, broadcast_id: str, recipient: Recipient, fields: dict[str, Any],
             adds: dict[str, int], *, failed_view: bool) -> bool:
        """A status change from a webhook or a retry: only from the exact status and attempt read."""
        w = RecipientWrite(recipient, fields, failed_view, adds)
        item = self._write_item(tenant_id, broadcast_id, w, expect=recipient.status)
        counter = self._counter_item(tenant_id, broadcast_id, recipient.bucket % SHARDS, adds)
        return self._transact([item] + ([counter] if counter else []))

    def counters(self, tenant_id: str, broadcast_id: str) -> dict[str, int]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(_meta_pk(tenant_id, broadcast_id))
                                  & Key("sk").begins_with("CNT#"), ConsistentRead=True)["Items"]
        out: dict[str, int] = {}
        for item in items:
            for k, v in item.items():
                if k not in ("pk", "sk"):
                    out[k] = out.get(k, 0) + _num(v)
        return out

    def failed(self, tenant_id: str, broadcast_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, _failed_pk(tenant_id, broadcast_id), index="gsi1",
                                        limit=limit, cursor=cursor, newest_first=False)
        return Page([self._recipient(i) for i in items], next_cursor)

    def iter_failed(self, tenant_id: str, broadcast_id: str) -> Iterable[Recipient]:
        cursor: str | None = None
        while True:
            page = self.failed(tenant_id, broadcast_id, limit=500, cursor=cursor)
            yield from page.items
            if not page.cursor:
                return
            cursor = page.cursor

    def exclusions(self, tenant_id: str, broadcast_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#BCX#{broadcast_id}", limit=limit,
                                        cursor=cursor, newest_first=False)
        return Page([Exclusion.model_validate_json(i["doc"]) for i in items], next_cursor)

    def all_recipients(self, tenant_id: str, broadcast_id: str, buckets: int, *, limit: int, cursor: str | None
                       ) -> Page:
        """Every recipient, bucket by bucket (cursor: bucket + the last key in it)."""
        bucket, start = 0, None
        if cursor:
            head, _, rest = cursor.partition(".")
            if not head.isdigit():
                raise InvalidInput("malformed cursor")
            bucket = int(head)
            start = decode_cursor(rest, partition=f"T#{tenant_id}#BCR#{broadcast_id}#{bucket:05d}",
                                  attr="pk") if rest else None
        out: list[Recipient] = []
        while bucket < buckets and len(out) < limit:
            pk = f"T#{tenant_id}#BCR#{broadcast_id}#{bucket:05d}"
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "Limit": limit - len(out)}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._table.query(**kwargs)
            out += [self._recipient(i) for i in page["Items"]]
            if "LastEvaluatedKey" in page:
                return Page(out, f"{bucket}.{encode_cursor(page['LastEvaluatedKey'])}")
            bucket, start = bucket + 1, None
        return Page(out, f"{bucket}." if bucket < buckets else None)

    # -- replies ---------------------------------------------------------------------------------------
    def reply_pointer(self, tenant_id: str, channel_id: str, contact_key: str) -> ReplyPointer | None:
        item = self._table.get_item(Key=_reply_pointer_key(tenant_id, channel_id, contact_key)).get("Item")
        if not item:
            return None
        return ReplyPointer(broadcast_id=str(item["broadcast_id"]), bucket=_num(item["bucket"]), to=str(item["to"]),
                            at=datetime.fromisoformat(str(item["at"]).replace("Z", "+00:00")))


class DynamoTemplates:
    """Templates per channel, and account health (current snapshot + event history)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, template: MessageTemplate) -> None:
        self._table.put_item(Item={"pk": f"T#{template.tenant_id}#TPL#{template.channel_id}", "sk": template.key,
                                   "type": "template", "status": template.status,
                                   "doc": template.model_dump_json()})

    def get(self, tenant_id: str, channel_id: str, name: str, language: str) -> MessageTemplate | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#TPL#{channel_id}", "sk": f"{name}#{language}"},
                                    ConsistentRead=True).get("Item")
        return MessageTemplate.model_validate_json(item["doc"]) if item else None

    def list_templates(self, tenant_id: str, channel_id: str) -> list[MessageTemplate]:
        out: list[MessageTemplate] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"T#{tenant_id}#TPL#{channel_id}")}
        while True:
            page = self._table.query(**kwargs)
            out += [MessageTemplate.model_validate_json(i["doc"]) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, tenant_id: str, channel_id: str, name: str, language: str) -> None:
        self._table.delete_item(Key={"pk": f"T#{tenant_id}#TPL#{channel_id}", "sk": f"{name}#{language}"})

    def health(self, tenant_id: str, channel_id: str) -> ChannelHealth | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#HEALTH#{channel_id}", "sk": "CURRENT"}).get("Item")
        return ChannelHealth.model_validate_json(item["doc"]) if item else None

    def put_health(self, health: ChannelHealth) -> None:
        self._table.put_item(Item={"pk": f"T#{health.tenant_id}#HEALTH#{health.channel_id}", "sk": "CURRENT",
                                   "doc": health.model_dump_json()})

    def add_health_event(self, tenant_id: str, channel_id: str, event: HealthEvent, *, dedup: str) -> bool:
        """Store one account-health webhook once (Meta redelivers): False when already stored."""
        try:
            self._table.put_item(Item={"pk": f"T#{tenant_id}#HEALTH#{channel_id}",
                                       "sk": f"EV#{_iso(event.at)}#{dedup[:16]}", "doc": event.model_dump_json()},
                                 ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise

    def health_events(self, tenant_id: str, channel_id: str, *, limit: int) -> list[HealthEvent]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#HEALTH#{channel_id}")
                                  & Key("sk").begins_with("EV#"), ScanIndexForward=False, Limit=limit)["Items"]
        return [HealthEvent.model_validate_json(i["doc"]) for i in items]
