"""Web chat visitors' WebSocket connections (DynamoDB).

  visitor connection  pk=T#<tenant>#WC#<channel>#<contact_key>  sk=C#<connection_id>   TTL expires_at
  lookup              pk=WSCONN#<connection_id>                 sk=WS                 visitor_pk; TTL expires_at

The lookup item has the same key as an agent connection's (shared.adapters.websocket): a connection id is one
or the other, and `visitor_pk` says which. Visitors' items live in their own partition, so the agents' pushes
(listed per tenant under T#<tenant>#WS) can never reach a visitor.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from shared.adapters.websocket import CONNECTION_TTL_S, forget_connection, lookup_key
from shared.services.webchat import VisitorConnection


def visitor_pk(tenant_id: str, channel_id: str, contact_key: str) -> str:
    return f"T#{tenant_id}#WC#{channel_id}#{contact_key}"


class DynamoVisitorConnections:
    """Satisfies shared.services.webchat.VisitorConnections."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name

    def add(self, connection: VisitorConnection, *, now: datetime) -> None:
        pk = visitor_pk(connection.tenant_id, connection.channel_id, connection.contact_key)
        expires_at = int(now.timestamp()) + CONNECTION_TTL_S
        item = {"pk": pk, "sk": f"C#{connection.connection_id}", "connection_id": connection.connection_id,
                "tenant_id": connection.tenant_id, "channel_id": connection.channel_id,
                "contact_key": connection.contact_key, "expires_at": expires_at}
        lookup = {**lookup_key(connection.connection_id), "tenant_id": connection.tenant_id, "visitor_pk": pk,
                  "expires_at": expires_at}
        self._client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._name, "Item": item}},
            {"Put": {"TableName": self._name, "Item": lookup}},
        ])

    def remove(self, connection_id: str) -> VisitorConnection | None:
        visitor, old = forget_connection(self._table, connection_id)
        if not visitor or not old:
            return None
        return VisitorConnection(connection_id=connection_id, tenant_id=str(old["tenant_id"]),
                                 channel_id=str(old["channel_id"]), contact_key=str(old["contact_key"]))

    def list(self, tenant_id: str, channel_id: str, contact_key: str) -> list[VisitorConnection]:
        now = int(time.time())
        page = self._table.query(KeyConditionExpression=Key("pk").eq(visitor_pk(tenant_id, channel_id, contact_key)))
        return [VisitorConnection(connection_id=str(i["connection_id"]), tenant_id=tenant_id, channel_id=channel_id,
                                  contact_key=contact_key)
                for i in page["Items"] if int(i.get("expires_at", now + 1)) > now]
