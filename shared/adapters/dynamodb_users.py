"""DynamoDB adapter for the per-tenant user index and the tenants' identity providers.

  user      pk=T#<tenant>#USERS    sk=USER#<user_id>
  roster    pk=T#<tenant>#USERS    sk=ROSTER           active_admins: the tenant's enabled admins
  provider  pk=IDP#<provider name> sk=IDP              gsi1pk=IDPS  gsi1sk=<tenant>#<provider name>

A change that adds or removes an enabled admin moves `active_admins` in the same transaction as the user
item; a decrement is conditional on `active_admins > 1`, which is the last-admin guard.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso
from shared.services.users import IdentityProvider, UserRecord, WriteOutcome

_CANCELLED = "TransactionCanceledException"


def _users_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#USERS"


def _user_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"pk": _users_pk(tenant_id), "sk": f"USER#{user_id}"}


def _roster_key(tenant_id: str) -> dict[str, str]:
    return {"pk": _users_pk(tenant_id), "sk": "ROSTER"}


def _provider_key(provider_name: str) -> dict[str, str]:
    return {"pk": f"IDP#{provider_name}", "sk": "IDP"}


def _admins(user: UserRecord) -> int:
    return 1 if user.role == "admin" and user.enabled else 0


def _unchanged(user: UserRecord) -> dict[str, Any]:
    """The condition that the stored user still has this role and enabled flag (the counter depends on both)."""
    return {"ConditionExpression": "attribute_exists(pk) AND #role = :role AND enabled = :enabled",
            "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": {":role": user.role, ":enabled": user.enabled}}


def _user_item(user: UserRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_user_key(user.tenant_id, user.user_id), "tenant_id": user.tenant_id, "user_id": user.user_id,
        "username": user.username, "email": user.email, "role": user.role, "enabled": user.enabled,
        "status": user.status, "created_at": _iso(user.created_at),
    }
    if user.name:
        item["name"] = user.name
    return item


def _user(item: dict[str, Any]) -> UserRecord:
    return UserRecord(user_id=item["user_id"], tenant_id=item["tenant_id"], username=item["username"],
                      email=item["email"], name=item.get("name"), role=item["role"], enabled=bool(item["enabled"]),
                      status=item.get("status", "FORCE_CHANGE_PASSWORD"), created_at=item["created_at"])


def _provider(item: dict[str, Any]) -> IdentityProvider:
    return IdentityProvider(provider_name=item["provider_name"], tenant_id=item["tenant_id"], kind=item["kind"],
                            name=item["name"], default_role=item["default_role"], created_at=item["created_at"])


class DynamoUserIndex:
    """Satisfies shared.services.users.UserIndex.

    Transactions go through the resource's client, which takes plain Python values (boto3 serializes them).
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name

    # -- users ---------------------------------------------------------------------------------------
    def get_user(self, tenant_id: str, user_id: str) -> UserRecord | None:
        item = self._table.get_item(Key=_user_key(tenant_id, user_id), ConsistentRead=True).get("Item")
        return _user(item) if item else None

    def list_users(self, tenant_id: str) -> list[UserRecord]:
        query: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(_users_pk(tenant_id))
                                 & Key("sk").begins_with("USER#")}
        users: list[UserRecord] = []
        while True:
            page = self._table.query(**query)
            users.extend(_user(i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                return users
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def add_user(self, user: UserRecord) -> bool:
        put = {"Put": {"TableName": self._name, "Item": _user_item(user),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return self._write(user.tenant_id, put, _admins(user)) is WriteOutcome.OK

    def replace_user(self, before: UserRecord, after: UserRecord) -> WriteOutcome:
        if (before.tenant_id, before.user_id) != (after.tenant_id, after.user_id):
            raise ValueError("replace_user keeps the tenant and the user id")
        put = {"Put": {"TableName": self._name, "Item": _user_item(after), **_unchanged(before)}}
        return self._write(after.tenant_id, put, _admins(after) - _admins(before))

    def remove_user(self, user: UserRecord) -> WriteOutcome:
        delete = {"Delete": {"TableName": self._name, "Key": _user_key(user.tenant_id, user.user_id),
                             **_unchanged(user)}}
        return self._write(user.tenant_id, delete, -_admins(user))

    def _write(self, tenant_id: str, op: dict[str, Any], admin_delta: int) -> WriteOutcome:
        """The user operation and, when the admin count moves, the guarded counter update, atomically."""
        body = next(iter(op.values()))
        if admin_delta == 0:
            kind = next(iter(op))
            call = self._client.put_item if kind == "Put" else self._client.delete_item
            try:
                call(**body)
            except ClientError as exc:
                if _condition_failed(exc):
                    return WriteOutcome.STALE
                raise
            return WriteOutcome.OK
        counter: dict[str, Any] = {"TableName": self._name, "Key": _roster_key(tenant_id),
                                   "UpdateExpression": "ADD active_admins :delta",
                                   "ExpressionAttributeValues": {":delta": admin_delta}}
        if admin_delta < 0:
            counter["ConditionExpression"] = "active_admins > :one"
            counter["ExpressionAttributeValues"] = {":delta": admin_delta, ":one": 1}
        try:
            self._client.transact_write_items(TransactItems=[op, {"Update": counter}])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CANCELLED:
                raise
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return WriteOutcome.STALE
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return WriteOutcome.LAST_ADMIN
            raise
        return WriteOutcome.OK

    # -- identity providers --------------------------------------------------------------------------
    def add_provider(self, provider: IdentityProvider) -> bool:
        try:
            self._table.put_item(Item={
                **_provider_key(provider.provider_name), "gsi1pk": "IDPS",
                "gsi1sk": f"{provider.tenant_id}#{provider.provider_name}", "provider_name": provider.provider_name,
                "tenant_id": provider.tenant_id, "kind": provider.kind, "name": provider.name,
                "default_role": provider.default_role, "created_at": _iso(provider.created_at),
            }, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def get_provider(self, provider_name: str) -> IdentityProvider | None:
        item = self._table.get_item(Key=_provider_key(provider_name)).get("Item")
        return _provider(item) if item else None

    def remove_provider(self, provider_name: str) -> None:
        self._table.delete_item(Key=_provider_key(provider_name))

    def list_providers(self, tenant_id: str) -> list[IdentityProvider]:
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("IDPS")
                                  & Key("gsi1sk").begins_with(f"{tenant_id}#"))["Items"]
        return [_provider(i) for i in items]
