"""200 conversations handed off at once to a campaign of 10 online agents with 3 each, against DynamoDB (moto
server): exactly 30 assigned, 170 waiting in arrival order; closing conversations drains the queue in order;
at no instant does an agent hold more than 3 or a conversation have two agents.

Many routers run at once in AWS (one per Lambda instance); here 16 threads each run their own RoutingService
with their own boto3 clients against the same table, which is what the conditional transactions must settle.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore
from shared.adapters.dynamodb_contact_center import DynamoContactCenter
from shared.adapters.dynamodb_conversations import DynamoConversations
from shared.models.contact_center import Campaign, StatusChange
from shared.models.conversations import Conversation
from shared.models.envelopes import OutboundRequest
from shared.models.events import ConversationAssigned, HandoffRequested, TenantEvent
from shared.services.routing import RoutingService

AGENTS, CAP, CONVERSATIONS, THREADS = 10, 3, 200, 16
SEQUENTIAL, RAISED = 40, 20  # closes checked one by one; the raised limit that lets one drain serve the rest


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Sink:
    """Collects what routers publish and send (the transport is tested elsewhere)."""

    events: list[TenantEvent] = field(default_factory=list)
    sent: list[OutboundRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, events: Any) -> None:
        with self.lock:
            self.events.extend(events)

    def enqueue(self, request: OutboundRequest, *, group_id: str, dedup_id: str) -> None:
        with self.lock:
            self.sent.append(request)

    def assigned(self) -> list[ConversationAssigned]:
        with self.lock:
            return [e for e in self.events if isinstance(e, ConversationAssigned)]


class NoBots:
    def bot_for_channel(self, tenant_id: str, channel_id: str) -> None:
        return None

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None:
        return None


class NoContacts:
    def get_contact(self, tenant_id: str, contact_id: str) -> None:
        return None


TABLE = {"name": ""}


def _table() -> Any:
    return boto3.session.Session().resource("dynamodb", region_name="us-east-1").Table(TABLE["name"])


def _create_table(name: str) -> None:
    """A table of its own, with the deployed key schema (moto scans a whole table for every GSI query, so the
    session's shared table would make this test measure other tests' data)."""
    from infra import topology

    spec = topology.TABLE
    attrs = {spec.pk, spec.sk, *(g.pk for g in spec.gsis), *(g.sk for g in spec.gsis)}
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        KeySchema=[{"AttributeName": spec.pk, "KeyType": "HASH"}, {"AttributeName": spec.sk, "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": g.name, "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": g.pk, "KeyType": "HASH"},
                                               {"AttributeName": g.sk, "KeyType": "RANGE"}]} for g in spec.gsis])


def new_router(sink: Sink) -> RoutingService:
    table = _table()  # one boto3 session per thread, as each Lambda instance has its own
    return RoutingService(store=DynamoContactCenter(table), conversations=DynamoConversations(table),
                          threads=DynamoMessageStore(table), contacts=NoContacts(), bots=NoBots(), outbound=sink,
                          events=sink, clock=SystemClock())


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> Iterator[tuple[str, list[str], list[str]]]:
    tenant = f"conc-{uuid.uuid4().hex[:8]}"
    TABLE["name"] = f"routing-{tenant}"
    _create_table(TABLE["name"])
    store = DynamoContactCenter(_table())
    now = datetime.now(UTC)
    agents = [f"agent-{i:02d}" for i in range(AGENTS)]
    store.put_campaign(Campaign(tenant_id=tenant, campaign_id="cola", name="Cola", members=agents, max_per_agent=CAP,
                                max_waiting=None, created_at=now, updated_at=now), expected_version=None)
    for agent in agents:
        store.set_status(tenant, agent, StatusChange(user_id=agent, status="online", at=now, by="test"), name=agent)
    conversations = DynamoConversations(_table())
    ids = []
    for i in range(CONVERSATIONS):
        conversation_id = f"cv_{tenant}_{i:03d}"
        conversations.open(Conversation(conversation_id=conversation_id, tenant_id=tenant, channel_id="wa",
                                        contact_key=f"54911{i:08d}", opened_at=now))
        ids.append(conversation_id)
    yield tenant, agents, ids
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=TABLE["name"])


class Watcher(threading.Thread):
    """Samples every agent's presence counter and chat links while routers run; records any violation."""

    def __init__(self, tenant: str, agents: list[str]) -> None:
        super().__init__(daemon=True)
        self.tenant, self.agents = tenant, agents
        self.stop = threading.Event()
        self.samples = 0
        self.max_active = 0
        self.violations: list[str] = []

    def run(self) -> None:
        table = _table()
        while not self.stop.is_set():
            holders: dict[str, str] = {}
            for agent in self.agents:
                links = table.query(KeyConditionExpression=Key("pk").eq(f"T#{self.tenant}#AGENT#{agent}")
                                    & Key("sk").begins_with("CONV#"), ConsistentRead=True)["Items"]
                presence = table.get_item(Key={"pk": f"T#{self.tenant}#AGENTS", "sk": f"A#{agent}"},
                                          ConsistentRead=True)["Item"]
                active = int(presence["active"])
                self.max_active = max(self.max_active, active, len(links))
                if active > CAP or len(links) > CAP:
                    self.violations.append(f"{agent} holds {active} (links {len(links)})")
                for link in links:
                    conversation = str(link["sk"])[5:]
                    if conversation in holders:  # nothing moves between agents in this test
                        self.violations.append(f"{conversation} held by {holders[conversation]} and {agent}")
                    holders[conversation] = agent
            self.samples += 1
            self.stop.wait(0.2)  # moto shares this process's GIL with the routers: sample, don't starve them


