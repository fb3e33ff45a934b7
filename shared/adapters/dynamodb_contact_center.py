"""DynamoDB adapter of the contact center (keys in README "DynamoDB key design", contact center table).

  campaign          pk=T#<t>#CAMPAIGNS        sk=CMP#<campaign>        doc JSON + version
  settings          pk=T#<t>#CC               sk=SETTINGS
  agent presence    pk=T#<t>#AGENTS           sk=A#<user>              status, since, active (counter), max_concurrent
  agent's chats     pk=T#<t>#AGENT#<user>     sk=CONV#<conversation>   (what the agent holds now)
  status timeline   pk=T#<t>#AGENT#<user>     sk=ST#<iso>#<rand>
  queue meta        pk=T#<t>#Q#<campaign>     sk=META                  waiting (counter), rr_last; sparse gsi1
                                                                       CCQUEUES / <t>#<campaign> while it may wait
  queue entry       pk=T#<t>#Q#<campaign>     sk=E#<prio>#<ms>#<conv>  FIFO by priority, then arrival
  daily counters    pk=T#<t>#CCSTAT#<day>     sk=C#<campaign> | A#<user>
  routing record    pk=T#<t>#CEV#<conv>       sk=<ms>#<kind>#<rand>    on the thread timeline (gsi1) for transcripts;
                                                                       sparse gsi2 CCOUTBOX while its notifications
                                                                       are not yet sent (the outbox)
  internal note     pk=T#<t>#NOTE#<conv>      sk=<note id>             on the thread timeline (gsi1)
The routing state itself is on the conversation record (dynamodb_conversations): routing, campaign_id, assignee.

Every change of who holds a conversation is one TransactWriteItems: the conversation (conditioned on the state
it was read in), the agent's presence (conditioned on being online and under the cap), the queue entry and
counter (the ACD limit as a condition), the agent's chat link, the day's counters and the routing record with
its notifications. Under any concurrency a conversation has one holder and an agent never exceeds the cap.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, thread_key
from shared.adapters.dynamodb_conversations import DynamoConversations
from shared.models.contact_center import (
    AgentPresence,
    AssignedConversation,
    Campaign,
    ContactCenterSettings,
    QueueEntry,
    StatusChange,
)
from shared.models.conversations import Conversation
from shared.ports import Page
from shared.services.routing_types import Outcome, RoutingRecord, Transition

ACTIVE_QUEUES = "CCQUEUES"
OUTBOX = "CCOUTBOX"
STATUS_TTL_S = 400 * 86400
STAT_TTL_S = 400 * 86400


def campaign_key(tenant_id: str, campaign_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#CAMPAIGNS", "sk": f"CMP#{campaign_id}"}


def presence_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#AGENTS", "sk": f"A#{user_id}"}


def link_key(tenant_id: str, user_id: str, conversation_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#AGENT#{user_id}", "sk": f"CONV#{conversation_id}"}


def queue_meta_key(tenant_id: str, campaign_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#Q#{campaign_id}", "sk": "META"}


def entry_key(tenant_id: str, campaign_id: str, sort_key: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#Q#{campaign_id}", "sk": sort_key}


def stat_key(tenant_id: str, day: str, scope: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#CCSTAT#{day}", "sk": scope}


def conversation_key(c: Conversation) -> dict[str, str]:
    return {"pk": thread_key(c.tenant_id, c.channel_id, c.contact_key)["pk"], "sk": f"CONV#{c.conversation_id}"}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _entry(item: dict[str, Any]) -> QueueEntry:
    return QueueEntry.model_validate_json(str(item["doc"]))


def _presence(item: dict[str, Any]) -> AgentPresence:
    return AgentPresence(
        user_id=str(item["sk"])[2:], tenant_id=str(item["tenant_id"]), name=item.get("name"),
        status=item.get("status", "offline"), break_type=item.get("break_type"),
        since=_dt(item.get("since")) or datetime.fromtimestamp(0, UTC), active=int(item.get("active", 0)),
        max_concurrent=int(item["max_concurrent"]) if item.get("max_concurrent") is not None else None,
        last_assigned_ms=int(item.get("last_assigned_ms", 0)))


class DynamoContactCenter:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name
        self._conversations = DynamoConversations(table)

    # -- campaigns and settings --------------------------------------------------------------------------------
    def put_campaign(self, campaign: Campaign, *, expected_version: int | None) -> bool:
        """Create (expected_version None: must not exist) or replace the version read; False on a conflict."""
        item = {**campaign_key(campaign.tenant_id, campaign.campaign_id), "doc": campaign.model_dump_json(),
                "version": campaign.version}
        try:
            if expected_version is None:
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            else:
                self._table.put_item(Item=item, ConditionExpression="version = :v",
                                     ExpressionAttributeValues={":v": expected_version})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def get_campaign(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        item = self._table.get_item(Key=campaign_key(tenant_id, campaign_id), ConsistentRead=True).get("Item")
        return Campaign.model_validate_json(str(item["doc"])) if item else None

    def list_campaigns(self, tenant_id: str) -> list[Campaign]:
        items = self._query_all(Key("pk").eq(f"T#{tenant_id}#CAMPAIGNS"), consistent=True)
        return [Campaign.model_validate_json(str(i["doc"])) for i in items]

    def get_settings(self, tenant_id: str) -> ContactCenterSettings:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#CC", "sk": "SETTINGS"}).get("Item")
        return ContactCenterSettings.model_validate_json(str(item["doc"])) if item else ContactCenterSettings()

    def put_settings(self, tenant_id: str, settings: ContactCenterSettings) -> None:
        self._table.put_item(Item={"pk": f"T#{tenant_id}#CC", "sk": "SETTINGS", "doc": settings.model_dump_json()})

    # -- agents ------------------------------------------------------------------------------------------------
    def get_agent(self, tenant_id: str, user_id: str) -> AgentPresence | None:
        item = self._table.get_item(Key=presence_key(tenant_id, user_id), ConsistentRead=True).get("Item")
        return _presence(item) if item else None

    def list_agents(self, tenant_id: str) -> list[AgentPresence]:
        return [_presence(i) for i in self._query_all(Key("pk").eq(f"T#{tenant_id}#AGENTS"), consistent=True)]

    def set_status(self, tenant_id: str, user_id: str, change: StatusChange, *, name: str | None
                   ) -> AgentPresence | None:
        """Record a status change (presence + timeline, one transaction); the presence before it (None: new)."""
        before = self.get_agent(tenant_id, user_id)
        names = {"#st": "status"}
        values: dict[str, Any] = {":st": change.status, ":since": _iso(change.at), ":zero": 0, ":t": tenant_id}
        sets = ["#st = :st", "since = :since", "active = if_not_exists(active, :zero)", "tenant_id = :t"]
        removes = []
        if change.break_type:
            sets.append("break_type = :bt")
            values[":bt"] = change.break_type
        else:
            removes.append("break_type")
        if name:
            sets.append("#n = :n")
            names["#n"] = "name"
            values[":n"] = name
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        timeline = {"pk": f"T#{tenant_id}#AGENT#{user_id}", "sk": f"ST#{_iso(change.at)}#{secrets.token_hex(3)}",
                    "doc": change.model_dump_json(), "expires_at": int(change.at.timestamp()) + STATUS_TTL_S}
        self._client.transact_write_items(TransactItems=[
            {"Update": {"TableName": self._name, "Key": presence_key(tenant_id, user_id),
                        "UpdateExpression": expression, "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values}},
            {"Put": {"TableName": self._name, "Item": timeline}},
        ])
        return before

    def set_capacity(self, tenant_id: str, user_id: str, max_concurrent: int | None, *, at: datetime) -> None:
        key = presence_key(tenant_id, user_id)
        if max_concurrent is None:
            self._table.update_item(Key=key, UpdateExpression="SET tenant_id = :t, since = if_not_exists(since, :s), "
                                    "active = if_not_exists(active, :z) REMOVE max_concurrent",
                                    ExpressionAttributeValues={":t": tenant_id, ":s": _iso(at), ":z": 0})
        else:
            self._table.update_item(Key=key, UpdateExpression="SET tenant_id = :t, since = if_not_exists(since, :s), "
                                    "active = if_not_exists(active, :z), max_concurrent = :m",
                                    ExpressionAttributeValues={":t": tenant_id, ":s": _iso(at), ":z": 0,
                                                               ":m": max_concurrent})

    def status_timeline(self, tenant_id: str, user_id: str, *, since: datetime, until: datetime
                        ) -> list[StatusChange]:
        cond = Key("pk").eq(f"T#{tenant_id}#AGENT#{user_id}") & Key("sk").between(
            f"ST#{_iso(since)}", f"ST#{_iso(until)}~")
        return [StatusChange.model_validate_json(str(i["doc"])) for i in self._query_all(cond)]

    def agent_conversations(self, tenant_id: str, user_id: str) -> list[AssignedConversation]:
        cond = Key("pk").eq(f"T#{tenant_id}#AGENT#{user_id}") & Key("sk").begins_with("CONV#")
        return [AssignedConversation.model_validate_json(str(i["doc"])) for i in self._query_all(cond, consistent=True)]

    # -- the queue ---------------------------------------------------------------------------------------------
    def queue_head(self, tenant_id: str, campaign_id: str, *, limit: int) -> list[QueueEntry]:
        result = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#Q#{campaign_id}") & Key("sk").begins_with("E#"),
            Limit=limit, ConsistentRead=True)
        return [_entry(i) for i in result["Items"]]

    def queue_entries(self, tenant_id: str, campaign_id: str) -> list[QueueEntry]:
        cond = Key("pk").eq(f"T#{tenant_id}#Q#{campaign_id}") & Key("sk").begins_with("E#")
        return [_entry(i) for i in self._query_all(cond, consistent=True)]

    def queue_position(self, entry: QueueEntry) -> int | None:
        """1 for the next conversation to be taken; None when the entry left the queue."""
        pk = f"T#{entry.tenant_id}#Q#{entry.campaign_id}"
        found = self._table.get_item(Key={"pk": pk, "sk": entry.sort_key}, ConsistentRead=True).get("Item")
        if not found:
            return None
        ahead, start = 0, None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").between("E#", entry.sort_key),
                "Select": "COUNT", "ConsistentRead": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            result = self._table.query(**kwargs)
            ahead += int(result["Count"])
            start = result.get("LastEvaluatedKey")
            if not start:
                return ahead  # the range includes the entry itself

    def queue_meta(self, tenant_id: str, campaign_id: str) -> dict[str, Any]:
        return self._table.get_item(Key=queue_meta_key(tenant_id, campaign_id), ConsistentRead=True).get("Item") or {}

    def touch_entry_window(self, entry: QueueEntry, window_closes_at: datetime) -> None:
        updated = entry.model_copy(update={"window_closes_at": window_closes_at})
        try:
            self._table.update_item(Key=entry_key(entry.tenant_id, entry.campaign_id, entry.sort_key),
                                    UpdateExpression="SET doc = :d", ConditionExpression="attribute_exists(pk)",
                                    ExpressionAttributeValues={":d": updated.model_dump_json()})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def active_queues(self) -> list[tuple[str, str]]:
        """(tenant, campaign) of every queue that had someone waiting since it was last found empty."""
        items = self._query_all(Key("gsi1pk").eq(ACTIVE_QUEUES), index="gsi1")
        return [(str(i["tenant_id"]), str(i["campaign_id"])) for i in items]

    def forget_queue_if_empty(self, tenant_id: str, campaign_id: str) -> bool:
        try:
            self._table.update_item(Key=queue_meta_key(tenant_id, campaign_id),
                                    UpdateExpression="REMOVE gsi1pk, gsi1sk",
                                    ConditionExpression="attribute_not_exists(waiting) OR waiting <= :z",
                                    ExpressionAttributeValues={":z": 0})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # -- stats ---------------------------------------------------------------------------------------------------
    def stats(self, tenant_id: str, day: str, scopes: Sequence[str]) -> dict[str, dict[str, int]]:
        if not scopes:
            return {}
        keys = [stat_key(tenant_id, day, s) for s in scopes]
        out: dict[str, dict[str, int]] = {}
        for start in range(0, len(keys), 100):
            response = self._client.batch_get_item(RequestItems={self._name: {"Keys": keys[start:start + 100]}})
            for item in response["Responses"].get(self._name, []):
                out[str(item["sk"])] = {k: int(v) for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
        return out

    # -- transitions -----------------------------------------------------------------------------------------------
    def transition(self, t: Transition) -> Outcome:
        """Move a conversation from its current holder to another, atomically (see the module docstring)."""
        roles = self._items(t)
        try:
            self._client.transact_write_items(TransactItems=[item for _, item in roles])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            failed = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            names = [role for role, _ in roles]
            failed_roles = {names[i] for i in failed if i < len(names)}
            if "thread" in failed_roles and failed_roles <= {"thread"}:
                return Outcome.THREAD_BUSY
            if "target_agent" in failed_roles:
                return Outcome.AGENT_UNAVAILABLE
            if "target_queue" in failed_roles:
                return Outcome.QUEUE_FULL
            if not failed_roles and any(r.get("Code") == "TransactionConflict" for r in reasons):
                return Outcome.CONFLICT
            return Outcome.STALE
        return Outcome.OK

    def _items(self, t: Transition) -> list[tuple[str, dict[str, Any]]]:
        """The transaction items, each with what it is (to read cancellation reasons)."""
        c = t.conversation
        tenant = c.tenant_id
        roles: list[tuple[str, dict[str, Any]]] = []
        at_iso = _iso(t.at)

        # 1. the conversation, conditioned on what it was when read
        names: dict[str, str] = {"#s": "status", "#r": "routing"}
        values: dict[str, Any] = {":was": "closed" if t.source.kind == "closed" else "open"}
        cond = ["#s = :was"]
        if t.source.kind in ("none", "overflow", "out_of_hours"):
            cond.append("(attribute_not_exists(#r) OR #r IN (:none, :overflow, :ooh))")
            values.update({":none": "none", ":overflow": "overflow", ":ooh": "out_of_hours"})
        elif t.source.kind == "closed":
            pass
        else:
            cond.append("#r = :cur")
            values[":cur"] = t.source.kind
            if t.source.kind in ("assigned", "desk"):
                cond.append("assignee = :cur_a")
                values[":cur_a"] = t.source.holder_id
            if t.source.kind == "waiting":
                cond.append("queue_sk = :cur_q")
                values[":cur_q"] = t.source.queue_sk or ""
        sets: list[str] = []
        removes: list[str] = []
        target = t.target
        if target.kind == "closed":
            sets += ["#s = :closed", "closed_at = :at", "closed_by = :by"]
            values.update({":closed": "closed", ":at": at_iso, ":by": t.actor})
            if t.close_note is not None:
                sets.append("closing_note = :note")
                values[":note"] = t.close_note.model_dump(mode="json", exclude_none=True)
            removes += ["queue_sk"]
            if t.source.kind in ("waiting", "overflow", "out_of_hours", "none"):
                sets.append("#r = :rnone")
                values[":rnone"] = "none"
        else:
            if t.source.kind == "closed":  # reopen
                sets += ["#s = :reopened", "reopened_at = :at"]
                values[":reopened"] = "open"
                values[":at"] = at_iso
                removes += ["closed_at", "closed_by", "closing_note"]
            sets.append("#r = :tgt")
            values[":tgt"] = target.kind
            if target.campaign_id:
                sets.append("campaign_id = :cmp")
                values[":cmp"] = target.campaign_id
            if target.kind in ("assigned", "desk"):
                sets += ["assignee = :who", "assigned_at = :at_a"]
                values.update({":who": target.holder_id, ":at_a": at_iso})
                removes.append("queue_sk")
            else:
                removes.append("assignee")
            if target.kind == "waiting" and target.entry is not None:
                sets += ["queue_sk = :qsk", "queued_at = if_not_exists(queued_at, :qat)"]
                values.update({":qsk": target.entry.sort_key, ":qat": _iso(target.entry.queued_at)})
            elif target.kind != "waiting":
                removes.append("queue_sk")
        adds = []
        if target.kind == "assigned" and target.holder_id:
            adds.append("agents :agent_set")
            values[":agent_set"] = {target.holder_id}
        if t.count_transfer:
            adds.append("transfers :one")
            values[":one"] = 1
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(dict.fromkeys(removes))
        if adds:
            expression += " ADD " + ", ".join(adds)
        roles.append(("conversation", {"Update": {
            "TableName": self._name, "Key": conversation_key(c), "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(cond), "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values}}))

        # 2. the thread: closing frees it, reopening takes it back
        thread = thread_key(tenant, c.channel_id, c.contact_key)
        if target.kind == "closed" and t.free_thread:
            roles.append(("thread", {"Update": {
                "TableName": self._name, "Key": thread,
                "UpdateExpression": "REMOVE conversation_id, conversation_opened_at, conversation_opened_by",
                "ConditionExpression": "conversation_id = :cv",
                "ExpressionAttributeValues": {":cv": c.conversation_id}}}))
        if t.source.kind == "closed":
            roles.append(("thread", {"Update": {
                "TableName": self._name, "Key": thread,
                "UpdateExpression": "SET conversation_id = :cv, conversation_opened_at = :oa",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(conversation_id)",
                "ExpressionAttributeValues": {":cv": c.conversation_id, ":oa": _ms(c.opened_at)}}}))

        # 3. release the source
        meta_delta: dict[str, int] = {}
        rr: tuple[str, str] | None = None
        if t.source.kind == "waiting" and t.source.queue_sk and t.source.campaign_id:
            roles.append(("source_entry", {"Delete": {
                "TableName": self._name, "Key": entry_key(tenant, t.source.campaign_id, t.source.queue_sk),
                "ConditionExpression": "attribute_exists(pk)"}}))
            meta_delta[t.source.campaign_id] = meta_delta.get(t.source.campaign_id, 0) - 1
        if t.source.kind == "assigned" and t.source.holder_id:
            roles.append(("source_agent", {"Update": {
                "TableName": self._name, "Key": presence_key(tenant, t.source.holder_id),
                "UpdateExpression": "ADD active :minus", "ConditionExpression": "active > :z",
                "ExpressionAttributeValues": {":minus": -1, ":z": 0}}}))
            roles.append(("source_link", {"Delete": {
                "TableName": self._name, "Key": link_key(tenant, t.source.holder_id, c.conversation_id)}}))

        # 4. take the target
        if target.kind == "assigned" and target.holder_id:
            roles.append(("target_agent", {"Update": {
                "TableName": self._name, "Key": presence_key(tenant, target.holder_id),
                "UpdateExpression": "ADD active :plus SET last_assigned_ms = :ms",
                "ConditionExpression": f"#st IN ({', '.join(f':st{i}' for i in range(len(target.statuses)))})"
                                       " AND active < :cap",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":plus": 1, ":ms": _ms(t.at),
                                              **{f":st{i}": s for i, s in enumerate(target.statuses)},
                                              ":cap": target.cap if target.cap is not None else 1_000_000}}}))
            link = AssignedConversation(conversation_id=c.conversation_id, campaign_id=target.campaign_id,
                                        channel_id=c.channel_id, contact_id=c.contact_id, assigned_at=t.at)
            roles.append(("target_link", {"Put": {
                "TableName": self._name,
                "Item": {**link_key(tenant, target.holder_id, c.conversation_id), "doc": link.model_dump_json()}}}))
            if t.round_robin and target.campaign_id:
                rr = (target.campaign_id, target.holder_id)
        if target.kind == "waiting" and target.entry is not None:
            e = target.entry
            roles.append(("target_entry", {"Put": {
                "TableName": self._name, "Item": {**entry_key(tenant, e.campaign_id, e.sort_key),
                                                  "doc": e.model_dump_json()},
                "ConditionExpression": "attribute_not_exists(pk)"}}))
            meta_delta[e.campaign_id] = meta_delta.get(e.campaign_id, 0) + 1
        for campaign_id, delta in meta_delta.items():
            update: dict[str, Any] = {
                "TableName": self._name, "Key": queue_meta_key(tenant, campaign_id),
                "UpdateExpression": "ADD waiting :d SET tenant_id = :t, campaign_id = :c",
                "ExpressionAttributeValues": {":d": delta, ":t": tenant, ":c": campaign_id}}
            role = "source_queue"
            if delta > 0:
                role = "target_queue"
                update["UpdateExpression"] += ", gsi1pk = :g, gsi1sk = :gs"
                update["ExpressionAttributeValues"].update({":g": ACTIVE_QUEUES, ":gs": f"{tenant}#{campaign_id}"})
                if target.max_waiting is not None:
                    update["ConditionExpression"] = "attribute_not_exists(waiting) OR waiting < :max"
                    update["ExpressionAttributeValues"][":max"] = target.max_waiting
            if rr and rr[0] == campaign_id:
                update["UpdateExpression"] += ", rr_last = :rr"
                update["ExpressionAttributeValues"][":rr"] = rr[1]
                rr = None
            roles.append((role, {"Update": update}))
        if rr:
            roles.append(("rr", {"Update": {
                "TableName": self._name, "Key": queue_meta_key(tenant, rr[0]),
                "UpdateExpression": "SET rr_last = :rr, tenant_id = :t, campaign_id = :c",
                "ExpressionAttributeValues": {":rr": rr[1], ":t": tenant, ":c": rr[0]}}}))

        # 5. the day's counters
        for stat in t.stats:
            if not stat.counters:
                continue
            adds_expr = ", ".join(f"#k{i} :v{i}" for i in range(len(stat.counters)))
            roles.append(("stat", {"Update": {
                "TableName": self._name, "Key": stat_key(tenant, stat.day, stat.scope),
                "UpdateExpression": f"ADD {adds_expr} SET expires_at = :ttl",
                "ExpressionAttributeNames": {f"#k{i}": k for i, k in enumerate(stat.counters)},
                "ExpressionAttributeValues": {**{f":v{i}": v for i, v in enumerate(stat.counters.values())},
                                              ":ttl": int(t.at.timestamp()) + STAT_TTL_S}}}))

        # 6. the routing record (transcript line + outbox of its notifications)
        if t.record is not None:
            roles.append(("record", {"Put": {"TableName": self._name, "Item": self._record_item(c, t.record)}}))
        return roles

    @staticmethod
    def record_key(c: Conversation, record: RoutingRecord) -> tuple[str, str]:
        return f"T#{c.tenant_id}#CEV#{c.conversation_id}", f"{_ms(record.at):014d}#{record.kind}#{record.record_id}"

    def _record_item(self, c: Conversation, record: RoutingRecord) -> dict[str, Any]:
        thread = thread_key(c.tenant_id, c.channel_id, c.contact_key)["pk"]
        pk, sk = self.record_key(c, record)
        item: dict[str, Any] = {
            "pk": pk, "sk": sk,
            "gsi1pk": thread, "gsi1sk": f"{_iso(record.at)}#cev-{record.record_id}",
            "item_kind": "event", "kind": record.kind, "text": record.text, "author": record.author,
            "tenant_id": c.tenant_id, "conversation_id": c.conversation_id, "created_at": _iso(record.at),
            "detail": json.dumps(record.detail, separators=(",", ":")),
        }
        if record.events or record.messages:
            item.update({"gsi2pk": OUTBOX, "gsi2sk": f"{_iso(record.at)}#{c.tenant_id}#{record.record_id}",
                         "outbox": json.dumps({"events": record.events, "messages": record.messages},
                                              separators=(",", ":"))})
        return {k: v for k, v in item.items() if v is not None}

    # -- the outbox --------------------------------------------------------------------------------------------
    def pending_outbox(self, *, older_than: datetime, limit: int = 100) -> list[dict[str, Any]]:
        result = self._table.query(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(OUTBOX)
                                   & Key("gsi2sk").lt(_iso(older_than)), Limit=limit)
        return [{"pk": i["pk"], "sk": i["sk"], **json.loads(str(i["outbox"]))} for i in result["Items"]]

    def outbox_done(self, pk: str, sk: str) -> None:
        self._table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression="REMOVE gsi2pk, gsi2sk, outbox")

    def newer_conversation(self, c: Conversation) -> str | None:
        """A conversation of the same contact and channel opened after this one (its thread moved on)."""
        pk = thread_key(c.tenant_id, c.channel_id, c.contact_key)["pk"]
        items = self._query_all(Key("pk").eq(pk) & Key("sk").begins_with("CONV#"), consistent=True)
        later = [i for i in items if i.get("conversation_id") != c.conversation_id
                 and (_dt(i.get("opened_at")) or c.opened_at) > c.opened_at]
        return str(later[0]["conversation_id"]) if later else None

    # -- notes and transcript lines ------------------------------------------------------------------------------
    def add_note(self, c: Conversation, *, note_id: str, text: str, author: str, at: datetime) -> bool:
        thread = thread_key(c.tenant_id, c.channel_id, c.contact_key)["pk"]
        try:
            self._table.put_item(Item={
                "pk": f"T#{c.tenant_id}#NOTE#{c.conversation_id}", "sk": note_id, "gsi1pk": thread,
                "gsi1sk": f"{_iso(at)}#note-{note_id}", "item_kind": "note", "text": text, "author": author,
                "tenant_id": c.tenant_id, "conversation_id": c.conversation_id, "created_at": _iso(at)},
                ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _condition_failed(exc):
                return False  # this note id is there already (a re-run of the same step)
            raise
        return True

    def mark_first_response(self, c: Conversation, at: datetime) -> bool:
        try:
            self._table.update_item(Key=conversation_key(c), UpdateExpression="SET first_response_at = :at",
                                    ConditionExpression="attribute_exists(pk) AND "
                                                        "attribute_not_exists(first_response_at)",
                                    ExpressionAttributeValues={":at": _iso(at)})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # -- transcript search ---------------------------------------------------------------------------------------
    def search_conversations(self, tenant_id: str, *, since: datetime, until: datetime,
                             filters: dict[str, str], limit: int, cursor: str | None) -> Page:
        """Conversations opened in [since, until], newest first, filtered (the tenant's conversation listing)."""
        conditions = []
        for name, value in filters.items():
            if name == "agent_id":
                conditions.append(Attr("agents").contains(value))
            elif name == "direction":
                conditions.append(Attr("origin").eq(value) if value == "out" else Attr("origin").not_exists()
                                  | Attr("origin").eq("in"))
            else:
                conditions.append(Attr(name).eq(value))
        return self._conversations.listing(tenant_id, conditions=conditions, since=since, until=until, limit=limit,
                                           cursor=cursor)

    def timeline_extras(self, c: Conversation) -> list[dict[str, Any]]:
        """Notes and routing records of one conversation (the transcript's non-message lines)."""
        out = []
        for prefix in ("NOTE", "CEV"):
            out += self._query_all(Key("pk").eq(f"T#{c.tenant_id}#{prefix}#{c.conversation_id}"))
        return out

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _query_all(self, cond: Any, *, index: str | None = None, consistent: bool = False) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": cond}
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        items: list[dict[str, Any]] = []
        while True:
            result = self._table.query(**kwargs)
            items += result["Items"]
            if not result.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
