"""DynamoDB adapter for the CRM. Key design (README "DynamoDB key design"):

  contact        pk=T#<t>#C#<contact_id>        sk=PROFILE     gsi1pk=T#<t>#CONTACTS  gsi1sk=<contact_id>
                 (the profile is one JSON document `doc`; merged tombstones leave the listing index)
  activity       pk=T#<t>#C#<contact_id>        sk=ACT#<iso time>#<rand>      (the contact's timeline)
  identity       pk=T#<t>#ID#<kind>#<value>     sk=ID          contact_id      (unique: WhatsApp, BSUID, PSID, ...)
  soft identity  pk=T#<t>#SOFT#<kind>#<value>   sk=<contact_id>  gsi1pk=T#<t>#SOFT gsi1sk=<kind>#<value>#<cid>
                 (phone/email, shared values allowed; the GSI lists them sorted for duplicate suggestions)
  field def      pk=T#<t>#FIELDS                sk=<key>
  merge          pk=T#<t>#MERGE#<merge_id>      sk=MERGE
  thread link    the thread item gets contact_id, gsi2pk=T#<t>#C#<contact_id>#THREADS gsi2sk=<channel>#<key>
  contact count  on the tenant item (TENANT#<t>/TENANT, attribute contact_count), moved in the same
                 transaction as the contact, with the plan cap as its condition.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _dt, _iso, encode_cursor, query_page, thread_key
from shared.adapters.dynamodb_tenancy import tenant_key
from shared.models.crm import UNIQUE_IDENTITY_KINDS, Activity, Contact, CustomFieldDef, Identity, MergeRecord
from shared.ports import ContactCapReached, IdentityTaken, Page, StaleContact, Thread


def contact_key(tenant_id: str, contact_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#C#{contact_id}", "sk": "PROFILE"}


def identity_key(tenant_id: str, kind: str, value: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#ID#{kind}#{value}", "sk": "ID"}


def soft_key(tenant_id: str, kind: str, value: str, contact_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#SOFT#{kind}#{value}", "sk": contact_id}


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    """Transaction items in Python types: the resource's client (table.meta.client) serializes them."""
    return {k: v for k, v in item.items() if v is not None}


def _contact_item(contact: Contact) -> dict[str, Any]:
    item: dict[str, Any] = {
        **contact_key(contact.tenant_id, contact.contact_id), "tenant_id": contact.tenant_id,
        "contact_id": contact.contact_id, "version": contact.version, "doc": contact.model_dump_json(),
        "over_cap": contact.over_cap, "updated_at": _iso(contact.updated_at),
        "last_inbound_at": _iso(contact.last_inbound_at) if contact.last_inbound_at else None,
    }
    if contact.merged_into:
        item["merged_into"] = contact.merged_into
    else:
        item["gsi1pk"] = f"T#{contact.tenant_id}#CONTACTS"
        item["gsi1sk"] = contact.contact_id
    return item


def _contact(item: dict[str, Any]) -> Contact:
    contact = Contact.model_validate_json(item["doc"])
    seen = item.get("last_inbound_at")  # moved per message without rewriting the document
    if seen and (contact.last_inbound_at is None or str(seen) > _iso(contact.last_inbound_at)):
        at = datetime.fromisoformat(str(seen).replace("Z", "+00:00"))
        contact = contact.model_copy(update={"last_inbound_at": at})
    return contact


def _reasons(exc: ClientError) -> list[str]:
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]