def _state(tenant: str, ids: list[str]) -> dict[str, Conversation]:
    conversations = DynamoConversations(_table())
    return {i: c for i in ids if (c := conversations.get(tenant, i)) is not None}


def _queue(tenant: str) -> list[str]:
    return [e.conversation_id for e in DynamoContactCenter(_table()).queue_entries(tenant, "cola")]


def test_200_simultaneous_handoffs_fill_10_agents_to_3_and_queue_the_rest_in_arrival_order(world: Any) -> None:
    tenant, agents, ids = world
    sink = Sink()
    watcher = Watcher(tenant, agents)
    watcher.start()
    local = threading.local()

    def handoff(conversation_id: str) -> str:
        if not hasattr(local, "router"):
            local.router = new_router(sink)
        event = HandoffRequested(tenant_id=tenant, channel_id="wa", conversation_id=conversation_id,
                                 contact_key=conversation_id, bot_id="b", session_id=conversation_id, team="cola",
                                 reason="asked", summary="")
        return str(local.router.on_handoff(event).outcome)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(handoff, ids))
    watcher.stop.set()
    watcher.join()

    state = _state(tenant, ids)
    assigned = [c for c in state.values() if c.routing == "assigned"]
    waiting = [c for c in state.values() if c.routing == "waiting"]
    assert (len(assigned), len(waiting)) == (AGENTS * CAP, CONVERSATIONS - AGENTS * CAP), outcomes
    assert Counter(c.assignee for c in assigned) == dict.fromkeys(agents, CAP)
    assert not watcher.violations and watcher.samples > 0 and watcher.max_active <= CAP
    # each conversation was assigned once (one event each), and the queue is exactly the rest, oldest first
    assert sorted(e.conversation_id for e in sink.assigned()) == sorted(c.conversation_id for c in assigned)
    queue = _queue(tenant)
    assert set(queue) == {c.conversation_id for c in waiting}
    queued_at = {c.conversation_id: c.queued_at for c in waiting}
    assert [queued_at[i] for i in queue] == sorted(queued_at[i] for i in queue)
    # FIFO: nobody assigned arrived after someone still waiting (the head was always served first) — up to
    # the race between a handoff's enqueue and the drain that served it, which both happen "at once".
    latest_assigned = max(c.queued_at for c in assigned if c.queued_at)
    late = [i for i in queue if queued_at[i] and queued_at[i] < latest_assigned]
    assert len(late) <= THREADS, late
    # the customers still waiting were told their position; the assigned ones their agent's name
    told = Counter(r.request_id.split(":")[2] for r in sink.sent)
    assert told["assigned"] == AGENTS * CAP and told["queued"] >= CONVERSATIONS - AGENTS * CAP - THREADS


def test_closing_conversations_drains_the_queue_in_order_without_exceeding_the_cap(world: Any) -> None:
    tenant, agents, ids = world
    sink = Sink()
    router = new_router(sink)
    queue = _queue(tenant)
    assert len(queue) == CONVERSATIONS - AGENTS * CAP
    watcher = Watcher(tenant, agents)
    watcher.start()

    # agents close one conversation at a time, in turn: each close hands the freed place to the head of the queue
    # (concurrent routers are the first test's subject; here the order is checked exactly, step by step)
    links = DynamoContactCenter(_table())
    for position, expected in enumerate(queue[:SEQUENTIAL]):
        agent = agents[position % AGENTS]
        held = links.agent_conversations(tenant, agent)[0]
        router.close(tenant, held.conversation_id, actor=f"user:{agent}")
        router.on_capacity_freed(tenant, campaign_id="cola", agent_id=agent)
        served = _state(tenant, [expected])[expected]
        assert (served.routing, served.assignee) == ("assigned", agent)
        assert _queue(tenant) == queue[position + 1:]

    # then every agent's limit is raised (as a supervisor would): one drain serves the rest, in order, up to it
    for agent in agents:
        links.set_capacity(tenant, agent, RAISED, at=datetime.now(UTC))
    router.on_capacity_freed(tenant, campaign_id="cola", agent_id=None)
    watcher.stop.set()
    watcher.join()

    state = _state(tenant, ids)
    assert not _queue(tenant)
    assert not [c for c in state.values() if c.routing == "waiting"]
    held = Counter(c.assignee for c in state.values() if c.status == "open" and c.routing == "assigned")
    assert sum(held.values()) == AGENTS * CAP + len(queue) - SEQUENTIAL and max(held.values()) <= RAISED
    assert not [v for v in watcher.violations if "held by" in v]  # never two agents (the cap moved on purpose)
    table = _table()
    assignments = {c: [i for i in table.query(KeyConditionExpression=Key("pk").eq(f"T#{tenant}#CEV#{c}"))["Items"]
                       if i["kind"] == "assigned"] for c in queue}
    assert {c: len(a) for c, a in assignments.items()} == dict.fromkeys(queue, 1)  # each served exactly once
    assert sorted(queue, key=lambda c: str(assignments[c][0]["sk"])) == queue  # in arrival order
    presence = {a.user_id: a.active for a in DynamoContactCenter(_table()).list_agents(tenant)}
    assert presence == dict(held)  # the counters agree with the conversations
