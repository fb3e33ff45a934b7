"""Contact-center routing: which campaign takes a conversation, the FIFO waiting queue, atomic assignment.

Every conversation that asks for people is first *queued* in its campaign (one conditional transaction: the
conversation must still be unrouted and the queue under its ACD limit), then the campaign is *drained*: the
head of the queue goes to an eligible agent (online, member, under the cap) by the campaign's strategy, in a
transaction conditioned on the entry still being there and the agent still being under the cap. Queueing
first makes arrival order the only order: nobody jumps the queue, and concurrent drains (another handoff, a
closed conversation, an agent going online) can only race for the same head, which the conditions settle.

Each transition writes a routing record that carries the notifications it owes (events, customer messages):
they are sent right after the transaction and, if that crashes, by the per-minute tick (an outbox). Message
ids derive from the record, so a notification sent twice is delivered once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import Conflict, NotFound, NotYetKnown
from shared.models.contact_center import (
    AgentPresence,
    Campaign,
    CloseNote,
    ContactCenterSettings,
    QueueEntry,
)
from shared.models.conversations import Conversation
from shared.models.crm import Contact
from shared.models.envelopes import OutboundRequest, TextContent
from shared.models.events import (
    AgentCapacityChanged,
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationOverflowed,
    ConversationQueued,
    ConversationReopened,
    ConversationUnassigned,
    HandoffRequested,
    MessageReceived,
    RoutedMessageReceived,
    TenantEvent,
)
from shared.observability import logger
from shared.ports import Clock, EventPublisher, OutboundQueue, Thread
from shared.services.queue_keys import dedup_id, thread_group_id
from shared.services.routing_types import Holder, Outcome, RoutingRecord, StatAdd, Transition
from shared.services.schedule import is_open, local_day
from shared.services.text_norm import fold

HEAD_PAGE = 25  # queue entries read per drain step
MAX_DRAIN_ATTEMPTS = 200  # transactions one drain may try (assignments plus lost races)
OUTBOX_GRACE = timedelta(seconds=30)  # the tick re-sends notifications older than this


# --- ports ---------------------------------------------------------------------------------------------------

class RoutingStore(Protocol):
    def get_campaign(self, tenant_id: str, campaign_id: str) -> Campaign | None: ...

    def list_campaigns(self, tenant_id: str) -> list[Campaign]: ...

    def get_settings(self, tenant_id: str) -> ContactCenterSettings: ...

    def get_agent(self, tenant_id: str, user_id: str) -> AgentPresence | None: ...

    def list_agents(self, tenant_id: str) -> list[AgentPresence]: ...

    def agent_conversations(self, tenant_id: str, user_id: str) -> list[Any]: ...

    def queue_head(self, tenant_id: str, campaign_id: str, *, limit: int) -> list[QueueEntry]: ...

    def queue_entries(self, tenant_id: str, campaign_id: str) -> list[QueueEntry]: ...

    def queue_position(self, entry: QueueEntry) -> int | None: ...

    def queue_meta(self, tenant_id: str, campaign_id: str) -> dict[str, Any]: ...

    def touch_entry_window(self, entry: QueueEntry, window_closes_at: datetime) -> None: ...

    def active_queues(self) -> list[tuple[str, str]]: ...

    def forget_queue_if_empty(self, tenant_id: str, campaign_id: str) -> bool: ...

    def transition(self, t: Transition) -> Outcome: ...

    def pending_outbox(self, *, older_than: datetime, limit: int = 100) -> list[dict[str, Any]]: ...

    def outbox_done(self, pk: str, sk: str) -> None: ...

    def record_key(self, c: Conversation, record: RoutingRecord) -> tuple[str, str]: ...

    def newer_conversation(self, c: Conversation) -> str | None: ...


class ConversationReader(Protocol):
    def get(self, tenant_id: str, conversation_id: str) -> Conversation | None: ...


class ThreadReader(Protocol):
    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None: ...


class ContactReader(Protocol):
    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None: ...


class BotControl(Protocol):
    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None: ...

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None: ...


@dataclass(frozen=True)
class RoutingResult:
    outcome: str  # queued | assigned | desk | overflow | out_of_hours | no_campaign | already_routed | closed | bot
    campaign_id: str | None = None
    position: int | None = None
    assignee: str | None = None


# --- pure decisions --------------------------------------------------------------------------------------------

def pick_campaign(campaigns: Iterable[Campaign], team: str | None, skills: Sequence[str]) -> Campaign | None:
    """The campaign a handoff goes to: the one named by the team, else the most skills in common, else the
    fallback. Disabled campaigns take nothing."""
    enabled = [c for c in campaigns if c.enabled]
    if team:
        named = fold(team)
        for campaign in enabled:
            if campaign.campaign_id == team or fold(campaign.name) == named:
                return campaign
    wanted = {fold(s) for s in ([team] if team else []) + list(skills) if s}
    best, best_score = None, 0
    for campaign in sorted(enabled, key=lambda c: c.campaign_id):
        score = len(wanted & set(campaign.skills))
        if score > best_score:
            best, best_score = campaign, score
    if best is not None:
        return best
    return next((c for c in sorted(enabled, key=lambda c: c.campaign_id) if c.fallback), None)


def pick_entry(head: Sequence[QueueEntry], campaign: Campaign, now: datetime) -> QueueEntry:
    """The head of the queue, unless the campaign puts conversations whose 24-hour window is about to close
    first: then the one closing soonest among those within the threshold."""
    if campaign.prioritize_expiring_s:
        limit = now + timedelta(seconds=campaign.prioritize_expiring_s)
        urgent = [e for e in head if e.window_closes_at and now < e.window_closes_at <= limit]
        if urgent:
            return min(urgent, key=lambda e: (e.window_closes_at, e.sort_key))
    return head[0]


def pick_agent(eligible: Sequence[AgentPresence], campaign: Campaign, entry: QueueEntry,
               rr_last: str | None) -> AgentPresence:
    if campaign.strategy == "sticky_owner" and entry.owner_id:
        owner = next((a for a in eligible if a.user_id == entry.owner_id), None)
        if owner is not None:
            return owner
    if campaign.strategy == "round_robin":
        ordered = sorted(eligible, key=lambda a: a.user_id)
        after = [a for a in ordered if rr_last is not None and a.user_id > rr_last]
        return after[0] if after else ordered[0]
    # least busy (also sticky's fallback): fewest conversations, then the longest since their last assignment
    return min(eligible, key=lambda a: (a.active, a.last_assigned_ms, a.user_id))


def render_message(template: str, values: dict[str, Any]) -> str:
    from shared.services.templating import TemplateError, render

    try:
        return render(template, values)
    except TemplateError:
        return template


def _record_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def _iso(at: datetime) -> str:
    return at.isoformat()


# --- the service -------------------------------------------------------------------------------------------------

TAKING_STATUSES = ("online", "busy")  # an agent may take a waiting conversation in these


class RoutingService:
    def __init__(self, *, store: RoutingStore, conversations: ConversationReader, threads: ThreadReader,
                 contacts: ContactReader, bots: BotControl, outbound: OutboundQueue, events: EventPublisher,
                 clock: Clock, service_window: timedelta = timedelta(hours=24),
                 on_assigned: Callable[[str, str], None] | None = None) -> None:
        self._store = store
        self._conversations = conversations
        self._threads = threads
        self._contacts = contacts
        self._bots = bots
        self._outbound = outbound
        self._events = events
        self._clock = clock
        self._window = service_window
        self._on_assigned = on_assigned  # a hook for benchmarks and tests (tenant, conversation)

    # -- reading -----------------------------------------------------------------------------------------------
    def conversation(self, tenant_id: str, conversation_id: str) -> Conversation:
        conversation = self._conversations.get(tenant_id, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id}")
        return conversation

    def _window_closes(self, c: Conversation) -> datetime | None:
        return self._reach(c)[1]

    def _address(self, c: Conversation) -> str:
        return self._reach(c)[0]

    def _reach(self, c: Conversation) -> tuple[str, datetime | None]:
        """Where replies go and when the 24-hour window closes (one read of the thread)."""
        thread = self._threads.get_thread(c.tenant_id, c.channel_id, c.contact_key)
        if thread is None:
            return c.contact_key, None
        closes = thread.last_inbound_at + self._window if thread.last_inbound_at else None
        return thread.address, closes

    # -- entry points (router) -------------------------------------------------------------------------------------
    def on_handoff(self, event: HandoffRequested) -> RoutingResult:
        return self.route(event.tenant_id, event.conversation_id, team=event.team, skills=event.skills,
                          priority=event.priority, reason="handoff", summary=event.summary,
                          event_key=f"handoff:{event.session_id}")

    def on_message(self, event: MessageReceived) -> RoutingResult:
        c = self._conversations.get(event.tenant_id, event.conversation_id)
        if c is None:
            raise NotYetKnown("the conversation record is not stored yet", delay_s=2)
        if c.status == "closed":
            return RoutingResult("closed")
        if c.routing in ("assigned", "desk", "waiting"):
            self._events.publish([RoutedMessageReceived(
                tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
                contact_id=c.contact_id, campaign_id=c.campaign_id, assignee=c.assignee, routing=c.routing,
                message_id=event.message_id, message_type=event.message_type, text=event.text,
                sent_at=event.sent_at, media=event.media)])
            if c.routing == "waiting" and c.campaign_id and c.queue_sk:
                self._refresh_window(c)
            return RoutingResult("already_routed", c.campaign_id, assignee=c.assignee)
        if self._bots.bot_for_channel(event.tenant_id, event.channel_id) is not None:
            return RoutingResult("bot")
        reason = "no_bot" if c.routing == "none" else "retry"
        return self.route(event.tenant_id, event.conversation_id, team=None, skills=(), priority="normal",
                          reason=reason, summary=None, event_key=f"message:{event.message_id}")

    def _refresh_window(self, c: Conversation) -> None:
        closes = self._window_closes(c)
        if closes is None or c.campaign_id is None:
            return
        for entry in self._store.queue_entries(c.tenant_id, c.campaign_id):
            if entry.conversation_id == c.conversation_id:
                if entry.window_closes_at != closes:
                    self._store.touch_entry_window(entry, closes)
                return

    def on_capacity_freed(self, tenant_id: str, *, campaign_id: str | None, agent_id: str | None) -> int:
        """A conversation left an agent or a queue: drain the campaigns that capacity can serve."""
        campaigns = {c.campaign_id: c for c in self._store.list_campaigns(tenant_id)}
        targets = [campaigns[campaign_id]] if campaign_id in campaigns else []
        if agent_id:
            targets += [c for c in campaigns.values() if agent_id in c.members and c not in targets]
        return sum(self.drain(tenant_id, c) for c in targets)

    def on_agent_status(self, event: AgentStatusChanged) -> int:
        if event.status == "online":
            return self.on_capacity_freed(event.tenant_id, campaign_id=None, agent_id=event.user_id)
        if event.status == "offline":
            return self._agent_offline(event.tenant_id, event.user_id, actor=event.by)
        return 0

    def on_capacity(self, event: AgentCapacityChanged) -> int:
        return self.on_capacity_freed(event.tenant_id, campaign_id=None, agent_id=event.user_id)

    def tick(self) -> dict[str, int]:
        """Per minute: resend notifications a crash left behind, drain every queue with someone waiting
        (opening hours may have started), forget the queues found empty."""
        now = self._clock.now()
        resent = 0
        for pending in self._store.pending_outbox(older_than=now - OUTBOX_GRACE):
            self._flush_payload(pending["events"], pending["messages"])
            self._store.outbox_done(pending["pk"], pending["sk"])
            resent += 1
        drained = forgotten = 0
        for tenant_id, campaign_id in self._store.active_queues():
            campaign = self._store.get_campaign(tenant_id, campaign_id)
            if campaign is not None:
                drained += self.drain(tenant_id, campaign)
            if self._store.forget_queue_if_empty(tenant_id, campaign_id):
                forgotten += 1
        return {"resent": resent, "assigned": drained, "forgotten": forgotten}

    # -- routing a conversation to a campaign --------------------------------------------------------------------
    def route(self, tenant_id: str, conversation_id: str, *, team: str | None, skills: Sequence[str],
              priority: str, reason: str, summary: str | None, event_key: str) -> RoutingResult:
        c = self._conversations.get(tenant_id, conversation_id)
        if c is None:
            raise NotYetKnown("the conversation record is not stored yet", delay_s=2)
        if c.status == "closed":
            return RoutingResult("closed")
        if c.routing in ("assigned", "desk"):
            return RoutingResult("already_routed", c.campaign_id, assignee=c.assignee)
        if c.routing == "waiting":
            return self._after_queued(c, event_key)
        campaign = pick_campaign(self._store.list_campaigns(tenant_id), team, skills)
        if campaign is None:
            logger.info("no campaign takes this conversation", extra={"tenant_id": tenant_id,
                                                                      "conversation_id": conversation_id})
            return RoutingResult("no_campaign")
        now = self._clock.now()
        if campaign.external_desk is not None:
            return self._to_desk(c, campaign, now, summary=summary, event_key=event_key)
        open_now = is_open(campaign.schedule, now)
        day = local_day(campaign.schedule.time_zone, now)
        if not open_now and not campaign.out_of_hours_queue:
            record = self._record(c, "out_of_hours", now, "system", "Fuera de horario",
                                  events=[ConversationOverflowed(tenant_id=tenant_id, channel_id=c.channel_id,
                                                                 conversation_id=c.conversation_id,
                                                                 contact_id=c.contact_id,
                                                                 campaign_id=campaign.campaign_id,
                                                                 reason="out_of_hours")],
                                  messages=self._say(c, campaign.messages.out_of_hours, {}, "ooh", event_key))
            outcome = self._store.transition(Transition(
                conversation=c, source=Holder.of(c), target=Holder("out_of_hours", campaign.campaign_id), at=now,
                actor="system", record=record,
                stats=(StatAdd(day.isoformat(), f"C#{campaign.campaign_id}", {"out_of_hours": 1}),)))
            self._finish(c, record, outcome)
            return RoutingResult("out_of_hours", campaign.campaign_id)
        owner = None
        if campaign.strategy == "sticky_owner" and c.contact_id:
            contact = self._contacts.get_contact(tenant_id, c.contact_id)
            owner = contact.owner_agent_id if contact else None
        address, window_closes = self._reach(c)
        entry = QueueEntry(tenant_id=tenant_id, campaign_id=campaign.campaign_id, conversation_id=c.conversation_id,
                           channel_id=c.channel_id, contact_key=c.contact_key, contact_id=c.contact_id,
                           address=address, priority=_priority(priority), queued_at=now,
                           window_closes_at=window_closes, reason=reason, summary=summary,
                           event_key=event_key, owner_id=owner)
        messages = [] if open_now else self._say(c, campaign.messages.out_of_hours, {}, "ooh", event_key,
                                                 address=address)
        record = self._record(c, "queued", now, "system", f"En espera en {campaign.name}",
                              detail={"campaign_id": campaign.campaign_id, "reason": reason}, messages=messages)
        outcome = self._store.transition(Transition(
            conversation=c, source=Holder.of(c),
            target=Holder("waiting", campaign.campaign_id, entry=entry, max_waiting=campaign.max_waiting),
            at=now, actor="system", record=record,
            stats=(StatAdd(day.isoformat(), f"C#{campaign.campaign_id}", {"offered": 1}),)))
        if outcome is Outcome.QUEUE_FULL:
            return self._overflow(c, campaign, now, event_key)
        if outcome is not Outcome.OK:
            return self.route(tenant_id, conversation_id, team=team, skills=skills, priority=priority, reason=reason,
                              summary=summary, event_key=event_key) if outcome is Outcome.CONFLICT \
                else RoutingResult("already_routed", campaign.campaign_id)
        self._finish(c, record, outcome)
        if open_now:
            self.drain(tenant_id, campaign)
        return self._tell_position(c, entry, campaign, open_now)

    def _after_queued(self, c: Conversation, event_key: str) -> RoutingResult:
        """A redelivered event found its conversation waiting: finish its work if it was the one that queued it."""
        campaign = self._store.get_campaign(c.tenant_id, c.campaign_id) if c.campaign_id else None
        if campaign is None:
            return RoutingResult("queued", c.campaign_id)
        entry = next((e for e in self._store.queue_entries(c.tenant_id, campaign.campaign_id)
                      if e.conversation_id == c.conversation_id), None)
        if entry is None or entry.event_key != event_key:
            return RoutingResult("queued", c.campaign_id)  # queued by another event, which tells the position
        return self._tell_position(c, entry, campaign, is_open(campaign.schedule, self._clock.now()))

    def _tell_position(self, c: Conversation, entry: QueueEntry, campaign: Campaign, open_now: bool
                       ) -> RoutingResult:
        """Still waiting after the drain: tell the customer their position."""
        position = self._store.queue_position(entry)
        if position is None:  # the drain (or another router) took it
            return RoutingResult("assigned", campaign.campaign_id)
        if open_now:
            for message in self._say(c, campaign.messages.queued, {"position": position}, "queued",
                                     entry.event_key or entry.sort_key, address=entry.address):
                self._send(message)
        self._events.publish([ConversationQueued(
            tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
            contact_id=c.contact_id, campaign_id=campaign.campaign_id, position=position, priority=entry.priority,
            reason=entry.reason)])
        return RoutingResult("queued", campaign.campaign_id, position=position)

    def _overflow(self, c: Conversation, campaign: Campaign, now: datetime, event_key: str) -> RoutingResult:
        record = self._record(c, "overflowed", now, "system", "Fila completa",
                              events=[ConversationOverflowed(tenant_id=c.tenant_id, channel_id=c.channel_id,
                                                             conversation_id=c.conversation_id,
                                                             contact_id=c.contact_id, campaign_id=campaign.campaign_id,
                                                             reason="acd_full")],
                              messages=self._say(c, campaign.messages.all_busy, {}, "busy", event_key))
        day = local_day(campaign.schedule.time_zone, now).isoformat()
        outcome = self._store.transition(Transition(
            conversation=c, source=Holder.of(c), target=Holder("overflow", campaign.campaign_id), at=now,
            actor="system", record=record, stats=(StatAdd(day, f"C#{campaign.campaign_id}", {"overflowed": 1}),)))
        self._finish(c, record, outcome)
        return RoutingResult("overflow", campaign.campaign_id)

    def _to_desk(self, c: Conversation, campaign: Campaign, now: datetime, *, summary: str | None,
                 event_key: str) -> RoutingResult:
        desk = f"desk:{campaign.campaign_id}"
        record = self._record(c, "desk", now, "system", f"Derivada a {campaign.external_desk.name}"
                              if campaign.external_desk else "Derivada",
                              detail={"campaign_id": campaign.campaign_id},
                              events=[ConversationAssigned(
                                  tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
                                  contact_id=c.contact_id, campaign_id=campaign.campaign_id, assignee=desk,
                                  assignee_kind="desk", reason="queue", summary=summary,
                                  assignee_name=campaign.external_desk.name if campaign.external_desk else None)])
        day = local_day(campaign.schedule.time_zone, now).isoformat()
        outcome = self._store.transition(Transition(
            conversation=c, source=Holder.of(c), target=Holder("desk", campaign.campaign_id, desk), at=now,
            actor="system", record=record,
            stats=(StatAdd(day, f"C#{campaign.campaign_id}", {"offered": 1, "answered": 1, "answered_in_sla": 1}),)))
        self._finish(c, record, outcome)
        return RoutingResult("desk", campaign.campaign_id, assignee=desk)

    # -- draining a campaign's queue -----------------------------------------------------------------------------
    def drain(self, tenant_id: str, campaign: Campaign) -> int:
        """Assign the queue's head to eligible agents until the queue is empty or nobody has capacity."""
        if not campaign.enabled or campaign.external_desk is not None or not campaign.members:
            return 0
        now = self._clock.now()
        if not is_open(campaign.schedule, now):
            return 0
        members = set(campaign.members)
        agents = {a.user_id: a for a in self._store.list_agents(tenant_id) if a.user_id in members}
        if not any(a.status == "online" for a in agents.values()):
            return 0
        rr_last = self._store.queue_meta(tenant_id, campaign.campaign_id).get("rr_last") \
            if campaign.strategy == "round_robin" else None
        head = self._store.queue_head(tenant_id, campaign.campaign_id, limit=HEAD_PAGE)
        assigned = attempts = 0
        while head and attempts < MAX_DRAIN_ATTEMPTS:
            eligible = [a for a in agents.values() if a.status == "online" and a.active < a.cap_for(campaign)]
            if not eligible:
                break
            attempts += 1
            entry = pick_entry(head, campaign, now)
            agent = pick_agent(eligible, campaign, entry, rr_last)
            outcome = self._assign_from_queue(entry, campaign, agent, now)
            if outcome is Outcome.OK:
                assigned += 1
                head.remove(entry)
                agents[agent.user_id] = agent.model_copy(update={"active": agent.active + 1,
                                                                 "last_assigned_ms": int(now.timestamp() * 1000)})
                rr_last = agent.user_id
            elif outcome is Outcome.AGENT_UNAVAILABLE:
                fresh = self._store.get_agent(tenant_id, agent.user_id)
                if fresh is None:
                    agents.pop(agent.user_id, None)
                else:
                    agents[agent.user_id] = fresh
                    if fresh.active < fresh.cap_for(campaign) and fresh.status == "online":
                        continue  # the cached count was stale the other way round: retry with the fresh one
            elif outcome is Outcome.STALE:
                head.remove(entry)  # taken, closed or moved by someone else
            if not head:
                head = self._store.queue_head(tenant_id, campaign.campaign_id, limit=HEAD_PAGE)
            now = self._clock.now()
        return assigned

    def _assign_from_queue(self, entry: QueueEntry, campaign: Campaign, agent: AgentPresence,
                           now: datetime) -> Outcome:
        c = Conversation(conversation_id=entry.conversation_id, tenant_id=entry.tenant_id,
                         channel_id=entry.channel_id, contact_key=entry.contact_key, contact_id=entry.contact_id,
                         opened_at=entry.queued_at, routing="waiting", campaign_id=campaign.campaign_id)
        wait_s = max(0, int((now - entry.queued_at).total_seconds()))
        day = local_day(campaign.schedule.time_zone, now).isoformat()
        stats = (StatAdd(day, f"C#{campaign.campaign_id}", {
            "answered": 1, "answered_in_sla": 1 if wait_s <= campaign.sla_threshold_s else 0,
            "wait_ms_total": int((now - entry.queued_at).total_seconds() * 1000)}),
            StatAdd(day, f"A#{agent.user_id}", {"assigned": 1}))
        record = self._assigned_record(c, campaign, agent, now, reason="queue", wait_s=wait_s, summary=entry.summary,
                                       address=entry.address, key=entry.sort_key)
        outcome = self._store.transition(Transition(
            conversation=c, source=Holder("waiting", campaign.campaign_id, queue_sk=entry.sort_key),
            target=Holder("assigned", campaign.campaign_id, agent.user_id, cap=agent.cap_for(campaign)),
            at=now, actor="system", record=record, stats=stats, round_robin=campaign.strategy == "round_robin"))
        self._finish(c, record, outcome)
        return outcome

    def _assigned_record(self, c: Conversation, campaign: Campaign | None, agent: AgentPresence, now: datetime, *,
                         reason: str, wait_s: int = 0, summary: str | None = None, address: str | None = None,
                         key: str = "", previous: str | None = None, actor: str = "system") -> RoutingRecord:
        name = agent.name or "un asesor"
        events: list[TenantEvent] = []
        if previous:
            events.append(ConversationUnassigned(tenant_id=c.tenant_id, channel_id=c.channel_id,
                                                 conversation_id=c.conversation_id, contact_id=c.contact_id,
                                                 campaign_id=c.campaign_id, agent_id=previous, reason=reason,
                                                 requeued=False))
        events.append(ConversationAssigned(
            tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id, contact_id=c.contact_id,
            campaign_id=campaign.campaign_id if campaign else "", assignee=agent.user_id, assignee_name=agent.name,
            previous_assignee=previous,
            reason=reason, wait_s=wait_s, summary=summary))
        messages: list[dict[str, Any]] = []
        if campaign is not None and campaign.messages.assigned:
            messages = self._say(c, campaign.messages.assigned,
                                 {"agent": {"name": name}, "campaign": {"name": campaign.name}},
                                 "assigned", f"{agent.user_id}:{key or now.timestamp()}", address=address)
        return self._record(c, "assigned", now, actor, f"Asignada a {name}",
                            detail={"agent_id": agent.user_id, "reason": reason, "wait_s": wait_s,
                                    "campaign_id": campaign.campaign_id if campaign else None},
                            events=events, messages=messages)

    # -- operations of agents and supervisors ---------------------------------------------------------------------
    def assign(self, tenant_id: str, conversation_id: str, agent_id: str, *, actor: str, reason: str = "manual"
               ) -> Conversation:
        for _ in range(3):
            c = self.conversation(tenant_id, conversation_id)
            if c.status == "closed":
                raise Conflict("the conversation is closed; reopen it first")
            if c.routing == "assigned" and c.assignee == agent_id:
                return c
            agent = self._store.get_agent(tenant_id, agent_id)
            # Busy agents get no new conversations, but may take one themselves (pull from the queue).
            statuses = TAKING_STATUSES if reason == "take" else ("online",)
            if agent is None or agent.status not in statuses:
                raise Conflict(f"agent {agent_id} is not online" + (" or busy" if reason == "take" else ""))
            campaign = self._campaign_for(c, agent_id)
            cap = agent.cap_for(campaign) if campaign else (agent.max_concurrent or 1_000_000)
            now = self._clock.now()
            source = Holder.of(c)
            previous = c.assignee if c.routing == "assigned" else None
            stats = [StatAdd(self._agent_day(tenant_id, now), f"A#{agent_id}", {"assigned": 1})]
            if c.routing == "waiting" and campaign is not None and c.queued_at:
                wait_s = max(0, int((now - c.queued_at).total_seconds()))
                cday = local_day(campaign.schedule.time_zone, now).isoformat()
                stats.append(StatAdd(cday, f"C#{campaign.campaign_id}",
                                     {"answered": 1, "answered_in_sla": int(wait_s <= campaign.sla_threshold_s),
                                      "wait_ms_total": wait_s * 1000}))
            if previous:
                stats.append(StatAdd(self._agent_day(tenant_id, now), f"A#{previous}", {"transferred_out": 1}))
            record = self._assigned_record(c, campaign, agent, now, reason=reason, previous=previous, actor=actor,
                                           key=f"{reason}:{now.timestamp()}")
            outcome = self._store.transition(Transition(
                conversation=c, source=source,
                target=Holder("assigned", campaign.campaign_id if campaign else c.campaign_id, agent_id, cap=cap,
                              statuses=statuses),
                at=now, actor=actor, record=record, stats=tuple(stats), count_transfer=previous is not None))
            if outcome is Outcome.AGENT_UNAVAILABLE:
                raise Conflict(f"agent {agent_id} is at capacity ({cap}) or not {' or '.join(statuses)}")
            if outcome is Outcome.OK:
                self._finish(c, record, outcome)
                if c.routing == "none":
                    self._bots.set_paused(tenant_id, conversation_id, "agent")
                return self.conversation(tenant_id, conversation_id)
        raise Conflict("the conversation changed while assigning it; try again")

    def unassign(self, tenant_id: str, conversation_id: str, *, actor: str, reason: str = "unassign",
                 campaign_id: str | None = None, front: bool = False) -> Conversation:
        """Back to a queue (its campaign's, or `campaign_id`'s for a transfer)."""
        for _ in range(3):
            c = self.conversation(tenant_id, conversation_id)
            if c.status == "closed":
                raise Conflict("the conversation is closed")
            target_campaign_id = campaign_id or c.campaign_id
            if target_campaign_id is None:
                raise Conflict("the conversation has no campaign to go back to; assign it to an agent instead")
            campaign = self._store.get_campaign(tenant_id, target_campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign {target_campaign_id}")
            if not campaign.enabled:
                raise Conflict(f"campaign {target_campaign_id} is disabled")
            if c.routing == "waiting" and c.campaign_id == target_campaign_id:
                return c
            now = self._clock.now()
            previous = c.assignee if c.routing == "assigned" else None
            queued_at = (c.queued_at or now) if front else now
            entry = QueueEntry(tenant_id=tenant_id, campaign_id=campaign.campaign_id,
                               conversation_id=c.conversation_id, channel_id=c.channel_id, contact_key=c.contact_key,
                               contact_id=c.contact_id, address=self._address(c), queued_at=queued_at,
                               window_closes_at=self._window_closes(c), reason=reason,
                               event_key=f"{reason}:{now.timestamp()}")
            events: list[TenantEvent] = []
            if previous:
                events.append(ConversationUnassigned(
                    tenant_id=tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
                    contact_id=c.contact_id, campaign_id=campaign.campaign_id, agent_id=previous, reason=reason))
            record = self._record(c, "unassigned" if reason != "transfer" else "transferred", now, actor,
                                  f"En espera en {campaign.name}",
                                  detail={"campaign_id": campaign.campaign_id, "reason": reason, "from": previous},
                                  events=events)
            stats: list[StatAdd] = []
            if previous:
                stats.append(StatAdd(self._agent_day(tenant_id, now), f"A#{previous}",
                                     {"transferred_out" if reason == "transfer" else "unassigned": 1}))
            if campaign_id and campaign_id != c.campaign_id:
                stats.append(StatAdd(local_day(campaign.schedule.time_zone, now).isoformat(),
                                     f"C#{campaign.campaign_id}", {"offered": 1}))
            outcome = self._store.transition(Transition(
                conversation=c, source=Holder.of(c),
                target=Holder("waiting", campaign.campaign_id, entry=entry,
                              max_waiting=None if reason == "agent_offline" else campaign.max_waiting),
                at=now, actor=actor, record=record, stats=tuple(stats), count_transfer=reason == "transfer"))
            if outcome is Outcome.QUEUE_FULL:
                raise Conflict(f"campaign {campaign.campaign_id}'s queue is full")
            if outcome is Outcome.OK:
                self._finish(c, record, outcome)
                if c.routing == "none":
                    self._bots.set_paused(tenant_id, conversation_id, "agent")
                self._events.publish([ConversationQueued(
                    tenant_id=tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
                    contact_id=c.contact_id, campaign_id=campaign.campaign_id,
                    position=self._store.queue_position(entry) or 0, reason=reason)])
                return self.conversation(tenant_id, conversation_id)
        raise Conflict("the conversation changed meanwhile; try again")

    def transfer(self, tenant_id: str, conversation_id: str, *, agent_id: str | None, campaign_id: str | None,
                 actor: str) -> Conversation:
        if agent_id:
            return self.assign(tenant_id, conversation_id, agent_id, actor=actor, reason="transfer")
        return self.unassign(tenant_id, conversation_id, actor=actor, reason="transfer", campaign_id=campaign_id)

    def close(self, tenant_id: str, conversation_id: str, *, actor: str, note: CloseNote | None = None
              ) -> Conversation:
        free_thread = True
        for _ in range(4):
            c = self.conversation(tenant_id, conversation_id)
            if c.status == "closed":
                return c
            now = self._clock.now()
            source = Holder.of(c)
            stats: list[StatAdd] = []
            campaign = self._store.get_campaign(tenant_id, c.campaign_id) if c.campaign_id else None
            cday = local_day(campaign.schedule.time_zone, now).isoformat() if campaign else None
            if c.routing == "assigned" and c.assignee:
                stats.append(StatAdd(self._agent_day(tenant_id, now), f"A#{c.assignee}",
                                     {f"completed_{c.origin}": 1}))
            if c.routing in ("assigned", "desk") and campaign and cday:
                stats.append(StatAdd(cday, f"C#{campaign.campaign_id}", {"completed": 1}))
            if c.routing == "waiting" and campaign and cday:
                waited = (now - (c.queued_at or now)).total_seconds()
                stats.append(StatAdd(cday, f"C#{campaign.campaign_id}", {
                    "abandoned" if waited >= campaign.abandon_threshold_s else "short_abandoned": 1}))
            event = ConversationClosed(tenant_id=tenant_id, channel_id=c.channel_id, conversation_id=conversation_id,
                                       contact_id=c.contact_id, contact_key=c.contact_key,
                                       closed_at=now.isoformat(), closed_by=actor,
                                       campaign_id=c.campaign_id,
                                       assignee=c.assignee if c.routing in ("assigned", "desk") else None,
                                       note_category=note.category if note else None)
            record = self._record(c, "closed", now, actor, "Conversación cerrada" + (f" ({note.category})" if note
                                                                                     else ""),
                                  detail={"note": note.model_dump(exclude_none=True)} if note else {},
                                  events=[event])
            outcome = self._store.transition(Transition(
                conversation=c, source=source, target=Holder("closed", c.campaign_id), at=now, actor=actor,
                record=record, stats=tuple(stats), close_note=note, free_thread=free_thread))
            if outcome is Outcome.THREAD_BUSY:
                free_thread = False  # the thread already moved on to a newer conversation
                continue
            if outcome is Outcome.OK:
                self._finish(c, record, outcome)
                return self.conversation(tenant_id, conversation_id)
        raise Conflict("the conversation changed while closing it; try again")

    def reopen(self, tenant_id: str, conversation_id: str, *, actor: str, agent_id: str | None) -> Conversation:
        c = self.conversation(tenant_id, conversation_id)
        if c.status == "open":
            return c
        newer = self._store.newer_conversation(c)
        if newer is not None:
            raise Conflict(f"the contact wrote again since: continue conversation {newer}")
        now = self._clock.now()
        agent = self._store.get_agent(tenant_id, agent_id) if agent_id else None
        campaign = self._campaign_for(c, agent_id) if agent_id else (
            self._store.get_campaign(tenant_id, c.campaign_id) if c.campaign_id else None)
        events: list[TenantEvent] = [ConversationReopened(tenant_id=tenant_id, channel_id=c.channel_id,
                                                          conversation_id=conversation_id, contact_id=c.contact_id,
                                                          reopened_by=actor)]
        if agent is not None and agent.status == "online":
            cap = agent.cap_for(campaign) if campaign else (agent.max_concurrent or 1_000_000)
            target = Holder("assigned", campaign.campaign_id if campaign else c.campaign_id, agent.user_id, cap=cap)
            text = f"Reabierta por {agent.name or agent.user_id}"
            events.append(ConversationAssigned(tenant_id=tenant_id, channel_id=c.channel_id,
                                               conversation_id=conversation_id, contact_id=c.contact_id,
                                               campaign_id=target.campaign_id or "", assignee=agent.user_id,
                                               assignee_name=agent.name, reason="reopen"))
        elif campaign is not None and campaign.external_desk is not None:
            desk = f"desk:{campaign.campaign_id}"
            target = Holder("desk", campaign.campaign_id, desk)
            text = f"Reabierta: derivada a {campaign.external_desk.name}"
            events.append(ConversationAssigned(tenant_id=tenant_id, channel_id=c.channel_id,
                                               conversation_id=conversation_id, contact_id=c.contact_id,
                                               campaign_id=campaign.campaign_id, assignee=desk,
                                               assignee_kind="desk", reason="reopen",
                                               assignee_name=campaign.external_desk.name))
        elif campaign is not None:
            entry = QueueEntry(tenant_id=tenant_id, campaign_id=campaign.campaign_id, conversation_id=conversation_id,
                               channel_id=c.channel_id, contact_key=c.contact_key, contact_id=c.contact_id,
                               address=self._address(c), queued_at=now, window_closes_at=self._window_closes(c),
                               reason="reopen", event_key=f"reopen:{now.timestamp()}")
            target = Holder("waiting", campaign.campaign_id, entry=entry)
            text = f"Reabierta: en espera en {campaign.name}"
        else:
            target = Holder("none")
            text = "Reabierta"
        record = self._record(c, "reopened", now, actor, text, events=events)
        outcome = self._store.transition(Transition(conversation=c, source=Holder("closed", c.campaign_id),
                                                    target=target, at=now, actor=actor, record=record))
        if outcome is Outcome.THREAD_BUSY:
            raise Conflict("the contact has another open conversation on this channel; continue that one")
        if outcome is Outcome.AGENT_UNAVAILABLE:
            raise Conflict("you are at your conversation limit")
        if outcome is not Outcome.OK:
            raise Conflict("the conversation changed meanwhile; try again")
        self._finish(c, record, outcome)
        self._bots.set_paused(tenant_id, conversation_id, "agent")
        if target.kind == "waiting" and campaign is not None:
            self.drain(tenant_id, campaign)
        return self.conversation(tenant_id, conversation_id)

    def _agent_offline(self, tenant_id: str, user_id: str, *, actor: str) -> int:
        """An agent went offline: conversations of campaigns that say so go back to the head of their queue."""
        moved = 0
        campaigns = {c.campaign_id: c for c in self._store.list_campaigns(tenant_id)}
        agent = self._store.get_agent(tenant_id, user_id)
        if agent is None or agent.status != "offline":
            return 0  # back online meanwhile
        for link in self._store.agent_conversations(tenant_id, user_id):
            campaign = campaigns.get(link.campaign_id) if link.campaign_id else None
            if campaign is None or campaign.on_agent_offline != "requeue":
                continue
            try:
                self.unassign(tenant_id, link.conversation_id, actor=actor, reason="agent_offline", front=True)
                moved += 1
            except (Conflict, NotFound):
                continue
        for campaign in campaigns.values():
            if user_id in campaign.members:
                self.drain(tenant_id, campaign)
        return moved

    # -- helpers ------------------------------------------------------------------------------------------------------
    def _campaign_for(self, c: Conversation, agent_id: str | None) -> Campaign | None:
        if c.campaign_id:
            found = self._store.get_campaign(c.tenant_id, c.campaign_id)
            if found is not None:
                return found
        if agent_id:
            return next((x for x in sorted(self._store.list_campaigns(c.tenant_id), key=lambda x: x.campaign_id)
                         if agent_id in x.members and x.enabled), None)
        return None

    def _agent_day(self, tenant_id: str, now: datetime) -> str:
        return local_day(self._store.get_settings(tenant_id).time_zone, now).isoformat()

    def _record(self, c: Conversation, kind: str, at: datetime, author: str, text: str, *,
                detail: dict[str, Any] | None = None, events: Sequence[TenantEvent] = (),
                messages: Sequence[dict[str, Any]] = ()) -> RoutingRecord:
        return RoutingRecord(
            record_id=_record_id(c.conversation_id, kind, at.timestamp(), author), kind=kind, at=at, author=author,
            text=text, detail=detail or {},
            events=[{"type": e.detail_type, "detail": e.model_dump(mode="json")} for e in events],
            messages=list(messages))

    def _say(self, c: Conversation, template: str | None, values: dict[str, Any], kind: str, key: str, *,
             address: str | None = None) -> list[dict[str, Any]]:
        """A built-in flow's message to the customer, with an id derived from what caused it."""
        if not template:
            return []
        text = render_message(template, values)
        request = OutboundRequest(request_id=f"cc:{c.conversation_id}:{kind}:{_record_id(key)}",
                                  tenant_id=c.tenant_id, channel_id=c.channel_id, contact_key=c.contact_key,
                                  to=address or self._address(c), content=TextContent(body=text), origin="system")
        return [request.model_dump(mode="json")]

    def _send(self, message: dict[str, Any]) -> None:
        request = OutboundRequest.model_validate(message)
        self._outbound.enqueue(request, group_id=thread_group_id(request.tenant_id, request.channel_id,
                                                                 request.contact_key),
                               dedup_id=dedup_id(request.channel_id, request.request_id))

    def _flush_payload(self, events: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]]) -> None:
        from shared.models import events as event_models

        for message in messages:
            self._send(message)
        if events:
            self._events.publish([getattr(event_models, e["type"]).model_validate(e["detail"]) for e in events])

    def _finish(self, c: Conversation, record: RoutingRecord, outcome: Outcome) -> None:
        """After a transition: send what its record owes, then clear the record's outbox mark."""
        if outcome is not Outcome.OK:
            return
        if record.events or record.messages:
            self._flush_payload(record.events, record.messages)
            pk, sk = self._store.record_key(c, record)
            self._store.outbox_done(pk, sk)
        if record.kind == "assigned" and self._on_assigned is not None:
            self._on_assigned(c.tenant_id, c.conversation_id)


def _priority(value: str) -> Any:
    lowered = (value or "normal").lower()
    if lowered in ("high", "alta", "urgent", "urgente"):
        return "high"
    if lowered in ("low", "baja"):
        return "low"
    return "normal"
