"""DynamoDB adapter for bots: definitions and their versions, channel bindings, sessions (single table).

  bot          pk=T#<tenant>#BOTS                   sk=BOT#<bot_id>      name, latest/active version, channels
  binding      pk=T#<tenant>#BOTS                   sk=CHAN#<channel_id> bot_id, version   ('*' = every channel)
  version      pk=T#<tenant>#BOT#<bot_id>           sk=V#<0000000n>      source text, format, checksum
  session      pk=T#<tenant>#BOTSESS#<conversation> sk=SESSION           state JSON, rev, lease, paused, seen ids
                                                                       gsi1pk=T#<tenant>#C#<contact>#BOTSESS (erasure)
  pending      pk=T#<tenant>#BOTSESS#<conversation> sk=P#<message_id>    one customer message not yet answered
  log          pk=T#<tenant>#BOTLOG#<yyyy-mm-dd>    sk=<ms>#<kind>#<id>  ended sessions and per-turn usage

The channel binding answers "which bot talks on this channel" with one BatchGetItem (the channel's own
binding and the tenant's '*'). A pending message is its own item, written in one transaction with the
session's burst clock and guarded by the session's `seen` set, so a redelivered event is neither answered
twice nor lost; the commit of a turn stores the state, adds the consumed ids to `seen`, deletes their
pending items and releases the lease in one transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, _old_item, cancel_codes
from shared.ports import BotRecord, BotVersion, ChannelTaken, PendingInbox, SessionSnapshot, VersionTaken

_LOG_RETENTION_S = 400 * 86400
MAX_PENDING_PER_TURN = 40


def bots_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#BOTS"


def session_pk(tenant_id: str, conversation_id: str) -> str:
    return f"T#{tenant_id}#BOTSESS#{conversation_id}"


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class DynamoBotRegistry:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client

    # -- versions ----------------------------------------------------------------------------------------------
    def put_version(self, version: BotVersion, *, name: str, channels: Sequence[str]) -> None:
        try:
            self._put_version(version, name=name, channels=channels)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise VersionTaken(f"{version.bot_id} v{version.version}") from None
            raise

    def _put_version(self, version: BotVersion, *, name: str, channels: Sequence[str]) -> None:
        self._client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._table.name, "Item": {
                "pk": f"T#{version.tenant_id}#BOT#{version.bot_id}", "sk": f"V#{version.version:08d}",
                "source": version.source, "format": version.format, "checksum": version.checksum,
                "created_at": _iso(version.created_at), "created_by": version.created_by or "",
                "name": name}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": self._table.name,
                        "Key": {"pk": bots_pk(version.tenant_id), "sk": f"BOT#{version.bot_id}"},
                        "UpdateExpression": "SET #n = :name, latest_version = :v, updated_at = :at, "
                                            "pending_channels = :ch, bot_id = :id",
                        "ConditionExpression": "attribute_not_exists(latest_version) OR latest_version < :v",
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {":name": name, ":v": version.version,
                                                      ":at": _iso(version.created_at), ":ch": list(channels),
                                                      ":id": version.bot_id}}},
        ])

    def get_version(self, tenant_id: str, bot_id: str, version: int) -> BotVersion | None:
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#BOT#{bot_id}", "sk": f"V#{version:08d}"}).get("Item")
        return self._version(tenant_id, bot_id, item) if item else None

    @staticmethod
    def _version(tenant_id: str, bot_id: str, item: dict[str, Any]) -> BotVersion:
        return BotVersion(tenant_id=tenant_id, bot_id=bot_id, version=int(item["sk"][2:]), source=item["source"],
                          format=item["format"], checksum=item["checksum"], created_at=_dt(item["created_at"]),
                          created_by=item.get("created_by") or None)

    def list_versions(self, tenant_id: str, bot_id: str) -> list[BotVersion]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#BOT#{bot_id}"),
                                  ScanIndexForward=False, Limit=100)["Items"]
        return [self._version(tenant_id, bot_id, item) for item in items]

    # -- bots and bindings -------------------------------------------------------------------------------------
    @staticmethod
    def _bot(tenant_id: str, item: dict[str, Any]) -> BotRecord:
        active = item.get("active_version")
        return BotRecord(tenant_id=tenant_id, bot_id=item["sk"][4:], name=item.get("name", ""),
                         latest_version=int(item.get("latest_version", 0)),
                         active_version=int(active) if active is not None else None,
                         channels=tuple(item.get("channels") or ()), updated_at=_dt(item["updated_at"]))

    def get_bot(self, tenant_id: str, bot_id: str) -> BotRecord | None:
        item = self._table.get_item(Key={"pk": bots_pk(tenant_id), "sk": f"BOT#{bot_id}"}).get("Item")
        return self._bot(tenant_id, item) if item else None

    def list_bots(self, tenant_id: str) -> list[BotRecord]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(bots_pk(tenant_id))
                                  & Key("sk").begins_with("BOT#"))["Items"]
        return [self._bot(tenant_id, item) for item in items]

    def activate(self, tenant_id: str, bot_id: str, version: int, channels: Sequence[str]) -> None:
        current = self.get_bot(tenant_id, bot_id)
        old = set(current.channels if current and current.active_version is not None else ())
        new = list(dict.fromkeys(channels))
        now = _iso(datetime.now(UTC))
        items: list[dict[str, Any]] = [{"Update": {
            "TableName": self._table.name, "Key": {"pk": bots_pk(tenant_id), "sk": f"BOT#{bot_id}"},
            "UpdateExpression": "SET active_version = :v, channels = :ch, updated_at = :at",
            "ConditionExpression": "latest_version >= :v",
            "ExpressionAttributeValues": {":v": version, ":ch": new, ":at": now}}}]
        for channel in new:
            items.append({"Put": {
                "TableName": self._table.name,
                "Item": {"pk": bots_pk(tenant_id), "sk": f"CHAN#{channel}", "bot_id": bot_id, "version": version},
                "ConditionExpression": "attribute_not_exists(pk) OR bot_id = :me",
                "ExpressionAttributeValues": {":me": bot_id}}})
        for channel in old - set(new):
            items.append({"Delete": {
                "TableName": self._table.name, "Key": {"pk": bots_pk(tenant_id), "sk": f"CHAN#{channel}"},
                "ConditionExpression": "bot_id = :me", "ExpressionAttributeValues": {":me": bot_id}}})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = cancel_codes(exc)
            for index, code in enumerate(codes[1:len(new) + 1]):
                if code == "ConditionalCheckFailed":
                    owner = self._table.get_item(Key={"pk": bots_pk(tenant_id), "sk": f"CHAN#{new[index]}"}
                                                 ).get("Item") or {}
                    raise ChannelTaken(new[index], str(owner.get("bot_id", "?"))) from None
            raise

    def deactivate(self, tenant_id: str, bot_id: str) -> None:
        current = self.get_bot(tenant_id, bot_id)
        if current is None:
            return
        items: list[dict[str, Any]] = [{"Update": {
            "TableName": self._table.name, "Key": {"pk": bots_pk(tenant_id), "sk": f"BOT#{bot_id}"},
            "UpdateExpression": "REMOVE active_version SET channels = :none, updated_at = :at",
            "ExpressionAttributeValues": {":none": [], ":at": _iso(datetime.now(UTC))}}}]
        for channel in current.channels:
            items.append({"Delete": {
                "TableName": self._table.name, "Key": {"pk": bots_pk(tenant_id), "sk": f"CHAN#{channel}"},
                "ConditionExpression": "attribute_not_exists(pk) OR bot_id = :me",
                "ExpressionAttributeValues": {":me": bot_id}}})
        self._client.transact_write_items(TransactItems=items)

    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None:
        keys = [{"pk": bots_pk(tenant_id), "sk": f"CHAN#{channel_id}"}, {"pk": bots_pk(tenant_id), "sk": "CHAN#*"}]
        got = self._client.batch_get_item(RequestItems={self._table.name: {"Keys": keys}})
        found = {item["sk"]: item for item in got.get("Responses", {}).get(self._table.name, [])}
        item = found.get(f"CHAN#{channel_id}") or found.get("CHAN#*")
        return (str(item["bot_id"]), int(item["version"])) if item else None


class DynamoBotSessions:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client

    def _key(self, tenant_id: str, conversation_id: str) -> dict[str, str]:
        return {"pk": session_pk(tenant_id, conversation_id), "sk": "SESSION"}

    def add_pending(self, tenant_id: str, conversation_id: str, message_id: str, item: dict[str, Any], *,
                    now_ms: int) -> PendingInbox:
        """The pending item first (its conditional put is the dedup: a redelivery does not move the burst
        clock), then the session's clock under the `seen`/`paused` guard; a message that was already answered
        or arrives while the bot is paused has its item removed again."""
        pk = session_pk(tenant_id, conversation_id)
        expires = now_ms // 1000 + 30 * 86400
        try:
            self._table.put_item(Item={"pk": pk, "sk": f"P#{message_id}", "input": json.dumps(item),
                                       "received_ms": now_ms, "expires_at": expires},
                                 ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            session = self._table.get_item(Key={"pk": pk, "sk": "SESSION"}, ConsistentRead=True).get("Item") or {}
            last = int(session.get("last_at", now_ms))
            return PendingInbox(added=False, consumed=False, first_at_ms=int(session.get("first_at", last)),
                                last_at_ms=last, paused=bool(session.get("paused")))
        try:
            session = self._table.update_item(
                Key={"pk": pk, "sk": "SESSION"},
                UpdateExpression="SET last_at = :now, first_at = if_not_exists(first_at, :now), "
                                 "rev = if_not_exists(rev, :zero), expires_at = :exp",
                ConditionExpression="(attribute_not_exists(seen) OR NOT contains(seen, :id)) "
                                    "AND attribute_not_exists(paused)",
                ExpressionAttributeValues={":now": now_ms, ":zero": 0, ":id": message_id, ":exp": expires},
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")["Attributes"]
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            self._table.delete_item(Key={"pk": pk, "sk": f"P#{message_id}"})
            old = _old_item(exc)
            last = int(old.get("last_at", now_ms))
            consumed = message_id in set(old.get("seen") or ())
            return PendingInbox(added=False, consumed=consumed, first_at_ms=int(old.get("first_at", last)),
                                last_at_ms=last, paused=bool(old.get("paused")) and not consumed)
        last = int(session["last_at"])
        return PendingInbox(added=True, consumed=False, first_at_ms=int(session.get("first_at", last)),
                            last_at_ms=last, paused=False)

    def acquire(self, tenant_id: str, conversation_id: str, *, now_ms: int, lease_ms: int) -> SessionSnapshot | None:
        token = secrets.token_hex(8)
        try:
            attrs = self._table.update_item(
                Key=self._key(tenant_id, conversation_id),
                UpdateExpression="SET lease_until = :until, lease_token = :tok, rev = if_not_exists(rev, :zero)",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={":until": now_ms + lease_ms, ":tok": token, ":now": now_ms, ":zero": 0},
                ReturnValues="ALL_NEW")["Attributes"]
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        pending = self._table.query(
            KeyConditionExpression=Key("pk").eq(session_pk(tenant_id, conversation_id)) & Key("sk").begins_with("P#"),
            ConsistentRead=True, Limit=MAX_PENDING_PER_TURN)["Items"]
        return SessionSnapshot(state=json.loads(attrs["state"]) if attrs.get("state") else None,
                               pending={p["sk"][2:]: {**json.loads(p["input"]), "received_ms": int(p["received_ms"])}
                                        for p in pending},
                               rev=int(attrs.get("rev", 0)), paused=attrs.get("paused") or None, lease_token=token,
                               seen=frozenset(attrs.get("seen") or ()))

    def get(self, tenant_id: str, conversation_id: str) -> SessionSnapshot | None:
        item = self._table.get_item(Key=self._key(tenant_id, conversation_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return SessionSnapshot(state=json.loads(item["state"]) if item.get("state") else None, pending={},
                               rev=int(item.get("rev", 0)), paused=item.get("paused") or None, lease_token="")

    def commit(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot, *,
               state: dict[str, Any] | None, consumed: Sequence[str], paused: str | None,
               expires_at: int | None) -> None:
        pk = session_pk(tenant_id, conversation_id)
        sets = ["rev = rev + :one", "expires_at = :exp"]
        removes = ["lease_until", "lease_token", "first_at"]
        values: dict[str, Any] = {":one": 1, ":tok": snapshot.lease_token,
                                  ":exp": expires_at or int(datetime.now(UTC).timestamp()) + 30 * 86400}
        if state is not None:
            sets.append("#s = :state")
            values[":state"] = json.dumps(state, default=str)
            if state.get("contact_id"):  # sparse gsi1: a contact's sessions, for erasure
                sets += ["gsi1pk = :g1pk", "gsi1sk = :g1sk"]
                values[":g1pk"] = f"T#{tenant_id}#C#{state['contact_id']}#BOTSESS"
                values[":g1sk"] = conversation_id
        if paused:
            sets.append("paused = :paused")
            values[":paused"] = paused
        else:
            removes.append("paused")
        expression = "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes)
        if consumed:
            expression += " ADD seen :ids"
            values[":ids"] = set(consumed)
        items: list[dict[str, Any]] = [{"Update": {
            "TableName": self._table.name, "Key": {"pk": pk, "sk": "SESSION"}, "UpdateExpression": expression,
            "ConditionExpression": "lease_token = :tok", "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": values}}]
        if state is None:
            del items[0]["Update"]["ExpressionAttributeNames"]
        for message_id in list(consumed)[:MAX_PENDING_PER_TURN]:
            items.append({"Delete": {"TableName": self._table.name, "Key": {"pk": pk, "sk": f"P#{message_id}"}}})
        self._client.transact_write_items(TransactItems=items)

    def release(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot) -> None:
        try:
            self._table.update_item(Key=self._key(tenant_id, conversation_id),
                                    UpdateExpression="REMOVE lease_until, lease_token",
                                    ConditionExpression="lease_token = :tok",
                                    ExpressionAttributeValues={":tok": snapshot.lease_token})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None:
        if paused:
            self._table.update_item(Key=self._key(tenant_id, conversation_id),
                                    UpdateExpression="SET paused = :p, rev = if_not_exists(rev, :zero)",
                                    ExpressionAttributeValues={":p": paused, ":zero": 0})
        else:
            self._table.update_item(Key=self._key(tenant_id, conversation_id), UpdateExpression="REMOVE paused")

    def record_session(self, tenant_id: str, record: dict[str, Any]) -> None:
        at = int(record.get("at") or datetime.now(UTC).timestamp())
        day = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
        item = {k: v for k, v in record.items() if v is not None and not isinstance(v, float)}
        for k, v in record.items():
            if isinstance(v, float):
                item[k] = str(round(v, 3))
        item.update(pk=f"T#{tenant_id}#BOTLOG#{day}",
                    sk=f"{at * 1000:013d}#{record.get('kind', 'x')}#{record.get('session_id', '')}#"
                       f"{record.get('turn', 0)}#{record.get('usage', '')}",
                    expires_at=at + _LOG_RETENTION_S)
        self._table.put_item(Item=item)

    # -- erasure (a ContactDataEraser): the contact's sessions hold what they typed and their PII mapping ----
    name = "bot_sessions"

    def erase(self, tenant_id: str, contact_id: str) -> int:
        removed = 0
        sessions = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(
            f"T#{tenant_id}#C#{contact_id}#BOTSESS"))["Items"]
        for session in sessions:
            items = self._table.query(KeyConditionExpression=Key("pk").eq(session["pk"]),
                                      ProjectionExpression="pk, sk", ConsistentRead=True)["Items"]
            with self._table.batch_writer() as batch:
                for item in items:
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            removed += len(items)
        return removed


class DynamoBotControl:
    """What the contact center and workflows need of the bots: is a bot answering this channel (and its
    definition); pause one conversation's bot."""

    def __init__(self, table: Any) -> None:
        self._registry = DynamoBotRegistry(table)
        self._sessions = DynamoBotSessions(table)

    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None:
        return self._registry.bot_for_channel(tenant_id, channel_id)

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None:
        self._sessions.set_paused(tenant_id, conversation_id, paused)

    def get_version(self, tenant_id: str, bot_id: str, version: int) -> BotVersion | None:
        return self._registry.get_version(tenant_id, bot_id, version)
