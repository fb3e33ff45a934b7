"""DynamoDB adapter for background jobs and erasure. Key design (README "DynamoDB key design"):

  job             pk=T#<t>#JOB#<job_id>     sk=JOB     gsi1pk=T#<t>#JOBS   gsi1sk=<job_id>
                  (job ids are time-ordered, so the listing is newest first; `doc` is the Job as JSON,
                  `files` the S3 keys of its files, `lease_owner`/`lease_until` the worker holding it)
  erasure record  pk=T#<t>#ERASURE          sk=<requested iso>#<contact_id>
                  (no personal data: contact id, job, actor, times, status, `n_<kind>` counters)
Erasure also deletes, for one thread (keys from shared.adapters.dynamodb):
  messages        gsi1pk=T#<t>#TH#<channel>#<contact_key>  (the thread timeline) -> each item by pk/sk
  thread + convs  pk=T#<t>#TH#<channel>#<contact_key>  sk=THREAD and sk=CONV#<conversation_id>
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso, query_page, thread_key
from shared.models.jobs import ErasureRecord, Job, MessageRef
from shared.ports import Page, Thread


def job_key(tenant_id: str, job_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#JOB#{job_id}", "sk": "JOB"}


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _job(item: dict[str, Any]) -> Job:
    job = Job.model_validate_json(str(item["doc"]))
    files = {str(k): str(v) for k, v in (item.get("files") or {}).items()}
    return job.model_copy(update={"files": files}) if files else job


class DynamoJobStore:
    """Satisfies shared.services.jobs.JobStore."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def _values(self, job: Job) -> dict[str, Any]:
        return {":doc": job.model_dump_json(), ":files": dict(job.files), ":st": job.status}

    def create_job(self, job: Job) -> None:
        self._table.put_item(Item={
            **job_key(job.tenant_id, job.job_id), "gsi1pk": f"T#{job.tenant_id}#JOBS", "gsi1sk": job.job_id,
            "type": "job", "tenant_id": job.tenant_id, "job_id": job.job_id, "kind": job.kind,
            "status": job.status, "doc": job.model_dump_json(), "files": dict(job.files),
        }, ConditionExpression="attribute_not_exists(pk)")

    def get_job(self, tenant_id: str, job_id: str) -> Job | None:
        item = self._table.get_item(Key=job_key(tenant_id, job_id), ConsistentRead=True).get("Item")
        return _job(item) if item else None

    def list_jobs(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#JOBS", index="gsi1", limit=limit, cursor=cursor)
        return Page([_job(i) for i in items], next_cursor)

    def _update(self, job: Job, *, sets: str, condition: str, values: dict[str, Any],
                remove: str = "") -> bool:
        try:
            self._table.update_item(
                Key=job_key(job.tenant_id, job.job_id),
                UpdateExpression=f"SET doc = :doc, files = :files, #s = :st{sets}{remove}",
                ConditionExpression=condition, ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={**self._values(job), **values})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def claim_job(self, job: Job, *, owner: str, now: datetime, until: datetime) -> bool:
        return self._update(
            job, sets=", lease_owner = :o, lease_until = :u",
            condition="attribute_exists(pk) AND #s IN (:queued, :running) AND "
                      "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :o)",
            values={":o": owner, ":u": _ms(until), ":now": _ms(now), ":queued": "queued", ":running": "running"})

    def save_job(self, job: Job, *, owner: str | None = None, expected_status: str | None = None,
                 release: bool = False) -> bool:
        condition, values = "attribute_exists(pk)", {}
        if owner is not None:
            condition += " AND lease_owner = :o"
            values[":o"] = owner
        if expected_status is not None:
            condition += " AND #s = :expected"
            values[":expected"] = expected_status
        return self._update(job, sets="", condition=condition, values=values,
                            remove=" REMOVE lease_owner, lease_until" if release else "")

    def release_job(self, tenant_id: str, job_id: str, *, owner: str) -> None:
        try:
            self._table.update_item(Key=job_key(tenant_id, job_id), UpdateExpression="REMOVE lease_owner, lease_until",
                                    ConditionExpression="lease_owner = :o", ExpressionAttributeValues={":o": owner})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise


def erasure_key(tenant_id: str, contact_id: str, requested_at: datetime) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#ERASURE", "sk": f"{_iso(requested_at)}#{contact_id}"}


def _record(item: dict[str, Any]) -> ErasureRecord:
    counts = {str(k)[2:]: int(v) for k, v in item.items() if str(k).startswith("n_")}
    return ErasureRecord(tenant_id=str(item["tenant_id"]), contact_id=str(item["contact_id"]),
                         job_id=str(item["job_id"]), actor=str(item["actor"]),
                         requested_at=_parse(str(item["requested_at"])), status=item["status"],
                         erased_at=_parse(str(item["erased_at"])) if item.get("erased_at") else None, counts=counts)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class DynamoErasure:
    """Satisfies shared.services.erasure.ThreadEraser and ErasureRecords."""

    def __init__(self, table: Any) -> None:
        self._table = table

    # -- thread contents -----------------------------------------------------------------------------
    def iter_thread_messages(self, thread: Thread, *, page_size: int = 100) -> Iterator[list[MessageRef]]:
        pk = thread_key(thread.tenant_id, thread.channel_id, thread.contact_key)["pk"]
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(pk),
                                  "Limit": page_size, "ProjectionExpression": "pk, sk, media_s3_key"}
        while True:
            result = self._table.query(**kwargs)
            refs = [MessageRef(handle=(str(i["pk"]), str(i["sk"])), media_key=i.get("media_s3_key") or None)
                    for i in result.get("Items", [])]
            if refs:
                yield refs
            if not result.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    def delete_messages(self, refs: Sequence[MessageRef]) -> None:
        with self._table.batch_writer() as batch:
            for ref in refs:
                batch.delete_item(Key={"pk": ref.handle[0], "sk": ref.handle[1]})

    def delete_thread(self, thread: Thread) -> int:
        pk = thread_key(thread.tenant_id, thread.channel_id, thread.contact_key)["pk"]
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ProjectionExpression": "pk, sk"}
        while True:
            result = self._table.query(**kwargs)
            keys += [{"pk": i["pk"], "sk": i["sk"]} for i in result.get("Items", [])]
            if not result.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
        # conversations first, the thread item last: a retry still finds the thread through the contact
        keys.sort(key=lambda k: k["sk"] == "THREAD")
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)
        return sum(1 for k in keys if str(k["sk"]).startswith("CONV#"))

    # -- records -------------------------------------------------------------------------------------
    def put_record(self, record: ErasureRecord) -> None:
        try:
            self._table.put_item(Item={
                **erasure_key(record.tenant_id, record.contact_id, record.requested_at), "type": "erasure",
                "tenant_id": record.tenant_id, "contact_id": record.contact_id, "job_id": record.job_id,
                "actor": record.actor, "requested_at": _iso(record.requested_at), "status": record.status,
            }, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def update_record(self, tenant_id: str, contact_id: str, requested_at: datetime, *,
                      status: Literal["running", "completed"] | None = None, erased_at: datetime | None = None,
                      add: Mapping[str, int] | None = None) -> None:
        sets: list[str] = []
        adds: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if status is not None:
            sets.append("#s = :s")
            names["#s"] = "status"
            values[":s"] = status
        if erased_at is not None:
            sets.append("erased_at = :e")
            values[":e"] = _iso(erased_at)
        for i, (kind, count) in enumerate(sorted((add or {}).items())):
            if count:
                adds.append(f"#n{i} :n{i}")
                names[f"#n{i}"] = f"n_{kind}"
                values[f":n{i}"] = int(count)
        if not sets and not adds:
            return
        expression = ("SET " + ", ".join(sets) if sets else "") + (" ADD " + ", ".join(adds) if adds else "")
        kwargs: dict[str, Any] = {"Key": erasure_key(tenant_id, contact_id, requested_at),
                                  "UpdateExpression": expression.strip(), "ExpressionAttributeValues": values,
                                  "ConditionExpression": "attribute_exists(pk)"}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._table.update_item(**kwargs)
        except ClientError as exc:
            if not _condition_failed(exc):  # no record (erasure requested before records existed): nothing to count
                raise

    def list_records(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        items, next_cursor = query_page(self._table, f"T#{tenant_id}#ERASURE", limit=limit, cursor=cursor)
        return Page([_record(i) for i in items], next_cursor)
