"""Plans' quotas over fakes: thresholds alert once (per resource, period, threshold and limit) however often the
count is checked, exactly at 100%, never when unlimited; sessions are never refused and what is over the plan is
counted; agents and bots are refused at the limit with the plan and the limit named; contacts alert as they grow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from shared.models.crm import ContactInput
from shared.models.events import QuotaThresholdReached
from shared.models.messages import Identity as Sender
from shared.models.tenancy import Plan
from shared.services.bots import BotService, BotUpload
from shared.services.contacts import ContactService
from shared.services.quotas import AT_LIMIT, QuotaReached
from shared.services.usage import UsageMeter
from shared.services.users import Actor, UserInvite, UserService
from tests.unit.fakes_bots import InMemoryBotRegistry, InMemorySessions
from tests.unit.fakes_crm import FakeClock, InMemoryContactStore, RecordingPublisher
from tests.unit.fakes_quotas import FakeCounts, Quotas
from tests.unit.test_bots_service import BOT, Conversations
from tests.unit.test_usage import DAY, FakeUsage, T, message
from tests.unit.test_users_service import FakeDirectory, FakeIndex

MONTH = "2026-11"  # the fakes' clock and the usage tests' DAY


def sessions_plan(limit: int, thresholds: tuple[int, ...] = (80, 100)) -> Plan:
    return Plan(name="starter", max_sessions_per_month=limit, alert_thresholds=thresholds)


# --- the plan ------------------------------------------------------------------------------------------------

def test_a_plan_stored_before_quotas_existed_reads_with_the_defaults() -> None:
    stored = json.dumps({"name": "growth", "max_contacts": 5000, "rate_limit_per_s": 50, "retention_days": 0,
                         "llm_tier": "LITE", "voice2text": False, "imagebot": False})
    plan = Plan.model_validate(json.loads(stored))
    assert (plan.max_contacts, plan.max_sessions_per_month, plan.max_agents, plan.max_bots) == (5000, 2000, 10, 5)
    assert plan.alert_thresholds == (80, 100)
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


@pytest.mark.parametrize(("fields", "message"), [
    ({"alert_thresholds": [0, 100]}, "percentages from 1 to 1000"),
    ({"alert_thresholds": [80, 80]}, "must not repeat"),
    ({"alert_thresholds": [10, 20, 30, 40, 50, 60]}, "at most 5"),
    ({"max_agents": -1}, "greater than or equal to 0"),
    ({"max_sessions_per_month": "many"}, "valid integer"),
])
def test_invalid_quotas_are_refused_with_a_clear_message(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Plan.model_validate(fields)
    assert message in str(refused.value)


def test_thresholds_are_kept_in_order() -> None:
    assert Plan(alert_thresholds=(100, 50, 90)).alert_thresholds == (50, 90, 100)


# --- alerts --------------------------------------------------------------------------------------------------

def test_each_threshold_alerts_once_as_the_count_grows() -> None:
    q = Quotas(sessions_plan(10))
    seen: list[list[int]] = []
    for used in range(1, 13):
        q.counts.set("acme", "sessions", used, MONTH)
        seen.append([e.threshold_percent for e in q.service.check("acme", "sessions", month=MONTH)])
    assert seen == [[], [], [], [], [], [], [], [80], [], [100], [], []]
    assert q.events.alerts() == [("sessions", MONTH, 80, 8, 10), ("sessions", MONTH, 100, 10, 10)]
    assert len(q.metrics) == 2


def test_exactly_at_the_limit_is_100_percent_and_a_jump_alerts_every_threshold_passed() -> None:
    q = Quotas(sessions_plan(2))
    q.counts.set("acme", "sessions", 1, MONTH)
    assert q.service.check("acme", "sessions", month=MONTH) == []  # 50%
    q.counts.set("acme", "sessions", 2, MONTH)
    assert [e.threshold_percent for e in q.service.check("acme", "sessions", month=MONTH)] == [80, 100]
    assert q.service.report("acme").items[0].model_dump(include={"used", "limit", "percent", "over_plan"}) == {
        "used": 2, "limit": 2, "percent": 100.0, "over_plan": 0}


def test_another_container_and_a_redelivery_never_alert_twice() -> None:
    q = Quotas(sessions_plan(10))
    q.counts.set("acme", "sessions", 9, MONTH)
    q.service.check("acme", "sessions", month=MONTH)
    for service in (q.service, q.new_container(), q.new_container()):
        assert service.check("acme", "sessions", month=MONTH) == []
    assert q.events.alerts() == [("sessions", MONTH, 80, 9, 10)]
    claims = q.markers.claims
    q.service.check("acme", "sessions", month=MONTH)
    assert q.markers.claims == claims  # a container that wrote or met the marker does not write it again


def test_each_month_and_each_resource_alerts_on_its_own() -> None:
    q = Quotas(Plan(max_sessions_per_month=10, max_contacts=10, max_agents=10, max_bots=10, alert_thresholds=(80,)))
    q.counts.set("acme", "sessions", 8, "2026-10")
    q.counts.set("acme", "sessions", 8, MONTH)
    for resource in ("contacts", "agents", "bots"):
        q.counts.set("acme", resource, 8)
    q.service.check("acme", "sessions", month="2026-10")
    q.service.check("acme", "sessions", month=MONTH)
    for resource in ("contacts", "agents", "bots"):
        q.service.check("acme", resource)  # type: ignore[arg-type]
    assert q.events.alerts() == [("sessions", "2026-10", 80, 8, 10), ("sessions", MONTH, 80, 8, 10),
                                 ("contacts", "current", 80, 8, 10), ("agents", "current", 80, 8, 10),
                                 ("bots", "current", 80, 8, 10)]


def test_unlimited_never_alerts_and_shows_no_limit() -> None:
    q = Quotas(Plan(max_sessions_per_month=0, max_agents=0, max_bots=0))
    q.counts.set("acme", "sessions", 1_000_000, MONTH)
    q.counts.set("acme", "agents", 500)
    assert q.service.check("acme", "sessions", month=MONTH) == [] and q.service.check("acme", "agents") == []
    q.service.admit("acme", "agents")
    q.service.admit("acme", "bots")
    items = {i.resource: i for i in q.service.report("acme").items}
    assert (items["sessions"].limit, items["sessions"].percent, items["sessions"].over_plan) == (None, None, 0)
    assert items["sessions"].used == 1_000_000 and q.events.events == []


def test_no_thresholds_means_no_alerts() -> None:
    q = Quotas(sessions_plan(2, thresholds=()))
    q.counts.set("acme", "sessions", 5, MONTH)
    assert q.service.check("acme", "sessions", month=MONTH) == []


def test_a_new_limit_rearms_the_alerts() -> None:
    q = Quotas(sessions_plan(10))
    q.counts.set("acme", "sessions", 10, MONTH)
    q.service.check("acme", "sessions", month=MONTH)
    q.set_plan(sessions_plan(20))  # the operator raised the plan: 50% of the new limit
    assert q.service.check("acme", "sessions", month=MONTH) == []
    q.counts.set("acme", "sessions", 16, MONTH)
    assert [(e.threshold_percent, e.limit) for e in q.service.check("acme", "sessions", month=MONTH)] == [(80, 20)]


def test_a_failed_publish_releases_its_marker_so_the_next_check_alerts() -> None:
    q = Quotas(sessions_plan(10))
    q.counts.set("acme", "sessions", 8, MONTH)
    q.events.failures = 1
    with pytest.raises(RuntimeError):
        q.service.check("acme", "sessions", month=MONTH)
    assert q.markers.markers == {} and q.events.alerts() == []
    assert [e.threshold_percent for e in q.service.check("acme", "sessions", month=MONTH)] == [80]


def test_after_a_change_an_alert_failure_is_logged_not_raised() -> None:
    q = Quotas(Plan(max_agents=1))
    q.counts.set("acme", "agents", 1)
    q.events.failures = 1
    q.service.after_change("acme", "agents")  # the user exists: the invitation must not fail for an alert
    q.service.after_change("acme", "agents")  # the next change alerts
    assert q.events.alerts() == [("agents", "current", 80, 1, 1), ("agents", "current", 100, 1, 1)]


# --- sessions: never refused, counted over the plan ----------------------------------------------------------

def metered(limit: int) -> tuple[UsageMeter, Quotas, FakeUsage]:
    store = FakeUsage()

    def sessions(tenant_id: str, month: str) -> int:
        return sum(c.get("sessions", 0) for c in store.month(tenant_id, month).values())

    quotas = Quotas(sessions_plan(limit), tenant_id=T, counts=FakeCounts(sessions=sessions))
    return UsageMeter(store, quotas=quotas.service), quotas, store


def test_sessions_over_the_plan_are_served_counted_and_alerted_once_each() -> None:
    meter, quotas, _ = metered(2)
    events = [message(DAY.replace(hour=9 + i), contact=f"54911000000{i}", conversation=f"cv-{i}") for i in range(3)]
    # three customers write: none is refused, each starts a session
    assert [meter.on_event("MessageReceived", e) for e in events] == ["started"] * 3
    # every event delivered again (EventBridge and SQS are at least once): nothing is counted or alerted twice
    assert [meter.on_event("MessageReceived", e) for e in events] == ["duplicate"] * 3
    report = meter.monthly(T, MONTH)
    assert (report["sessions"]["total"], report["max_sessions_per_month"], report["sessions_over_plan"]) == (3, 2, 1)
    sessions = quotas.service.report(T).items[0]
    assert (sessions.used, sessions.limit, sessions.percent, sessions.over_plan) == (3, 2, 150.0, 1)
    assert sessions.thresholds_reached == [80, 100] and sessions.at_limit == AT_LIMIT["sessions"]
    assert quotas.events.alerts() == [("sessions", MONTH, 80, 2, 2), ("sessions", MONTH, 100, 2, 2)]


def test_an_alert_that_could_not_be_published_goes_out_with_the_redelivered_record() -> None:
    meter, quotas, _ = metered(1)
    event = message(DAY)
    quotas.events.failures = 1
    with pytest.raises(RuntimeError):
        meter.on_event("MessageReceived", event)  # counted; the alert failed: the record is retried
    assert meter.monthly(T, MONTH)["sessions"]["total"] == 1 and quotas.events.alerts() == []
    assert meter.on_event("MessageReceived", event) == "duplicate"
    assert meter.monthly(T, MONTH)["sessions"]["total"] == 1
    assert quotas.events.alerts() == [("sessions", MONTH, 80, 1, 1), ("sessions", MONTH, 100, 1, 1)]


def test_statuses_and_continued_sessions_do_not_check_the_quota() -> None:
    meter, quotas, _ = metered(100)
    meter.on_event("MessageReceived", message(DAY))
    reads = quotas.tenants.reads
    meter.on_event("MessageReceived", message(DAY.replace(minute=5)))  # the same session goes on
    assert quotas.tenants.reads == reads


# --- agents and bots: refused at the limit -------------------------------------------------------------------

def users_with_quota(max_agents: int) -> tuple[UserService, FakeDirectory, Quotas]:
    directory, index = FakeDirectory(), FakeIndex()
    quotas = Quotas(Plan(name="starter", max_agents=max_agents),
                    counts=FakeCounts(agents=lambda t: len(index.list_users(t))))
    return UserService(directory=directory, index=index, clock=quotas.clock, quotas=quotas.service), directory, quotas


def test_inviting_a_user_beyond_the_plan_is_a_409_naming_the_plan_and_the_limit() -> None:
    users, directory, quotas = users_with_quota(2)
    for name in ("ana", "beto"):
        users.invite("acme", UserInvite(email=f"{name}@acme.com"), Actor("admin"))
    with pytest.raises(QuotaReached) as refused:
        users.invite("acme", UserInvite(email="carla@acme.com", role="supervisor"), Actor("admin"))
    assert refused.value.status == 409 and refused.value.code == "quota_reached"
    assert "'starter'" in refused.value.detail and "2 users (max_agents)" in refused.value.detail
    assert [email for op, email in directory.calls if op == "create_user"] == ["ana@acme.com", "beto@acme.com"]
    assert quotas.events.alerts() == [("agents", "current", 80, 2, 2), ("agents", "current", 100, 2, 2)]


def bots_with_quota(max_bots: int) -> tuple[BotService, Quotas]:
    registry = InMemoryBotRegistry()
    quotas = Quotas(Plan(name="starter", max_bots=max_bots),
                    counts=FakeCounts(bots=lambda t: len(registry.list_bots(t))))
    return BotService(registry=registry, sessions=InMemorySessions(), conversations=Conversations(),
                      clock=FakeClock(), quotas=quotas.service), quotas


def test_a_new_bot_beyond_the_plan_is_a_409_but_new_versions_of_existing_bots_are_fine() -> None:
    bots, quotas = bots_with_quota(1)
    bots.upload("acme", BotUpload(source=BOT), actor=None)
    assert bots.upload("acme", BotUpload(source=BOT.replace("Chau", "Adiós")), actor=None).version == 2
    with pytest.raises(QuotaReached) as refused:
        bots.upload("acme", BotUpload(source=BOT.replace("id: eco", "id: otro")), actor=None)
    assert refused.value.status == 409 and "allows 1 bots (max_bots)" in refused.value.detail
    assert "'starter'" in refused.value.detail
    assert [b.bot_id for b in bots.list("acme").items] == ["eco"]
    assert quotas.events.alerts() == [("bots", "current", 80, 1, 1), ("bots", "current", 100, 1, 1)]


def test_only_agents_and_bots_are_ever_refused() -> None:
    q = Quotas(sessions_plan(1))
    with pytest.raises(ValueError, match="never refused"):
        q.service.admit("acme", "sessions")


# --- contacts: the cap that exists, alerted ------------------------------------------------------------------

def test_contacts_alert_at_thresholds_and_a_customer_beyond_the_cap_is_still_created() -> None:
    store = InMemoryContactStore()
    quotas = Quotas(Plan(name="starter", max_contacts=2), counts=FakeCounts(contacts=store.count))
    contacts = ContactService(store=store, tenants=quotas.tenants, events=RecordingPublisher(), clock=FakeClock(),
                              quotas=quotas.service)
    contacts.create("acme", ContactInput(name="Ana", phone="+5491122334455"), actor="api")
    assert quotas.events.alerts() == []
    contacts.create("acme", ContactInput(name="Beto", phone="+5491122334456"), actor="api")
    assert quotas.events.alerts() == [("contacts", "current", 80, 2, 2), ("contacts", "current", 100, 2, 2)]
    contact_id, created = contacts.resolve_sender("acme", "acme-wa", Sender(provider="whatsapp", key="5491199990000",
                                                                            wa_id="5491199990000"))
    assert created and contacts.get("acme", contact_id).over_cap  # served, flagged, not counted
    contacts_quota = quotas.service.report("acme").items[1]
    assert (contacts_quota.used, contacts_quota.limit, contacts_quota.over_plan) == (2, 2, None)
    assert len(quotas.events.events) == 2 and all(isinstance(e, QuotaThresholdReached) for e in quotas.events.events)


def test_each_alert_is_also_a_powertools_metric() -> None:
    from shared.observability import metrics
    from shared.wiring import _count_quota_alert

    metrics.clear_metrics()
    _count_quota_alert(QuotaThresholdReached(tenant_id="acme", resource="sessions", period=MONTH,
                                             threshold_percent=80, used=8, limit=10))
    try:
        assert metrics.metric_set["QuotaThresholdReached"]["Value"] == [1.0]
    finally:
        metrics.clear_metrics()
