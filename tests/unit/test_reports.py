"""Report aggregates from domain events: counts are exact under duplicates and reordering (a generated month
matches a recount), response times and business hours, resolutions, CSAT, agents' status time, and the report
windows in whole-hour time zones."""

from __future__ import annotations

import copy
import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.errors import InvalidInput
from shared.models.contact_center import Schedule, TimeRange
from shared.services.reports import (
    Add,
    AgentMark,
    CampaignRules,
    Change,
    ConversationFact,
    ReportAggregator,
    hour_of,
)
from shared.services.schedule import open_seconds

T = "acme"
WA = "ch-wa"
TG = "ch-tg"
BOGOTA = "America/Bogota"  # UTC-5 all year


class FakeReports:
    """The adapter's semantics in memory: a marker per event, versioned facts and agent marks, ADDed buckets."""

    def __init__(self) -> None:
        self.markers: set[str] = set()
        self.facts: dict[str, ConversationFact] = {}
        self.closed_rows: dict[tuple[date, str], ConversationFact] = {}
        self.threads: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.contacts: set[str] = set()
        self.marks: dict[str, AgentMark] = {}
        self.counters: dict[tuple[date, str, int], Counter[str]] = defaultdict(Counter)
        self.commits = 0

    def fact(self, tenant_id: str, conversation_id: str) -> ConversationFact | None:
        return self.facts.get(conversation_id)

    def thread(self, tenant_id: str, channel_id: str, contact_key: str) -> tuple[str, datetime] | None:
        return self.threads.get((channel_id, contact_key))

    def contact_seen(self, tenant_id: str, contact: str) -> bool:
        return contact in self.contacts

    def agent(self, tenant_id: str, user_id: str) -> AgentMark | None:
        return self.marks.get(user_id)

    def agents(self, tenant_id: str) -> list[AgentMark]:
        return list(self.marks.values())

    def commit(self, tenant_id: str, change: Change) -> bool | None:
        if change.marker in self.markers:
            return False
        if change.fact is not None:
            stored = self.facts.get(change.fact.conversation_id)
            if (stored.version if stored else -1) != change.fact.version:
                return None
        if change.contact is not None and change.contact in self.contacts:
            return None
        if change.agent is not None:
            stored_mark = self.marks.get(change.agent.user_id)
            if (stored_mark.version if stored_mark else -1) != change.agent.version:
                return None
        self.commits += 1
        self.markers.add(change.marker)
        if change.fact is not None:
            fact = replace(change.fact, version=change.fact.version + 1)
            self.facts[fact.conversation_id] = fact
            if fact.closed_at is not None:
                self.closed_rows[(fact.closed_at.date(), fact.conversation_id)] = fact
            if change.reopened_from is not None:
                self.closed_rows.pop((change.reopened_from, fact.conversation_id), None)
        if change.thread is not None:
            channel_id, contact_key, conversation_id, opened_at = change.thread
            self.threads[(channel_id, contact_key)] = (conversation_id, opened_at)
        if change.contact is not None:
            self.contacts.add(change.contact)
        if change.agent is not None:
            self.marks[change.agent.user_id] = replace(change.agent, version=change.agent.version + 1)
        for add in change.adds:
            hour = add.hour.astimezone(UTC)
            self.counters[(hour.date(), add.dim, hour.hour)].update(add.counters)
        return True

    def buckets(self, tenant_id: str, day: date, prefix: str) -> list[tuple[str, int, dict[str, int]]]:
        return [(dim, hour, dict(c)) for (d, dim, hour), c in self.counters.items()
                if d == day and f"{dim}#{hour:02d}".startswith(prefix)]  # the adapter's sort key

    def closed(self, tenant_id: str, day: date) -> list[ConversationFact]:
        return [f for (d, _), f in self.closed_rows.items() if d == day]


NINE_TO_SIX = Schedule(time_zone=BOGOTA, weekly={d: [TimeRange(start="09:00", end="18:00")]
                                                 for d in ("mon", "tue", "wed", "thu", "fri")})
CAMPAIGNS = {"ventas": CampaignRules(NINE_TO_SIX, sla_threshold_s=120), "soporte": CampaignRules(None, 60)}


