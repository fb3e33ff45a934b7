"""DynamoDB adapter for the files library (satisfies shared.services.files.FileStore).

  file    pk=T#<t>#FILES   sk=FILE#<file_id>   doc (the LibraryFile as JSON), object_key, status, media_kind,
                                               folder, tags, size_bytes, upload_expires_at (epoch s)
  usage   pk=T#<t>#FILES   sk=USAGE            bytes, files   (reserved on create, released on delete)

One partition per tenant, on the base table rather than a GSI: listings are strongly consistent (a file shows
up right after it is created), newest first because file ids are time-ordered, and a library is small and
administrative (far below a partition's limits). The file and the usage counter move in one transaction whose
condition is the quota, so concurrent uploads cannot pass it.
`upload_expires_at` is deliberately not the table's TTL attribute: a TTL delete would not release the quota.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed
from shared.errors import InvalidInput
from shared.models.files import FILE_ID, FileRecord, LibraryFile
from shared.ports import Page
from shared.services.files import FileQuotaExceeded

# A filtered listing reads at most this many items per request, then answers with what it found and a cursor.
_MAX_EXAMINED = 1000


def _pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#FILES"


def file_key(tenant_id: str, file_id: str) -> dict[str, str]:
    return {"pk": _pk(tenant_id), "sk": f"FILE#{file_id}"}


def usage_key(tenant_id: str) -> dict[str, str]:
    return {"pk": _pk(tenant_id), "sk": "USAGE"}


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values without the unset ones: the resource's client (`table.meta.client`) serializes them itself."""
    return {k: v for k, v in item.items() if v is not None}


def _item(record: FileRecord) -> dict[str, Any]:
    file = record.file
    return {
        **file_key(file.tenant_id, file.file_id), "tenant_id": file.tenant_id, "file_id": file.file_id,
        "doc": file.model_dump_json(), "object_key": record.object_key, "status": file.status,
        "media_kind": file.media_kind, "folder": file.folder, "tags": list(file.tags) or None,
        "size_bytes": file.size_bytes, "upload_expires_at": int(record.upload_expires_at.timestamp()),
    }


def _record(item: dict[str, Any]) -> FileRecord:
    file = LibraryFile.model_validate_json(item["doc"])
    expires = datetime.fromtimestamp(int(item["upload_expires_at"]), tz=UTC)
    return FileRecord(file=file, object_key=str(item["object_key"]), upload_expires_at=expires)


def encode_cursor(file_id: str) -> str:
    return base64.urlsafe_b64encode(file_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The file id a cursor resumes after. It carries no tenant: the partition always comes from the caller."""
    try:
        file_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error):
        raise InvalidInput("malformed cursor") from None
    if not re.match(FILE_ID, file_id):
        raise InvalidInput("malformed cursor")
    return file_id


def _transaction_reasons(exc: ClientError) -> list[str]:
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]


class DynamoFileStore:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name

    def create(self, record: FileRecord, *, quota_bytes: int) -> None:
        size = record.file.size_bytes
        try:
            self._client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._name, "Item": _wire(_item(record)),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {"TableName": self._name, "Key": _wire(usage_key(record.file.tenant_id)),
                            "UpdateExpression": "ADD #b :size, files :one",
                            "ConditionExpression": "attribute_not_exists(#b) OR #b <= :room",
                            "ExpressionAttributeNames": {"#b": "bytes"},
                            "ExpressionAttributeValues": _wire({":size": size, ":one": 1,
                                                                ":room": quota_bytes - size})}},
            ])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = _transaction_reasons(exc)
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    raise FileQuotaExceeded() from None
            raise

    def get(self, tenant_id: str, file_id: str) -> FileRecord | None:
        item = self._table.get_item(Key=file_key(tenant_id, file_id), ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def mark_ready(self, file: LibraryFile) -> bool:
        try:
            self._table.update_item(
                Key=file_key(file.tenant_id, file.file_id), UpdateExpression="SET #st = :ready, doc = :doc",
                ConditionExpression="#st = :pending", ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":ready": file.status, ":doc": file.model_dump_json(),
                                           ":pending": "pending"})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def delete(self, record: FileRecord) -> bool:
        file = record.file
        try:
            self._client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self._name, "Key": _wire(file_key(file.tenant_id, file.file_id)),
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Update": {"TableName": self._name, "Key": _wire(usage_key(file.tenant_id)),
                            "UpdateExpression": "ADD #b :size, files :one",
                            "ExpressionAttributeNames": {"#b": "bytes"},
                            "ExpressionAttributeValues": _wire({":size": -file.size_bytes, ":one": -1})}},
            ])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and \
                    _transaction_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def usage_bytes(self, tenant_id: str) -> int:
        item = self._table.get_item(Key=usage_key(tenant_id), ConsistentRead=True).get("Item") or {}
        return int(item.get("bytes") or 0)

    def list_files(self, tenant_id: str, *, limit: int, cursor: str | None, kind: str | None = None,
             tag: str | None = None, folder: str | None = None) -> Page:
        conditions: list[ConditionBase] = []
        if kind:
            conditions.append(Attr("media_kind").eq(kind))
        if tag:
            conditions.append(Attr("tags").contains(tag))
        if folder:
            conditions.append(Attr("folder").eq(folder))
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(tenant_id)) & Key("sk").begins_with("FILE#"),
            "ScanIndexForward": False, "ConsistentRead": True,
            "ProjectionExpression": "doc, file_id",
        }
        if conditions:
            combined = conditions[0]
            for extra in conditions[1:]:
                combined = combined & extra
            kwargs["FilterExpression"] = combined
        if cursor:
            kwargs["ExclusiveStartKey"] = file_key(tenant_id, decode_cursor(cursor))
        items: list[LibraryFile] = []
        examined = 0
        while True:
            # Unfiltered, one read of `limit` items; filtered, read on until the page is full or the budget spent.
            kwargs["Limit"] = limit - len(items) if not conditions else min(100, _MAX_EXAMINED - examined)
            result = self._table.query(**kwargs)
            examined += int(result.get("ScannedCount", 0))
            got = result["Items"]
            for position, item in enumerate(got, start=1):
                items.append(LibraryFile.model_validate_json(item["doc"]))
                if len(items) == limit:
                    more = position < len(got) or bool(result.get("LastEvaluatedKey"))
                    return Page(items, encode_cursor(items[-1].file_id) if more else None)
            last = result.get("LastEvaluatedKey")
            if not last:
                return Page(items, None)
            if examined >= _MAX_EXAMINED:
                return Page(items, encode_cursor(str(last["sk"]).removeprefix("FILE#")))
            kwargs["ExclusiveStartKey"] = last

    def expired_pending(self, tenant_id: str, *, before: datetime) -> list[FileRecord]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(tenant_id)) & Key("sk").begins_with("FILE#"),
            "FilterExpression": Attr("status").eq("pending") & Attr("upload_expires_at").lt(int(before.timestamp())),
        }
        records: list[FileRecord] = []
        while True:
            result = self._table.query(**kwargs)
            records += [_record(i) for i in result["Items"]]
            if not result.get("LastEvaluatedKey"):
                return records
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
