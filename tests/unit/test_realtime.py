"""Realtime pushes: who receives which event, gone connections, log-outs, and the two handlers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.errors import Forbidden, Unauthorized
from shared.models.tenancy import ROLE_SCOPES, Principal
from shared.services.realtime import Connection, RealtimeService, message

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


class FakeRegistry:
    def __init__(self) -> None:
        self.items: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self.items[connection.connection_id] = connection

    def remove(self, connection_id: str) -> Connection | None:
        return self.items.pop(connection_id, None)

    def list_for_tenant(self, tenant_id: str) -> list[Connection]:
        return [c for c in self.items.values() if c.tenant_id == tenant_id]


class FakePusher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.closed: list[str] = []
        self.gone: set[str] = set()

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone or connection_id in self.closed:
            return False
        self.sent.append((connection_id, data))
        return True

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def receivers(self) -> set[str]:
        return {cid for cid, _ in self.sent}


class FakeMembers:
    def __init__(self, campaigns: dict[tuple[str, str], frozenset[str]]) -> None:
        self.campaigns = campaigns
        self.calls: list[tuple[str, str]] = []

    def members(self, tenant_id: str, campaign_id: str) -> frozenset[str]:
        self.calls.append((tenant_id, campaign_id))
        return self.campaigns.get((tenant_id, campaign_id), frozenset())


def user(tenant: str, sub: str, role: str) -> Principal:
    return Principal(kind="user", principal_id=f"user:{sub}", tenant_id=tenant, role=role, scopes=ROLE_SCOPES[role])


def api_key(tenant: str, key_id: str, scopes: tuple[str, ...] = ("conversations:read",)) -> Principal:
    return Principal(kind="api_key", principal_id=f"key:{key_id}", tenant_id=tenant, scopes=scopes)


class World:
    def __init__(self) -> None:
        self.registry = FakeRegistry()
        self.pusher = FakePusher()
        self.members = FakeMembers({("acme", "ventas"): frozenset({"ana"}), ("acme", "soporte"): frozenset({"bea"})})
        self.service = RealtimeService(connections=self.registry, pusher=self.pusher, members=self.members,
                                       clock=FixedClock())

    def connect(self, principal: Principal, connection_id: str) -> Connection:
        return self.service.connect(principal, connection_id)


@pytest.fixture
def world() -> World:
    w = World()
    w.connect(user("acme", "ana", "agent"), "c-ana")
    w.connect(user("acme", "bea", "agent"), "c-bea")
    w.connect(user("acme", "sol", "supervisor"), "c-sol")
    w.connect(user("acme", "adm", "admin"), "c-adm")
    w.connect(api_key("acme", "dash"), "c-key")
    w.connect(user("globex", "ana", "supervisor"), "c-globex-sup")  # same sub in another tenant
    w.connect(user("globex", "gus", "agent"), "c-globex-agent")
    return w


def queued(campaign: str = "ventas", tenant: str = "acme") -> dict[str, Any]:
    return {"tenant_id": tenant, "channel_id": "wa", "conversation_id": "conv-1", "campaign_id": campaign,
            "position": 1, "reason": "handoff"}


SEES_ALL = {"c-sol", "c-adm", "c-key"}


# --- connect ---------------------------------------------------------------------------------------------------


def test_connect_records_users_of_every_role_and_readers_api_keys(world: World) -> None:
    ana = world.registry.items["c-ana"]
    assert (ana.tenant_id, ana.principal_id, ana.user_id, ana.role, ana.connected_at) == (
        "acme", "user:ana", "ana", "agent", NOW)
    key = world.registry.items["c-key"]
    assert (key.user_id, key.role, key.principal_id) == (None, None, "key:dash")
    assert {c.role for c in world.registry.items.values()} == {"agent", "supervisor", "admin", None}


@pytest.mark.parametrize("principal", [
    Principal(kind="operator", principal_id="operator:abc", scopes=("platform",)),
    api_key("acme", "writer", scopes=("messages:send", "contacts:read")),
    Principal(kind="user", principal_id="user:", tenant_id="acme", role="agent", scopes=ROLE_SCOPES["agent"]),
], ids=["operator", "key-without-read-scope", "user-without-id"])
def test_connect_refuses_what_is_not_a_tenant_reader(principal: Principal) -> None:
    w = World()
    with pytest.raises(Forbidden):
        w.connect(principal, "c-x")
    assert w.registry.items == {}


def test_an_admin_api_key_may_watch(world: World) -> None:
    world.connect(api_key("acme", "root", scopes=("admin",)), "c-root")
    assert "c-root" in world.registry.items


def test_disconnect_forgets_the_connection(world: World) -> None:
    assert world.service.disconnect("c-ana") is not None
    assert "c-ana" not in world.registry.items
    assert world.service.disconnect("c-ana") is None


# --- audience ----------------------------------------------------------------------------------------------------


def test_supervisors_admins_and_api_keys_get_every_event_of_their_tenant_only(world: World) -> None:
    detail = {"tenant_id": "acme", "channel_id": "wa", "conversation_id": "conv-9", "note_id": "n1",
              "author": "user:zed", "text": "hola", "assignee": "zed"}

    pushed = world.service.on_event("ConversationNoteAdded", detail)

    assert world.pusher.receivers() == SEES_ALL
    assert pushed == 3
    assert all(data == message("ConversationNoteAdded", detail) for _, data in world.pusher.sent)


def test_another_tenants_event_reaches_no_connection_of_this_tenant(world: World) -> None:
    world.service.on_event("ConversationQueued", queued(tenant="globex"))
    assert world.pusher.receivers() == {"c-globex-sup"}  # not acme's ana, though she has the same user id


@pytest.mark.parametrize(("detail_type", "field"), [
    ("ConversationAssigned", "assignee"),
    ("ConversationAssigned", "previous_assignee"),
    ("ConversationUnassigned", "agent_id"),
    ("AgentStatusChanged", "user_id"),
    ("AgentNotified", "user_id"),
    ("RoutedMessageReceived", "assignee"),
    ("ConversationClosed", "assignee"),
])
def test_an_agent_gets_the_events_about_them(world: World, detail_type: str, field: str) -> None:
    detail = {"tenant_id": "acme", "conversation_id": "conv-2", "campaign_id": "cobranzas", field: "ana"}

    world.service.on_event(detail_type, detail)

    assert world.pusher.receivers() == SEES_ALL | {"c-ana"}  # not bea, nor globex's agents


def test_an_agent_gets_queue_events_of_their_campaigns_only(world: World) -> None:
    for detail_type in ("ConversationQueued", "ConversationOverflowed", "ConversationAssigned"):
        world.pusher.sent.clear()
        world.service.on_event(detail_type, queued("ventas"))
        assert world.pusher.receivers() == SEES_ALL | {"c-ana"}, detail_type


def test_an_agent_does_not_get_other_agents_chats_even_in_their_campaign(world: World) -> None:
    detail = {"tenant_id": "acme", "conversation_id": "conv-3", "campaign_id": "ventas", "assignee": "bea",
              "message_id": "wamid.1", "message_type": "text", "text": "hola", "sent_at": "x", "routing": "assigned"}
    world.service.on_event("RoutedMessageReceived", detail)
    assert world.pusher.receivers() == SEES_ALL | {"c-bea"}
    assert world.members.calls == []  # not a queue event: membership is not asked


def test_members_are_asked_at_most_once_and_only_when_an_agent_needs_it(world: World) -> None:
    world.connect(user("acme", "ana", "agent"), "c-ana-phone")  # a second device

    world.service.on_event("ConversationQueued", queued("ventas"))
    assert world.members.calls == [("acme", "ventas")]
    assert {"c-ana", "c-ana-phone"} <= world.pusher.receivers()

    only_supervisors = World()
    only_supervisors.connect(user("acme", "sol", "supervisor"), "c-sol")
    only_supervisors.service.on_event("ConversationQueued", queued("ventas"))
    assert only_supervisors.members.calls == []


def test_no_connection_no_work() -> None:
    w = World()
    assert w.service.on_event("ConversationQueued", queued()) == 0
    assert w.members.calls == [] and w.pusher.sent == []


def test_an_event_without_a_tenant_is_pushed_to_nobody(world: World) -> None:
    assert world.service.on_event("RoutingTick", {}) == 0
    assert world.pusher.sent == []


# --- gone connections and log-outs --------------------------------------------------------------------------------


def test_gone_connections_are_removed_and_not_counted(world: World) -> None:
    world.pusher.gone = {"c-sol", "c-ana"}

    pushed = world.service.on_event("ConversationQueued", queued("ventas"))

    assert pushed == 2  # c-adm and c-key
    assert "c-sol" not in world.registry.items and "c-ana" not in world.registry.items
    assert "c-bea" in world.registry.items


def test_logout_notification_is_pushed_then_closes_that_agents_connections(world: World) -> None:
    world.connect(user("acme", "ana", "agent"), "c-ana-phone")
    detail = {"tenant_id": "acme", "user_id": "ana", "kind": "logout", "by": "user:sol"}

    world.service.on_event("AgentNotified", detail)

    assert {"c-ana", "c-ana-phone"} <= world.pusher.receivers()  # told first ...
    assert sorted(world.pusher.closed) == ["c-ana", "c-ana-phone"]  # ... then closed
    assert {"c-ana", "c-ana-phone"}.isdisjoint(world.registry.items)
    assert "c-globex-sup" in world.registry.items  # globex's "ana" is someone else


def test_a_plain_notification_closes_nothing(world: World) -> None:
    world.service.on_event("AgentNotified", {"tenant_id": "acme", "user_id": "ana", "kind": "message",
                                             "text": "¿podés tomar la fila de ventas?", "by": "user:sol"})
    assert world.pusher.closed == []
    assert world.pusher.receivers() == SEES_ALL | {"c-ana"}


def test_logout_helper_closes_only_that_users_connections_of_that_tenant(world: World) -> None:
    assert world.service.logout("acme", "ana") == 1
    assert world.pusher.closed == ["c-ana"]
    assert world.service.logout("acme", "ana") == 0


def test_ping_answers_pong_and_forgets_a_gone_connection(world: World) -> None:
    assert world.service.ping("c-ana") is True
    assert world.pusher.sent == [("c-ana", b'{"type":"pong"}')]
    world.pusher.gone = {"c-bea"}
    assert world.service.ping("c-bea") is False
    assert "c-bea" not in world.registry.items


def test_message_is_the_detail_type_and_the_detail() -> None:
    assert json.loads(message("AgentStatusChanged", {"tenant_id": "acme", "user_id": "ana", "status": "break"})) == {
        "type": "AgentStatusChanged", "data": {"tenant_id": "acme", "user_id": "ana", "status": "break"}}


# --- handlers --------------------------------------------------------------------------------------------------------


class FakeAuthenticator:
    def __init__(self, principals: dict[str, Principal]) -> None:
        self.principals = principals
        self.paths: list[str] = []

    def authenticate(self, headers: dict[str, str] | None, path: str) -> Principal:
        self.paths.append(path)
        auth = (headers or {}).get("authorization", "")
        principal = self.principals.get(auth.removeprefix("Bearer "))
        if principal is None:
            raise Unauthorized("unknown token")
        return principal


class Context:
    function_name = "ws_connect"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ws_connect"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def ws_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, World, FakeAuthenticator]]:
    from functions.ws_connect import handler

    w = World()
    auth = FakeAuthenticator({"good": user("acme", "ana", "agent"),
                              "operator": Principal(kind="operator", principal_id="operator:x", scopes=("platform",))})
    monkeypatch.setattr(handler, "get_service", lambda: w.service)
    monkeypatch.setattr(handler, "get_authenticator", lambda: auth)

    class NoVisitors:  # no web chat visitor holds these connections
        def disconnect(self, connection_id: str) -> None:
            return None

    monkeypatch.setattr(handler, "get_webchat", lambda: NoVisitors())
    yield handler, w, auth


def with_token(event: dict[str, Any], token: str | None, header: str | None = None) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    event["queryStringParameters"] = {"token": token} if token else None
    if header:
        event["headers"]["Authorization"] = header
    return event


def test_connect_with_a_good_token_in_the_query_string_is_recorded(
        ws_handler: tuple[Any, World, FakeAuthenticator], load_event: Callable[..., Any]) -> None:
    handler, w, auth = ws_handler
    event = with_token(load_event("websocket/connect.json"), "good")

    assert handler.lambda_handler(event, Context()) == {"statusCode": 200}
    assert w.registry.items["Xr1yQdmXoAMCKwA="].user_id == "ana"
    assert auth.paths == ["/v1/ws"]


def test_connect_with_the_authorization_header_is_recorded(
        ws_handler: tuple[Any, World, FakeAuthenticator], load_event: Callable[..., Any]) -> None:
    handler, w, _ = ws_handler
    event = with_token(load_event("websocket/connect.json"), None, header="Bearer good")
    assert handler.lambda_handler(event, Context()) == {"statusCode": 200}
    assert list(w.registry.items) == ["Xr1yQdmXoAMCKwA="]


@pytest.mark.parametrize(("token", "status"), [("bad", 401), (None, 401), ("operator", 403)])
def test_connect_refusals_reject_the_handshake(ws_handler: tuple[Any, World, FakeAuthenticator],
                                               load_event: Callable[..., Any], token: str | None,
                                               status: int) -> None:
    handler, w, _ = ws_handler
    assert handler.lambda_handler(with_token(load_event("websocket/connect.json"), token), Context()) == {
        "statusCode": status}
    assert w.registry.items == {}


def test_ping_pongs_and_other_messages_are_ignored(ws_handler: tuple[Any, World, FakeAuthenticator],
                                                   load_event: Callable[..., Any]) -> None:
    handler, w, _ = ws_handler
    ping = load_event("websocket/ping.json")

    assert handler.lambda_handler(ping, Context()) == {"statusCode": 200}
    for body in ('{"action":"subscribe"}', "not json", "[1, 2]", None):
        assert handler.lambda_handler({**ping, "body": body}, Context()) == {"statusCode": 200}
    assert w.pusher.sent == [("Xr1yQdmXoAMCKwA=", b'{"type":"pong"}')]


def test_disconnect_forgets_the_connection_of_the_event(ws_handler: tuple[Any, World, FakeAuthenticator],
                                                        load_event: Callable[..., Any]) -> None:
    handler, w, _ = ws_handler
    handler.lambda_handler(with_token(load_event("websocket/connect.json"), "good"), Context())
    assert handler.lambda_handler(load_event("websocket/disconnect.json"), Context()) == {"statusCode": 200}
    assert w.registry.items == {}


def test_push_handler_pushes_each_record_and_reports_failures_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.realtime_push import handler

    w = World()
    w.connect(user("acme", "sol", "supervisor"), "c-sol")

    class Exploding(RealtimeService):
        def on_event(self, detail_type: str, detail: Any) -> int:
            if detail.get("conversation_id") == "boom":
                raise RuntimeError("management API throttled")
            return super().on_event(detail_type, detail)

    service = Exploding(connections=w.registry, pusher=w.pusher, members=w.members, clock=FixedClock())
    monkeypatch.setattr(handler, "get_service", lambda: service)

    def record(message_id: str, detail: dict[str, Any]) -> dict[str, Any]:
        body = {"version": "0", "id": f"evt-{message_id}", "detail-type": "ConversationQueued",
                "source": "omnichannel.messaging", "time": "2026-03-02T14:00:00Z", "detail": detail}
        return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:realtime",
                "awsRegion": "us-east-1"}

    result = handler.lambda_handler({"Records": [record("m1", queued()),
                                                 record("m2", {**queued(), "conversation_id": "boom"})]}, Context())

    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert w.pusher.receivers() == {"c-sol"}