def aggregator(store: FakeReports | None = None) -> ReportAggregator:
    return ReportAggregator(store or FakeReports(), campaigns=lambda t, c: CAMPAIGNS.get(c))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Events:
    """Builds the events one conversation produces, each with an EventBridge id and time."""

    def __init__(self) -> None:
        self.out: list[tuple[str, dict[str, Any], str, datetime]] = []
        self.seq = 0

    def add(self, detail_type: str, at: datetime, **detail: Any) -> None:
        self.seq += 1
        self.out.append((detail_type, {"tenant_id": T, **detail}, f"ev-{self.seq}", at))

    def opened(self, at: datetime, conv: str, contact: str, channel: str = WA) -> None:
        self.add("ConversationOpened", at, channel_id=channel, conversation_id=conv, contact_key=contact,
                 contact_id=f"ct-{contact}", opened_by_message_id=f"m-{conv}-0", opened_at=iso(at))

    def customer(self, at: datetime, conv: str, contact: str, n: int, text: str = "hola", channel: str = WA,
                 kind: str = "text") -> None:
        self.add("MessageReceived", at, channel_id=channel, conversation_id=conv, contact_key=contact,
                 message_id=f"m-{conv}-{n}", reply_to_address=contact, message_type=kind, text=text,
                 sent_at=iso(at))

    def reply(self, at: datetime, conv: str, contact: str, n: int, origin: str, channel: str = WA) -> None:
        self.add("MessageSent", at, channel_id=channel, message_id=f"out-{conv}-{n}", contact_key=contact,
                 origin=origin, message_type="text", sent_at=iso(at))

    def assigned(self, at: datetime, conv: str, agent: str, campaign: str, wait_s: int, reason: str = "queue",
                 previous: str | None = None, channel: str = WA) -> None:
        self.add("ConversationAssigned", at, channel_id=channel, conversation_id=conv, campaign_id=campaign,
                 assignee=agent, reason=reason, wait_s=wait_s, previous_assignee=previous)

    def closed(self, at: datetime, conv: str, contact: str, by: str, campaign: str | None = None,
               agent: str | None = None, channel: str = WA) -> None:
        self.add("ConversationClosed", at, channel_id=channel, conversation_id=conv, contact_key=contact,
                 closed_at=iso(at), closed_by=by, campaign_id=campaign, assignee=agent)


def feed(agg: ReportAggregator, events: list[tuple[str, dict[str, Any], str, datetime]]) -> list[str]:
    return [agg.on_event(t, d, event_id=i, event_time=at) for t, d, i, at in events]


def report(agg: ReportAggregator, name: str, start: date, end: date, tz: str = BOGOTA, **filters: Any
           ) -> dict[str, Any]:
    return agg.report(T, name, start=start, end=end, time_zone=tz, now=datetime(2026, 12, 31, tzinfo=UTC),
                      **filters)


# -- response times and business hours ----------------------------------------------------------------------------

MON = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # Monday 09:00 in Bogotá


def test_first_response_agent_response_and_response_times_come_from_the_conversation() -> None:
    agg = aggregator()
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.reply(MON + timedelta(seconds=5), "c1", "57300", 1, "bot:b1")  # the bot answers in 5 s
    e.customer(MON + timedelta(seconds=60), "c1", "57300", 1)
    e.customer(MON + timedelta(seconds=70), "c1", "57300", 2)  # still unanswered: the earliest counts
    e.add("ConversationQueued", MON + timedelta(seconds=80), channel_id=WA, conversation_id="c1",
          campaign_id="ventas", position=1, reason="handoff")
    e.assigned(MON + timedelta(seconds=200), "c1", "ana", "ventas", wait_s=120)
    e.reply(MON + timedelta(seconds=260), "c1", "57300", 2, "user:ana")
    e.closed(MON + timedelta(seconds=600), "c1", "57300", "user:ana", "ventas", "ana")
    assert set(feed(agg, e.out)) == {"counted"}

    day = MON.date()
    responses = report(agg, "responses", day, day)["totals"]
    assert responses["first_response"] == {"count": 1, "avg_s": 5.0, "avg_business_s": 5.0, "by": {"bot": 1}}
    # waiting for people since the queue (80 s; the assignment says it waited 120 s since 80 s): 180 s
    assert responses["first_agent_response"]["count"] == 1
    assert responses["first_agent_response"]["avg_s"] == 180.0
    # two replies: the bot's after 5 s, ana's 200 s after the customer's earliest unanswered message (at 60 s)
    assert responses["response"]["count"] == 2
    assert responses["response"]["by"] == {"agent": {"count": 1, "avg_s": 200.0}, "bot": {"count": 1, "avg_s": 5.0}}

    resolutions = report(agg, "resolutions", day, day)["totals"]
    assert resolutions["resolved"] == 1 and resolutions["avg_resolution_s"] == 600.0
    assert resolutions["by"] == {"agent": {"count": 1, "avg_resolution_s": 600.0}}
    board = report(agg, "agents", day, day)["agents"]
    assert board[0]["agent"] == "ana" and board[0]["closed"] == 1 and board[0]["avg_first_response_s"] == 180.0