class DynamoContactStore:
    def __init__(self, table: Any, *, activity_retention_days: int = 0) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name
        self._retention_days = activity_retention_days

    # -- transactions --------------------------------------------------------------------------------
    def _put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None,
             names: dict[str, str] | None = None) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self._name, "Item": _wire(item)}
        if condition:
            op["ConditionExpression"] = condition
        if values:
            op["ExpressionAttributeValues"] = _wire(values)
        if names:
            op["ExpressionAttributeNames"] = names
        return {"Put": op}

    def _delete(self, key: dict[str, str], condition: str | None = None,
                values: dict[str, Any] | None = None) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self._name, "Key": _wire(key)}
        if condition:
            op["ConditionExpression"] = condition
        if values:
            op["ExpressionAttributeValues"] = _wire(values)
        return {"Delete": op}

    def _counter(self, tenant_id: str, delta: int, cap: int | None = None) -> dict[str, Any]:
        op: dict[str, Any] = {
            "TableName": self._name, "Key": _wire(tenant_key(tenant_id)),
            "UpdateExpression": "ADD contact_count :d", "ExpressionAttributeValues": _wire({":d": delta}),
            "ConditionExpression": "attribute_exists(pk)",
        }
        if cap is not None:
            op["ConditionExpression"] = "attribute_exists(pk) AND (attribute_not_exists(contact_count) " \
                                        "OR contact_count < :cap)"
            op["ExpressionAttributeValues"] = _wire({":d": delta, ":cap": cap})
        return {"Update": op}

    def _identity_ops(self, contact: Contact, added: Sequence[Identity], removed: Sequence[Identity]
                      ) -> tuple[list[dict[str, Any]], list[Identity | None]]:
        """Operations for identity rows, and per operation the identity it guards (for error reporting)."""
        ops: list[dict[str, Any]] = []
        guards: list[Identity | None] = []
        t, cid = contact.tenant_id, contact.contact_id
        for ident in added:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                row = {**identity_key(t, ident.kind, ident.value), "contact_id": cid, "kind": ident.kind}
                ops.append(self._put(row, "attribute_not_exists(pk) OR contact_id = :cid", {":cid": cid}))
                guards.append(ident)
            else:
                ops.append(self._put({**soft_key(t, ident.kind, ident.value, cid), "gsi1pk": f"T#{t}#SOFT",
                                      "gsi1sk": f"{ident.kind}#{ident.value}#{cid}"}))
                guards.append(None)
        for ident in removed:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                ops.append(self._delete(identity_key(t, ident.kind, ident.value),
                                        "attribute_not_exists(pk) OR contact_id = :cid", {":cid": cid}))
            else:
                ops.append(self._delete(soft_key(t, ident.kind, ident.value, cid)))
            guards.append(None)
        return ops, guards

    def _transact(self, ops: list[dict[str, Any]]) -> None:
        for start in range(0, len(ops), 100):  # never more than 100 in practice (identities are capped at 20)
            self._client.transact_write_items(TransactItems=ops[start:start + 100])

    def _identity_conflict(self, tenant_id: str, reasons: list[str], guards: list[Identity | None],
                           offset: int) -> IdentityTaken | None:
        for i, code in enumerate(reasons[offset:offset + len(guards)]):
            ident = guards[i]
            if code == "ConditionalCheckFailed" and ident is not None:
                return IdentityTaken(ident.kind, ident.value, self.find_identity(tenant_id, ident.kind, ident.value))
        return None

    # -- contacts ------------------------------------------------------------------------------------
    def create_contact(self, contact: Contact, *, cap: int | None) -> None:
        id_ops, guards = self._identity_ops(contact, contact.identities, ())
        ops = [self._put(_contact_item(contact), "attribute_not_exists(pk)"), *id_ops]
        if cap is not None:
            ops.append(self._counter(contact.tenant_id, 1, cap))
        try:
            self._client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            taken = self._identity_conflict(contact.tenant_id, reasons, guards, 1)
            if taken:
                raise taken from None
            if cap is not None and reasons and reasons[-1] == "ConditionalCheckFailed":
                raise ContactCapReached() from None
            raise

    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None:
        item = self._table.get_item(Key=contact_key(tenant_id, contact_id)).get("Item")
        return _contact(item) if item else None

    def save_contact(self, contact: Contact, *, expected_version: int, added: Sequence[Identity] = (),
                     removed: Sequence[Identity] = ()) -> None:
        id_ops, guards = self._identity_ops(contact, added, removed)
        ops = [self._put(_contact_item(contact), "#v = :v", {":v": expected_version}, {"#v": "version"}), *id_ops]
        try:
            self._transact(ops)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise StaleContact() from None
            taken = self._identity_conflict(contact.tenant_id, reasons, guards, 1)
            if taken:
                raise taken from None
            raise

    def find_identity(self, tenant_id: str, kind: str, value: str) -> str | None:
        item = self._table.get_item(Key=identity_key(tenant_id, kind, value)).get("Item")
        return str(item["contact_id"]) if item else None

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100, following UnprocessedKeys."""
        out: list[dict[str, Any]] = []
        client = self._table.meta.client
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {self._table.name: {"Keys": keys[start:start + 100]}}
            while request:
                result = client.batch_get_item(RequestItems=request)
                out += result.get("Responses", {}).get(self._table.name, [])
                request = result.get("UnprocessedKeys") or {}
        return out

    def identities_batch(self, tenant_id: str, kind: str, values: Sequence[str]) -> dict[str, str]:
        """value → contact id for the unique identities that exist (one BatchGetItem per 100 values)."""
        prefix = f"T#{tenant_id}#ID#{kind}#"
        items = self._batch_get([identity_key(tenant_id, kind, v) for v in dict.fromkeys(values)])
        return {str(i["pk"])[len(prefix):]: str(i["contact_id"]) for i in items}

    def contacts_batch(self, tenant_id: str, contact_ids: Sequence[str]) -> dict[str, Contact]:
        items = self._batch_get([contact_key(tenant_id, cid) for cid in dict.fromkeys(contact_ids)])
        return {c.contact_id: c for c in (_contact(i) for i in items)}

    def find_soft(self, tenant_id: str, kind: str, value: str) -> list[str]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#SOFT#{kind}#{value}"))["Items"]
        return [str(i["sk"]) for i in items]

    def list_contacts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#CONTACTS", index="gsi1", limit=limit,
                                        cursor=cursor)
        return Page([_contact(i) for i in items], next_cursor)

    def cursor_after(self, contact: Contact) -> str:
        key = {**contact_key(contact.tenant_id, contact.contact_id), "gsi1pk": f"T#{contact.tenant_id}#CONTACTS",
               "gsi1sk": contact.contact_id}
        return encode_cursor(key) or ""

    def soft_index(self, tenant_id: str) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        kwargs: dict[str, Any] = {"IndexName": "gsi1",
                                  "KeyConditionExpression": Key("gsi1pk").eq(f"T#{tenant_id}#SOFT")}
        while True:
            result = self._table.query(**kwargs)
            for item in result["Items"]:
                kind, rest = str(item["gsi1sk"]).split("#", 1)
                value, cid = rest.rsplit("#", 1)
                rows.append((kind, value, cid))
            if not result.get("LastEvaluatedKey"):
                return rows
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    def delete_contact(self, contact: Contact) -> None:
        """Erase the contact's own items: profile, identity rows, timeline; the plan counter goes down."""
        t, cid = contact.tenant_id, contact.contact_id
        id_ops, _ = self._identity_ops(contact, (), contact.identities)
        ops = [self._delete(contact_key(t, cid)), *id_ops]
        if not contact.over_cap and not contact.merged_into:
            ops.append(self._counter(t, -1))
        self._transact(ops)
        with self._table.batch_writer() as batch:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"T#{t}#C#{cid}") &
                                      Key("sk").begins_with("ACT#"), "ProjectionExpression": "pk, sk"}
            while True:
                result = self._table.query(**kwargs)
                for item in result["Items"]:
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                if not result.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None:
        """Move the contact's last inbound time forward (never back), without a read or a version bump."""
        try:
            self._table.update_item(
                Key=contact_key(tenant_id, contact_id), UpdateExpression="SET last_inbound_at = :at",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_inbound_at) "
                                    "OR last_inbound_at < :at)",
                ExpressionAttributeValues={":at": _iso(at)})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    # -- timeline ------------------------------------------------------------------------------------
    def add_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None:
        item: dict[str, Any] = {"pk": f"T#{tenant_id}#C#{contact_id}",
                                "sk": f"ACT#{_iso(activity.at)}#{secrets.token_hex(4)}",
                                "kind": activity.kind, "summary": activity.summary,
                                "data": json.dumps(activity.data, default=str), "at": _iso(activity.at)}
        if self._retention_days:
            item["expires_at"] = int(activity.at.timestamp()) + self._retention_days * 86400
        self._table.put_item(Item=item)

    def activities(self, tenant_id: str, contact_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#C#{contact_id}", sk_prefix="ACT#", limit=limit,
                                        cursor=cursor)
        return Page([Activity(at=datetime.fromisoformat(str(i["at"]).replace("Z", "+00:00")), kind=str(i["kind"]),
                              summary=str(i["summary"]), data=json.loads(str(i.get("data") or "{}")))
                     for i in items], next_cursor)

    # -- custom field definitions --------------------------------------------------------------------
    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#FIELDS"))["Items"]
        return {str(i["sk"]): CustomFieldDef.model_validate_json(i["doc"]) for i in items}

    def put_field_def(self, tenant_id: str, definition: CustomFieldDef) -> None:
        self._table.put_item(Item={"pk": f"T#{tenant_id}#FIELDS", "sk": definition.key,
                                   "doc": definition.model_dump_json()})

    def delete_field_def(self, tenant_id: str, key: str) -> bool:
        old = self._table.delete_item(Key={"pk": f"T#{tenant_id}#FIELDS", "sk": key}, ReturnValues="ALL_OLD")
        return bool(old.get("Attributes"))

    # -- merge and split -----------------------------------------------------------------------------
    def _merge_item(self, record: MergeRecord) -> dict[str, Any]:
        return {"pk": f"T#{record.tenant_id}#MERGE#{record.merge_id}", "sk": "MERGE", "doc": record.model_dump_json()}

    def merge_contacts(self, record: MergeRecord, survivor: Contact, merged: Contact, *,
                       moved: Sequence[Identity]) -> None:
        t = survivor.tenant_id
        ops = [
            self._put(_contact_item(survivor), "#v = :v", {":v": survivor.version - 1}, {"#v": "version"}),
            self._put(_contact_item(merged), "#v = :v", {":v": merged.version - 1}, {"#v": "version"}),
            self._put(self._merge_item(record), "attribute_not_exists(pk)"),
        ]
        for ident in moved:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                ops.append(self._put({**identity_key(t, ident.kind, ident.value), "contact_id": survivor.contact_id,
                                      "kind": ident.kind}, "contact_id = :old", {":old": merged.contact_id}))
        soft_old, _ = self._identity_ops(merged, (), [i for i in merged.identities
                                                       if i.kind not in UNIQUE_IDENTITY_KINDS])
        soft_new, _ = self._identity_ops(survivor, [i for i in moved if i.kind not in UNIQUE_IDENTITY_KINDS], ())
        ops += soft_old + soft_new
        if not merged.over_cap:
            ops.append(self._counter(t, -1))
        try:
            self._transact(ops)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and "ConditionalCheckFailed" in \
                    _reasons(exc)[:2]:
                raise StaleContact() from None
            raise

    def split_contacts(self, record: MergeRecord, survivor: Contact, restored: Contact, *,
                       moved: Sequence[Identity], undone_at: datetime) -> None:
        t = survivor.tenant_id
        done = record.model_copy(update={"undone_at": undone_at})
        ops = [
            self._put(_contact_item(survivor), "#v = :v", {":v": survivor.version - 1}, {"#v": "version"}),
            self._put(_contact_item(restored), "attribute_not_exists(pk) OR #v = :v",
                      {":v": restored.version - 1}, {"#v": "version"}),
            self._put(self._merge_item(done), "attribute_exists(pk)"),
        ]
        for ident in moved:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                ops.append(self._put({**identity_key(t, ident.kind, ident.value), "contact_id": restored.contact_id,
                                      "kind": ident.kind}, "attribute_not_exists(pk) OR contact_id = :s",
                                     {":s": survivor.contact_id}))
        soft_old, _ = self._identity_ops(survivor, (), [i for i in moved if i.kind not in UNIQUE_IDENTITY_KINDS])
        soft_new, _ = self._identity_ops(restored, [i for i in restored.identities
                                                    if i.kind not in UNIQUE_IDENTITY_KINDS], ())
        ops += soft_old + soft_new
        if not restored.over_cap:
            ops.append(self._counter(t, 1))
        try:
            self._transact(ops)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and "ConditionalCheckFailed" in \
                    _reasons(exc)[:3]:
                raise StaleContact() from None
            raise

    def get_merge(self, tenant_id: str, merge_id: str) -> MergeRecord | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#MERGE#{merge_id}", "sk": "MERGE"}).get("Item")
        return MergeRecord.model_validate_json(item["doc"]) if item else None

    # -- threads (conversations follow their contact) ------------------------------------------------
    def contact_threads(self, tenant_id: str, contact_id: str) -> list[Thread]:
        items = self._table.query(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(
            f"T#{tenant_id}#C#{contact_id}#THREADS"))["Items"]
        return [Thread(tenant_id=str(i["tenant_id"]), channel_id=str(i["channel_id"]),
                       contact_key=str(i["contact_key"]), address=str(i.get("address") or i["contact_key"]),
                       conversation_id=i.get("conversation_id"), last_inbound_at=_dt(i.get("last_inbound_at")),
                       contact_id=contact_id) for i in items]

    def assign_thread(self, thread: Thread, contact_id: str) -> None:
        self._table.update_item(
            Key=thread_key(thread.tenant_id, thread.channel_id, thread.contact_key),
            UpdateExpression="SET contact_id = :c, gsi2pk = :p, gsi2sk = :s",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":c": contact_id, ":p": f"T#{thread.tenant_id}#C#{contact_id}#THREADS",
                                       ":s": f"{thread.channel_id}#{thread.contact_key}"})

    def relink_conversations(self, thread: Thread, contact_id: str) -> int:
        """The conversation records of the thread (`CONV#` items in its partition) follow its contact."""
        pk = thread_key(thread.tenant_id, thread.channel_id, thread.contact_key)["pk"]
        moved, start = 0, None
        while True:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with("CONV#"),
                                      "ProjectionExpression": "pk, sk"}
            if start:
                kwargs["ExclusiveStartKey"] = start
            answer = self._table.query(**kwargs)
            for item in answer.get("Items", []):
                self._table.update_item(Key={"pk": item["pk"], "sk": item["sk"]},
                                        UpdateExpression="SET contact_id = :c",
                                        ExpressionAttributeValues={":c": contact_id})
                moved += 1
            start = answer.get("LastEvaluatedKey")
            if not start:
                return moved


class DynamoSegments:
    """Saved segments:  pk=T#<t>#SEGMENTS  sk=<segment_id>  doc=<JSON> (filters may hold floats)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def put_segment(self, segment: Any) -> None:
        self._table.put_item(Item={"pk": f"T#{segment.tenant_id}#SEGMENTS", "sk": segment.segment_id,
                                   "doc": segment.model_dump_json(by_alias=True)})

    def get_segment(self, tenant_id: str, segment_id: str) -> str | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#SEGMENTS", "sk": segment_id}).get("Item")
        return str(item["doc"]) if item else None

    def list_segments(self, tenant_id: str) -> list[str]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#SEGMENTS"))["Items"]
        return [str(i["doc"]) for i in items]

    def delete_segment(self, tenant_id: str, segment_id: str) -> bool:
        old = self._table.delete_item(Key={"pk": f"T#{tenant_id}#SEGMENTS", "sk": segment_id}, ReturnValues="ALL_OLD")
        return bool(old.get("Attributes"))
