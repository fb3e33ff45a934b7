"""Real-time pushes to agents' and supervisors' clients (API Gateway WebSocket API).

A client connects with its token; `connect` records the connection for the tenant the credential belongs to.
Every push event (shared.topology_names.PUSH_EVENT_TYPES) reaches the tenant's connections that may see it:

* supervisors, admins and API-key connections (integrators' dashboards) get every event of their tenant;
* an agent gets the events they are the subject of (`assignee`, `previous_assignee`, `agent_id` or `user_id`
  is them) and the queue events of the campaigns they are a member of;
* nobody ever gets another tenant's events: connections are listed per tenant.

A connection the gateway reports gone is forgotten. An `AgentNotified` event of kind "logout" is pushed first,
then closes that agent's connections (supervisors' "log the agent out").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.errors import Forbidden
from shared.models.tenancy import Principal
from shared.ports import Clock

# Queue events: an agent sees them for the campaigns they are a member of (they may take the conversation).
QUEUE_EVENT_TYPES = frozenset({"ConversationQueued", "ConversationOverflowed", "ConversationAssigned"})
# Fields naming the agent an event is about.
SUBJECT_FIELDS = ("assignee", "previous_assignee", "agent_id", "user_id")
# Roles that see every event of their tenant (API-key connections too: they carry no role).
SEE_ALL_ROLES = frozenset({"supervisor", "admin"})
READ_SCOPE = "conversations:read"
PONG = b'{"type":"pong"}'


@dataclass(frozen=True)
class Connection:
    connection_id: str
    tenant_id: str
    principal_id: str  # user:<sub> or key:<key id>
    user_id: str | None  # the Cognito sub of a user; None for an API key
    role: str | None  # agent | supervisor | admin; None for an API key
    connected_at: datetime

    @property
    def sees_everything(self) -> bool:
        return self.user_id is None or self.role in SEE_ALL_ROLES


class ConnectionRegistry(Protocol):
    def add(self, connection: Connection) -> None: ...

    def remove(self, connection_id: str) -> Connection | None:
        """Forget a connection; the connection as it was, or None when it was not known."""

    def list_for_tenant(self, tenant_id: str) -> list[Connection]: ...


class Pusher(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send one message; False when the connection is gone."""

    def close(self, connection_id: str) -> None:
        """Close a connection (a connection already gone is not an error)."""


class CampaignMembers(Protocol):
    def members(self, tenant_id: str, campaign_id: str) -> frozenset[str]:
        """User ids of the campaign's agents (empty when the campaign does not exist)."""


class _HasMembers(Protocol):
    @property
    def members(self) -> Sequence[str]: ...


class CampaignSource(Protocol):
    def get_campaign(self, tenant_id: str, campaign_id: str) -> _HasMembers | None: ...


class CampaignStoreMembers:
    """CampaignMembers over any store with `get_campaign` (shared.adapters.dynamodb_contact_center)."""

    def __init__(self, campaigns: CampaignSource) -> None:
        self._campaigns = campaigns

    def members(self, tenant_id: str, campaign_id: str) -> frozenset[str]:
        campaign = self._campaigns.get_campaign(tenant_id, campaign_id)
        return frozenset(campaign.members) if campaign is not None else frozenset()


class NoPusher:
    """No WebSocket API is configured (WEBSOCKET_MANAGEMENT_URL empty): no connection can be reached."""

    def post(self, connection_id: str, data: bytes) -> bool:
        return False

    def close(self, connection_id: str) -> None:
        return None


def user_id_of(principal: Principal) -> str | None:
    kind, _, ident = principal.principal_id.partition(":")
    return ident if kind == "user" and ident else None