def test_business_hours_count_only_the_campaigns_opening_hours() -> None:
    # Friday 17:55 in Bogotá, answered Monday 09:05: 5 minutes on Friday + 5 on Monday
    friday = datetime(2026, 11, 20, 22, 55, tzinfo=UTC)
    monday = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    assert open_seconds(NINE_TO_SIX, friday, monday) == 600
    assert open_seconds(Schedule(), friday, monday) == int((monday - friday).total_seconds())
    holiday = Schedule(time_zone=BOGOTA, weekly=NINE_TO_SIX.weekly, holidays=[date(2026, 11, 23)])
    assert open_seconds(holiday, friday, monday) == 300

    agg = aggregator()
    e = Events()
    e.opened(friday, "c1", "57300")
    e.customer(friday, "c1", "57300", 0)
    e.assigned(friday, "c1", "ana", "ventas", wait_s=0, reason="take")
    e.reply(monday, "c1", "57300", 1, "user:ana")
    feed(agg, e.out)
    totals = report(agg, "responses", friday.date() - timedelta(days=1), monday.date())["totals"]
    assert totals["first_response"]["avg_s"] == (monday - friday).total_seconds()
    assert totals["first_response"]["avg_business_s"] == 600.0
    assert totals["response"]["avg_business_s"] == 600.0


def test_a_reply_processed_before_the_message_it_answers_is_not_paired_with_it() -> None:
    agg = aggregator()
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.reply(MON + timedelta(seconds=30), "c1", "57300", 1, "user:ana")
    e.customer(MON + timedelta(seconds=20), "c1", "57300", 1)  # sent before the reply, processed after it
    feed(agg, e.out)
    totals = report(agg, "responses", MON.date(), MON.date())["totals"]
    assert totals["response"]["count"] == 1  # the first message's reply; no invented sample for the late one
    assert report(agg, "messages", MON.date(), MON.date())["totals"]["in"] == 2


def test_broadcasts_and_automations_are_messages_out_not_replies() -> None:
    agg = aggregator()
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.reply(MON + timedelta(seconds=3), "c1", "57300", 1, "workflow:x")
    e.reply(MON + timedelta(seconds=4), "c1", "57300", 2, "broadcast:b1")
    feed(agg, e.out)
    messages = report(agg, "messages", MON.date(), MON.date())["totals"]
    assert messages["out"] == 2 and messages["out_by"] == {"automation": 1, "broadcast": 1}
    assert report(agg, "responses", MON.date(), MON.date())["totals"]["response"]["count"] == 0
    assert agg.month_operations(T, "2026-11")["broadcast_messages"] == 1


# -- exactly once, CSAT, reopen ----------------------------------------------------------------------------------

