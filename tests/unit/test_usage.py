"""Sessions and Meta charges counted from domain events: the seeds' example (three contacts in one day), bot and
AI sessions, idle sessions, redelivery and reordering, per-message pricing with the rate card, and the 24-hour
windows of the older conversation-based model beside it; a random stream checked against a recount."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.services.rate_card import RateCard
from shared.services.usage import Add, Pricing, SessionMark, UsageMeter

T = "acme"
WA = "acme-wa"
AR = "5491122334455"  # Argentina
MX = "5215512345678"  # Mexico
DAY = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


class FakeUsage:
    def __init__(self) -> None:
        self.sessions: dict[tuple[str, str, str], SessionMark] = {}
        self.windows: dict[tuple[str, str, str], datetime] = {}
        self.priced: set[tuple[str, str]] = set()
        self.counters: dict[tuple[str, str, str], dict[str, int]] = {}

    def _add(self, tenant_id: str, add: Add) -> None:
        bucket = self.counters.setdefault((tenant_id, add.month, add.channel_id), {})
        for key, value in add.counters.items():
            bucket[key] = bucket.get(key, 0) + value

    def session(self, tenant_id: str, channel_id: str, contact_key: str) -> SessionMark | None:
        return self.sessions.get((tenant_id, channel_id, contact_key))

    def save_session(self, tenant_id: str, mark: SessionMark, *, expected_version: int | None,
                     adds: Sequence[Add] = ()) -> bool:
        key = (tenant_id, mark.channel_id, mark.contact_key)
        current = self.sessions.get(key)
        if (current.version if current else None) != expected_version:
            return False
        self.sessions[key] = mark
        for add in adds:
            self._add(tenant_id, add)
        return True

    def cbp_window(self, tenant_id: str, channel_id: str, contact_key: str, category: str) -> datetime | None:
        return self.windows.get((tenant_id, channel_id, f"{contact_key}#{category}"))

    def price_once(self, tenant_id: str, priced: Pricing, *, add: Add,
                   window: tuple[datetime | None, datetime] | None) -> bool | None:
        if (tenant_id, priced.provider_message_id) in self.priced:
            return False
        key = (tenant_id, priced.channel_id, f"{priced.contact_key}#{priced.category}")
        if window is not None:
            if self.windows.get(key) != window[0]:
                return None
            self.windows[key] = window[1]
        self.priced.add((tenant_id, priced.provider_message_id))
        self._add(tenant_id, add)
        return True

    def month(self, tenant_id: str, month: str) -> dict[str, dict[str, int]]:
        return {c: dict(v) for (t, m, c), v in self.counters.items() if t == tenant_id and m == month}


@pytest.fixture
def meter() -> UsageMeter:
    return UsageMeter(FakeUsage())


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def message(at: datetime, *, contact: str = AR, conversation: str = "cv-1", channel: str = WA,
            message_id: str | None = None, message_type: str = "text") -> dict[str, Any]:
    return {"tenant_id": T, "channel_id": channel, "contact_key": contact, "conversation_id": conversation,
            "message_id": message_id or f"wamid.{next(_ids)}", "message_type": message_type, "sent_at": iso(at)}


def bot_ended(at: datetime, reason: str, *, contact: str = AR, conversation: str = "cv-1", ai_turns: int = 0,
              tier: str | None = None) -> dict[str, Any]:
    return {"tenant_id": T, "channel_id": WA, "contact_key": contact, "conversation_id": conversation,
            "reason": reason, "ended_at": iso(at), "ai_turns": ai_turns, "llm_tier": tier}


def closed(at: datetime, by: str = "user:ag-1", *, contact: str = AR, conversation: str = "cv-1") -> dict[str, Any]:
    return {"tenant_id": T, "channel_id": WA, "contact_key": contact, "conversation_id": conversation,
            "closed_at": iso(at), "closed_by": by}


def status(at: datetime, category: str, *, contact: str = AR, provider_id: str | None = None,
           pricing_type: str = "regular", value: str = "delivered") -> dict[str, Any]:
    return {"tenant_id": T, "channel_id": WA, "contact_key": contact, "message_id": f"m-{next(_ids)}",
            "provider_message_id": provider_id or f"wamid.out.{next(_ids)}", "status": value, "at": iso(at),
            "pricing_model": "PMP", "pricing_type": pricing_type, "pricing_category": category,
            "billable": pricing_type == "regular"}


def usage(meter: UsageMeter, month: str = "2026-11") -> dict[str, Any]:
    return meter.monthly(T, month)


# --- the seeds' example --------------------------------------------------------------------------------------

def test_three_contacts_in_one_day_are_three_sessions_but_one_meta_service_window(meter: UsageMeter) -> None:
    for hour, (conversation, end) in zip((9, 13, 18), (("cv-1", "bot"), ("cv-2", "agent"), ("cv-3", "idle")),
                                         strict=True):
        at = DAY.replace(hour=hour)
        assert meter.on_event("MessageReceived", message(at, conversation=conversation)) == "started"
        meter.on_event("MessageStatusChanged", status(at + timedelta(seconds=5), "service",
                                                      pricing_type="free_customer_service"))
        if end == "bot":
            meter.on_event("BotSessionEnded", bot_ended(at + timedelta(minutes=2), "solved", conversation=conversation))
        elif end == "agent":
            meter.on_event("ConversationClosed", closed(at + timedelta(minutes=20), conversation=conversation))
    report = usage(meter)
    assert report["sessions"]["total"] == 3
    assert report["sessions"]["ended"] == {"agent": 1, "bot": 1}
    assert (report["sessions"]["no_bot"], report["sessions"]["bot_only"], report["sessions"]["not_ended"]) == (2, 1, 1)
    meta = report["meta"]
    assert meta["messages"] == {"service": 3} and meta["billable"] == {} and meta["total_cost_usd"] == "0.0000"
    assert meta["cbp_windows"] == {"service": 1} and meta["user_initiated"] == 3
    # the next day the customer writes again after 24 idle hours: the third session ended idle, a fourth starts
    meter.on_event("MessageReceived", message(DAY.replace(hour=18) + timedelta(hours=25), conversation="cv-3"))
    meter.on_event("MessageStatusChanged", status(DAY.replace(hour=18) + timedelta(hours=25, seconds=5), "service",
                                                  pricing_type="free_customer_service"))
    report = usage(meter)
    assert report["sessions"]["total"] == 4 and report["sessions"]["ended"]["idle"] == 1
    assert report["meta"]["cbp_windows"] == {"service": 2}


def test_messages_of_one_session_continue_it_and_redeliveries_count_once(meter: UsageMeter) -> None:
    first = message(DAY)
    assert meter.on_event("MessageReceived", first) == "started"
    assert meter.on_event("MessageReceived", first) == "duplicate"
    assert meter.on_event("MessageReceived", message(DAY + timedelta(minutes=3))) == "continued"
    # a message of the same open conversation sent before the first one, delivered late: part of this session
    assert meter.on_event("MessageReceived", message(DAY - timedelta(seconds=30))) == "continued"
    assert meter.on_event("MessageReceived", message(DAY, message_type="reaction")) == "ignored"
    end = closed(DAY + timedelta(minutes=10))
    assert meter.on_event("ConversationClosed", end) == "ended"
    assert meter.on_event("ConversationClosed", end) == "no_session"  # redelivered: already ended
    # a message sent before the close but delivered after it belongs to the ended session
    assert meter.on_event("MessageReceived", message(DAY + timedelta(minutes=9))) == "earlier"
    assert usage(meter)["sessions"]["total"] == 1


def test_after_a_close_the_next_conversation_is_a_new_session_even_within_the_same_second(
        meter: UsageMeter) -> None:
    # provider timestamps have whole seconds: the next message can carry a time before the close's
    meter.on_event("MessageReceived", message(DAY))
    meter.on_event("ConversationClosed", closed(DAY + timedelta(seconds=4, milliseconds=600)))
    assert meter.on_event("MessageReceived", message(DAY + timedelta(seconds=4), conversation="cv-2")) == "started"
    # while a late message of the closed conversation stays in the ended session
    assert meter.on_event("MessageReceived", message(DAY + timedelta(seconds=3))) == "earlier"
    assert usage(meter)["sessions"]["total"] == 2


def test_a_new_conversation_before_the_old_ones_close_is_counted_ends_the_old_session(meter: UsageMeter) -> None:
    meter.on_event("MessageReceived", message(DAY))
    assert meter.on_event("MessageReceived", message(DAY + timedelta(hours=1), conversation="cv-2")) == "started"
    assert meter.on_event("ConversationClosed", closed(DAY + timedelta(minutes=30))) == "no_session"
    sessions = usage(meter)["sessions"]
    assert sessions["total"] == 2 and sessions["ended"] == {"superseded": 1}


@pytest.mark.parametrize(("tier", "kind"), [("PRO", {"PRO": 1}), ("LITE", {"LITE": 1}), (None, {})])
def test_ai_sessions_are_split_by_model_tier_and_counted_once(meter: UsageMeter, tier: str | None,
                                                              kind: dict[str, int]) -> None:
    meter.on_event("MessageReceived", message(DAY))
    turns = 2 if tier else 0
    meter.on_event("BotSessionEnded", bot_ended(DAY + timedelta(minutes=1), "handoff", ai_turns=turns, tier=tier))
    meter.on_event("BotSessionEnded", bot_ended(DAY + timedelta(minutes=1), "handoff", ai_turns=turns, tier=tier))
    meter.on_event("ConversationClosed", closed(DAY + timedelta(minutes=30)))
    sessions = usage(meter)["sessions"]
    assert sessions["ai"] == kind and sessions["total"] == 1 and sessions["no_bot"] == 0
    assert sessions["bot_only"] == (0 if tier else 1) and sessions["ended"] == {"agent": 1}


def test_a_bot_timeout_ends_the_session_and_a_bot_close_after_it_changes_nothing(meter: UsageMeter) -> None:
    meter.on_event("MessageReceived", message(DAY))
    assert meter.on_event("BotSessionEnded", bot_ended(DAY + timedelta(minutes=15), "timeout")) == "bot_session"
    assert meter.on_event("ConversationClosed", closed(DAY + timedelta(minutes=16), "bot:banco")) == "no_session"
    assert usage(meter)["sessions"]["ended"] == {"timeout": 1}


def test_sessions_count_in_the_month_they_started(meter: UsageMeter) -> None:
    late = datetime(2026, 10, 31, 23, 50, tzinfo=UTC)
    meter.on_event("MessageReceived", message(late))
    meter.on_event("ConversationClosed", closed(late + timedelta(minutes=30)))
    assert usage(meter, "2026-10")["sessions"]["total"] == 1 and usage(meter, "2026-10")["sessions"]["ended"] == {
        "agent": 1}
    assert usage(meter, "2026-11")["sessions"]["total"] == 0


def test_channels_are_counted_apart(meter: UsageMeter) -> None:
    meter.on_event("MessageReceived", message(DAY))
    meter.on_event("MessageReceived", message(DAY, channel="acme-web", contact="visitor-1", conversation="cv-w"))
    report = usage(meter)
    assert report["sessions"]["total"] == 2
    assert {c: s["total"] for c, s in report["sessions_by_channel"].items()} == {"acme-wa": 1, "acme-web": 1}


# --- Meta's charges ----------------------------------------------------------------------------------------

def test_template_messages_are_priced_once_by_market_and_category_with_the_rate_card(meter: UsageMeter) -> None:
    card = RateCard.load()
    day = DAY.date()
    ar_marketing = card.price(day, card.market_of(AR), "MARKETING")
    mx_utility = card.price(day, card.market_of(MX), "UTILITY")
    sent = status(DAY, "marketing", provider_id="wamid.mkt", value="sent")
    assert meter.on_event("MessageStatusChanged", sent) == "priced"
    assert meter.on_event("MessageStatusChanged", {**sent, "status": "delivered"}) == "duplicate"  # pricing twice
    meter.on_event("MessageStatusChanged", status(DAY, "utility", contact=MX))
    meter.on_event("MessageStatusChanged", status(DAY, "utility", contact=MX, pricing_type="free_customer_service"))
    meter.on_event("MessageStatusChanged", {**status(DAY, "marketing"), "pricing_category": None})  # no pricing
    meta = usage(meter)["meta"]
    assert meta["messages"] == {"marketing": 1, "utility": 2} and meta["billable"] == {"marketing": 1, "utility": 1}
    assert Decimal(meta["cost_usd"]["marketing"]) == ar_marketing
    assert Decimal(meta["cost_usd"]["utility"]) == mx_utility
    assert Decimal(meta["total_cost_usd"]) == ar_marketing + mx_utility
    assert meta["business_initiated"] == 3 and meta["user_initiated"] == 0
    assert meta["by_market"] == {card.market_of(AR): {"marketing": 1}, card.market_of(MX): {"utility": 2}}
    # CBP for comparison: one marketing window (AR), one utility window (MX: both utility messages, same day)
    assert meta["cbp_windows"] == {"marketing": 1, "utility": 1}


def test_cbp_windows_last_24_hours_per_contact_and_category(meter: UsageMeter) -> None:
    for offset in (0, 1, 23, 24, 30, 49):
        meter.on_event("MessageStatusChanged", status(DAY + timedelta(hours=offset), "utility"))
    meter.on_event("MessageStatusChanged", status(DAY + timedelta(hours=1), "marketing"))
    meter.on_event("MessageStatusChanged", status(DAY + timedelta(hours=2), "utility", contact=MX))
    # AR utility: windows at 0 (covers 0, 1, 23), 24 (covers 24, 30), 49; AR marketing 1; MX utility 1
    assert usage(meter)["meta"]["cbp_windows"] == {"marketing": 1, "utility": 4}


# --- against a recount ---------------------------------------------------------------------------------------

def recount(events: list[tuple[str, dict[str, Any]]], idle: timedelta) -> dict[str, int]:
    """The straightforward count: every contact's messages in time order, ended by its closes/bot ends."""
    per_contact: dict[str, list[tuple[datetime, int, str, dict[str, Any]]]] = {}
    for kind, d in events:
        if kind == "MessageStatusChanged":
            continue
        at = d.get("sent_at") or d.get("ended_at") or d.get("closed_at")
        order = {"MessageReceived": 0, "BotSessionEnded": 1, "ConversationClosed": 2}[kind]
        per_contact.setdefault(d["contact_key"], []).append(
            (datetime.fromisoformat(at.replace("Z", "+00:00")), order, kind, d))
    out = {"sessions": 0, "ended_bot": 0, "ended_agent": 0, "ended_idle": 0, "sessions_bot": 0}
    for items in per_contact.values():
        open_since: datetime | None = None
        last: datetime | None = None
        bot = False
        for at, _, kind, d in sorted(items, key=lambda i: (i[0], i[1])):
            if kind == "MessageReceived":
                if open_since is not None and last is not None and at - last >= idle:
                    out["ended_idle"] += 1
                    open_since = None
                if open_since is None:
                    out["sessions"] += 1
                    open_since, bot = at, False
                last = at
            elif open_since is not None and kind == "BotSessionEnded":
                if not bot:
                    out["sessions_bot"], bot = out["sessions_bot"] + 1, True
                if d["reason"] == "solved":
                    out["ended_bot"] += 1
                    open_since = None
            elif open_since is not None and kind == "ConversationClosed":
                out["ended_agent"] += 1
                open_since = None
    return out


