"""SQS adapters: the durable enqueue behind webhook acknowledgements, the outbound queue, retry backoff."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import EnqueueFailed
from shared.models.envelopes import OutboundRequest
from shared.ports import QueuedUnit

_BATCH = 10


class SqsInboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, units: list[QueuedUnit]) -> None:
        for start in range(0, len(units), _BATCH):
            chunk = units[start:start + _BATCH]
            entries = [{"Id": str(i), "MessageBody": q.unit.model_dump_json(), "MessageGroupId": q.group_id,
                        "MessageDeduplicationId": q.dedup_id} for i, q in enumerate(chunk)]
            self._send(entries)

    def _send(self, entries: list[dict[str, Any]], retries: int = 1) -> None:
        try:
            response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise EnqueueFailed(f"SendMessageBatch failed: {exc}") from exc
        failed = {f["Id"] for f in response.get("Failed", [])}
        if not failed:
            return
        if retries <= 0:
            raise EnqueueFailed(f"{len(failed)} of {len(entries)} entries were not enqueued")
        self._send([e for e in entries if e["Id"] in failed], retries - 1)


class SqsOutboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, request: OutboundRequest, *, group_id: str, dedup_id: str) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=request.model_dump_json(),
                                  MessageGroupId=group_id, MessageDeduplicationId=dedup_id)


def queue_url_from_arn(arn: str, endpoint: str | None = None) -> str:
    """arn:aws:sqs:<region>:<account>:<name> -> the queue URL (moto and AWS accept the same form)."""
    _, _, _, region, account, name = arn.split(":", 5)
    base = endpoint.rstrip("/") if endpoint else f"https://sqs.{region}.amazonaws.com"
    return f"{base}/{account}/{name}"


class SqsRetryDelayer:
    """Backoff for a failed record without re-enqueueing it (no self-requeue loop): stretch its visibility."""

    def __init__(self, client: Any, endpoint: str | None = None) -> None:
        self._client = client
        self._endpoint = endpoint

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        # Best-effort: if this fails, the queue's own visibility timeout still brings the record back.
        with contextlib.suppress(ClientError, BotoCoreError):
            self._client.change_message_visibility(QueueUrl=queue_url_from_arn(event_source_arn, self._endpoint),
                                                   ReceiptHandle=receipt_handle,
                                                   VisibilityTimeout=max(0, min(seconds, 43_200)))
