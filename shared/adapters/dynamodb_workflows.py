"""DynamoDB adapter for workflows (single table).

  workflow     pk=T#<t>#WF#<workflow_id>     sk=WF          latest definition JSON, version, enabled, trigger
                                                            gsi1pk=T#<t>#WFS gsi1sk=<workflow_id>   (list)
  version      pk=T#<t>#WF#<workflow_id>     sk=V#<000000n> the immutable definition an execution runs on
  by trigger   pk=T#<t>#WFT#<trigger type>   sk=<workflow_id>  enabled workflows only: one query per event
  hook         pk=WFHOOK#<workflow_id>       sk=WFHOOK      tenant (incoming-webhook trigger)
  cron         pk=WFCRON                     sk=<next run iso>#<t>#<workflow_id>   due = range query to now
  execution    pk=T#<t>#WFX#<execution_id>   sk=X           JSON, status, token
                                                            gsi1pk=T#<t>#WFXC#<contact> gsi1sk=<started>#<id>
                                                            gsi2pk=T#<t>#WFXW#<workflow> gsi2sk=<started>#<id>
  step record  pk=T#<t>#WFX#<execution_id>   sk=S#<seq 00000>   started / done / failed, input, output, error
  reentry      pk=T#<t>#WFRUN#<wf>#<contact> sk=RUN         running execution id, ever
  reply wait   pk=T#<t>#WFWAIT#<channel>#<contact_key>  sk=<execution_id>   token, until (TTL)
  round robin  pk=T#<t>#WFRR#<key>           sk=RR          last agent picked

Executions, step records and waits expire (TTL) `retention_days` after they start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, cancel_codes
from shared.models.workflows import Execution, StepRecord, Workflow

_ENDED = ("completed", "failed", "cancelled")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _wf_pk(tenant_id: str, workflow_id: str) -> str:
    return f"T#{tenant_id}#WF#{workflow_id}"


def _x_pk(tenant_id: str, execution_id: str) -> str:
    return f"T#{tenant_id}#WFX#{execution_id}"


def _run_key(execution: Execution) -> dict[str, str]:
    """The reentry guard of the execution's workflow and contact."""
    return {"pk": f"T#{execution.tenant_id}#WFRUN#{execution.workflow_id}#{execution.contact_id}", "sk": "RUN"}


def _cron_sk(next_run: datetime, tenant_id: str, workflow_id: str) -> str:
    return f"{_iso(next_run)}#{tenant_id}#{workflow_id}"