def test_redelivered_events_count_once_and_a_new_csat_answer_replaces_the_old_one() -> None:
    store = FakeReports()
    agg = aggregator(store)
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.assigned(MON, "c1", "ana", "soporte", wait_s=30)
    e.closed(MON + timedelta(minutes=5), "c1", "57300", "user:ana", "soporte", "ana")
    e.add("CsatRecorded", MON + timedelta(minutes=6), channel_id=WA, conversation_id="c1", score=2, csat_id="a1",
          recorded_at=iso(MON + timedelta(minutes=6)), recorded_by="workflow:w")
    feed(agg, e.out)
    assert feed(agg, e.out) == ["duplicate"] * len(e.out)
    csat = report(agg, "csat", MON.date(), MON.date(), agent="ana")["totals"]
    assert csat == {"answers": 1, "avg": 2.0, "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}}
    agg.on_event("CsatRecorded", {"tenant_id": T, "channel_id": WA, "conversation_id": "c1", "score": 5,
                                  "csat_id": "a2", "recorded_at": iso(MON + timedelta(minutes=7))},
                 event_id="x", event_time=MON)
    csat = report(agg, "csat", MON.date(), MON.date(), campaign="soporte")["totals"]
    assert csat == {"answers": 1, "avg": 5.0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    assert store.closed(T, MON.date())[0].csat == 5  # the export row follows the answer
    conversations = report(agg, "conversations", MON.date(), MON.date())["totals"]
    assert conversations["opened"] == 1 and conversations["closed"] == 1


def test_a_reopen_removes_the_closed_row_and_the_second_close_counts_again() -> None:
    store = FakeReports()
    agg = aggregator(store)
    e = Events()
    e.opened(MON, "c1", "57300")
    e.closed(MON + timedelta(minutes=5), "c1", "57300", "bot:b1")
    e.add("ConversationReopened", MON + timedelta(days=1), channel_id=WA, conversation_id="c1", reopened_by="user:a")
    feed(agg, e.out)
    assert store.closed(T, MON.date()) == []
    agg.on_event("ConversationClosed", {"tenant_id": T, "channel_id": WA, "conversation_id": "c1",
                                        "closed_at": iso(MON + timedelta(days=2)), "closed_by": "user:ana"},
                 event_id="close-2")
    assert [f.closed_by for f in store.closed(T, (MON + timedelta(days=2)).date())] == ["agent"]
    totals = report(agg, "conversations", MON.date(), MON.date() + timedelta(days=2))["totals"]
    assert totals["closed"] == 2 and totals["reopened"] == 1 and totals["closed_by"] == {"agent": 1, "bot": 1}


def test_returning_contacts_are_told_from_new_ones() -> None:
    agg = aggregator()
    e = Events()
    e.opened(MON, "c1", "57300")
    e.opened(MON + timedelta(hours=2), "c2", "57300")
    e.opened(MON + timedelta(hours=3), "c3", "57301")
    feed(agg, e.out)
    assert report(agg, "contacts", MON.date(), MON.date())["totals"]["new"] == 2
    assert report(agg, "contacts", MON.date(), MON.date())["totals"]["returning"] == 1


# -- agents' status time -----------------------------------------------------------------------------------------

def status_event(agg: ReportAggregator, user: str, status: str, at: datetime, break_type: str | None = None) -> str:
    return agg.on_event("AgentStatusChanged", {"tenant_id": T, "user_id": user, "status": status,
                                               "break_type": break_type, "at": iso(at), "by": f"user:{user}"},
                        event_id=f"{user}-{at.isoformat()}")


def test_status_time_is_split_by_hour_and_breaks_are_told_apart() -> None:
    agg = aggregator()
    start = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)  # 08:30 Bogotá
    status_event(agg, "ana", "online", start)
    status_event(agg, "ana", "break", start + timedelta(hours=2), "almuerzo")
    status_event(agg, "ana", "online", start + timedelta(hours=2, minutes=45))
    assert status_event(agg, "ana", "break", start + timedelta(hours=1), "baño") == "ignored"  # older: dropped
    status_event(agg, "ana", "offline", start + timedelta(hours=8))
    status_event(agg, "ana", "online", start + timedelta(days=1))  # offline time is not counted
    users = report(agg, "users", start.date(), start.date(), agent="ana")
    row = users["agents"][0]
    assert row["seconds"] == {"online": 2 * 3600 + 5 * 3600 + 15 * 60, "busy": 0, "break": 45 * 60, "offline": 0}
    assert row["breaks"] == {"almuerzo": 45 * 60}
    assert row["current"]["status"] == "online"


def test_a_status_longer_than_36_hours_counts_36() -> None:
    agg = aggregator()
    start = datetime(2026, 11, 16, 12, tzinfo=UTC)
    status_event(agg, "ana", "online", start)
    status_event(agg, "ana", "offline", start + timedelta(days=5))
    row = report(agg, "users", start.date(), start.date() + timedelta(days=6))["agents"][0]
    assert row["seconds"]["online"] == 36 * 3600


# -- windows ----------------------------------------------------------------------------------------------------

def test_report_windows_reject_what_hourly_buckets_cannot_answer() -> None:
    agg = aggregator()
    day = date(2026, 11, 16)
    with pytest.raises(InvalidInput, match="whole number of hours"):
        report(agg, "conversations", day, day, tz="Asia/Kolkata")
    with pytest.raises(InvalidInput, match="one of channel"):
        report(agg, "conversations", day, day, channel=WA, agent="ana")
    with pytest.raises(InvalidInput, match="unknown report"):
        report(agg, "nope", day, day)
    with pytest.raises(InvalidInput, match="before"):
        report(agg, "conversations", day, day - timedelta(days=1))
    with pytest.raises(InvalidInput):
        report(agg, "conversations", day, day, tz="Mars/Olympus")


def test_a_day_in_another_zone_is_a_different_set_of_hours() -> None:
    agg = aggregator()
    e = Events()
    late = datetime(2026, 11, 17, 3, 30, tzinfo=UTC)  # 22:30 on the 16th in Bogotá, the 17th in UTC
    e.opened(late, "c1", "57300")
    feed(agg, e.out)
    assert report(agg, "conversations", date(2026, 11, 16), date(2026, 11, 16))["totals"]["opened"] == 1
    assert report(agg, "conversations", date(2026, 11, 17), date(2026, 11, 17), tz="UTC")["totals"]["opened"] == 1
    assert report(agg, "conversations", date(2026, 11, 16), date(2026, 11, 16), tz="UTC")["totals"]["opened"] == 0
    series = report(agg, "conversations", date(2026, 11, 15), date(2026, 11, 17))["series"]
    assert [s["opened"] for s in series] == [0, 1, 0]


# -- a generated month against a recount ----------------------------------------------------------------------------

Delivery = tuple[str, dict[str, Any], str, datetime]  # detail-type, detail, event id, event time


def generate_month(seed: int, conversations: int = 220) -> tuple[list[Delivery], dict[str, Any]]:
    """A month of conversations (bots, agents, transfers, CSAT), with the truth recounted from the same raw
    scenario by plain loops."""
    rng = random.Random(seed)
    e = Events()
    truth: dict[str, Any] = {"opened": Counter(), "closed": Counter(), "in": Counter(), "out": Counter(),
                             "assigned": Counter(), "closed_by_agent": Counter(), "csat": defaultdict(list),
                             "transfers": 0, "in_by_channel": Counter(), "returning": 0, "new": 0}
    zone = ZoneInfo(BOGOTA)
    seen: set[str] = set()
    contacts = [f"573{n:05d}" for n in range(40)]
    agents = ["ana", "beto", "caro"]
    free: dict[tuple[str, str], datetime] = {}  # a thread has one conversation at a time
    for n in range(conversations):
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 27 * 24 * 60))
        contact, channel = rng.choice(contacts), rng.choice([WA, WA, TG])
        start = max(start, free.get((contact, channel), start))
        conv = f"c{n}"
        local = start.astimezone(zone).date()
        e.opened(start, conv, contact, channel)
        truth["opened"][local] += 1
        ref = f"ct-{contact}"
        truth["returning" if ref in seen else "new"] += 1
        seen.add(ref)
        at = start
        agent = None
        for m in range(rng.randrange(1, 5)):
            e.customer(at, conv, contact, m, channel=channel)
            truth["in"][at.astimezone(zone).date()] += 1
            truth["in_by_channel"][channel] += 1
            at += timedelta(seconds=rng.randrange(2, 400))
            origin = "bot:b1"
            if m == 1 and rng.random() < 0.6:
                agent = rng.choice(agents)
                e.assigned(at, conv, agent, rng.choice(["ventas", "soporte"]), wait_s=rng.randrange(0, 300),
                           channel=channel)
                truth["assigned"][agent] += 1
                if rng.random() < 0.2:
                    previous, agent = agent, rng.choice([a for a in agents if a != agent])
                    e.assigned(at + timedelta(seconds=1), conv, agent, "soporte", wait_s=0, reason="transfer",
                               previous=previous, channel=channel)
                    truth["assigned"][agent] += 1
                    truth["transfers"] += 1
            if agent:
                origin = f"user:{agent}"
            e.reply(at, conv, contact, m, origin, channel=channel)
            truth["out"][at.astimezone(zone).date()] += 1
            at += timedelta(seconds=rng.randrange(5, 900))
        closed_at = at + timedelta(minutes=rng.randrange(1, 120))
        free[(contact, channel)] = closed_at + timedelta(minutes=1)
        if rng.random() < 0.85:
            e.closed(closed_at, conv, contact, f"user:{agent}" if agent else "bot:b1", channel=channel,
                     agent=agent)
            truth["closed"][closed_at.astimezone(zone).date()] += 1
            if agent:
                truth["closed_by_agent"][agent] += 1
                if rng.random() < 0.5:
                    score = rng.randrange(1, 6)
                    e.add("CsatRecorded", closed_at + timedelta(minutes=1), channel_id=channel, conversation_id=conv,
                          score=score, csat_id=f"a-{conv}", recorded_at=iso(closed_at + timedelta(minutes=1)),
                          recorded_by="workflow:w", assignee=agent)
                    truth["csat"][agent].append(score)
    return e.out, truth