@pytest.mark.parametrize("seed", range(12))
def test_a_random_month_of_traffic_matches_a_recount_despite_duplicates_and_reordering(seed: int) -> None:
    rng = random.Random(seed)
    events: list[tuple[str, dict[str, Any]]] = []
    contacts = [f"54911{n:08d}" for n in range(12)]
    for contact in contacts:
        at = datetime(2026, 11, 1, 8, tzinfo=UTC) + timedelta(minutes=rng.randrange(600))
        conversation, ending = 0, "bot"
        for _ in range(rng.randrange(1, 8)):
            if ending != "none":  # a conversation nobody ended stays open: the customer writes in it again
                conversation += 1
            cid = f"cv-{contact}-{conversation}"
            for _ in range(rng.randrange(1, 4)):
                events.append(("MessageReceived", message(at, contact=contact, conversation=cid)))
                at += timedelta(minutes=rng.randrange(1, 20))
            ending = rng.choice(["bot", "agent", "handoff_agent", "none"])
            if ending == "bot":
                events.append(("BotSessionEnded", bot_ended(at, "solved", contact=contact, conversation=cid)))
            elif ending == "agent":
                events.append(("ConversationClosed", closed(at, contact=contact, conversation=cid)))
            elif ending == "handoff_agent":
                events.append(("BotSessionEnded", bot_ended(at, "handoff", contact=contact, conversation=cid)))
                at += timedelta(minutes=5)
                events.append(("ConversationClosed", closed(at, contact=contact, conversation=cid)))
            at += timedelta(hours=rng.choice([1, 3, 20, 26, 50]))
    expected = recount(events, timedelta(hours=24))
    # at-least-once and unordered: duplicates, and events shuffled within each contact's neighbouring ones
    delivered = events + [e for e in events if rng.random() < 0.2]
    delivered = sorted(delivered, key=lambda e: (e[1]["contact_key"], _order(e) + rng.random() * 0.5))
    store = FakeUsage()
    meter = UsageMeter(store)
    for kind, detail in delivered:
        meter.on_event(kind, detail)
    totals: dict[str, int] = {}
    for bucket in store.counters.values():
        for key, value in bucket.items():
            totals[key] = totals.get(key, 0) + value
    assert {k: totals.get(k, 0) for k in expected} == expected
    assert expected["sessions"] > len(contacts)  # the stream did make several sessions per contact


def _order(event: tuple[str, Mapping[str, Any]]) -> float:
    d = event[1]
    at = d.get("sent_at") or d.get("ended_at") or d.get("closed_at")
    return datetime.fromisoformat(str(at).replace("Z", "+00:00")).timestamp() / 60.0


def test_the_mark_keeps_versions_so_a_lost_race_is_retried() -> None:
    store = FakeUsage()
    meter = UsageMeter(store)
    meter.on_event("MessageReceived", message(DAY))
    mark = store.sessions[(T, WA, AR)]
    real = store.save_session
    calls: list[int] = []

    def racing(tenant_id: str, m: SessionMark, *, expected_version: int | None, adds: Sequence[Add] = ()) -> bool:
        if not calls:
            calls.append(1)
            store.sessions[(T, WA, AR)] = replace(mark, version=mark.version + 1)  # another runner moved it
            return False
        return real(tenant_id, m, expected_version=expected_version, adds=adds)

    store.save_session = racing  # type: ignore[method-assign]
    assert meter.on_event("ConversationClosed", closed(DAY + timedelta(minutes=5))) == "ended"
    assert calls == [1] and usage(meter)["sessions"]["ended"] == {"agent": 1}
