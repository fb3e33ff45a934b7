"""Agents' and supervisors' push channel on the local stack: the WebSocket gateway, ws_connect with real
Cognito tokens and API keys, events from the bus through the `realtime` queue and realtime_push, and the
management API (posts, gone connections, log-outs).

Tests run on their own tenants and tag every event with a fresh conversation id: the session's stack is
shared, so other tests' pushes may arrive on the same connections and are skipped.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from infra.local.provision import DemoTenant, seed_tenant, seed_user, sign_in
from infra.local.stack import LocalStack
from shared.adapters.dynamodb_contact_center import DynamoContactCenter
from shared.adapters.eventbridge import EventBridgePublisher
from shared.adapters.websocket import DynamoConnections
from shared.models.contact_center import Campaign
from shared.models.events import AgentNotified, ConversationAssigned, ConversationNoteAdded, ConversationQueued
from tests.integration.conftest import table, wait_for

pytestmark = pytest.mark.integration

TENANT = "rt-acme"
OTHER = "rt-globex"
OTHER_KEY = "rt-globex-api-key"
PUSH_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class People:
    supervisor: str  # ID tokens
    agent: str
    agent_id: str
    outsider: str  # an agent of the same tenant who is in no campaign
    outsider_id: str


@pytest.fixture(scope="module")
def people(stack: LocalStack) -> People:
    seed_tenant(stack.resources, DemoTenant(tenant_id=TENANT, name="RT Acme", api_key="rt-acme-api-key"))
    seed_tenant(stack.resources, DemoTenant(tenant_id=OTHER, name="RT Globex", api_key=OTHER_KEY))
    seed_user(stack.resources, TENANT, "sol@rt-acme.example", "supervisor", name="Sol")
    agent_id = seed_user(stack.resources, TENANT, "ana@rt-acme.example", "agent", name="Ana")
    outsider_id = seed_user(stack.resources, TENANT, "bea@rt-acme.example", "agent", name="Bea")
    now = datetime.now(UTC)
    DynamoContactCenter(table(stack)).put_campaign(Campaign(
        tenant_id=TENANT, campaign_id="ventas", name="Ventas", members=[agent_id], created_at=now, updated_at=now),
        expected_version=None)
    return People(supervisor=sign_in(stack.resources, "sol@rt-acme.example"),
                  agent=sign_in(stack.resources, "ana@rt-acme.example"), agent_id=agent_id,
                  outsider=sign_in(stack.resources, "bea@rt-acme.example"), outsider_id=outsider_id)


@pytest.fixture
def open_socket(stack: LocalStack) -> Iterator[Callable[[str], Client]]:
    with ExitStack() as sockets:
        yield lambda token: Client(sockets.enter_context(
            connect(f"{stack.ws_url}/?token={token}", open_timeout=15, close_timeout=2)))


def publish(*events: Any) -> None:
    EventBridgePublisher(boto3.client("events", region_name="us-east-1"), os.environ["BUS_NAME"]).publish(events)


def conversation() -> str:
    return f"conv-rt-{uuid.uuid4().hex[:12]}"


class Client:
    """A WebSocket client that remembers every push it received (other tests' pushes included)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    def next_push(self, conversation_id: str, timeout: float = PUSH_TIMEOUT_S) -> dict[str, Any]:
        """The next push about this conversation."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                pushed = json.loads(self.ws.recv(timeout=remaining))
            except TimeoutError:
                break
            self.seen.append(pushed)
            if pushed.get("data", {}).get("conversation_id") == conversation_id:
                return dict(pushed)
        raise AssertionError(f"no push about {conversation_id} within {timeout}s")

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.seen.append(json.loads(self.ws.recv(timeout=remaining)))
            except TimeoutError:
                return

    def conversations(self) -> set[str]:
        return {str(p["data"]["conversation_id"]) for p in self.seen if "conversation_id" in p.get("data", {})}


def queued(tenant_id: str, conversation_id: str, campaign_id: str = "ventas") -> ConversationQueued:
    return ConversationQueued(tenant_id=tenant_id, channel_id="rt-wa", conversation_id=conversation_id,
                              campaign_id=campaign_id, position=1, reason="handoff")


def connections(stack: LocalStack, tenant_id: str) -> set[str]:
    return {c.connection_id for c in DynamoConnections(table(stack)).list_for_tenant(tenant_id)}


# --- the handshake ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?token=not-a-token", "?token=a.b.c", ""], ids=["key", "jwt", "none"])
def test_a_bad_or_missing_token_is_refused_with_401(stack: LocalStack, people: People, query: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws_url}/{query}", open_timeout=15)
    assert refused.value.response.status_code == 401


def test_the_platform_operator_key_is_not_a_tenant_credential(stack: LocalStack, people: People) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws_url}/?token={stack.tenant.operator_key}", open_timeout=15)
    assert refused.value.response.status_code == 401


def test_a_token_in_the_authorization_header_is_accepted(stack: LocalStack, people: People) -> None:
    with connect(stack.ws_url, additional_headers={"Authorization": f"Bearer {people.supervisor}"},
                 open_timeout=15) as ws:
        ws.send('{"action":"ping"}')
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


def test_ping_is_answered_with_pong_and_other_messages_are_ignored(
        people: People, open_socket: Callable[[str], Client]) -> None:
    ws = open_socket(people.agent).ws
    ws.send('{"action":"subscribe","topic":"everything"}')
    ws.send("not json")
    ws.send(json.dumps({"action": "ping"}))
    assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


def test_a_connection_is_recorded_and_forgotten_when_the_client_leaves(
        stack: LocalStack, people: People) -> None:
    before = connections(stack, TENANT)
    with connect(f"{stack.ws_url}/?token={people.supervisor}", open_timeout=15):
        [new] = wait_for(lambda: connections(stack, TENANT) - before)

    wait_for(lambda: new not in connections(stack, TENANT), timeout=10)


# --- pushes ----------------------------------------------------------------------------------------------------


def test_an_event_on_the_bus_reaches_the_supervisor(people: People, open_socket: Callable[[str], Client]) -> None:
    supervisor = open_socket(people.supervisor)
    conversation_id = conversation()

    publish(queued(TENANT, conversation_id))

    pushed = supervisor.next_push(conversation_id)
    assert pushed["type"] == "ConversationQueued"
    assert pushed["data"]["tenant_id"] == TENANT and pushed["data"]["campaign_id"] == "ventas"


def test_another_tenants_event_is_not_received(people: People, open_socket: Callable[[str], Client]) -> None:
    mine, theirs = open_socket(people.supervisor), open_socket(OTHER_KEY)  # theirs: an integrator's dashboard
    foreign, own = conversation(), conversation()

    publish(queued(OTHER, foreign))
    assert theirs.next_push(foreign)["data"]["tenant_id"] == OTHER  # realtime_push has handled it ...
    publish(queued(TENANT, own))
    mine.next_push(own)  # ... and a later event of this tenant arrived
    mine.drain(0.5)
    theirs.drain(0.5)

    assert foreign not in mine.conversations()
    assert own not in theirs.conversations()
    assert {p["data"]["tenant_id"] for p in mine.seen} == {TENANT}


def test_an_agent_gets_their_own_and_their_campaigns_events_only(
        people: People, open_socket: Callable[[str], Client]) -> None:
    ana, bea, sol = open_socket(people.agent), open_socket(people.outsider), open_socket(people.supervisor)
    in_ventas, bea_holds, bea_note = conversation(), conversation(), conversation()

    publish(queued(TENANT, in_ventas),  # ventas: ana is a member, bea is not
            ConversationAssigned(tenant_id=TENANT, channel_id="rt-wa", conversation_id=bea_holds, campaign_id="otra",
                                 assignee=people.outsider_id, reason="manual"),
            ConversationNoteAdded(tenant_id=TENANT, channel_id="rt-wa", conversation_id=bea_note, note_id="n1",
                                  author="user:sol", text="interna", assignee=people.outsider_id))

    for conversation_id in (in_ventas, bea_holds, bea_note):
        sol.next_push(conversation_id)  # the supervisor sees everything: all three were handled
    assert ana.next_push(in_ventas)["type"] == "ConversationQueued"
    assert bea.next_push(bea_holds)["data"]["assignee"] == people.outsider_id
    assert bea.next_push(bea_note)["type"] == "ConversationNoteAdded"
    ana.drain(1.0)
    bea.drain(0.5)
    assert not {bea_holds, bea_note} & ana.conversations()  # ana sees neither of bea's conversations
    assert in_ventas not in bea.conversations()  # nor bea the queue of a campaign she is not in


def test_a_logout_is_pushed_to_the_agent_and_closes_their_connection(
        stack: LocalStack, people: People, open_socket: Callable[[str], Client]) -> None:
    ana = open_socket(people.agent)
    marker = conversation()
    publish(queued(TENANT, marker))
    ana.next_push(marker)  # connected and reachable

    publish(AgentNotified(tenant_id=TENANT, user_id=people.agent_id, kind="logout", by="user:sol"))

    with pytest.raises(ConnectionClosed):
        ana.drain(PUSH_TIMEOUT_S)
    assert any(p["type"] == "AgentNotified" and p["data"]["kind"] == "logout" for p in ana.seen)


# --- the management API ------------------------------------------------------------------------------------------


def test_management_api_posts_to_open_connections_and_reports_gone_ones(
        stack: LocalStack, people: People, open_socket: Callable[[str], Client]) -> None:
    before = connections(stack, TENANT)
    ws = open_socket(people.supervisor).ws
    [connection_id] = wait_for(lambda: connections(stack, TENANT) - before)
    client = boto3.client("apigatewaymanagementapi", endpoint_url=stack.websocket_management_url,
                          region_name="us-east-1")

    client.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"hello"}')
    assert json.loads(ws.recv(timeout=10)) == {"type": "hello"}
    assert client.get_connection(ConnectionId=connection_id)["Identity"]["SourceIp"] == "127.0.0.1"  # who it is

    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="Z29uZS1jb25uZWN0aW9u", Data=b"{}")
    client.delete_connection(ConnectionId=connection_id)
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    wait_for(lambda: connection_id not in connections(stack, TENANT), timeout=10)


# --- schedules ---------------------------------------------------------------------------------------------------


def test_a_schedule_tick_reaches_its_consumer(stack: LocalStack) -> None:
    """`stack.tick` sends what the EventBridge schedule sends (the timer thread does it every rate_minutes)."""
    before = stack.host.invocations.get("router", 0)

    stack.tick("routing-tick")

    wait_for(lambda: stack.host.invocations.get("router", 0) > before, timeout=15)
