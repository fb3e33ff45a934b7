"""Reports: hourly counters per tenant and dimension, kept up to date from the domain events (never by scans).

**Buckets.** Every counted fact lands in the UTC hour it happened in, once for the whole tenant (`all`) and once
per dimension it belongs to: its channel (`ch`), its campaign (`cp`, the contact center's team) and its agent
(`ag`). A report over local days in a time zone with a whole-hour offset is the sum of whole UTC hours, so any
such zone (all of Latin America) adds up exactly; daylight-saving changes move the hours, not the sums.

**Conversation facts.** Per conversation a small record follows it (opened, first response, who answered,
response samples, campaign, agents, closed, CSAT, the customer's sentiment). Response times come from it:
- first response: the customer's opening message to the first reply by a bot or a person;
- first agent response: from when the customer started waiting for people (queued, handed off or assigned) to
  the first message a person wrote;
- response time: every reply to the customer's earliest unanswered message (by a bot or a person);
each also in business seconds, within the campaign's opening hours (`schedule.open_seconds`).
A closed conversation's fact is copied to a per-day row: the row-level export reads those.

**Exactly once.** Each event is one transaction: a marker for the event (its provider or domain id), the
conditional write of the state it changes (fact, agent status) and the counter additions it causes. A redelivered
event finds its marker and adds nothing; a lost race re-reads and tries again.

**Order.** Events arrive unordered (EventBridge to a standard queue). Counts do not depend on order. Response
times do: a reply that is processed before the customer message it answered cannot be paired with it, and that
sample is dropped rather than guessed (the message still counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from shared.errors import InvalidInput, NotYetKnown
from shared.models.actors import closed_by_kind, origin_kind, person, user_of
from shared.services.schedule import check_zone, open_seconds
from shared.timestamps import instant, iso_z

if TYPE_CHECKING:  # importing sentiment costs the cold start ~30 ms when no message is scored
    from shared.models.contact_center import Schedule
    from shared.services.sentiment import Sentiment, SentimentAnalyzer

Detail = Mapping[str, Any]  # an event's detail, as the bus delivered it
ALL = "all#-"
ATTEMPTS = 5
MAX_SCORED = 50  # customer messages whose sentiment a fact keeps (the newest)
MAX_DAYS = 400  # the longest report range
# A status lasting longer counts this long (someone forgot to log out); it also keeps one status change within
# DynamoDB's 100 items per transaction (an hour bucket per dimension). Offline time is not counted at all.
MAX_STATUS_SPAN = timedelta(hours=36)
REPORTS = ("conversations", "responses", "resolutions", "messages", "contacts", "assignments", "agents", "users",
           "csat", "sentiment", "bots")


def channel_dim(channel_id: str) -> str:
    return f"ch#{channel_id}"


def campaign_dim(campaign_id: str) -> str:
    return f"cp#{campaign_id}"


def agent_dim(user_id: str) -> str:
    return f"ag#{user_id}"


@dataclass(frozen=True)
class CampaignRules:
    """What reports need of a campaign: its opening hours and its service-level threshold."""

    schedule: Schedule | None
    sla_threshold_s: int = 60


@dataclass(frozen=True)
class ConversationFact:
    conversation_id: str
    channel_id: str
    contact_key: str | None = None
    contact_id: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None  # bot | agent | system
    campaign_id: str | None = None
    agent: str | None = None  # the agent who holds (held) it
    agents: tuple[str, ...] = ()
    transfers: int = 0
    bot: bool = False
    people_replied: bool = False  # an agent or an integrator's key wrote in it
    human_requested_at: datetime | None = None
    first_response_at: datetime | None = None
    first_response_by: str | None = None
    first_agent_response_at: datetime | None = None
    first_agent_response_s: int | None = None  # as counted: a later-known earlier request does not change it
    awaiting_since: datetime | None = None
    last_reply_at: datetime | None = None
    messages_in: int = 0
    messages_out: int = 0
    response_n: int = 0
    response_s: int = 0
    csat: int | None = None
    scored: tuple[tuple[str, float, float, float, float], ...] = ()  # (label, pos, neg, neutral, mixed), oldest first
    sentiment: str | None = None  # the conversation's label, set at close
    note_category: str | None = None
    returning: bool | None = None
    version: int = -1  # -1: not stored yet

    @property
    def handled_by(self) -> str:
        """agent when people took part, bot when only a bot answered, none when nobody did."""
        if self.agents or self.people_replied:
            return "agent"
        return "bot" if self.bot or self.first_response_by == "bot" else "none"

    @property
    def first_response_s(self) -> int | None:
        if self.opened_at is None or self.first_response_at is None:
            return None
        return int((self.first_response_at - self.opened_at).total_seconds())

    @property
    def resolution_s(self) -> int | None:
        if self.opened_at is None or self.closed_at is None:
            return None
        return max(int((self.closed_at - self.opened_at).total_seconds()), 0)


@dataclass(frozen=True)
class AgentMark:
    user_id: str
    status: str
    since: datetime
    break_type: str | None = None
    version: int = -1


@dataclass(frozen=True)
class Add:
    """Counter additions to one hour (UTC) of one dimension."""

    hour: datetime
    dim: str
    counters: Mapping[str, int]


@dataclass
class Change:
    """One event's effect, written in one transaction by the store."""

    marker: str
    adds: list[Add] = field(default_factory=list)
    fact: ConversationFact | None = None  # written if its stored version is still fact.version (-1: absent)
    thread: tuple[str, str, str, datetime] | None = None  # (channel, contact_key, conversation_id, opened_at)
    contact: str | None = None  # the contact's first conversation: written if absent
    agent: AgentMark | None = None  # written if its stored version is still agent.version
    reopened_from: date | None = None  # the UTC day whose closed row a reopen removes


