"""The vocabulary of routing transitions, shared by the routing service and its store adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from shared.models.contact_center import CloseNote, QueueEntry
from shared.models.conversations import Conversation

HolderKind = Literal["none", "waiting", "assigned", "desk", "overflow", "out_of_hours", "closed"]


@dataclass(frozen=True)
class Holder:
    """Where a conversation is: nobody's, waiting in a queue (entry), held by an agent or a desk, or closed."""

    kind: HolderKind
    campaign_id: str | None = None
    holder_id: str | None = None  # the agent's user id, or desk:<campaign>
    entry: QueueEntry | None = None  # a target queue: the entry to put
    queue_sk: str | None = None  # a source queue: the entry to remove
    cap: int | None = None  # for a target agent: the most conversations they may hold
    statuses: tuple[str, ...] = ("online",)  # for a target agent: the statuses they may be given it in
    max_waiting: int | None = None  # for a target queue: the ACD limit

    @classmethod
    def of(cls, conversation: Conversation) -> Holder:
        """The holder a conversation record says it has (its queue entry is rebuilt by the caller)."""
        if conversation.status == "closed":
            return cls("closed", conversation.campaign_id)
        routing = conversation.routing or "none"
        if routing in ("assigned", "desk"):
            return cls(routing, conversation.campaign_id, conversation.assignee)
        if routing == "waiting":
            return cls("waiting", conversation.campaign_id, queue_sk=conversation.queue_sk)
        return cls(routing, conversation.campaign_id)


@dataclass(frozen=True)
class StatAdd:
    day: str  # yyyy-mm-dd in the tenant's or campaign's time zone
    scope: str  # C#<campaign> or A#<user>
    counters: dict[str, int]


@dataclass(frozen=True)
class RoutingRecord:
    """One line of the conversation's routing history, with the notifications it owes (the outbox)."""

    record_id: str
    kind: str  # queued | assigned | unassigned | transferred | overflowed | closed | reopened | desk
    at: datetime
    author: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # {"type": detail-type, "detail": {...}}
    messages: list[dict[str, Any]] = field(default_factory=list)  # OutboundRequest JSON + group/dedup ids


@dataclass(frozen=True)
class Transition:
    conversation: Conversation
    source: Holder
    target: Holder
    at: datetime
    actor: str
    record: RoutingRecord | None = None
    stats: tuple[StatAdd, ...] = ()
    close_note: CloseNote | None = None
    free_thread: bool = True
    round_robin: bool = False
    count_transfer: bool = False


class Outcome(StrEnum):
    OK = "ok"
    STALE = "stale"  # the conversation (or its queue entry) is no longer where it was read
    AGENT_UNAVAILABLE = "agent_unavailable"  # not online, or at the cap
    QUEUE_FULL = "queue_full"  # the ACD limit
    THREAD_BUSY = "thread_busy"  # reopen: the contact already has another open conversation on that channel
    CONFLICT = "conflict"  # a concurrent transaction on the same items: retry