def message(detail_type: str, detail: Mapping[str, Any]) -> bytes:
    """What a client receives: `{"type": <detail-type>, "data": <the event's detail>}`."""
    return json.dumps({"type": detail_type, "data": detail}, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


class RealtimeService:
    def __init__(self, *, connections: ConnectionRegistry, pusher: Pusher, members: CampaignMembers,
                 clock: Clock) -> None:
        self._connections = connections
        self._pusher = pusher
        self._members = members
        self._clock = clock

    # -- the connection's life -----------------------------------------------------------------------------
    def connect(self, principal: Principal, connection_id: str) -> Connection:
        """Admit a tenant's user (any role) or an API key that may read conversations; raises Forbidden
        otherwise (the platform operator has no tenant to watch)."""
        if principal.tenant_id is None or principal.kind not in ("user", "api_key"):
            raise Forbidden("only a tenant's users and API keys may open the push channel")
        user_id = user_id_of(principal)
        if principal.kind == "user" and user_id is None:
            raise Forbidden("the token names no user")
        if principal.kind == "api_key" and not principal.allows(READ_SCOPE):
            raise Forbidden(f"the API key lacks the {READ_SCOPE} scope")
        connection = Connection(connection_id=connection_id, tenant_id=principal.tenant_id,
                                principal_id=principal.principal_id, user_id=user_id,
                                role=principal.role if principal.kind == "user" else None,
                                connected_at=self._clock.now())
        self._connections.add(connection)
        return connection

    def disconnect(self, connection_id: str) -> Connection | None:
        return self._connections.remove(connection_id)

    def ping(self, connection_id: str) -> bool:
        """Answer a client's keep-alive; False (and the connection forgotten) when it is gone."""
        if self._pusher.post(connection_id, PONG):
            return True
        self._connections.remove(connection_id)
        return False

    # -- pushes --------------------------------------------------------------------------------------------
    def on_event(self, detail_type: str, detail: Mapping[str, Any]) -> int:
        """Push one event to the connections of its tenant that may see it; returns the pushes delivered."""
        tenant_id = detail.get("tenant_id")
        if not isinstance(tenant_id, str) or not tenant_id:
            return 0
        connections = self._connections.list_for_tenant(tenant_id)
        if not connections:
            return 0
        audience = self._audience(detail_type, detail, tenant_id, connections)
        data = message(detail_type, detail)
        pushed = 0
        for connection in audience:
            if self._pusher.post(connection.connection_id, data):
                pushed += 1
            else:
                self._connections.remove(connection.connection_id)
        if detail_type == "AgentNotified" and detail.get("kind") == "logout" and isinstance(detail.get("user_id"), str):
            self._close(c for c in connections if c.user_id == detail["user_id"])
        return pushed

    def logout(self, tenant_id: str, user_id: str) -> int:
        """Close every connection of one user of the tenant; returns how many were closed."""
        return self._close(c for c in self._connections.list_for_tenant(tenant_id) if c.user_id == user_id)

    def _close(self, connections: Any) -> int:
        closed = 0
        for connection in connections:
            self._pusher.close(connection.connection_id)
            self._connections.remove(connection.connection_id)
            closed += 1
        return closed

    def _audience(self, detail_type: str, detail: Mapping[str, Any], tenant_id: str,
                  connections: Sequence[Connection]) -> list[Connection]:
        subjects = {detail[f] for f in SUBJECT_FIELDS if isinstance(detail.get(f), str)}
        campaign_id = detail.get("campaign_id")
        queue_event = detail_type in QUEUE_EVENT_TYPES and isinstance(campaign_id, str) and bool(campaign_id)
        members: frozenset[str] | None = None  # asked at most once, and only when an agent needs it
        audience = []
        for connection in connections:
            if connection.tenant_id != tenant_id:  # the registry lists per tenant; never trust it blindly
                continue
            if connection.sees_everything or connection.user_id in subjects:
                audience.append(connection)
                continue
            if queue_event:
                if members is None:
                    members = self._members.members(tenant_id, str(campaign_id))
                if connection.user_id in members:
                    audience.append(connection)
        return audience
