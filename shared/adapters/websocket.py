"""WebSocket connections in DynamoDB, and pushes through the API Gateway management API.

  connection  pk=T#<tenant>#WS       sk=C#<connection_id>   principal, user, role, connected_at; TTL expires_at
  lookup      pk=WSCONN#<connection> sk=WS                  tenant_id; TTL expires_at

$disconnect only knows the connection id, so the lookup item leads to the tenant's partition; both items are
written in one transaction. API Gateway closes a connection after 2 hours at most, so both expire 3 hours after
the connection opened even when a $disconnect never arrives (TTL deletes lazily: listings skip expired items).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from shared.adapters.aws import _CONFIG
from shared.adapters.dynamodb import _iso
from shared.services.realtime import Connection

CONNECTION_TTL_S = 3 * 3600


def connection_key(tenant_id: str, connection_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#WS", "sk": f"C#{connection_id}"}


def forget_connection(table: Any, connection_id: str) -> tuple[bool, dict[str, Any] | None]:
    """Delete a connection (the item its lookup names: an agent's, or a visitor's when the lookup carries
    `visitor_pk`) and its lookup: (whether it was a visitor's, the deleted item or None)."""
    lookup = table.get_item(Key=lookup_key(connection_id)).get("Item")
    if lookup is None:
        return False, None
    visitor = "visitor_pk" in lookup
    key = {"pk": lookup["visitor_pk"], "sk": f"C#{connection_id}"} if visitor else \
        connection_key(str(lookup["tenant_id"]), connection_id)
    old = table.delete_item(Key=key, ReturnValues="ALL_OLD").get("Attributes")
    table.delete_item(Key=lookup_key(connection_id))
    return visitor, old


def lookup_key(connection_id: str) -> dict[str, str]:
    return {"pk": f"WSCONN#{connection_id}", "sk": "WS"}


def _connection(item: dict[str, Any]) -> Connection:
    return Connection(connection_id=str(item["connection_id"]), tenant_id=str(item["tenant_id"]),
                      principal_id=str(item["principal_id"]), user_id=item.get("user_id"), role=item.get("role"),
                      connected_at=datetime.fromisoformat(str(item["connected_at"]).replace("Z", "+00:00")))


class DynamoConnections:
    """Satisfies shared.services.realtime.ConnectionRegistry."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name

    def add(self, connection: Connection) -> None:
        expires_at = int(connection.connected_at.timestamp()) + CONNECTION_TTL_S
        item: dict[str, Any] = {
            **connection_key(connection.tenant_id, connection.connection_id),
            "connection_id": connection.connection_id, "tenant_id": connection.tenant_id,
            "principal_id": connection.principal_id, "connected_at": _iso(connection.connected_at),
            "expires_at": expires_at,
        }
        if connection.user_id is not None:
            item["user_id"] = connection.user_id
        if connection.role is not None:
            item["role"] = connection.role
        lookup = {**lookup_key(connection.connection_id), "tenant_id": connection.tenant_id, "expires_at": expires_at}
        self._client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._name, "Item": item}},
            {"Put": {"TableName": self._name, "Item": lookup}},
        ])

    def remove(self, connection_id: str) -> Connection | None:
        """Forget a connection, an agent's or a web chat visitor's (one $disconnect route serves both); the
        agent's connection it was, or None."""
        visitor, old = forget_connection(self._table, connection_id)
        return _connection(old) if old and not visitor else None

    def list_for_tenant(self, tenant_id: str) -> list[Connection]:
        now = int(time.time())
        query: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"T#{tenant_id}#WS")}
        connections: list[Connection] = []
        while True:
            page = self._table.query(**query)
            connections.extend(_connection(i) for i in page["Items"] if int(i.get("expires_at", now + 1)) > now)
            if "LastEvaluatedKey" not in page:
                return connections
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def management_client(endpoint_url: str) -> Any:
    """The management API client of one WebSocket stage. Its endpoint is always explicit: the stage's callback
    URL in AWS, the local gateway locally (AWS_ENDPOINT_URL points every other client at moto)."""
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_CONFIG)


class ApiGatewayPusher:
    """Satisfies shared.services.realtime.Pusher over the API Gateway management API."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._gone = client.exceptions.GoneException

    def post(self, connection_id: str, data: bytes) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._gone:
            return False
        return True

    def close(self, connection_id: str) -> None:
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except self._gone:
            return