class ReportStore(Protocol):
    def fact(self, tenant_id: str, conversation_id: str) -> ConversationFact | None: ...

    def thread(self, tenant_id: str, channel_id: str, contact_key: str) -> tuple[str, datetime] | None:
        """The conversation the contact's thread is in (id, opened at)."""
        ...

    def contact_seen(self, tenant_id: str, contact: str) -> bool: ...

    def agent(self, tenant_id: str, user_id: str) -> AgentMark | None: ...

    def agents(self, tenant_id: str) -> list[AgentMark]: ...

    def commit(self, tenant_id: str, change: Change) -> bool | None:
        """True: written; False: the marker exists (already counted); None: a condition on the state failed."""
        ...

    def buckets(self, tenant_id: str, day: date, prefix: str) -> list[tuple[str, int, dict[str, int]]]:
        """The UTC day's buckets whose dimension starts with `prefix`: (dimension, hour 0-23, counters)."""
        ...

    def closed(self, tenant_id: str, day: date) -> list[ConversationFact]:
        """The facts of conversations closed on the UTC day."""
        ...


class MessageSentiments(Protocol):
    def set_sentiment(self, tenant_id: str, channel_id: str, message_id: str, label: str, score: float) -> None:
        """Store a message's sentiment on the message (best effort: an erased message is skipped)."""
        ...


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> Iterable[tuple[datetime, int]]:
    """The seconds of [start, end) in each UTC hour it touches."""
    cursor = start
    while cursor < end:
        hour = hour_of(cursor)
        stop = min(hour + timedelta(hours=1), end)
        yield hour, int((stop - cursor).total_seconds())
        cursor = stop


def status_key(status: str, break_type: str | None) -> str:
    return f"status_s#break#{break_type}" if status == "break" and break_type else f"status_s#{status}"


