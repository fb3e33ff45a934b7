"""DynamoDB adapter for tenants, API keys, the operator key and the per-tenant rate counter.

  tenant      pk=TENANT#<tenant>                    sk=TENANT      gsi1pk=TENANTS           gsi1sk=<tenant>
  API key     pk=APIKEY#<sha256 of the key>         sk=APIKEY      gsi1pk=T#<tenant>#APIKEYS gsi1sk=<key_id>
  rate        pk=T#<tenant>#RATE                    sk=<epoch second>   (TTL two minutes later)
The contact counter lives on the tenant item (`contact_count`), see dynamodb_crm.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso
from shared.models.tenancy import ApiKey, Plan, Tenant


def tenant_key(tenant_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{tenant_id}", "sk": "TENANT"}


def _tenant(item: dict[str, Any]) -> Tenant:
    return Tenant(tenant_id=item["tenant_id"], name=item["name"], status=item.get("status", "active"),
                  plan=Plan.model_validate(json.loads(item.get("plan") or "{}")), created_at=item["created_at"],
                  suspended_reason=item.get("suspended_reason"))


def _key(item: dict[str, Any]) -> ApiKey:
    return ApiKey(key_id=item["key_id"], tenant_id=item["tenant_id"], name=item["name"],
                  scopes=tuple(item.get("scopes") or ()), hint=item.get("hint", ""), created_at=item["created_at"],
                  revoked_at=item.get("revoked_at"), last_used_at=item.get("last_used_at"))


class DynamoTenancy:
    def __init__(self, table: Any) -> None:
        self._table = table

    # -- tenants -------------------------------------------------------------------------------------
    def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = self._table.get_item(Key=tenant_key(tenant_id)).get("Item")
        return _tenant(item) if item else None

    def create_tenant(self, tenant: Tenant) -> bool:
        try:
            self._table.put_item(Item={
                **tenant_key(tenant.tenant_id), "gsi1pk": "TENANTS", "gsi1sk": tenant.tenant_id,
                "tenant_id": tenant.tenant_id, "name": tenant.name, "status": tenant.status,
                "plan": tenant.plan.model_dump_json(), "created_at": _iso(tenant.created_at), "contact_count": 0,
            }, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def update_tenant(self, tenant_id: str, *, status: str | None = None, reason: str | None = None,
                      plan: Plan | None = None) -> Tenant | None:
        sets: list[str] = []
        values: dict[str, Any] = {}
        if status is not None:
            sets.append("#st = :st")
            values[":st"] = status
            sets.append("suspended_reason = :r")
            values[":r"] = reason if status == "suspended" else None
        if plan is not None:
            sets.append("#pl = :pl")
            values[":pl"] = plan.model_dump_json()
        if not sets:
            return self.get_tenant(tenant_id)
        try:
            item = self._table.update_item(
                Key=tenant_key(tenant_id), UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=values,
                ExpressionAttributeNames={k: v for k, v in (("#st", "status"), ("#pl", "plan"))
                                          if k in " ".join(sets)},
                ReturnValues="ALL_NEW")["Attributes"]
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        return _tenant(item)

    def list_tenants(self) -> list[Tenant]:
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("TENANTS"))["Items"]
        return [_tenant(i) for i in items]

    def contact_count(self, tenant_id: str) -> int:
        item = self._table.get_item(Key=tenant_key(tenant_id), ProjectionExpression="contact_count").get("Item")
        return int((item or {}).get("contact_count") or 0)

    # -- API keys ------------------------------------------------------------------------------------
    def put_key(self, hashed: str, key: ApiKey) -> None:
        self._table.put_item(Item={
            "pk": f"APIKEY#{hashed}", "sk": "APIKEY", "gsi1pk": f"T#{key.tenant_id}#APIKEYS", "gsi1sk": key.key_id,
            "key_id": key.key_id, "tenant_id": key.tenant_id, "name": key.name, "scopes": list(key.scopes),
            "hint": key.hint, "created_at": _iso(key.created_at),
        }, ConditionExpression="attribute_not_exists(pk)")

    def get_key(self, hashed: str) -> ApiKey | None:
        item = self._table.get_item(Key={"pk": f"APIKEY#{hashed}", "sk": "APIKEY"}).get("Item")
        return _key(item) if item else None

    def touch_key(self, hashed: str, at: datetime, *, older_than: datetime) -> None:
        try:
            self._table.update_item(
                Key={"pk": f"APIKEY#{hashed}", "sk": "APIKEY"}, UpdateExpression="SET last_used_at = :now",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_used_at) "
                                    "OR last_used_at < :older)",
                ExpressionAttributeValues={":now": _iso(at), ":older": _iso(older_than)})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def _key_items(self, tenant_id: str) -> list[dict[str, Any]]:
        return list(self._table.query(IndexName="gsi1",
                                      KeyConditionExpression=Key("gsi1pk").eq(f"T#{tenant_id}#APIKEYS"))["Items"])

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        return [_key(i) for i in self._key_items(tenant_id)]

    def revoke_key(self, tenant_id: str, key_id: str, at: datetime) -> ApiKey | None:
        item = next((i for i in self._key_items(tenant_id) if i["key_id"] == key_id), None)
        if item is None:
            return None
        new = self._table.update_item(
            Key={"pk": item["pk"], "sk": "APIKEY"}, UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
            ExpressionAttributeValues={":at": _iso(at)}, ReturnValues="ALL_NEW")["Attributes"]
        return _key(new)

    # -- rate limit ----------------------------------------------------------------------------------
    def hit(self, tenant_id: str, epoch_second: int) -> int:
        """Count one request in this second's window; the number of requests so far in it."""
        attrs = self._table.update_item(
            Key={"pk": f"T#{tenant_id}#RATE", "sk": str(epoch_second)},
            UpdateExpression="ADD n :one SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues={":one": 1, ":exp": epoch_second + 120}, ReturnValues="UPDATED_NEW",
        )["Attributes"]
        return int(attrs["n"])