@pytest.mark.parametrize("seed", range(6))
def test_a_generated_month_matches_a_recount_despite_duplicates_and_reordering(seed: int) -> None:
    events, truth = generate_month(seed)
    rng = random.Random(1000 + seed)
    delivered = events + rng.sample(events, len(events) // 5)  # at-least-once
    if seed % 2:
        rng.shuffle(delivered)  # any order: counts must not care
    else:
        delivered.sort(key=lambda x: x[3])  # by time (the duplicates land next to their originals)
    agg = aggregator()
    outcomes = feed(agg, [copy.deepcopy(x) for x in delivered])
    assert outcomes.count("counted") == len(events)
    first, last = date(2026, 10, 31), date(2026, 12, 31)
    conversations = report(agg, "conversations", first, last)
    assert {s["date"]: s["opened"] for s in conversations["series"] if s["opened"]} == \
        {d.isoformat(): n for d, n in truth["opened"].items()}
    assert {s["date"]: s["closed"] for s in conversations["series"] if s["closed"]} == \
        {d.isoformat(): n for d, n in truth["closed"].items()}
    messages = report(agg, "messages", first, last)
    assert {s["date"]: s["in"] for s in messages["series"] if s["in"]} == \
        {d.isoformat(): n for d, n in truth["in"].items()}
    assert messages["totals"]["out"] == sum(truth["out"].values())
    for channel in (WA, TG):
        assert report(agg, "messages", first, last, channel=channel)["totals"]["in"] == truth["in_by_channel"][channel]
    contacts = report(agg, "contacts", first, last)["totals"]
    if seed % 2 == 0:  # new vs returning depends on which conversation is seen first
        assert (contacts["new"], contacts["returning"]) == (truth["new"], truth["returning"])
    assert contacts["new"] + contacts["returning"] == sum(truth["opened"].values())
    assert report(agg, "assignments", first, last)["totals"]["transfers"] == truth["transfers"]
    board = {row["agent"]: row for row in report(agg, "agents", first, last)["agents"]}
    for agent, assigned in truth["assigned"].items():
        assert board[agent]["assigned"] == assigned
        assert board[agent]["closed"] == truth["closed_by_agent"][agent]
        scores = truth["csat"][agent]
        assert board[agent]["csat_answers"] == len(scores)
        if scores:
            assert board[agent]["csat_avg"] == round(sum(scores) / len(scores), 2)
    if seed % 2 == 0:  # in order: every reply follows its message, so every reply is a response sample
        assert report(agg, "responses", first, last)["totals"]["response"]["count"] == sum(truth["out"].values())


def test_buckets_land_in_the_events_hour() -> None:
    agg = aggregator()
    store = agg._store
    assert isinstance(store, FakeReports)
    at = datetime(2026, 11, 16, 14, 59, 59, tzinfo=UTC)
    Events_ = Events()
    Events_.opened(at, "c1", "57300")
    feed(agg, Events_.out)
    assert {(d, dim, h) for d, dim, h in store.counters} == {(at.date(), "all#-", 14), (at.date(), "ch#ch-wa", 14)}
    assert hour_of(at) == datetime(2026, 11, 16, 14, tzinfo=UTC)
    assert Add(hour_of(at), "all#-", {"x": 1}).counters == {"x": 1}


def test_workflows_see_the_conversations_sentiment_so_far() -> None:
    from types import SimpleNamespace

    from shared.services.reports import fact_sentiment
    from shared.services.workflow_actions import PlatformWorkflowActions

    store = FakeReports()
    agg = ReportAggregator(store, campaigns=lambda t, c: None, analyzer=_lexicon)
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0, text="Hola, quiero saber de mi pedido")
    e.customer(MON + timedelta(minutes=1), "c1", "57300", 1, text="Es un desastre, nadie me responde, pésimo")
    feed(agg, e.out)
    assert fact_sentiment(None) is None
    found = fact_sentiment(store.facts["c1"])
    assert found is not None and found["label"] == "NEGATIVE" and found["messages"] == 2
    conversation = SimpleNamespace(model_dump=lambda **kw: {"conversation_id": "c1", "status": "open"})
    actions = PlatformWorkflowActions(
        contacts=None, conversations=SimpleNamespace(get=lambda t, c: conversation), threads=None,
        directory=None, outbound=None, routing=None, center=None, notes=None, events=None, bots=None,  # type: ignore[arg-type]
        mailer=None, email_sender=None, integrations=lambda: None, segments=None,  # type: ignore[arg-type]
        clock=lambda: MON, round_robin=lambda t, c, m: m[0],
        sentiment=lambda t, c: fact_sentiment(store.fact(t, c)))
    view = actions.conversation(T, "c1")
    assert view is not None and view["sentiment"]["label"] == "NEGATIVE"  # branch on conversation.sentiment.label


