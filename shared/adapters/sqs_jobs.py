"""Job plumbing outside DynamoDB: the `jobs` queue (SQS) and the job files in the media bucket (S3).

Files: CSV sources (`imports/<t>/<job>.csv`), rejected-row reports, exports, and the media objects an
erasure removes. Links are pre-signed here (an upload PUT, a download GET with a file name); the bucket
itself stays private.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError


class SqsJobQueue:
    """Satisfies shared.services.jobs.JobQueue: one message per job run ({tenant_id, job_id})."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, tenant_id: str, job_id: str) -> None:
        self._client.send_message(QueueUrl=self._url,
                                  MessageBody=json.dumps({"tenant_id": tenant_id, "job_id": job_id}))


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


class S3JobFiles:
    """Satisfies shared.services.jobs.JobFiles and shared.services.erasure.BlobPurger."""

    def __init__(self, client: Any, bucket: str, *, presigner: Any | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._presigner = presigner or client

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return body

    def size(self, key: str) -> int | None:
        try:
            return int(self._client.head_object(Bucket=self._bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def delete(self, keys: Sequence[str]) -> None:
        """Delete for good: with every version (job files hold personal data too)."""
        self.purge(keys)

    def purge(self, keys: Sequence[str]) -> int:
        """Delete every version of each key (the media bucket is versioned: a plain delete only hides the data
        behind a delete marker). Returns how many of the keys had anything stored."""
        found = 0
        for key in keys:
            doomed: list[dict[str, str]] = []
            paginator = self._client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=key):
                for entry in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
                    if entry["Key"] == key:  # the prefix also matches longer keys
                        doomed.append({"Key": key, "VersionId": str(entry["VersionId"])})
            found += 1 if doomed else 0
            for start in range(0, len(doomed), 1000):
                response = self._client.delete_objects(Bucket=self._bucket, Delete={
                    "Objects": doomed[start:start + 1000], "Quiet": True})
                errors = response.get("Errors") or []
                if errors:
                    raise RuntimeError(f"{len(errors)} object versions could not be deleted "
                                       f"(first: {errors[0].get('Code')})")
        return found

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys += [str(o["Key"]) for o in page.get("Contents", [])]
        return keys

    def presign_get(self, key: str, *, expires_s: int, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self._presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return url

    def presign_put(self, key: str, *, expires_s: int) -> str:
        url: str = self._presigner.generate_presigned_url("put_object", Params={"Bucket": self._bucket, "Key": key},
                                                       ExpiresIn=expires_s)
        return url


class SqsJsonQueue:
    """JSON messages to a standard queue, 10 per call: the `broadcasts` queue (shared.services.broadcasts.
    BroadcastQueue) and the `workflows` queue (shared.services.workflows.WorkQueue)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, messages: Sequence[dict[str, Any]], *, delay_s: int = 0) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"), default=str),
                        "DelaySeconds": max(0, min(int(delay_s), 900))} for i, m in enumerate(chunk)]
            failed = self._client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed") or []
            if failed:
                raise RuntimeError(f"{len(failed)} messages were not enqueued: {failed[0]}")