class ReportAggregator:
    def __init__(self, store: ReportStore, *, campaigns: Callable[[str, str], CampaignRules | None],
                 analyzer: Callable[[], SentimentAnalyzer | None] | None = None,
                 sentiments: MessageSentiments | None = None) -> None:
        self._store = store
        self._campaigns = campaigns
        self._analyzer = analyzer
        self._sentiments = sentiments

    # -- events -----------------------------------------------------------------------------------------------
    def on_event(self, detail_type: str, detail: Mapping[str, Any], *, event_id: str = "",
                 event_time: datetime | None = None) -> str:
        tenant_id = str(detail.get("tenant_id") or "")
        handler = getattr(self, "_on_" + detail_type, None)
        if not tenant_id or handler is None:
            return "ignored"
        at = event_time or datetime.now(UTC)
        # a customer's text is scored once, whatever the retries of its commit
        scored = self._score(detail.get("text")) if detail_type == "MessageReceived" else None
        for _ in range(ATTEMPTS):
            change = handler(tenant_id, detail, event_id, at, scored) if scored else \
                handler(tenant_id, detail, event_id, at)
            if change is None:
                return "ignored"
            done = self._store.commit(tenant_id, change)
            if done is False:
                return "duplicate"
            if done:
                if scored is not None and self._sentiments is not None:
                    self._sentiments.set_sentiment(tenant_id, str(detail["channel_id"]), str(detail["message_id"]),
                                                   scored.label.value, round(scored.score, 3))
                return "counted"
        raise NotYetKnown("report state kept changing under this event", delay_s=1)

    # -- conversations ----------------------------------------------------------------------------------------
    def _fact(self, tenant_id: str, conversation_id: str, channel_id: str) -> ConversationFact:
        return self._store.fact(tenant_id, conversation_id) or ConversationFact(conversation_id=conversation_id,
                                                                                channel_id=channel_id)

    @staticmethod
    def _dims(fact: ConversationFact | None, channel_id: str, *, agent: str | None = None,
              campaign: str | None = None) -> list[str]:
        dims = [ALL, channel_dim(channel_id)]
        campaign = campaign or (fact.campaign_id if fact else None)
        if campaign:
            dims.append(campaign_dim(campaign))
        agent = agent or (fact.agent if fact else None)
        if agent:
            dims.append(agent_dim(agent))
        return dims

    @staticmethod
    def _adds(at: datetime, dims: Sequence[str], counters: Mapping[str, int]) -> list[Add]:
        counters = {k: v for k, v in counters.items() if v}
        return [Add(hour_of(at), dim, counters) for dim in dims] if counters else []

    def _on_ConversationOpened(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        at = instant(d.get("opened_at")) or now
        fact = self._fact(tenant_id, conversation_id, channel_id)
        contact = str(d.get("contact_id") or f"{channel_id}#{d.get('contact_key')}")
        returning = self._store.contact_seen(tenant_id, contact)
        fact = replace(fact, opened_at=at, contact_key=d.get("contact_key"), contact_id=d.get("contact_id"),
                       returning=returning)
        if fact.awaiting_since is None and fact.last_reply_at is None:
            fact = replace(fact, awaiting_since=at)
        current = self._store.thread(tenant_id, channel_id, str(d.get("contact_key") or ""))
        thread = None
        if current is None or current[1] <= at:
            thread = (channel_id, str(d.get("contact_key") or ""), conversation_id, at)
        return Change(marker=f"open#{conversation_id}", fact=fact, thread=thread,
                      contact=None if returning else contact,
                      adds=self._adds(at, [ALL, channel_dim(channel_id)],
                                      {"conversations_opened": 1,
                                       "contacts_returning" if returning else "contacts_new": 1}))

    def _on_MessageReceived(self, tenant_id: str, d: Detail, event_id: str, now: datetime,
                            scored: Sentiment | None = None) -> Change | None:
        channel_id, message_type = str(d["channel_id"]), str(d.get("message_type") or "unknown")
        at = instant(d.get("sent_at")) or now
        conversation_id = d.get("conversation_id")
        fact = self._fact(tenant_id, str(conversation_id), channel_id) if conversation_id else None
        counters = {"messages_in": 1, f"messages_in#type#{message_type}": 1}
        if scored is not None:
            counters[f"sentiment#{scored.label.value}"] = 1
        if fact is not None:
            awaiting = fact.awaiting_since
            if fact.last_reply_at is None or at > fact.last_reply_at:
                awaiting = min(awaiting, at) if awaiting else at
            items = fact.scored
            if scored is not None:
                items = (*items, (scored.label.value, round(scored.positive, 3), round(scored.negative, 3),
                                  round(scored.neutral, 3), round(scored.mixed, 3)))[-MAX_SCORED:]
            fact = replace(fact, awaiting_since=awaiting, messages_in=fact.messages_in + 1, scored=items,
                           contact_key=fact.contact_key or d.get("contact_key"))
        return Change(marker=f"in#{channel_id}#{d['message_id']}", fact=fact,
                      adds=self._adds(at, self._dims(fact, channel_id), counters))

    def _score(self, text: Any) -> Sentiment | None:
        """The sentiment of a customer's text; None without text, analyzer or answer."""
        analyzer = self._analyzer() if self._analyzer and text else None
        if analyzer is None:
            return None
        from shared.services.sentiment import SentimentUnavailable

        try:
            scored = analyzer.analyze(str(text))
        except SentimentUnavailable:
            return None  # the message still counts; its sentiment is missing from the sentiment report
        return None if scored.failed else scored

    def _on_MessageSent(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        channel_id, origin = str(d["channel_id"]), str(d.get("origin") or "")
        at = instant(d.get("sent_at")) or now
        by, user = origin_kind(origin), user_of(origin)
        message_type = str(d.get("message_type") or "unknown")
        counters: dict[str, int] = {"messages_out": 1, f"messages_out#by#{by}": 1,
                                    f"messages_out#type#{message_type}": 1}
        marker = f"out#{channel_id}#{d['message_id']}"
        current = self._store.thread(tenant_id, channel_id, str(d.get("contact_key") or ""))
        fact = self._store.fact(tenant_id, current[0]) if current else None
        if fact is not None and (fact.opened_at and at < fact.opened_at or
                                 fact.closed_at and at > fact.closed_at):
            fact = None  # not this conversation's message
        if fact is None or by in ("broadcast", "automation"):
            # Not a reply (campaigns and platform notices), or a message outside any conversation we know.
            return Change(marker=marker, fact=fact and replace(fact, messages_out=fact.messages_out + 1),
                          adds=self._adds(at, self._dims(fact, channel_id, agent=user), counters))
        rules = self._rules(tenant_id, fact.campaign_id)
        person = by in ("agent", "api")
        updates: dict[str, Any] = {"messages_out": fact.messages_out + 1,
                                   "people_replied": fact.people_replied or person,
                                   "last_reply_at": max(at, fact.last_reply_at) if fact.last_reply_at else at}
        if fact.first_response_at is None and fact.opened_at is not None:
            seconds = int((at - fact.opened_at).total_seconds())
            updates |= {"first_response_at": at, "first_response_by": by}
            counters |= {"first_response_n": 1, "first_response_s": seconds,
                         "first_response_bh_s": self._business(rules, fact.opened_at, at),
                         f"first_response_n#by#{by}": 1}
        if person and fact.first_agent_response_at is None and fact.human_requested_at is not None \
                and at >= fact.human_requested_at:
            seconds = int((at - fact.human_requested_at).total_seconds())
            updates |= {"first_agent_response_at": at, "first_agent_response_s": seconds}
            counters |= {"first_agent_response_n": 1, "first_agent_response_s": seconds,
                         "first_agent_response_bh_s": self._business(rules, fact.human_requested_at, at)}
        if fact.awaiting_since is not None and at >= fact.awaiting_since:
            seconds = int((at - fact.awaiting_since).total_seconds())
            updates |= {"awaiting_since": None, "response_n": fact.response_n + 1,
                        "response_s": fact.response_s + seconds}
            counters |= {"response_n": 1, "response_s": seconds,
                         "response_bh_s": self._business(rules, fact.awaiting_since, at),
                         f"response_n#by#{by}": 1, f"response_s#by#{by}": seconds}
        fact = replace(fact, **updates)
        return Change(marker=marker, fact=fact,
                      adds=self._adds(at, self._reply_dims(fact, channel_id, by, user), counters))

    @staticmethod
    def _reply_dims(fact: ConversationFact, channel_id: str, by: str, user: str | None) -> list[str]:
        """A reply counts for the person who wrote it; an integrator's key writes for the agent who holds the
        conversation (an external desk answering through the API); a bot's reply is nobody's."""
        dims = [ALL, channel_dim(channel_id)] + ([campaign_dim(fact.campaign_id)] if fact.campaign_id else [])
        agent = user or (fact.agent if by == "api" else None)
        return dims + ([agent_dim(agent)] if agent else [])

    def _rules(self, tenant_id: str, campaign_id: str | None) -> CampaignRules | None:
        return self._campaigns(tenant_id, campaign_id) if campaign_id else None

    @staticmethod
    def _business(rules: CampaignRules | None, start: datetime, end: datetime) -> int:
        if rules is None or rules.schedule is None:
            return max(int((end - start).total_seconds()), 0)
        return open_seconds(rules.schedule, start, end)

    def _on_ConversationClosed(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        at = instant(d.get("closed_at")) or now
        fact = self._fact(tenant_id, conversation_id, channel_id)
        agent = person(d.get("assignee")) or fact.agent
        kind = closed_by_kind(str(d.get("closed_by") or ""))
        label = (fact_sentiment(fact) or {}).get("label")
        fact = replace(fact, closed_at=at, closed_by=kind, campaign_id=d.get("campaign_id") or fact.campaign_id,
                       agent=agent, note_category=d.get("note_category"), sentiment=label,
                       contact_id=fact.contact_id or d.get("contact_id"),
                       contact_key=fact.contact_key or d.get("contact_key"))
        handled = fact.handled_by
        counters = {"conversations_closed": 1, f"conversations_closed#by#{kind}": 1,
                    f"conversations_closed#handled#{handled}": 1}
        if fact.resolution_s is not None:
            counters |= {"resolution_n": 1, "resolution_s": fact.resolution_s, f"resolution_n#{handled}": 1,
                         f"resolution_s#{handled}": fact.resolution_s}
        if label:
            counters[f"conversation_sentiment#{label}"] = 1
        if fact.note_category:
            counters[f"closing_note#{fact.note_category}"] = 1
        return Change(marker=f"close#{conversation_id}#{at.isoformat()}", fact=fact,
                      adds=self._adds(at, self._dims(fact, channel_id), counters))

    def _on_ConversationReopened(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        fact = self._fact(tenant_id, conversation_id, channel_id)
        closed_day = fact.closed_at.astimezone(UTC).date() if fact.closed_at else None
        fact = replace(fact, closed_at=None, closed_by=None, sentiment=None)
        return Change(marker=f"ev#{event_id or conversation_id + now.isoformat()}", fact=fact,
                      reopened_from=closed_day,
                      adds=self._adds(now, self._dims(fact, channel_id), {"conversations_reopened": 1}))

    def _on_ConversationQueued(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        fact = self._fact(tenant_id, conversation_id, channel_id)
        requested = min(fact.human_requested_at, now) if fact.human_requested_at else now
        fact = replace(fact, campaign_id=str(d["campaign_id"]), human_requested_at=requested)
        return Change(marker=f"ev#{event_id}", fact=fact,
                      adds=self._adds(now, self._dims(fact, channel_id, campaign=str(d["campaign_id"])),
                                      {"queued": 1, f"queued#reason#{d.get('reason')}": 1}))

    def _on_ConversationOverflowed(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        channel_id = str(d["channel_id"])
        return Change(marker=f"ev#{event_id}",
                      adds=self._adds(now, [ALL, channel_dim(channel_id), campaign_dim(str(d["campaign_id"]))],
                                      {"overflowed": 1, f"overflowed#reason#{d.get('reason')}": 1}))

    def _on_ConversationAssigned(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        campaign_id, assignee, reason = str(d["campaign_id"]), str(d["assignee"]), str(d.get("reason") or "")
        wait_s = int(d.get("wait_s") or 0)
        fact = self._fact(tenant_id, conversation_id, channel_id)
        asked = now - timedelta(seconds=wait_s)
        requested = min(fact.human_requested_at, asked) if fact.human_requested_at else asked
        is_agent = d.get("assignee_kind", "agent") == "agent"
        agents = fact.agents if not is_agent or assignee in fact.agents else (*fact.agents, assignee)
        transfer = reason == "transfer"
        fact = replace(fact, campaign_id=campaign_id, human_requested_at=requested, agents=agents,
                       agent=assignee if is_agent else fact.agent, transfers=fact.transfers + int(transfer))
        rules = self._rules(tenant_id, campaign_id)
        counters = {"assigned": 1, f"assigned#reason#{reason}": 1, "transfers": int(transfer)}
        if reason in ("queue", "take", "manual"):  # the customer's wait for a person (not a transfer's)
            threshold = rules.sla_threshold_s if rules else 60
            counters |= {"wait_n": 1, "wait_s": wait_s, "answered_in_sla": int(wait_s <= threshold)}
        adds = self._adds(now, self._dims(fact, channel_id, campaign=campaign_id,
                                          agent=assignee if is_agent else None), counters)
        previous = person(d.get("previous_assignee"))
        if transfer and previous:
            adds += self._adds(now, [agent_dim(previous)], {"transferred_out": 1})
        return Change(marker=f"ev#{event_id}", fact=fact, adds=adds)

    def _on_ConversationUnassigned(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        dims = [ALL, channel_dim(str(d["channel_id"])), agent_dim(str(d["agent_id"]))]
        if d.get("campaign_id"):
            dims.append(campaign_dim(str(d["campaign_id"])))
        return Change(marker=f"ev#{event_id}",
                      adds=self._adds(now, dims, {"unassigned": 1, f"unassigned#reason#{d.get('reason')}": 1}))

    def _on_BotSessionEnded(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        channel_id = str(d["channel_id"])
        at = instant(d.get("ended_at")) or now
        tier = str(d.get("llm_tier") or "LITE").upper()
        counters = {"bot_sessions": 1, f"bot_sessions#reason#{d.get('reason')}": 1,
                    "bot_turns": int(d.get("turns") or 0), "bot_ai_turns": int(d.get("ai_turns") or 0),
                    f"llm_input_tokens#{tier}": int(d.get("input_tokens") or 0),
                    f"llm_output_tokens#{tier}": int(d.get("output_tokens") or 0)}
        fact = None
        if d.get("conversation_id"):
            fact = replace(self._fact(tenant_id, str(d["conversation_id"]), channel_id), bot=True)
        return Change(marker=f"bot#{d['session_id']}", fact=fact,
                      adds=self._adds(at, [ALL, channel_dim(channel_id)], counters))

    def _on_CsatRecorded(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        conversation_id, channel_id = str(d["conversation_id"]), str(d["channel_id"])
        at = instant(d.get("recorded_at")) or now
        score = int(d["score"])
        fact = self._fact(tenant_id, conversation_id, channel_id)
        counters = {"csat_n": 1, "csat_sum": score, f"csat#{score}": 1}
        if fact.csat is not None:  # a new answer replaces the old one
            previous = fact.csat
            counters = {"csat_sum": score - previous, f"csat#{score}": 1, f"csat#{previous}": -1} \
                if score != previous else {}
        fact = replace(fact, csat=score)
        agent = person(d.get("assignee"))  # who held it when the customer answered (events are unordered)
        return Change(marker=f"csat#{conversation_id}#{d.get('csat_id') or event_id}", fact=fact,
                      adds=self._adds(at, self._dims(fact, channel_id, agent=agent, campaign=d.get("campaign_id")),
                                      counters))

    def _on_BroadcastGroupSent(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        count, at = int(d.get("count") or 0), instant(d.get("sent_at")) or now
        return Change(marker=f"bcs#{d['broadcast_id']}#{d['batch_id']}",
                      adds=self._adds(at, [ALL, channel_dim(str(d["channel_id"]))],
                                      {"messages_out": count, "messages_out#by#broadcast": count,
                                       "messages_out#type#template": count}))

    # -- contacts, statuses, agents --------------------------------------------------------------------------------
    def _on_ContactCreated(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        return Change(marker=f"contact#{d['contact_id']}",
                      adds=self._adds(now, [ALL], {"contacts_created": 1,
                                                   f"contacts_created#source#{d.get('source')}": 1}))

    def _on_MessageStatusChanged(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        status = str(d.get("status") or "")
        at = instant(d.get("at")) or now
        counters = {"status_updates": 1, f"status#{status}": 1}
        if status in ("failed", "refused", "unconfirmed"):
            counters[f"send_failed#code#{d.get('error_code') or status}"] = 1
        return Change(marker=f"status#{d['channel_id']}#{d['message_id']}#{status}",
                      adds=self._adds(at, [ALL, channel_dim(str(d["channel_id"]))], counters))

    def _on_AgentStatusChanged(self, tenant_id: str, d: Detail, event_id: str, now: datetime) -> Change | None:
        user_id, status = str(d["user_id"]), str(d["status"])
        at = instant(d.get("at")) or now
        mark = self._store.agent(tenant_id, user_id)
        if mark is not None and at <= mark.since:
            return None  # an older change, delivered late: its successor already closed the interval
        dims = [ALL, agent_dim(user_id)]
        adds = self._adds(at, dims, {"status_changes": 1, f"status_changes#{status}": 1})
        if mark is not None and mark.status != "offline":  # the interval the previous status lasted
            key = status_key(mark.status, mark.break_type)
            for hour, seconds in hours_between(mark.since, min(at, mark.since + MAX_STATUS_SPAN)):
                adds += self._adds(hour, dims, {key: seconds})
        return Change(marker=f"status#{user_id}#{at.isoformat()}#{status}", adds=adds,
                      agent=AgentMark(user_id=user_id, status=status, since=at, break_type=d.get("break_type"),
                                      version=mark.version if mark else -1))

    # -- reading ----------------------------------------------------------------------------------------------
    def report(self, tenant_id: str, name: str, *, start: date, end: date, time_zone: str,
               channel: str | None = None, campaign: str | None = None, agent: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
        """A report over the local days [start, end] in `time_zone`: totals and one entry per day."""
        if name not in REPORTS:
            raise InvalidInput(f"unknown report {name!r}; one of {', '.join(REPORTS)}")
        filters = {k: v for k, v in (("channel", channel), ("campaign", campaign), ("agent", agent)) if v}
        if len(filters) > 1:
            raise InvalidInput("filter by one of channel, campaign (team) or agent at a time")
        window = Window.of(start, end, time_zone)
        if name in ("agents", "users"):
            return self._per_agent(tenant_id, name, window, agent, now or datetime.now(UTC))
        dim = (channel_dim(channel) if channel else campaign_dim(campaign) if campaign
               else agent_dim(agent) if agent else ALL)
        days = self._days(tenant_id, window, dim)
        totals = _summed(days.values())
        shape = SHAPES[name]
        series = [{"date": day.isoformat(), **shape(days.get(day, {}))} for day in window.days()]
        return {"report": name, "from": start.isoformat(), "to": end.isoformat(), "time_zone": time_zone,
                "filter": filters, "totals": shape(totals), "series": series}

    def totals(self, tenant_id: str, window: Window, dim: str = ALL) -> dict[str, int]:
        """The window's counters of one dimension (default: the whole tenant), summed."""
        return _summed(self._days(tenant_id, window, dim).values())

    def _days(self, tenant_id: str, window: Window, dim: str) -> dict[date, dict[str, int]]:
        days: dict[date, dict[str, int]] = {}
        for dimension, local_day, counters in self._read(tenant_id, window, dim + "#"):
            if dimension == dim:
                _merge(days.setdefault(local_day, {}), counters)
        return days

    def _read(self, tenant_id: str, window: Window, prefix: str) -> Iterable[tuple[str, date, dict[str, int]]]:
        for utc_day in window.utc_days():
            for dimension, hour, counters in self._store.buckets(tenant_id, utc_day, prefix):
                instant = datetime.combine(utc_day, time(hour), tzinfo=UTC)
                if window.start <= instant < window.end:
                    yield dimension, instant.astimezone(window.zone).date(), counters

    def _per_agent(self, tenant_id: str, name: str, window: Window, only: str | None,
                   now: datetime) -> dict[str, Any]:
        per: dict[str, dict[str, int]] = {}
        prefix = agent_dim(only) + "#" if only else "ag#"
        for dimension, _day, counters in self._read(tenant_id, window, prefix):
            if only and dimension != agent_dim(only):
                continue
            _merge(per.setdefault(dimension[3:], {}), counters)
        if name == "users":
            marks = [m for m in self._store.agents(tenant_id) if not only or m.user_id == only]
            for mark in marks:  # the status each agent is in now has lasted since its last change: up to now
                low, high = max(mark.since, window.start), min(now, window.end, mark.since + MAX_STATUS_SPAN)
                if high > low and mark.status != "offline":
                    _merge(per.setdefault(mark.user_id, {}),
                           {status_key(mark.status, mark.break_type): int((high - low).total_seconds())})
            current = {m.user_id: {"status": m.status, "break_type": m.break_type, "since": iso_z(m.since)}
                       for m in marks}
            rows = [{"agent": user, **users_shape(c), "current": current.get(user)} for user, c in sorted(per.items())]
        else:
            rows = sorted(({"agent": user, **agent_shape(c)} for user, c in per.items()),
                          key=lambda r: (-int(r["closed"]), -int(r["assigned"]), str(r["agent"])))
            for rank, row in enumerate(rows, 1):
                row["rank"] = rank
        return {"report": name, "from": window.first.isoformat(), "to": window.last.isoformat(),
                "time_zone": window.zone.key, "filter": {"agent": only} if only else {}, "agents": rows}

    def month_operations(self, tenant_id: str, month: str) -> dict[str, int]:
        """The month's (UTC) counted operations of the tenant, for cost attribution (keys: OPERATION_COUNTERS)."""
        totals = self.totals(tenant_id, Window.of(*month_days(month), "UTC"))
        return {op: totals.get(counter, 0) for op, counter in OPERATION_COUNTERS.items()}


def fact_sentiment(fact: ConversationFact | None) -> dict[str, Any] | None:
    """The customer's sentiment over the conversation's scored messages (None before any): label, score, trend."""
    if fact is None or not fact.scored:
        return None
    from shared.services.sentiment import ScoredMessage, Sentiment, conversation_sentiment

    folded = conversation_sentiment([ScoredMessage(Sentiment(label, pos, neg, neu, mixed, "es"))  # type: ignore[arg-type]
                                     for label, pos, neg, neu, mixed in fact.scored])
    return {"label": folded.label.value, "score": round(folded.score, 3), "trend": folded.trend_direction.value,
            "messages": folded.count}


@dataclass(frozen=True)
class Window:
    """Local days [first, last] in a zone as the UTC instants [start, end)."""

    first: date
    last: date
    zone: ZoneInfo
    start: datetime
    end: datetime

    @classmethod
    def of(cls, first: date, last: date, time_zone: str) -> Window:
        if last < first:
            raise InvalidInput("'to' is before 'from'")
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
        try:
            zone = ZoneInfo(check_zone(time_zone))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        if start.minute or start.second or end.minute or end.second:
            raise InvalidInput(f"{time_zone} is not a whole number of hours from UTC on these dates; reports are "
                               "kept by the hour")
        return cls(first, last, zone, start, end)

    def utc_days(self) -> list[date]:
        day, out = self.start.date(), []
        while datetime.combine(day, time(), tzinfo=UTC) < self.end:
            out.append(day)
            day += timedelta(days=1)
        return out

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of a month given as YYYY-MM."""
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise InvalidInput(f"month must be YYYY-MM, not {month!r}") from None
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _summed(many: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counters in many:
        _merge(total, counters)
    return total


def _merge(into: dict[str, int], counters: Mapping[str, int]) -> None:
    for key, value in counters.items():
        into[key] = into.get(key, 0) + int(value)


def _avg(total: int, count: int, places: int = 1) -> float | None:
    return round(total / count, places) if count else None


def _group(c: Mapping[str, int], prefix: str) -> dict[str, int]:
    """{"a#x": 1, "a#y": 2} with prefix "a#" -> {"x": 1, "y": 2} (zeros dropped)."""
    return {k[len(prefix):]: v for k, v in sorted(c.items()) if k.startswith(prefix) and v}


def conversations_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"opened": c.get("conversations_opened", 0), "closed": c.get("conversations_closed", 0),
            "reopened": c.get("conversations_reopened", 0),
            "closed_by": _group(c, "conversations_closed#by#"),
            "handled_by": _group(c, "conversations_closed#handled#")}


def responses_shape(c: Mapping[str, int]) -> dict[str, Any]:
    by = _group(c, "response_n#by#")
    return {"first_response": {"count": c.get("first_response_n", 0),
                               "avg_s": _avg(c.get("first_response_s", 0), c.get("first_response_n", 0)),
                               "avg_business_s": _avg(c.get("first_response_bh_s", 0), c.get("first_response_n", 0)),
                               "by": _group(c, "first_response_n#by#")},
            "first_agent_response": {
                "count": c.get("first_agent_response_n", 0),
                "avg_s": _avg(c.get("first_agent_response_s", 0), c.get("first_agent_response_n", 0)),
                "avg_business_s": _avg(c.get("first_agent_response_bh_s", 0), c.get("first_agent_response_n", 0))},
            "response": {"count": c.get("response_n", 0), "avg_s": _avg(c.get("response_s", 0), c.get("response_n", 0)),
                         "avg_business_s": _avg(c.get("response_bh_s", 0), c.get("response_n", 0)),
                         "by": {k: {"count": n, "avg_s": _avg(c.get(f"response_s#by#{k}", 0), n)}
                                for k, n in by.items()}}}


def resolutions_shape(c: Mapping[str, int]) -> dict[str, Any]:
    handled = _group(c, "resolution_n#")
    return {"resolved": c.get("resolution_n", 0), "avg_resolution_s": _avg(c.get("resolution_s", 0),
                                                                         c.get("resolution_n", 0)),
            "by": {k: {"count": n, "avg_resolution_s": _avg(c.get(f"resolution_s#{k}", 0), n)}
                   for k, n in handled.items()},
            "closing_notes": _group(c, "closing_note#")}


def messages_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"in": c.get("messages_in", 0), "out": c.get("messages_out", 0),
            "in_by_type": _group(c, "messages_in#type#"), "out_by_type": _group(c, "messages_out#type#"),
            "out_by": _group(c, "messages_out#by#"), "statuses": _group(c, "status#"),
            "send_failed_by_code": _group(c, "send_failed#code#")}


def contacts_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"new": c.get("contacts_new", 0), "returning": c.get("contacts_returning", 0),
            "created": c.get("contacts_created", 0), "created_by_source": _group(c, "contacts_created#source#")}


def assignments_shape(c: Mapping[str, int]) -> dict[str, Any]:
    waits = c.get("wait_n", 0)
    return {"queued": c.get("queued", 0), "assigned": c.get("assigned", 0), "transfers": c.get("transfers", 0),
            "unassigned": c.get("unassigned", 0), "overflowed": c.get("overflowed", 0),
            "by_reason": _group(c, "assigned#reason#"), "overflow_by_reason": _group(c, "overflowed#reason#"),
            "avg_wait_s": _avg(c.get("wait_s", 0), waits),
            "service_level_percent": _avg(100 * c.get("answered_in_sla", 0), waits)}


def csat_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"answers": c.get("csat_n", 0), "avg": _avg(c.get("csat_sum", 0), c.get("csat_n", 0), 2),
            "distribution": {str(score): c.get(f"csat#{score}", 0) for score in range(1, 6)}}


def sentiment_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"messages": _group(c, "sentiment#"), "conversations": _group(c, "conversation_sentiment#")}


def bots_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"sessions": c.get("bot_sessions", 0), "by_end": _group(c, "bot_sessions#reason#"),
            "turns": c.get("bot_turns", 0), "ai_turns": c.get("bot_ai_turns", 0),
            "llm_input_tokens": _group(c, "llm_input_tokens#"), "llm_output_tokens": _group(c, "llm_output_tokens#")}


def agent_shape(c: Mapping[str, int]) -> dict[str, Any]:
    return {"assigned": c.get("assigned", 0), "closed": c.get("conversations_closed", 0),
            "transfers_in": c.get("transfers", 0), "transferred_out": c.get("transferred_out", 0),
            "messages_out": c.get("messages_out", 0),
            "avg_first_response_s": _avg(c.get("first_agent_response_s", 0), c.get("first_agent_response_n", 0)),
            "avg_response_s": _avg(c.get("response_s", 0), c.get("response_n", 0)),
            "avg_resolution_s": _avg(c.get("resolution_s", 0), c.get("resolution_n", 0)),
            "csat_avg": _avg(c.get("csat_sum", 0), c.get("csat_n", 0), 2),
            "csat_answers": c.get("csat_n", 0)}


def users_shape(c: Mapping[str, int]) -> dict[str, Any]:
    seconds = _group(c, "status_s#")
    breaks = {k[len("break#"):]: v for k, v in seconds.items() if k.startswith("break#")}
    plain = {k: v for k, v in seconds.items() if not k.startswith("break#")}
    return {"seconds": {"online": plain.get("online", 0), "busy": plain.get("busy", 0),
                        "break": plain.get("break", 0) + sum(breaks.values()), "offline": plain.get("offline", 0)},
            "breaks": breaks, "status_changes": _group(c, "status_changes#")}


SHAPES: dict[str, Callable[[Mapping[str, int]], dict[str, Any]]] = {
    "conversations": conversations_shape, "responses": responses_shape, "resolutions": resolutions_shape,
    "messages": messages_shape, "contacts": contacts_shape, "assignments": assignments_shape, "csat": csat_shape,
    "sentiment": sentiment_shape, "bots": bots_shape,
}

# What cost attribution counts per month (shared.services.costs reads these through `month_operations`).
OPERATION_COUNTERS: dict[str, str] = {
    "messages_in": "messages_in", "messages_out": "messages_out", "status_updates": "status_updates",
    "conversations_opened": "conversations_opened", "conversations_closed": "conversations_closed",
    "assignments": "assigned", "bot_sessions": "bot_sessions", "bot_turns": "bot_turns",
    "llm_input_tokens#LITE": "llm_input_tokens#LITE", "llm_output_tokens#LITE": "llm_output_tokens#LITE",
    "llm_input_tokens#PRO": "llm_input_tokens#PRO", "llm_output_tokens#PRO": "llm_output_tokens#PRO",
    "broadcast_messages": "messages_out#by#broadcast",
}