class DynamoWorkflows:
    def __init__(self, table: Any, *, retention_days: int = 400) -> None:
        self._table = table
        self._client = table.meta.client
        self._retention = timedelta(days=retention_days)

    def _expires(self, at: datetime) -> int:
        return int((at + self._retention).timestamp())

    # -- definitions --------------------------------------------------------------------------------------------
    def put_workflow(self, workflow: Workflow, *, previous: Workflow | None) -> bool:
        t, wid = workflow.tenant_id, workflow.workflow_id
        body = workflow.model_dump_json()
        trigger = workflow.trigger.type
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table.name, "Item": {
                "pk": _wf_pk(t, wid), "sk": "WF", "gsi1pk": f"T#{t}#WFS", "gsi1sk": wid, "definition": body,
                "version": workflow.version, "enabled": workflow.enabled, "trigger_type": trigger},
                **({"ConditionExpression": "version = :prev", "ExpressionAttributeValues": {
                    ":prev": previous.version}} if previous else
                   {"ConditionExpression": "attribute_not_exists(pk)"})}},
            {"Put": {"TableName": self._table.name, "Item": {
                "pk": _wf_pk(t, wid), "sk": f"V#{workflow.version:07d}", "definition": body},
                "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
        if previous is not None and (previous.trigger.type != trigger or not workflow.enabled):
            items.append({"Delete": {"TableName": self._table.name,
                                     "Key": {"pk": f"T#{t}#WFT#{previous.trigger.type}", "sk": wid}}})
        if workflow.enabled:
            items.append({"Put": {"TableName": self._table.name, "Item": {
                "pk": f"T#{t}#WFT#{trigger}", "sk": wid, "definition": body}}})
        if trigger == "incoming_webhook":
            items.append({"Put": {"TableName": self._table.name, "Item": {
                "pk": f"WFHOOK#{wid}", "sk": "WFHOOK", "tenant_id": t}}})
        old_cron = self._cron_item(t, wid) if previous is not None and previous.trigger.type == "schedule" else None
        new_cron: str | None = None
        if trigger == "schedule" and workflow.enabled:
            from shared.services.workflow_time import Cron

            spec: Any = workflow.trigger
            new_cron = _cron_sk(Cron.parse(spec.cron, spec.time_zone).next_after(workflow.updated_at), t, wid)
        if old_cron is not None and old_cron != new_cron:
            items.append({"Delete": {"TableName": self._table.name, "Key": {"pk": "WFCRON", "sk": old_cron}}})
        if new_cron is not None:
            next_run = new_cron.split("#", 1)[0]
            items.append({"Put": {"TableName": self._table.name, "Item": {
                "pk": "WFCRON", "sk": new_cron, "tenant_id": t, "workflow_id": wid, "next_run": next_run}}})
            items.append({"Update": {"TableName": self._table.name, "Key": {"pk": _wf_pk(t, wid), "sk": "CRON"},
                                     "UpdateExpression": "SET cron_sk = :s",
                                     "ExpressionAttributeValues": {":s": new_cron}}})
        elif old_cron is not None:
            items.append({"Delete": {"TableName": self._table.name, "Key": {"pk": _wf_pk(t, wid), "sk": "CRON"}}})
        return self._transact(items)

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """One transaction; False when a condition failed (someone else changed it first)."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def _cron_item(self, tenant_id: str, workflow_id: str) -> str | None:
        item = self._table.get_item(Key={"pk": _wf_pk(tenant_id, workflow_id), "sk": "CRON"}).get("Item")
        return str(item["cron_sk"]) if item else None

    def get_workflow(self, tenant_id: str, workflow_id: str, version: int | None = None) -> Workflow | None:
        sk = f"V#{version:07d}" if version else "WF"
        item = self._table.get_item(Key={"pk": _wf_pk(tenant_id, workflow_id), "sk": sk}).get("Item")
        return Workflow.model_validate_json(str(item["definition"])) if item else None

    def list_workflows(self, tenant_id: str) -> list[Workflow]:
        out: list[Workflow] = []
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(f"T#{tenant_id}#WFS")}
        while True:
            page = self._table.query(**kwargs)
            out += [Workflow.model_validate_json(str(i["definition"])) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_workflow(self, workflow: Workflow) -> None:
        t, wid = workflow.tenant_id, workflow.workflow_id
        keys = [{"pk": _wf_pk(t, wid), "sk": "WF"}, {"pk": f"T#{t}#WFT#{workflow.trigger.type}", "sk": wid},
                {"pk": f"WFHOOK#{wid}", "sk": "WFHOOK"}, {"pk": _wf_pk(t, wid), "sk": "CRON"}]
        cron = self._cron_item(t, wid)
        if cron:
            keys.append({"pk": "WFCRON", "sk": cron})
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)
        # versions stay: executions that still run read theirs

    def enabled_for(self, tenant_id: str, trigger_type: str) -> list[Workflow]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant_id}#WFT#{trigger_type}"))["Items"]
        return [Workflow.model_validate_json(str(i["definition"])) for i in items]

    def hook_tenant(self, workflow_id: str) -> str | None:
        item = self._table.get_item(Key={"pk": f"WFHOOK#{workflow_id}", "sk": "WFHOOK"}).get("Item")
        return str(item["tenant_id"]) if item else None

    def due_schedules(self, now: datetime, *, limit: int = 100) -> list[tuple[str, str, datetime]]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq("WFCRON") & Key("sk").lte(_iso(now) + "~"),
                                  Limit=limit)["Items"]
        return [(str(i["tenant_id"]), str(i["workflow_id"]), _dt(str(i["next_run"]))) for i in items
                if _dt(str(i["next_run"])) <= now]

    def advance_schedule(self, tenant_id: str, workflow_id: str, *, expected: datetime, next_run: datetime) -> bool:
        old, new = _cron_sk(expected, tenant_id, workflow_id), _cron_sk(next_run, tenant_id, workflow_id)
        return self._transact([
                {"Delete": {"TableName": self._table.name, "Key": {"pk": "WFCRON", "sk": old},
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Put": {"TableName": self._table.name, "Item": {
                    "pk": "WFCRON", "sk": new, "tenant_id": tenant_id, "workflow_id": workflow_id,
                    "next_run": _iso(next_run)}}},
                {"Update": {"TableName": self._table.name, "Key": {"pk": _wf_pk(tenant_id, workflow_id), "sk": "CRON"},
                            "UpdateExpression": "SET cron_sk = :s", "ExpressionAttributeValues": {":s": new}}}])

    # -- executions ---------------------------------------------------------------------------------------------
    def _x_item(self, x: Execution) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": _x_pk(x.tenant_id, x.execution_id), "sk": "X", "data": x.model_dump_json(),
            "status": x.status, "version_token": x.version_token, "workflow_id": x.workflow_id,
            "gsi2pk": f"T#{x.tenant_id}#WFXW#{x.workflow_id}", "gsi2sk": f"{_iso(x.started_at)}#{x.execution_id}",
            "expires_at": self._expires(x.started_at)}
        if x.contact_id:
            item["gsi1pk"] = f"T#{x.tenant_id}#WFXC#{x.contact_id}"
            item["gsi1sk"] = f"{_iso(x.started_at)}#{x.execution_id}"
        return item

    def create_execution(self, execution: Execution, *, reentry: str) -> str:
        items: list[dict[str, Any]] = [{"Put": {"TableName": self._table.name, "Item": self._x_item(execution),
                                                "ConditionExpression": "attribute_not_exists(pk)"}}]
        if execution.contact_id:
            guard = _run_key(execution)
            condition = {"once": "attribute_not_exists(ever)",
                         "not_while_running": "attribute_not_exists(running)"}.get(reentry)
            update: dict[str, Any] = {"TableName": self._table.name, "Key": guard,
                                      "UpdateExpression": "SET running = :x, ever = :one, last_started = :at",
                                      "ExpressionAttributeValues": {":x": execution.execution_id, ":one": 1,
                                                                    ":at": _iso(execution.started_at)}}
            if condition:
                update["ConditionExpression"] = condition
            items.append({"Update": update})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = cancel_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                return "exists"
            if reentry == "not_while_running" and execution.contact_id and self._stale_lock(execution):
                return self.create_execution(execution, reentry=reentry)
            return "refused"
        return "created"

    def _stale_lock(self, execution: Execution) -> bool:
        """The lock names an execution that has ended (its release after the end's commit was lost in a crash):
        free it once, conditionally, so the contact can enter again."""
        key = _run_key(execution)
        holder = (self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}).get("running")
        if not holder:
            return False
        other = self.get_execution(execution.tenant_id, str(holder))
        if other is not None and other.status not in _ENDED:
            return False
        try:
            self._table.update_item(Key=key, UpdateExpression="REMOVE running", ConditionExpression="running = :x",
                                    ExpressionAttributeValues={":x": holder})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
        return True

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        item = self._table.get_item(Key={"pk": _x_pk(tenant_id, execution_id), "sk": "X"},
                                    ConsistentRead=True).get("Item")
        return Execution.model_validate_json(str(item["data"])) if item else None

    def commit(self, execution: Execution, *, expected_token: int, record: StepRecord | None) -> bool:
        item = self._x_item(execution)
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self._table.name, "Item": item, "ConditionExpression": "version_token = :e",
            "ExpressionAttributeValues": {":e": expected_token}}}]
        if record is not None:
            items.append({"Put": {"TableName": self._table.name, "Item": self._record_item(execution, record)}})
        if not self._transact(items):
            return False
        if execution.status in _ENDED and execution.contact_id:
            try:  # free the reentry guard (not_while_running); only if it is still this execution's
                self._table.update_item(
                    Key=_run_key(execution), UpdateExpression="REMOVE running", ConditionExpression="running = :x",
                    ExpressionAttributeValues={":x": execution.execution_id})
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
        return True

    def _record_item(self, execution: Execution, record: StepRecord) -> dict[str, Any]:
        return {"pk": _x_pk(execution.tenant_id, execution.execution_id), "sk": f"S#{record.seq:05d}",
                "data": record.model_dump_json(), "state": record.state,
                "expires_at": self._expires(execution.started_at)}

    def begin_step(self, execution: Execution, record: StepRecord) -> StepRecord | None:
        try:
            self._table.put_item(Item=self._record_item(execution, record),
                                 ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            item = self._table.get_item(Key={"pk": _x_pk(execution.tenant_id, execution.execution_id),
                                             "sk": f"S#{record.seq:05d}"}, ConsistentRead=True).get("Item")
            return StepRecord.model_validate_json(str(item["data"])) if item else record
        return None

    def steps(self, tenant_id: str, execution_id: str) -> list[StepRecord]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(_x_pk(tenant_id, execution_id))
                                  & Key("sk").begins_with("S#"))["Items"]
        return [StepRecord.model_validate_json(str(i["data"])) for i in items]

    def executions(self, tenant_id: str, *, contact_id: str | None = None, workflow_id: str | None = None,
                   limit: int = 50) -> list[Execution]:
        index, pk = ("gsi1", f"T#{tenant_id}#WFXC#{contact_id}") if contact_id else \
            ("gsi2", f"T#{tenant_id}#WFXW#{workflow_id}")
        items = self._table.query(IndexName=index, KeyConditionExpression=Key(f"{index}pk").eq(pk),
                                  ScanIndexForward=False, Limit=max(1, min(limit, 200)))["Items"]
        out = [Execution.model_validate_json(str(i["data"])) for i in items]
        if contact_id and workflow_id:
            out = [x for x in out if x.workflow_id == workflow_id]
        return out

    # -- waits and round robin ----------------------------------------------------------------------------------
    def _wait_pk(self, tenant_id: str, channel_id: str, contact_key: str) -> str:
        return f"T#{tenant_id}#WFWAIT#{channel_id}#{contact_key}"

    def add_reply_wait(self, execution: Execution) -> None:
        wait = execution.wait or {}
        token, until = str(wait["token"]), _dt(str(wait["until"]))
        self._table.put_item(Item={
            "pk": self._wait_pk(execution.tenant_id, str(wait.get("channel_id") or execution.channel_id),
                                str(wait.get("contact_key") or execution.contact_key)),
            "sk": execution.execution_id, "token": token, "until": _iso(until),
            "expires_at": int((until + timedelta(days=1)).timestamp())})

    def reply_waits(self, tenant_id: str, channel_id: str, contact_key: str) -> list[tuple[str, str]]:
        items = self._table.query(KeyConditionExpression=Key("pk").eq(self._wait_pk(tenant_id, channel_id,
                                                                                    contact_key)))["Items"]
        now = datetime.now(UTC)
        return [(str(i["sk"]), str(i["token"])) for i in items if _dt(str(i["until"])) > now - timedelta(hours=1)]

    def remove_reply_wait(self, execution: Execution, token: str) -> None:
        wait = execution.wait or {}
        try:
            self._table.delete_item(
                Key={"pk": self._wait_pk(execution.tenant_id, str(wait.get("channel_id") or execution.channel_id),
                                         str(wait.get("contact_key") or execution.contact_key)),
                     "sk": execution.execution_id},
                ConditionExpression="#t = :t", ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":t": token})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def round_robin(self, tenant_id: str, key: str, candidates: Sequence[str]) -> str:
        ordered = sorted(candidates)
        item = self._table.get_item(Key={"pk": f"T#{tenant_id}#WFRR#{key}", "sk": "RR"}).get("Item") or {}
        last = str(item.get("last") or "")
        after = [c for c in ordered if c > last]
        chosen = after[0] if after else ordered[0]
        self._table.put_item(Item={"pk": f"T#{tenant_id}#WFRR#{key}", "sk": "RR", "last": chosen})
        return chosen