def _lexicon() -> Any:
    from shared.adapters.lexicon_sentiment import LexiconSentiment

    return LexiconSentiment()


def test_a_bots_reply_after_an_assignment_is_not_the_agents() -> None:
    agg = aggregator()
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.assigned(MON + timedelta(seconds=10), "c1", "ana", "soporte", wait_s=10)
    e.reply(MON + timedelta(seconds=20), "c1", "57300", 1, "bot:b1")
    e.customer(MON + timedelta(seconds=30), "c1", "57300", 1)
    e.reply(MON + timedelta(seconds=90), "c1", "57300", 2, "user:ana")
    feed(agg, e.out)
    [ana] = report(agg, "agents", MON.date(), MON.date())["agents"]
    assert ana["messages_out"] == 1 and ana["avg_response_s"] == 60.0  # only her reply, 60 s after the message


def test_campaign_rules_are_read_once_a_minute_per_campaign() -> None:
    from types import SimpleNamespace

    from shared.adapters.dynamodb_reports import CachedCampaignRules

    reads: list[str] = []
    campaign = SimpleNamespace(schedule=NINE_TO_SIX, sla_threshold_s=45)
    center = SimpleNamespace(get_campaign=lambda t, c: reads.append(c) or (campaign if c == "ventas" else None))
    clock = [0.0]
    rules = CachedCampaignRules(center, clock=lambda: clock[0])
    assert rules(T, "ventas") == CampaignRules(NINE_TO_SIX, 45) and rules(T, "ventas") is not None
    assert rules(T, "nope") is None and rules(T, "nope") is None
    assert reads == ["ventas", "nope"]
    clock[0] = 61.0
    rules(T, "ventas")
    assert reads == ["ventas", "nope", "ventas"]


def test_a_broadcast_group_counts_its_sends_once() -> None:
    agg = aggregator()
    group = {"tenant_id": T, "channel_id": WA, "broadcast_id": "bc1", "batch_id": "b-1", "count": 50,
             "sent_at": iso(MON)}
    assert agg.on_event("BroadcastGroupSent", group, event_id="e1") == "counted"
    assert agg.on_event("BroadcastGroupSent", group, event_id="e1") == "duplicate"
    agg.on_event("BroadcastGroupSent", {**group, "batch_id": "b-2", "count": 7}, event_id="e2")
    messages = report(agg, "messages", MON.date(), MON.date(), channel=WA)["totals"]
    assert messages["out"] == 57 and messages["out_by"] == {"broadcast": 57} and messages["out_by_type"] == {
        "template": 57}
    assert agg.month_operations(T, "2026-11")["broadcast_messages"] == 57
