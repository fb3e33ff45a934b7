"""Comments on Page posts and Instagram media (DynamoDB).

  comment   pk=T#<tenant>#COMMENT#<channel>#<comment_id>   sk=COMMENT
            gsi1pk=T#<tenant>#COMMENTS#<channel>           gsi1sk=<iso created>#<comment_id>   (newest first)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.models.comments import Comment


def _key(tenant_id: str, channel_id: str, comment_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#COMMENT#{channel_id}#{comment_id}", "sk": "COMMENT"}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoComments:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put_comment(self, comment: Comment) -> bool:
        """Store a comment once; False when it was already stored (Meta redelivers)."""
        item = {**_key(comment.tenant_id, comment.channel_id, comment.comment_id), "type": "comment",
                "gsi1pk": f"T#{comment.tenant_id}#COMMENTS#{comment.channel_id}",
                "gsi1sk": f"{_iso(comment.created_at)}#{comment.comment_id}",
                "data": comment.model_dump_json(exclude_none=True)}
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _failed(exc):
                return False
            raise
        return True

    def get_comment(self, tenant_id: str, channel_id: str, comment_id: str) -> Comment | None:
        item = self._table.get_item(Key=_key(tenant_id, channel_id, comment_id), ConsistentRead=True).get("Item")
        return self._comment(item) if item else None

    @staticmethod
    def _comment(item: dict[str, Any]) -> Comment:
        comment = Comment.model_validate_json(str(item["data"]))
        if item.get("replied_at"):
            comment = comment.model_copy(update={"replied_at": datetime.fromisoformat(str(item["replied_at"])),
                                                 "reply_message_id": item.get("reply_message_id")})
        return comment

    def list_comments(self, tenant_id: str, channel_id: str, *, limit: int) -> list[Comment]:
        items = self._table.query(IndexName="gsi1", ScanIndexForward=False, Limit=limit,
                                  KeyConditionExpression=Key("gsi1pk").eq(f"T#{tenant_id}#COMMENTS#{channel_id}")
                                  )["Items"]
        return [self._comment(i) for i in items]

    def mark_replied(self, tenant_id: str, channel_id: str, comment_id: str, *, at: datetime,
                     message_id: str) -> bool:
        """Claim the comment's one private reply; False when it was already claimed."""
        try:
            self._table.update_item(
                Key=_key(tenant_id, channel_id, comment_id),
                UpdateExpression="SET replied_at = :at, reply_message_id = :m",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(replied_at)",
                ExpressionAttributeValues={":at": _iso(at), ":m": message_id})
        except ClientError as exc:
            if _failed(exc):
                return False
            raise
        return True

    def clear_replied(self, tenant_id: str, channel_id: str, comment_id: str) -> None:
        """Release a claimed private reply that could not be queued."""
        self._table.update_item(Key=_key(tenant_id, channel_id, comment_id),
                                UpdateExpression="REMOVE replied_at, reply_message_id")
