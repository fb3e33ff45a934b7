"""S3 adapters: media blobs and quarantined webhook bodies."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from shared.adapters.dynamodb import DynamoQuarantineIndex


class S3BlobStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type,
                                Metadata=metadata or {}, ChecksumAlgorithm="SHA256")

    def get(self, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body


class S3Quarantine:
    """Satisfies shared.ports.Quarantine: the raw body to S3, the record (with reasons) to DynamoDB."""

    def __init__(self, blobs: S3BlobStore, index: DynamoQuarantineIndex) -> None:
        self._blobs = blobs
        self._index = index

    def put(self, *, tenant_id: str, channel_id: str, reasons: list[str], raw_body: bytes, received_at: datetime
            ) -> str:
        record_id = hashlib.sha256(raw_body).hexdigest()[:32]
        key = f"quarantine/{tenant_id}/{channel_id}/{received_at:%Y/%m/%d}/{record_id}.json"
        self._blobs.put(key, raw_body, content_type="application/json")
        self._index.put(tenant_id=tenant_id, channel_id=channel_id, record_id=record_id, reasons=reasons,
                        s3_key=key, received_at=received_at)
        return record_id