class SecretOperatorKeys:
    """The platform operator key(s): a Secrets Manager secret holding one key, or a JSON list of keys."""

    def __init__(self, secrets_client: Any, secret_name: str) -> None:
        self._client = secrets_client
        self._name = secret_name

    def operator_key_hashes(self) -> frozenset[str]:
        from shared.services.auth import key_hash

        try:
            raw = self._client.get_secret_value(SecretId=self._name)["SecretString"]
        except ClientError:
            return frozenset()
        try:
            keys = json.loads(raw)
        except ValueError:
            keys = [raw]
        if isinstance(keys, str):
            keys = [keys]
        return frozenset(key_hash(k) for k in keys if isinstance(k, str) and k)


class SecretsManagerWriter:
    """Channel credentials go to Secrets Manager, never to the table."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def put_secret(self, name: str, value: dict[str, str], *, tags: dict[str, str]) -> None:
        body = json.dumps(value)
        try:
            self._client.create_secret(Name=name, SecretString=body,
                                       Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise
            self._client.put_secret_value(SecretId=name, SecretString=body)


class CachedTenantPlans:
    """Tenant plans read on the message hot path, cached per container for five minutes."""

    TTL_S = 300.0

    def __init__(self, tenants: DynamoTenancy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._tenants = tenants
        self._clock = clock
        self._cache: dict[str, tuple[float, Plan | None]] = {}

    def plan(self, tenant_id: str) -> Plan | None:
        hit = self._cache.get(tenant_id)
        if hit and hit[0] > self._clock():
            return hit[1]
        tenant = self._tenants.get_tenant(tenant_id)
        plan = tenant.plan if tenant else None
        self._cache[tenant_id] = (self._clock() + self.TTL_S, plan)
        return plan

    def retention_days(self, tenant_id: str) -> int:
        plan = self.plan(tenant_id)
        return plan.retention_days if plan else 0
