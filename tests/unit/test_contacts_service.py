"""ContactService over the in-memory CRM store: normalization, identities, fields, tags, consent, duplicates,
merge/split, the plan's contact cap and resolving WhatsApp senders."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import Conflict, InvalidInput, NotFound, PlanLimitReached
from shared.models.crm import ConsentInput, Contact, ContactInput, ContactPatch, CustomFieldDef, Identity
from shared.models.events import ContactCreated, ContactMerged, ContactUpdated
from shared.models.messages import Identity as Sender
from shared.services.contacts import ContactService
from tests.unit.fakes_crm import T0, FakeClock, FakeTenants, InMemoryContactStore, RecordingPublisher

T = "acme"
CH = "acme-wa-1"


class World:
    def __init__(self, *, cap: int = 1000) -> None:
        self.clock = FakeClock(step=timedelta(seconds=1))
        self.store = InMemoryContactStore()
        self.tenants = FakeTenants()
        self.tenants.add(T, max_contacts=cap)
        self.tenants.add("other")
        self.events = RecordingPublisher()
        self.svc = ContactService(store=self.store, tenants=self.tenants, events=self.events, clock=self.clock)

    def create(self, tenant: str = T, **kwargs: object) -> str:
        return self.svc.create(tenant, ContactInput.model_validate(kwargs), actor="api").contact_id

    def contact(self, contact_id: str, tenant: str = T) -> Contact:
        return self.svc.get(tenant, contact_id)


@pytest.fixture
def w() -> World:
    return World()


def wa(value: str) -> dict[str, str]:
    return {"kind": "whatsapp", "value": value}


# --- normalization ---------------------------------------------------------------------------------------

def test_argentine_domestic_and_international_mobile_forms_are_one_phone(w: World) -> None:
    domestic = w.create(phone="011 15 2345-6789", default_country="AR")
    international = w.create(phone="+54 9 11 2345 6789")

    assert w.contact(domestic).phones == ["+5491123456789"]
    assert w.contact(international).phones == ["+5491123456789"]
    assert {c.contact_id for c in w.svc.find(T, phone="+54 11 15 2345 6789")} == {domestic, international}


def test_mexican_mobile_one_after_country_code_is_dropped(w: World) -> None:
    cid = w.create(phone="+521 55 1234 5678")

    assert w.contact(cid).phones == ["+525512345678"]
    assert [c.contact_id for c in w.svc.find(T, phone="+52 55 1234 5678")] == [cid]


def test_brazilian_mobile_gets_its_ninth_digit(w: World) -> None:
    eight = w.create(phone="+55 11 8765 4321")
    nine = w.create(phone="(11) 98765-4321", default_country="BR")

    assert w.contact(eight).phones == w.contact(nine).phones == ["+5511987654321"]


def test_email_is_trimmed_and_lowercased(w: World) -> None:
    cid = w.create(email="  Ana.Perez@Example.COM ")

    assert w.contact(cid).emails == ["ana.perez@example.com"]
    assert [c.contact_id for c in w.svc.find(T, email="ANA.PEREZ@example.com")] == [cid]


def test_whatsapp_identity_is_stored_as_digits(w: World) -> None:
    cid = w.create(identities=[wa("+54 9 11 5555-0101")])

    assert w.contact(cid).identity_values("whatsapp") == ["5491155550101"]
    assert w.store.find_identity(T, "whatsapp", "5491155550101") == cid


def test_invalid_phone_is_refused_and_nothing_is_stored(w: World) -> None:
    with pytest.raises(InvalidInput):
        w.create(phone="12", name="Nope")
    with pytest.raises(InvalidInput):
        w.create(email="not-an-email")

    assert w.store.contacts == {}
    assert w.store.count(T) == 0
    assert w.events.events == []


# --- identities ------------------------------------------------------------------------------------------

def test_taken_channel_identity_is_a_conflict_naming_the_owner_and_nothing_is_written(w: World) -> None:
    owner = w.create(identities=[wa("5491155550101")])

    with pytest.raises(Conflict) as err:
        w.create(identities=[wa("5491155550101"), {"kind": "telegram", "value": "tg-9"}],
                 phone="+54 9 11 4444 0000", email="late@example.com")

    assert owner in err.value.detail
    assert len(w.store.contacts) == 1
    assert w.store.count(T) == 1
    assert w.store.find_identity(T, "telegram", "tg-9") is None
    assert w.store.find_soft(T, "phone", "+5491144440000") == []
    assert w.store.find_soft(T, "email", "late@example.com") == []


def test_adding_another_contacts_channel_identity_is_a_conflict_naming_the_owner(w: World) -> None:
    owner = w.create(identities=[wa("5491155550101")])
    other = w.create(name="Other")
    before = w.contact(other)

    with pytest.raises(Conflict) as err:
        w.svc.add_identity(T, other, Identity(kind="whatsapp", value="5491155550101"), actor="api")

    assert owner in err.value.detail
    assert w.contact(other) == before
    assert w.store.find_identity(T, "whatsapp", "5491155550101") == owner


def test_the_same_channel_identity_may_exist_in_two_tenants(w: World) -> None:
    mine = w.create(identities=[wa("5491155550101")])
    theirs = w.create(tenant="other", identities=[wa("5491155550101")])

    assert w.store.find_identity(T, "whatsapp", "5491155550101") == mine
    assert w.store.find_identity("other", "whatsapp", "5491155550101") == theirs


def test_phone_and_email_may_be_shared_by_two_contacts(w: World) -> None:
    a = w.create(phone="+54 9 11 2345 6789", email="family@example.com")
    b = w.create(phone="+5491123456789", email="Family@Example.com")

    assert w.store.find_soft(T, "phone", "+5491123456789") == sorted([a, b])
    assert w.store.find_soft(T, "email", "family@example.com") == sorted([a, b])


def test_removing_an_identity_frees_it_for_another_contact(w: World) -> None:
    first = w.create(identities=[wa("5491155550101")])
    second = w.create(name="Second")

    w.svc.remove_identity(T, first, "whatsapp", "5491155550101", actor="api")
    w.svc.add_identity(T, second, Identity(kind="whatsapp", value="5491155550101"), actor="api")

    assert w.contact(first).identity_values("whatsapp") == []
    assert w.store.find_identity(T, "whatsapp", "5491155550101") == second


def test_removing_an_identity_the_contact_does_not_have_is_not_found(w: World) -> None:
    cid = w.create(name="Ana")

    with pytest.raises(NotFound):
        w.svc.remove_identity(T, cid, "email", "x@example.com", actor="api")


# --- custom fields ---------------------------------------------------------------------------------------

@pytest.fixture
def with_fields(w: World) -> World:
    w.svc.put_field_def(T, CustomFieldDef(key="budget", label="Budget", type="number"))
    w.svc.put_field_def(T, CustomFieldDef(key="birthday", label="Birthday", type="date"))
    w.svc.put_field_def(T, CustomFieldDef(key="vip", label="VIP", type="boolean"))
    w.svc.put_field_def(T, CustomFieldDef(key="interests", label="Interests", type="list",
                                          options=("shoes", "bags")))
    return w


def test_custom_field_values_are_coerced_to_their_definition(with_fields: World) -> None:
    cid = with_fields.create(fields={"budget": "12,5", "birthday": "1990-05-04", "vip": "sí",
                                     "interests": "shoes"})

    assert with_fields.contact(cid).fields == {"budget": 12.5, "birthday": "1990-05-04", "vip": True,
                                               "interests": ["shoes"]}


def test_unknown_and_mistyped_fields_are_refused_with_one_error_per_field(with_fields: World) -> None:
    with pytest.raises(InvalidInput) as err:
        with_fields.create(fields={"shoe_size": 42, "budget": "lots", "birthday": "04/05/1990",
                                   "interests": ["hats"], "vip": True})

    by_field = {e["location"]: e["message"] for e in err.value.errors}
    assert set(by_field) == {"fields.shoe_size", "fields.budget", "fields.birthday", "fields.interests"}
    assert "define it first" in str(by_field["fields.shoe_size"])
    assert "hats" in str(by_field["fields.interests"])
    assert with_fields.store.contacts == {}


def test_patching_fields_merges_them_and_null_removes_one(with_fields: World) -> None:
    cid = with_fields.create(fields={"budget": 10, "vip": False})

    after = with_fields.svc.update(T, cid, ContactPatch(fields={"budget": None, "interests": ["bags"]}),
                                   actor="agent")

    assert after.fields == {"vip": False, "interests": ["bags"]}
    assert with_fields.contact(cid).version == 2


def test_a_bad_field_in_a_patch_changes_nothing(with_fields: World) -> None:
    cid = with_fields.create(name="Ana", fields={"budget": 10})

    with pytest.raises(InvalidInput):
        with_fields.svc.update(T, cid, ContactPatch(name="Ana María", fields={"budget": "many"}), actor="agent")

    assert with_fields.contact(cid).name == "Ana"
    assert with_fields.contact(cid).fields == {"budget": 10}


def test_a_field_type_cannot_change_but_its_label_can(w: World) -> None:
    w.svc.put_field_def(T, CustomFieldDef(key="budget", label="Budget", type="number"))

    with pytest.raises(Conflict):
        w.svc.put_field_def(T, CustomFieldDef(key="budget", label="Budget", type="text"))
    w.svc.put_field_def(T, CustomFieldDef(key="budget", label="Budget (USD)", type="number"))

    assert w.svc.field_defs(T)["budget"].label == "Budget (USD)"
    assert w.svc.field_defs(T)["budget"].type == "number"


def test_a_list_field_needs_options(w: World) -> None:
    with pytest.raises(InvalidInput):
        w.svc.put_field_def(T, CustomFieldDef(key="colors", label="Colors", type="list"))
    assert w.svc.field_defs(T) == {}


# --- tags, consent, events -------------------------------------------------------------------------------

def test_tags_are_added_once_and_removed(w: World) -> None:
    cid = w.create(tags=["lead"])

    w.svc.change_tags(T, cid, add=["vip", "lead"], actor="agent")
    after = w.svc.change_tags(T, cid, add=["wholesale"], remove=["lead"], actor="agent")

    assert after.tags == ("vip", "wholesale")
    assert w.contact(cid).tags == ("vip", "wholesale")


def test_consent_keeps_its_evidence(w: World) -> None:
    cid = w.create(name="Ana")
    at = T0 - timedelta(days=2)

    w.svc.set_consent(T, cid, ConsentInput(purpose="marketing", status="opted_in", source="web_form",
                                           text="Quiero recibir ofertas", at=at), actor="agent:7")
    record = w.contact(cid).consent["marketing"]

    assert (record.status, record.source, record.text, record.actor, record.at) == (
        "opted_in", "web_form", "Quiero recibir ofertas", "agent:7", at)


def test_consent_without_a_time_is_dated_now(w: World) -> None:
    cid = w.create(name="Ana")
    now = w.clock.peek()

    w.svc.set_consent(T, cid, ConsentInput(purpose="utility", status="opted_out", source="whatsapp"), actor="bot")

    assert w.contact(cid).consent["utility"].at == now


def test_writes_publish_created_and_updated_events(w: World) -> None:
    cid = w.create(name="Ana")
    w.svc.update(T, cid, ContactPatch(lifecycle="lead", name="Ana P."), actor="agent")

    created = w.events.of_type(ContactCreated)
    updated = w.events.of_type(ContactUpdated)
    assert [(e.tenant_id, e.contact_id, e.source, e.over_cap) for e in created] == [(T, cid, "api", False)]
    assert [(e.contact_id, e.changes) for e in updated] == [(cid, ("lifecycle", "name"))]


def test_a_stale_write_is_a_conflict(w: World) -> None:
    cid = w.create(name="Ana")
    w.store.before("save_contact", lambda: w.svc.change_tags(T, cid, add=["x"], actor="someone-else"))

    with pytest.raises(Conflict):
        w.svc.update(T, cid, ContactPatch(name="Ana P."), actor="agent")

    assert w.contact(cid).name == "Ana"
    assert w.contact(cid).tags == ("x",)


# --- duplicates ------------------------------------------------------------------------------------------

def test_contacts_sharing_a_phone_or_an_email_are_suggested_as_duplicates(w: World) -> None:
    a = w.create(phone="011 15 2345-6789", default_country="AR")
    b = w.create(phone="+54 9 11 2345 6789", email="ana@example.com")
    c = w.create(email="ANA@example.com")
    w.create(phone="+54 9 11 9999 0000", email="solo@example.com")

    groups = {(g.kind, g.value): g.contact_ids for g in w.svc.duplicates(T)}

    assert groups == {("phone", "+5491123456789"): tuple(sorted([a, b])),
                      ("email", "ana@example.com"): tuple(sorted([b, c]))}


def test_merged_contacts_are_no_longer_suggested_as_duplicates(w: World) -> None:
    a = w.create(phone="+54 9 11 2345 6789")
    b = w.create(phone="+54 9 11 2345 6789")

    w.svc.merge(T, a, b, actor="agent")

    assert w.svc.duplicates(T) == []
    assert w.store.find_soft(T, "phone", "+5491123456789") == [a]


# --- merge and split -------------------------------------------------------------------------------------

class Pair:
    """A survivor and a contact to merge into it, each with identities, tags, fields, consent and a thread."""

    def __init__(self, w: World) -> None:
        w.svc.put_field_def(T, CustomFieldDef(key="city", label="City", type="text"))
        w.svc.put_field_def(T, CustomFieldDef(key="plan", label="Plan", type="text"))
        w.svc.put_field_def(T, CustomFieldDef(key="segment", label="Segment", type="text"))
        w.svc.put_field_def(T, CustomFieldDef(key="note", label="Note", type="text"))
        self.s = w.create(name="Ana", phone="+54 9 11 1111 1111", email="ana@example.com",
                          identities=[wa("5491111111111")], tags=["vip"], fields={"city": "Córdoba"})
        self.m = w.create(name="Ana Pérez", phone="+54 9 11 2222 2222", email="ana@example.com",
                          identities=[wa("5491122222222"),
                                      {"kind": "whatsapp_bsuid", "value": "AR.222", "channel_id": CH}],
                          tags=["lead", "vip"], fields={"city": "Rosario", "plan": "gold", "segment": "b2b"})
        w.svc.set_consent(T, self.s, ConsentInput(purpose="marketing", status="opted_in", source="web_form"),
                          actor="agent")
        w.svc.set_consent(T, self.m, ConsentInput(purpose="utility", status="opted_in", source="whatsapp"),
                          actor="bot")
        w.store.add_thread(T, CH, "5491111111111", contact_id=self.s)
        w.store.add_thread(T, CH, "5491122222222", contact_id=self.m)
        self.survivor_before = w.contact(self.s)
        self.merged_before = w.contact(self.m)


@pytest.fixture
def pair(w: World) -> Pair:
    return Pair(w)


def test_merge_moves_identities_tags_fields_consent_and_threads_to_the_survivor(w: World, pair: Pair) -> None:
    w.svc.merge(T, pair.s, pair.m, actor="agent")
    survivor = w.contact(pair.s)

    assert {(i.kind, i.value) for i in survivor.identities} == {
        ("phone", "+5491111111111"), ("email", "ana@example.com"), ("whatsapp", "5491111111111"),
        ("phone", "+5491122222222"), ("whatsapp", "5491122222222"), ("whatsapp_bsuid", "AR.222")}
    assert survivor.tags == ("vip", "lead")
    assert survivor.fields == {"city": "Córdoba", "plan": "gold", "segment": "b2b"}  # the survivor's value wins
    assert set(survivor.consent) == {"marketing", "utility"}
    assert w.store.find_identity(T, "whatsapp", "5491122222222") == pair.s
    assert w.store.find_identity(T, "whatsapp_bsuid", "AR.222") == pair.s
    assert w.store.find_soft(T, "phone", "+5491122222222") == [pair.s]
    assert w.store.find_soft(T, "email", "ana@example.com") == [pair.s]
    assert {th.contact_key for th in w.store.contact_threads(T, pair.s)} == {"5491111111111", "5491122222222"}
    assert w.store.contact_threads(T, pair.m) == []


def test_the_merged_contact_becomes_a_tombstone_outside_the_listing(w: World, pair: Pair) -> None:
    w.svc.merge(T, pair.s, pair.m, actor="agent")

    assert w.contact(pair.m).merged_into == pair.s
    assert [c.contact_id for c in w.svc.iter_all(T)] == [pair.s]
    assert w.store.count(T) == 1
    with pytest.raises(Conflict):
        w.svc.update(T, pair.m, ContactPatch(name="ghost"), actor="agent")
    with pytest.raises(Conflict):
        w.svc.change_tags(T, pair.m, add=["x"], actor="agent")


def test_the_merge_record_holds_both_snapshots_and_the_moved_threads(w: World, pair: Pair) -> None:
    w.events.clear()

    record = w.svc.merge(T, pair.s, pair.m, actor="agent:1")
    stored = w.svc.get_merge(T, record.merge_id)

    assert stored.survivor_snapshot == pair.survivor_before.model_dump(mode="json")
    assert stored.merged_snapshot == pair.merged_before.model_dump(mode="json")
    assert stored.moved_threads == (f"{CH}#5491122222222",)
    assert (stored.survivor_id, stored.merged_id, stored.actor, stored.undone_at) == (pair.s, pair.m, "agent:1", None)
    assert [(e.contact_id, e.merged_contact_id, e.merge_id) for e in w.events.of_type(ContactMerged)] == [
        (pair.s, pair.m, record.merge_id)]
    for cid in (pair.s, pair.m):
        assert "merged" in [a.kind for a in w.svc.timeline(T, cid).items]


def test_split_restores_the_merged_contact_with_its_identities_and_threads(w: World, pair: Pair) -> None:
    record = w.svc.merge(T, pair.s, pair.m, actor="agent")

    _, restored = w.svc.split(T, record.merge_id, actor="agent")
    stored = w.contact(pair.m)

    assert stored == restored
    assert stored.merged_into is None
    assert stored.identities == pair.merged_before.identities
    assert (stored.tags, stored.fields, stored.consent, stored.name) == (
        pair.merged_before.tags, pair.merged_before.fields, pair.merged_before.consent, pair.merged_before.name)
    assert w.store.find_identity(T, "whatsapp", "5491122222222") == pair.m
    assert w.store.find_identity(T, "whatsapp_bsuid", "AR.222") == pair.m
    assert w.store.find_soft(T, "phone", "+5491122222222") == [pair.m]
    assert w.store.find_soft(T, "email", "ana@example.com") == sorted([pair.s, pair.m])
    assert [th.contact_key for th in w.store.contact_threads(T, pair.m)] == ["5491122222222"]
    assert [th.contact_key for th in w.store.contact_threads(T, pair.s)] == ["5491111111111"]
    assert {c.contact_id for c in w.svc.iter_all(T)} == {pair.s, pair.m}
    assert w.store.count(T) == 2
    assert w.svc.get_merge(T, record.merge_id).undone_at is not None


def test_split_takes_back_only_what_the_merge_brought(w: World, pair: Pair) -> None:
    record = w.svc.merge(T, pair.s, pair.m, actor="agent")
    # gained by the survivor after the merge: these stay
    w.svc.change_tags(T, pair.s, add=["after-merge"], actor="agent")
    w.svc.add_identity(T, pair.s, Identity(kind="telegram", value="tg-1"), actor="agent")
    w.svc.update(T, pair.s, ContactPatch(fields={"segment": "b2c", "note": "called"}), actor="agent")

    survivor, _ = w.svc.split(T, record.merge_id, actor="agent")

    assert survivor == w.contact(pair.s)
    assert {(i.kind, i.value) for i in survivor.identities} == {
        ("phone", "+5491111111111"), ("email", "ana@example.com"), ("whatsapp", "5491111111111"),
        ("telegram", "tg-1")}
    assert survivor.tags == ("vip", "after-merge")
    assert survivor.fields == {"city": "Córdoba", "segment": "b2c", "note": "called"}  # "plan" came with the merge
    assert set(survivor.consent) == {"marketing"}
    assert w.store.find_identity(T, "telegram", "tg-1") == pair.s


def test_split_publishes_an_update_for_both_contacts_and_writes_their_timelines(w: World, pair: Pair) -> None:
    record = w.svc.merge(T, pair.s, pair.m, actor="agent")
    w.events.clear()

    w.svc.split(T, record.merge_id, actor="agent")

    assert {(e.contact_id, e.changes) for e in w.events.of_type(ContactUpdated)} == {
        (pair.s, ("split",)), (pair.m, ("split",))}
    for cid in (pair.s, pair.m):
        assert w.svc.timeline(T, cid).items[0].kind == "split"


def test_splitting_twice_is_a_conflict(w: World, pair: Pair) -> None:
    record = w.svc.merge(T, pair.s, pair.m, actor="agent")
    w.svc.split(T, record.merge_id, actor="agent")

    with pytest.raises(Conflict):
        w.svc.split(T, record.merge_id, actor="agent")
    assert w.store.count(T) == 2


def test_splitting_an_unknown_merge_is_not_found(w: World) -> None:
    with pytest.raises(NotFound):
        w.svc.split(T, "mg_nope", actor="agent")


def test_split_takes_back_the_name_and_language_the_merge_filled_in(w: World) -> None:
    survivor = w.create(phone="+54 9 11 1111 1111")
    merged = w.create(name="Ana Pérez", language="es", phone="+54 9 11 2222 2222")
    record = w.svc.merge(T, survivor, merged, actor="agent")
    assert w.contact(survivor).name == "Ana Pérez"

    after, _ = w.svc.split(T, record.merge_id, actor="agent")

    assert (after.name, after.language) == (None, None)


def test_a_contact_cannot_be_merged_into_itself(w: World) -> None:
    cid = w.create(name="Ana")

    with pytest.raises(InvalidInput):
        w.svc.merge(T, cid, cid, actor="agent")


def test_merging_into_or_from_a_merged_contact_is_a_conflict(w: World) -> None:
    a, b, c = w.create(name="A"), w.create(name="B"), w.create(name="C")
    w.svc.merge(T, a, b, actor="agent")

    with pytest.raises(Conflict):
        w.svc.merge(T, b, c, actor="agent")
    with pytest.raises(Conflict):
        w.svc.merge(T, c, b, actor="agent")
    assert w.contact(c).merged_into is None
    assert w.store.count(T) == 2


def test_merging_an_unknown_contact_is_not_found(w: World) -> None:
    a = w.create(name="A")

    with pytest.raises(NotFound):
        w.svc.merge(T, a, "ct_missing", actor="agent")


def test_a_merge_racing_a_write_is_a_conflict_and_changes_nothing(w: World, pair: Pair) -> None:
    w.store.before("merge_contacts", lambda: w.svc.change_tags(T, pair.m, add=["racing"], actor="other"))

    with pytest.raises(Conflict):
        w.svc.merge(T, pair.s, pair.m, actor="agent")

    assert w.contact(pair.m).merged_into is None
    assert w.store.find_identity(T, "whatsapp", "5491122222222") == pair.m
    assert w.store.count(T) == 2
    assert w.store.merges == {}


def test_on_merge_the_latest_consent_decision_wins_whichever_contact_had_it(w: World) -> None:
    a, b = w.create(name="A"), w.create(name="B")
    older, newer = T0 - timedelta(days=10), T0 - timedelta(days=1)
    w.svc.set_consent(T, a, ConsentInput(purpose="marketing", status="opted_in", source="import", at=older),
                      actor="x")
    w.svc.set_consent(T, b, ConsentInput(purpose="marketing", status="opted_out", source="whatsapp", at=newer),
                      actor="x")
    w.svc.set_consent(T, a, ConsentInput(purpose="utility", status="opted_in", source="api", at=newer), actor="x")
    w.svc.set_consent(T, b, ConsentInput(purpose="utility", status="opted_out", source="api", at=older), actor="x")

    w.svc.merge(T, a, b, actor="agent")
    consent = w.contact(a).consent

    assert (consent["marketing"].status, consent["marketing"].source) == ("opted_out", "whatsapp")
    assert (consent["utility"].status, consent["utility"].at) == ("opted_in", newer)


def test_split_restores_the_survivors_own_consent_decision(w: World) -> None:
    a, b = w.create(name="A"), w.create(name="B")
    w.svc.set_consent(T, a, ConsentInput(purpose="marketing", status="opted_in", source="import",
                                         at=T0 - timedelta(days=10)), actor="x")
    w.svc.set_consent(T, b, ConsentInput(purpose="marketing", status="opted_out", source="whatsapp",
                                         at=T0 - timedelta(days=1)), actor="x")
    record = w.svc.merge(T, a, b, actor="agent")

    survivor, restored = w.svc.split(T, record.merge_id, actor="agent")

    assert survivor.consent["marketing"].status == "opted_in"
    assert restored.consent["marketing"].status == "opted_out"


# --- the plan's contact cap ------------------------------------------------------------------------------

@pytest.fixture
def capped() -> World:
    return World(cap=2)


def test_api_create_at_the_cap_is_refused_and_existing_contacts_stay_writable(capped: World) -> None:
    a = capped.create(name="A")
    capped.create(name="B")
    capped.events.clear()

    with pytest.raises(PlanLimitReached):
        capped.create(name="C", identities=[wa("5491155550101")])
    updated = capped.svc.update(T, a, ContactPatch(name="A2"), actor="agent")

    assert updated.name == "A2"
    assert len(capped.store.contacts) == 2
    assert capped.store.count(T) == 2
    assert capped.store.find_identity(T, "whatsapp", "5491155550101") is None
    assert capped.events.of_type(ContactCreated) == []


def test_a_merge_frees_a_slot_under_the_cap(capped: World) -> None:
    a, b = capped.create(name="A"), capped.create(name="B")
    capped.svc.merge(T, a, b, actor="agent")

    c = capped.create(name="C")

    assert capped.store.count(T) == 2
    assert capped.contact(c).over_cap is False


def test_a_first_message_at_the_cap_creates_an_uncounted_over_cap_contact(capped: World) -> None:
    capped.create(name="A")
    capped.create(name="B")
    capped.events.clear()

    cid, created = capped.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", name="Nueva"))

    contact = capped.contact(cid)
    assert created is True
    assert contact.over_cap is True
    assert contact.name == "Nueva"
    assert capped.store.count(T) == 2
    assert [(e.contact_id, e.source, e.over_cap) for e in capped.events.of_type(ContactCreated)] == [
        (cid, "inbound", True)]
    assert "cap" in capped.svc.timeline(T, cid).items[0].summary
    # the next message finds the same contact
    assert capped.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1")) == (cid, False)


# --- resolving WhatsApp senders --------------------------------------------------------------------------

def test_a_new_sender_becomes_a_contact_with_its_whatsapp_identities_and_phone(w: World) -> None:
    cid, created = w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", wa_id="5491155550101",
                                                      phone="5491155550101", name="María"))

    contact = w.contact(cid)
    assert created is True
    assert {(i.kind, i.value) for i in contact.identities} == {
        ("whatsapp_bsuid", "AR.1"), ("whatsapp", "5491155550101"), ("phone", "+5491155550101")}
    assert contact.name == "María"
    assert contact.over_cap is False
    assert w.store.count(T) == 1
    assert [(e.contact_id, e.source) for e in w.events.of_type(ContactCreated)] == [(cid, "inbound")]


def test_sender_is_found_by_bsuid_and_its_new_wa_id_is_attached(w: World) -> None:
    cid = w.create(identities=[{"kind": "whatsapp_bsuid", "value": "AR.1"}])

    found = w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", wa_id="5491155550101"))

    assert found == (cid, False)
    assert w.store.find_identity(T, "whatsapp", "5491155550101") == cid
    assert len(w.store.contacts) == 1


def test_sender_is_found_by_wa_id_and_its_new_bsuid_is_attached(w: World) -> None:
    cid = w.create(identities=[wa("5491155550101")])

    found = w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", wa_id="5491155550101"))

    assert found == (cid, False)
    assert w.store.find_identity(T, "whatsapp_bsuid", "AR.1") == cid
    assert w.contact(cid).identity_values("whatsapp_bsuid") == ["AR.1"]


@pytest.mark.parametrize(("imported_phone", "wa_id"), [
    ("011 15 5555-0101", "5491155550101"),  # AR, written domestically
    ("+52 55 1234 5678", "5215512345678"),  # MX, WhatsApp still sends the 1
    ("+55 11 98765 4321", "551187654321"),  # BR, WhatsApp id without the 9th digit
])
def test_sender_is_found_by_the_phone_of_a_single_imported_contact(w: World, imported_phone: str, wa_id: str
                                                                   ) -> None:
    imported = w.create(name="Imported", phone=imported_phone, default_country="AR")
    w.events.clear()

    found = w.svc.resolve_sender(T, CH, Sender(key=wa_id, wa_id=wa_id))

    assert found == (imported, False)
    assert w.store.find_identity(T, "whatsapp", wa_id) == imported
    assert w.events.of_type(ContactCreated) == []
    assert len(w.store.contacts) == 1


def test_two_contacts_with_the_senders_phone_are_ambiguous_so_a_new_contact_is_made(w: World) -> None:
    a = w.create(name="Mom", phone="+54 9 11 5555 0101")
    b = w.create(name="Dad", phone="+54 9 11 5555 0101")

    cid, created = w.svc.resolve_sender(T, CH, Sender(key="5491155550101", wa_id="5491155550101"))

    assert created is True
    assert cid not in (a, b)
    assert w.store.find_identity(T, "whatsapp", "5491155550101") == cid
    assert w.store.find_soft(T, "phone", "+5491155550101") == sorted([a, b, cid])


def test_a_sender_of_a_merged_contact_resolves_to_the_survivor(w: World) -> None:
    survivor = w.create(name="S")
    merged = w.create(identities=[wa("5491155550101")])
    w.svc.merge(T, survivor, merged, actor="agent")

    assert w.svc.resolve_sender(T, CH, Sender(key="5491155550101", wa_id="5491155550101")) == (survivor, False)


def test_a_concurrent_first_message_returns_the_contact_that_won(w: World) -> None:
    winner: list[str] = []
    w.store.before("create_contact", lambda: winner.append(
        w.create(identities=[{"kind": "whatsapp_bsuid", "value": "AR.1"}])))

    cid, _ = w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", name="María"))

    assert cid == winner[0]
    assert len(w.store.contacts) == 1
    assert w.store.count(T) == 1
    assert [e.source for e in w.events.of_type(ContactCreated)] == ["api"]


def test_a_concurrent_first_message_is_not_reported_as_created(w: World) -> None:
    w.store.before("create_contact", lambda: w.create(identities=[{"kind": "whatsapp_bsuid", "value": "AR.1"}]))

    _, created = w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1"))

    assert created is False


def test_learned_identities_are_attached_after_a_concurrent_edit(w: World) -> None:
    cid = w.create(identities=[{"kind": "whatsapp_bsuid", "value": "AR.1"}])
    w.store.before("save_contact", lambda: w.svc.change_tags(T, cid, add=["edited"], actor="agent"))

    assert w.svc.resolve_sender(T, CH, Sender(key="AR.1", user_id="AR.1", wa_id="5491155550101")) == (cid, False)

    contact = w.contact(cid)
    assert contact.tags == ("edited",)
    assert contact.identity_values("whatsapp") == ["5491155550101"]


def test_resolving_for_an_unknown_tenant_creates_nothing(w: World) -> None:
    with pytest.raises(NotFound):
        w.svc.resolve_sender("ghost", CH, Sender(key="AR.1", user_id="AR.1"))
    assert w.store.contacts == {}
