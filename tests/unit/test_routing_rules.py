"""The contact center's pure decisions: which campaign takes a handoff, which waiting conversation goes next,
which agent gets it, today's service-level figures, and what a campaign definition may say."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.models.contact_center import AgentPresence, Campaign, CampaignInput, QueueEntry, StatusInput
from shared.services.contact_center import campaign_stats
from shared.services.routing import pick_agent, pick_campaign, pick_entry

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


def campaign(campaign_id: str = "ventas", **fields: Any) -> Campaign:
    return Campaign(campaign_id=campaign_id, name=fields.pop("name", campaign_id.title()), tenant_id="t1",
                    created_at=NOW, updated_at=NOW, **fields)


def entry(conversation_id: str, *, queued_s_ago: int = 0, closes_in_s: int | None = None,
          owner_id: str | None = None, priority: str = "normal") -> QueueEntry:
    return QueueEntry(tenant_id="t1", campaign_id="ventas", conversation_id=conversation_id, channel_id="wa",
                      contact_key=f"549{conversation_id}", address=f"549{conversation_id}",
                      priority=priority,  # type: ignore[arg-type]
                      queued_at=NOW - timedelta(seconds=queued_s_ago),
                      window_closes_at=NOW + timedelta(seconds=closes_in_s) if closes_in_s is not None else None,
                      owner_id=owner_id)


def agent(user_id: str, *, active: int = 0, last_assigned_ms: int = 0) -> AgentPresence:
    return AgentPresence(user_id=user_id, tenant_id="t1", status="online", since=NOW, active=active,
                         last_assigned_ms=last_assigned_ms)


def ids(campaigns: Sequence[Campaign | None]) -> list[str | None]:
    return [c.campaign_id if c else None for c in campaigns]


# --- pick_campaign ---------------------------------------------------------------------------------------------

def test_the_team_names_a_campaign_by_its_id() -> None:
    campaigns = [campaign("cobranzas", skills=["atencion"]), campaign("atencion", name="Mesa general")]

    assert pick_campaign(campaigns, "atencion", []).campaign_id == "atencion"  # the id wins over a skill


def test_the_team_names_a_campaign_by_its_name_with_case_and_accents_folded() -> None:
    campaigns = [campaign("c1", name="Ventas"), campaign("c2", name="Atención al Cliente")]

    assert pick_campaign(campaigns, "ATENCION al cliente", []).campaign_id == "c2"


def test_skills_pick_the_campaign_with_the_most_in_common_folding_case_and_accents() -> None:
    campaigns = [campaign("tarjetas", skills=["Tarjeta", "Débito"]),
                 campaign("creditos", skills=["Crédito", "Refinanciación", "Préstamo"])]

    chosen = pick_campaign(campaigns, None, ["REFINANCIACION", "préstamo", "tarjeta"])

    assert chosen is not None and chosen.campaign_id == "creditos"  # 2 in common against 1


def test_a_team_that_names_no_campaign_counts_as_a_skill() -> None:
    campaigns = [campaign("c1", skills=["ventas"]), campaign("c2", skills=["cobranzas"])]

    assert pick_campaign(campaigns, "Cobranzas", []).campaign_id == "c2"


def test_equal_skill_overlap_goes_to_the_first_campaign_by_id() -> None:
    campaigns = [campaign("zeta", skills=["ventas"]), campaign("alfa", skills=["ventas"])]

    assert pick_campaign(campaigns, None, ["ventas"]).campaign_id == "alfa"


def test_disabled_campaigns_take_nothing_by_team_skills_or_fallback() -> None:
    campaigns = [campaign("atencion", enabled=False, skills=["reclamos"]),
                 campaign("reclamos", enabled=False, skills=["reclamos"], fallback=True),
                 campaign("general", skills=["otros"])]

    assert pick_campaign(campaigns, "atencion", ["reclamos"]) is None


def test_a_disabled_named_campaign_lets_the_skills_decide() -> None:
    campaigns = [campaign("atencion", enabled=False), campaign("postventa", skills=["garantia"])]

    assert pick_campaign(campaigns, "atencion", ["Garantía"]).campaign_id == "postventa"


def test_the_fallback_takes_what_nothing_else_matches() -> None:
    campaigns = [campaign("ventas", skills=["ventas"]), campaign("general", fallback=True)]

    assert ids([pick_campaign(campaigns, "soporte", ["wifi"]), pick_campaign(campaigns, None, [])]) == \
        ["general", "general"]


def test_no_match_and_no_fallback_is_none() -> None:
    assert pick_campaign([campaign("ventas", skills=["ventas"])], None, ["wifi"]) is None
    assert pick_campaign([], "ventas", ["ventas"]) is None


# --- pick_entry -------------------------------------------------------------------------------------------------

def test_strict_order_takes_the_head_of_the_queue() -> None:
    head = [entry("a", queued_s_ago=300, closes_in_s=7200), entry("b", queued_s_ago=100, closes_in_s=60)]

    assert pick_entry(head, campaign(), NOW).conversation_id == "a"  # prioritize_expiring_s is null


def test_prioritize_expiring_takes_the_window_closing_soonest_within_the_threshold() -> None:
    head = [entry("head", queued_s_ago=900, closes_in_s=7200),
            entry("in-5-min", queued_s_ago=600, closes_in_s=300),
            entry("in-3-min", queued_s_ago=300, closes_in_s=180),
            entry("no-window", queued_s_ago=200)]

    chosen = pick_entry(head, campaign(prioritize_expiring_s=600), NOW)

    assert chosen.conversation_id == "in-3-min"


def test_prioritize_expiring_ignores_windows_already_closed() -> None:
    head = [entry("head", queued_s_ago=900, closes_in_s=7200),
            entry("expired", queued_s_ago=600, closes_in_s=-60),
            entry("closing-now", queued_s_ago=500, closes_in_s=0),
            entry("in-9-min", queued_s_ago=300, closes_in_s=540)]

    assert pick_entry(head, campaign(prioritize_expiring_s=600), NOW).conversation_id == "in-9-min"


def test_prioritize_expiring_keeps_strict_order_when_nothing_is_about_to_close() -> None:
    head = [entry("head", queued_s_ago=900, closes_in_s=7200), entry("expired", closes_in_s=-1),
            entry("later", closes_in_s=601)]

    assert pick_entry(head, campaign(prioritize_expiring_s=600), NOW).conversation_id == "head"


def test_prioritize_expiring_breaks_ties_by_queue_order() -> None:
    head = [entry("first", queued_s_ago=500, closes_in_s=120), entry("second", queued_s_ago=400, closes_in_s=120)]

    assert pick_entry(list(reversed(head)), campaign(prioritize_expiring_s=600), NOW).conversation_id == "first"


# --- pick_agent -------------------------------------------------------------------------------------------------

def test_least_busy_takes_the_agent_with_fewest_conversations() -> None:
    eligible = [agent("ana", active=2), agent("beto", active=1), agent("carla", active=2)]

    assert pick_agent(eligible, campaign(), entry("c1"), None).user_id == "beto"


def test_least_busy_ties_go_to_the_agent_assigned_longest_ago() -> None:
    eligible = [agent("ana", active=1, last_assigned_ms=3_000), agent("beto", active=1, last_assigned_ms=1_000),
                agent("carla", active=1, last_assigned_ms=2_000)]

    assert pick_agent(eligible, campaign(), entry("c1"), None).user_id == "beto"


@pytest.mark.parametrize(("rr_last", "expected"), [(None, "ana"), ("ana", "beto"), ("beto", "carla"),
                                                    ("carla", "ana"), ("bea", "beto"), ("zoe", "ana")])
def test_round_robin_takes_the_next_agent_after_the_last_one_wrapping(rr_last: str | None, expected: str) -> None:
    eligible = [agent("carla"), agent("ana", active=2), agent("beto", active=1)]

    assert pick_agent(eligible, campaign(strategy="round_robin"), entry("c1"), rr_last).user_id == expected


def test_sticky_owner_gets_their_contact_even_when_busier() -> None:
    eligible = [agent("ana", active=0), agent("beto", active=2)]

    chosen = pick_agent(eligible, campaign(strategy="sticky_owner"), entry("c1", owner_id="beto"), None)

    assert chosen.user_id == "beto"


@pytest.mark.parametrize("owner", ["dani", None], ids=["owner-not-eligible", "no-owner"])
def test_sticky_owner_falls_back_to_least_busy(owner: str | None) -> None:
    eligible = [agent("ana", active=2), agent("beto", active=1, last_assigned_ms=9), agent("carla", active=1)]

    chosen = pick_agent(eligible, campaign(strategy="sticky_owner"), entry("c1", owner_id=owner), None)

    assert chosen.user_id == "carla"


def test_an_owner_is_ignored_by_other_strategies() -> None:
    eligible = [agent("ana", active=0), agent("beto", active=2)]

    assert pick_agent(eligible, campaign(strategy="least_busy"), entry("c1", owner_id="beto"), None).user_id == "ana"


# --- campaign_stats ----------------------------------------------------------------------------------------------

def test_service_level_abandon_rate_and_average_wait() -> None:
    stats = campaign_stats(TODAY, {"offered": 12, "answered": 8, "answered_in_sla": 6, "abandoned": 2,
                                   "short_abandoned": 3, "wait_ms_total": 44_000, "completed": 5})

    assert stats.day == TODAY and stats.offered == 12 and stats.short_abandoned == 3
    assert stats.service_level_pct == 60.0  # 6 / (8 + 2): short abandons are not counted
    assert stats.abandon_rate_pct == 20.0  # 2 / (8 + 2)
    assert stats.average_wait_s == 5.5  # 44 s over the 8 answered


def test_stats_are_rounded_to_one_decimal() -> None:
    stats = campaign_stats(TODAY, {"answered": 3, "answered_in_sla": 2, "wait_ms_total": 10_000})

    assert (stats.service_level_pct, stats.abandon_rate_pct, stats.average_wait_s) == (66.7, 0.0, 3.3)


def test_only_abandons_give_no_average_wait_and_a_zero_service_level() -> None:
    stats = campaign_stats(TODAY, {"abandoned": 4})

    assert (stats.service_level_pct, stats.abandon_rate_pct, stats.average_wait_s) == (0.0, 100.0, None)


def test_a_day_with_nothing_handled_has_no_percentages() -> None:
    stats = campaign_stats(TODAY, {"offered": 2, "short_abandoned": 1, "overflowed": 1, "expires_at_like": 9})

    assert (stats.service_level_pct, stats.abandon_rate_pct, stats.average_wait_s) == (None, None, None)
    assert stats.offered == 2 and stats.overflowed == 1  # unknown counters are ignored


# --- CampaignInput and StatusInput validation -----------------------------------------------------------------------

def base(**fields: Any) -> dict[str, Any]:
    return {"campaign_id": "ventas", "name": "Ventas", **fields}


def errors_of(call: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        call()
    return str(raised.value)


def test_duplicate_snippet_keys_are_refused() -> None:
    snippets = [{"key": "saludo", "title": "Saludo", "text": "Hola"},
                {"key": "cierre", "title": "Cierre", "text": "Chau"},
                {"key": "saludo", "title": "Otro saludo", "text": "Buenas"}]

    assert "duplicate snippet keys: saludo" in errors_of(lambda: CampaignInput(**base(snippets=snippets)))


def test_an_unknown_weekday_is_refused() -> None:
    weekly = {"mon": [{"start": "09:00", "end": "18:00"}], "lun": [{"start": "09:00", "end": "18:00"}]}

    message = errors_of(lambda: CampaignInput(**base(schedule={"weekly": weekly})))

    assert "unknown day(s) lun" in message


@pytest.mark.parametrize(("start", "end", "says"), [
    ("9:00", "18:00", "'9:00' is not HH:MM"), ("09:00", "24:30", "'24:30' is not HH:MM"),
    ("09:60", "18:00", "'09:60' is not HH:MM"), ("18:00", "09:00", "the end must be after the start"),
    ("10:00", "10:00", "the end must be after the start")])
def test_bad_hours_are_refused(start: str, end: str, says: str) -> None:
    schedule = {"weekly": {"mon": [{"start": start, "end": end}]}}

    assert says in errors_of(lambda: CampaignInput(**base(schedule=schedule)))


def test_good_hours_up_to_midnight_are_accepted() -> None:
    parsed = CampaignInput(**base(schedule={"time_zone": "America/Mexico_City", "weekly": {
        "sat": [{"start": "00:00", "end": "08:30"}, {"start": "20:00", "end": "24:00"}]}, "holidays": ["2026-12-25"]}))

    assert [(r.start, r.end) for r in parsed.schedule.weekly["sat"]] == [("00:00", "08:30"), ("20:00", "24:00")]
    assert parsed.schedule.holidays == [date(2026, 12, 25)]


def test_an_unknown_time_zone_is_refused() -> None:
    assert "unknown time zone" in errors_of(lambda: CampaignInput(**base(schedule={"time_zone": "Mars/Olympus"})))


def test_skills_are_folded_and_deduplicated_and_members_deduplicated() -> None:
    parsed = CampaignInput(**base(skills=["Crédito", "credito", "Refinanciación"], members=["u1", "u2", "u1"]))

    assert parsed.skills == ["credito", "refinanciacion"] and parsed.members == ["u1", "u2"]


@pytest.mark.parametrize("campaign_id", ["Ventas", "-ventas", "ventas por mayor", "x" * 41])
def test_a_bad_campaign_id_is_refused(campaign_id: str) -> None:
    with pytest.raises(ValidationError):
        CampaignInput(**base(campaign_id=campaign_id))


@pytest.mark.parametrize(("status", "break_type", "says"), [
    ("break", None, "a break needs a break_type"),
    ("online", "almuerzo", "break_type goes only with status `break`"),
    ("offline", "baño", "break_type goes only with status `break`")])
def test_a_break_type_goes_with_status_break_only(status: str, break_type: str | None, says: str) -> None:
    assert says in errors_of(lambda: StatusInput(status=status, break_type=break_type))  # type: ignore[arg-type]


def test_a_break_with_its_type_is_accepted() -> None:
    assert StatusInput(status="break", break_type="almuerzo").break_type == "almuerzo"
