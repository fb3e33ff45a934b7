"""DynamoDB adapter for quotas (single table).

  alert marker  pk=T#<t>#QUOTA#<resource>#<period>#<threshold>  sk=QUOTA  limit, used, at (TTL for monthly ones)
The marker is the once-guard of a QuotaThresholdReached alert: a conditional put that succeeds when there is
none, or when the one there was written for another limit (a new plan re-arms the alert).

Counts come from the adapters that own those items (usage counters, the tenant's contact counter, the user index,
the bot registry), imported on first use so the usage meter's cold start loads only its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed, _iso
from shared.services.quotas import CURRENT

MONTHLY_MARKER_DAYS = 400  # a month's markers outlive the month (and a year's comparisons), then expire


def _marker_key(tenant_id: str, resource: str, period: str, threshold: int) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#QUOTA#{resource}#{period}#{threshold}", "sk": "QUOTA"}


class DynamoQuotaMarkers:
    """Satisfies shared.services.quotas.QuotaMarkers."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def claim(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int, used: int,
              at: datetime) -> bool:
        item: dict[str, Any] = {**_marker_key(tenant_id, resource, period, threshold), "limit": limit,
                                "used": used, "at": _iso(at)}
        if period != CURRENT:  # a month's quota (YYYY-MM)
            item["expires_at"] = int((at + timedelta(days=MONTHLY_MARKER_DAYS)).timestamp())
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk) OR #l <> :l",
                                 ExpressionAttributeNames={"#l": "limit"}, ExpressionAttributeValues={":l": limit})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def release(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int) -> None:
        try:
            self._table.delete_item(Key=_marker_key(tenant_id, resource, period, threshold),
                                    ConditionExpression="#l = :l", ExpressionAttributeNames={"#l": "limit"},
                                    ExpressionAttributeValues={":l": limit})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise


class DynamoQuotaCounts:
    """Satisfies shared.services.quotas.QuotaCounts."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def sessions(self, tenant_id: str, month: str) -> int:
        from shared.adapters.dynamodb_usage import DynamoUsage

        per_channel = DynamoUsage(self._table).month(tenant_id, month, consistent=True)
        return sum(counters.get("sessions", 0) for counters in per_channel.values())

    def contacts(self, tenant_id: str) -> int:
        from shared.adapters.dynamodb_tenancy import DynamoTenancy

        return DynamoTenancy(self._table).contact_count(tenant_id)

    def agents(self, tenant_id: str) -> int:
        from shared.adapters.dynamodb_users import DynamoUserIndex

        return len(DynamoUserIndex(self._table).list_users(tenant_id))

    def bots(self, tenant_id: str) -> int:
        from shared.adapters.dynamodb_bots import DynamoBotRegistry

        return len(DynamoBotRegistry(self._table).list_bots(tenant_id))
