"""CSV import: row validation, the rejected-rows report, delimiters/BOM/Spanish headers, idempotent re-import,
LATAM phone matching, the plan cap, resumption after a hand-over, and uploads. In-memory fakes, no network."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import Conflict, RetryableError
from shared.models.crm import Activity, ConsentRecord, Contact, CustomFieldDef, Identity
from shared.models.events import ContactCreated, ContactUpdated, TenantEvent
from shared.models.jobs import ExportInput, ImportInput, Job, RowProblem
from shared.models.tenancy import Plan, Tenant
from shared.ports import ContactCapReached, IdentityTaken, Page, StaleContact, Thread
from shared.services.jobs import (
    Column,
    ColumnsRejected,
    JobService,
    RowData,
    decode_csv,
    export_key,
    import_report_key,
    parse_csv,
    plan_columns,
    safe_cell,
    sniff_delimiter,
    validate_row,
)

T = "acme"
DEFS = {
    "puntos": CustomFieldDef(key="puntos", label="Puntos", type="number"),
    "cumple": CustomFieldDef(key="cumple", label="Cumpleaños", type="date"),
    "socio": CustomFieldDef(key="socio", label="Socio", type="boolean"),
    "talle": CustomFieldDef(key="talle", label="Talle", type="list", options=("S", "M", "L")),
}


# --- fakes ------------------------------------------------------------------------------------------------------

class StepClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at


class FakeContacts:
    """The ContactStore port in memory: unique channel identities, soft phone/email, versions, the plan cap."""

    def __init__(self) -> None:
        self.contacts: dict[str, Contact] = {}
        self.unique: dict[tuple[str, str], str] = {}
        self.soft: dict[tuple[str, str], set[str]] = {}
        self.counted = 0
        self.activities: list[tuple[str, Activity]] = []
        self.defs: dict[str, CustomFieldDef] = dict(DEFS)

    def _index(self, contact: Contact, identities: Sequence[Identity]) -> None:
        for i in identities:
            if i.kind in ("email", "phone"):
                self.soft.setdefault((i.kind, i.value), set()).add(contact.contact_id)
            else:
                self.unique[(i.kind, i.value)] = contact.contact_id

    def _check_unique(self, contact: Contact, identities: Sequence[Identity]) -> None:
        for i in identities:
            owner = self.unique.get((i.kind, i.value))
            if i.kind not in ("email", "phone") and owner and owner != contact.contact_id:
                raise IdentityTaken(i.kind, i.value, owner)

    def create_contact(self, contact: Contact, *, cap: int | None) -> None:
        self._check_unique(contact, contact.identities)
        if cap is not None:
            if self.counted >= cap:
                raise ContactCapReached()
            self.counted += 1
        self.contacts[contact.contact_id] = contact
        self._index(contact, contact.identities)

    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None:
        return self.contacts.get(contact_id)

    def save_contact(self, contact: Contact, *, expected_version: int, added: Sequence[Identity] = (),
                     removed: Sequence[Identity] = ()) -> None:
        if self.contacts[contact.contact_id].version != expected_version:
            raise StaleContact()
        self._check_unique(contact, added)
        self.contacts[contact.contact_id] = contact
        self._index(contact, added)

    def find_identity(self, tenant_id: str, kind: str, value: str) -> str | None:
        return self.unique.get((kind, value))

    def find_soft(self, tenant_id: str, kind: str, value: str) -> list[str]:
        return sorted(self.soft.get((kind, value), set()))

    def list_contacts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        ids = sorted(self.contacts, reverse=True)
        start = int(cursor or 0)
        end = start + limit
        return Page([self.contacts[i] for i in ids[start:end]], str(end) if end < len(ids) else None)

    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]:
        return dict(self.defs)

    def add_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None:
        self.activities.append((contact_id, activity))

    def contact_threads(self, tenant_id: str, contact_id: str) -> list[Thread]:
        return []

    def by_phone(self, e164: str) -> Contact:
        [cid] = self.soft[("phone", e164)]
        return self.contacts[cid]


@dataclass
class FakeTenants:
    max_contacts: int = 1000

    def get_tenant(self, tenant_id: str) -> Tenant:
        return Tenant(tenant_id=tenant_id, name="Acme", plan=Plan(max_contacts=self.max_contacts),
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))


@dataclass
class FakeEvents:
    published: list[TenantEvent] = field(default_factory=list)

    def publish(self, events: Sequence[TenantEvent]) -> None:
        self.published.extend(events)


class FakeJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}

    def create_job(self, job: Job) -> None:
        assert job.job_id not in self.jobs
        self.jobs[job.job_id] = job

    def get_job(self, tenant_id: str, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job and job.tenant_id == tenant_id else None

    def list_jobs(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        mine = sorted((j for j in self.jobs.values() if j.tenant_id == tenant_id), key=lambda j: j.job_id,
                      reverse=True)
        return Page(mine[:limit], None)

    def claim_job(self, job: Job, *, owner: str, now: datetime, until: datetime) -> bool:
        held = self.leases.get(job.job_id)
        if self.jobs[job.job_id].status not in ("queued", "running") or (held and held[1] > now and held[0] != owner):
            return False
        self.leases[job.job_id] = (owner, until)
        self.jobs[job.job_id] = job
        return True

    def save_job(self, job: Job, *, owner: str | None = None, expected_status: str | None = None,
                 release: bool = False) -> bool:
        if owner is not None and self.leases.get(job.job_id, ("",))[0] != owner:
            return False
        if expected_status is not None and self.jobs[job.job_id].status != expected_status:
            return False
        self.jobs[job.job_id] = job
        if release:
            self.leases.pop(job.job_id, None)
        return True

    def release_job(self, tenant_id: str, job_id: str, *, owner: str) -> None:
        if self.leases.get(job_id, ("",))[0] == owner:
            self.leases.pop(job_id)


@dataclass
class FakeQueue:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def enqueue(self, tenant_id: str, job_id: str) -> None:
        self.sent.append((tenant_id, job_id))


@dataclass
class FakeFiles:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.objects[key] = data

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def size(self, key: str) -> int | None:
        return len(self.objects[key]) if key in self.objects else None

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def presign_get(self, key: str, *, expires_s: int, filename: str | None = None) -> str:
        return f"https://files.test/{key}?get&expires={expires_s}"

    def presign_put(self, key: str, *, expires_s: int) -> str:
        return f"https://files.test/{key}?put&expires={expires_s}"


@dataclass
class World:
    contacts: FakeContacts = field(default_factory=FakeContacts)
    tenants: FakeTenants = field(default_factory=FakeTenants)
    events: FakeEvents = field(default_factory=FakeEvents)
    jobs: FakeJobs = field(default_factory=FakeJobs)
    queue: FakeQueue = field(default_factory=FakeQueue)
    files: FakeFiles = field(default_factory=FakeFiles)
    clock: StepClock = field(default_factory=StepClock)
    chunk_rows: int = 100

    @property
    def service(self) -> JobService:
        return JobService(jobs=self.jobs, queue=self.queue, files=self.files, contacts=self.contacts,
                          tenants=self.tenants, events=self.events, clock=self.clock, chunk_rows=self.chunk_rows)

    def drain(self, *, remaining_s: float = 300.0) -> None:
        """Run every queued job message, like the worker does (new invocation, new owner, each time)."""
        n = 0
        while self.queue.sent:
            tenant_id, job_id = self.queue.sent.pop(0)
            n += 1
            self.service.run(tenant_id, job_id, owner=f"req-{n}", remaining_s=lambda: remaining_s)

    def import_csv(self, text: str, **options: Any) -> Job:
        job = self.service.start_import(T, ImportInput(csv=text, **options), actor="key_1")
        self.drain()
        return self.service.get(T, job.job_id)

    def seed(self, *identities: Identity, **attributes: Any) -> Contact:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        contact = Contact(tenant_id=T, contact_id=f"ct_seed{len(self.contacts.contacts)}", identities=identities,
                          created_at=at, updated_at=at, **attributes)
        self.contacts.create_contact(contact, cap=1000)
        return contact


@pytest.fixture
def world() -> World:
    return World()


# --- row validation ---------------------------------------------------------------------------------------------

COLUMNS = tuple(Column(i, h, t) for i, (h, t) in enumerate([
    ("Nombre", "name"), ("Teléfono", "phone"), ("Correo", "email"), ("WhatsApp", "whatsapp"), ("Etiquetas", "tags"),
    ("Etapa", "lifecycle"), ("Idioma", "language"), ("Marketing", "consent.marketing"), ("Puntos", "fields.puntos"),
    ("Cumpleaños", "fields.cumple"), ("Socio", "fields.socio"), ("Talle", "fields.talle"),
]))
HEADERS = [c.header for c in COLUMNS]


def row(**cells: str) -> list[str]:
    by_header = {"name": "Nombre", "phone": "Teléfono", "email": "Correo", "whatsapp": "WhatsApp", "tags": "Etiquetas",
                 "lifecycle": "Etapa", "language": "Idioma", "consent": "Marketing", "puntos": "Puntos",
                 "cumple": "Cumpleaños", "socio": "Socio", "talle": "Talle"}
    values = {by_header[k]: v for k, v in cells.items()}
    return [values.get(h, "") for h in HEADERS]


def check(cells: list[str], country: str | None = "AR") -> RowData | tuple[RowProblem, ...]:
    return validate_row(cells, COLUMNS, DEFS, default_country=country, width=len(HEADERS))


@pytest.mark.parametrize(("cells", "expected"), [
    (row(phone="011 15 2345-6789"), {"phone": "+5491123456789"}),
    (row(phone="+54 9 11 2345-6789"), {"phone": "+5491123456789"}),
    (row(phone="(11) 2345-6789", name="  Ana  "), {"phone": "+541123456789", "name": "Ana"}),
    (row(email=" Ana@Example.COM "), {"email": "ana@example.com"}),
    (row(whatsapp="+54 9 11 2345 6789"), {"whatsapp": "5491123456789"}),
    (row(email="a@b.co", tags="vip; cliente frecuente;vip"), {"tags": ("vip", "cliente frecuente")}),
    (row(email="a@b.co", lifecycle="Cliente"), {"lifecycle": "customer"}),
    (row(email="a@b.co", lifecycle="qualified"), {"lifecycle": "qualified"}),
    (row(email="a@b.co", language="ES-ar"), {"language": "es-AR"}),
    (row(email="a@b.co", consent="opted_in"), {"consent_marketing": "opted_in"}),
    (row(email="a@b.co", consent="Sí"), {"consent_marketing": "opted_in"}),
    (row(email="a@b.co", consent="opted_out"), {"consent_marketing": "opted_out"}),
    (row(email="a@b.co", puntos="12,5", cumple="1990-05-17", socio="si", talle="M"),
     {"fields": {"puntos": 12.5, "cumple": "1990-05-17", "socio": True, "talle": ["M"]}}),
])
def test_valid_rows_are_normalized(cells: list[str], expected: dict[str, Any]) -> None:
    result = check(cells)
    assert isinstance(result, RowData), result
    for attr, value in expected.items():
        assert getattr(result, attr) == value


@pytest.mark.parametrize(("cells", "codes"), [
    (row(phone="12345"), {("Teléfono", "invalid_phone")}),
    (row(phone="011 4444 5555", email="not-an-email"), {("Correo", "invalid_email")}),
    (row(whatsapp="hola"), {("WhatsApp", "invalid_whatsapp")}),
    (row(email="a@b.co", tags="vip;#no;"), {("Etiquetas", "invalid_tag")}),
    (row(email="a@b.co", lifecycle="vip"), {("Etapa", "invalid_lifecycle")}),
    (row(email="a@b.co", language="spanish"), {("Idioma", "invalid_language")}),
    (row(email="a@b.co", consent="maybe"), {("Marketing", "invalid_consent")}),
    (row(email="a@b.co", puntos="muchos"), {("Puntos", "invalid_field")}),
    (row(email="a@b.co", cumple="17/05/1990"), {("Cumpleaños", "invalid_field")}),
    (row(email="a@b.co", talle="XXL"), {("Talle", "invalid_field")}),
    (row(name="Ana", tags="vip"), {(None, "no_identity")}),
    (row(email="a@b.co") + ["surplus"], {(None, "malformed_row")}),
    (row(phone="abc", email="x"), {("Teléfono", "invalid_phone"), ("Correo", "invalid_email")}),
])
def test_invalid_rows_say_which_column_and_why(cells: list[str], codes: set[tuple[str | None, str]]) -> None:
    result = check(cells)
    assert isinstance(result, tuple)
    assert {(p.column, p.code) for p in result} == codes


def test_reasons_never_repeat_the_value() -> None:
    result = check(row(phone="+54 11 99", email="jose.perez@@example"))
    assert isinstance(result, tuple)
    text = " ".join(p.message for p in result)
    assert "99" not in text and "jose" not in text


def test_national_numbers_need_a_default_country() -> None:
    result = check(row(phone="011 15 2345-6789"), country=None)
    assert isinstance(result, tuple) and result[0].code == "invalid_phone"


# --- reading the file -------------------------------------------------------------------------------------------

def test_semicolons_bom_and_spanish_headers_are_recognized() -> None:
    data = "\ufeffNombre;Teléfono;Correo electrónico;Etiquetas;Cumpleaños\r\nAna;011 15 2345-6789;a@b.co;vip;\r\n"
    text, encoding = decode_csv(data.encode("utf-8"))
    table = parse_csv(text)
    assert (encoding, table.delimiter) == ("utf-8", ";")
    columns = plan_columns(table.headers, {}, DEFS)
    assert [c.target for c in columns] == ["name", "phone", "email", "tags", "fields.cumple"]


def test_windows_1252_files_from_excel_are_read() -> None:
    text, encoding = decode_csv("Nombre;Teléfono\r\nJosé;1123456789\r\n".encode("cp1252"))
    assert encoding == "windows-1252" and "José" in text


def test_the_delimiter_is_sniffed_outside_quotes() -> None:
    assert sniff_delimiter('"a;b;c",phone,email\n1;2,3,4') == ","
    assert sniff_delimiter("name\tphone\n") == "\t"
    assert sniff_delimiter("email\n") == ","


def test_rows_keep_the_line_where_they_start() -> None:
    table = parse_csv('name,email\n"Ana\nMaría",a@b.co\n\nLuis,l@b.co\n')
    assert [line for line, _ in table.rows] == [2, 5]


def test_column_problems_are_all_reported_up_front() -> None:
    with pytest.raises(ColumnsRejected) as caught:
        plan_columns(["Nombre", "Teléfono", "Celular", "Color favorito", "fields.ciudad"], {"Falta": "name"}, DEFS)
    assert {(p.column, p.code) for p in caught.value.problems} == {
        ("Falta", "column_not_in_file"), ("Color favorito", "unknown_column"), ("fields.ciudad", "unknown_field"),
        ("Celular", "duplicate_target")}


def test_an_explicit_mapping_wins_and_null_skips_a_column() -> None:
    columns = plan_columns(["Cliente", "Cel", "Notas"], {"Cliente": "name", "cel": "phone", "Notas": None}, DEFS)
    assert [(c.header, c.target) for c in columns] == [("Cliente", "name"), ("Cel", "phone")]


# --- import end to end over the fakes ---------------------------------------------------------------------------

BAD_FILE = (
    "nombre,telefono,correo,etiquetas,puntos\n"
    "Ana,011 15 2345-6789,ana@example.com,vip;norte,10\n"
    "Beto,12,beto@example.com,,\n"  # bad phone
    "Caro,,caro@example,,\n"  # bad email
    "=HYPERLINK(\"http://evil\"),,dora@example.com,,muchos\n"  # bad number; a formula in the name
    "Eva,+52 1 55 1234 5678,,,7\n"
)


def test_bad_rows_are_reported_with_line_and_reasons(world: World) -> None:
    job = world.import_csv(BAD_FILE, default_country="AR")

    assert job.status == "succeeded" and job.error is None
    p = job.progress
    assert (p.total, p.processed, p.created, p.updated, p.unchanged, p.rejected) == (5, 5, 2, 0, 0, 3)
    assert [(r.line, [x.code for x in r.reasons]) for r in job.result.rejected_sample] == [
        (3, ["invalid_phone"]), (4, ["invalid_email"]), (5, ["invalid_field"])]
    assert job.result.report_url and job.result.report_url.startswith("https://files.test/imports/acme/")
    assert job.result.url_expires_at is not None

    report = world.files.objects[import_report_key(T, job.job_id)].decode("utf-8")
    assert report.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))
    assert rows[0] == ["line", "reasons", "nombre", "telefono", "correo", "etiquetas", "puntos"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert rows[1][1].startswith("telefono: too short")
    assert rows[3][2] == "'=HYPERLINK(\"http://evil\")"  # a formula never reaches a spreadsheet as one
    assert not world.files.list_keys(f"imports/{T}/{job.job_id}-rejected.parts/")  # parts cleaned up

    ana = world.contacts.by_phone("+5491123456789")
    assert (ana.name, ana.tags, ana.fields, ana.emails) == ("Ana", ("vip", "norte"), {"puntos": 10},
                                                            ["ana@example.com"])
    assert world.contacts.by_phone("+525512345678").name == "Eva"
    assert [type(e) for e in world.events.published] == [ContactCreated, ContactCreated]
    assert all(isinstance(e, ContactCreated) and e.source == "import" for e in world.events.published)


def test_reimporting_the_same_file_changes_nothing(world: World) -> None:
    first = world.import_csv(BAD_FILE, default_country="AR")
    before = {cid: c.version for cid, c in world.contacts.contacts.items()}
    events, activities = len(world.events.published), len(world.contacts.activities)

    second = world.import_csv(BAD_FILE, default_country="AR")

    assert first.job_id != second.job_id
    p = second.progress
    assert (p.created, p.updated, p.unchanged, p.rejected) == (0, 0, 2, 3)
    assert {cid: c.version for cid, c in world.contacts.contacts.items()} == before
    assert len(world.events.published) == events and len(world.contacts.activities) == activities


def test_a_row_matches_whatsapp_contacts_across_latam_phone_formats(world: World) -> None:
    # given contacts created by inbound WhatsApp messages (wa_id + phone), one with the AR wa_id without the 9
    maria = world.seed(Identity(kind="whatsapp", value="5491123456789"), Identity(kind="phone", value="+5491123456789"),
                       name="Mari")
    jose = world.seed(Identity(kind="whatsapp", value="541187654321"), Identity(kind="phone", value="+541187654321"))
    lupe = world.seed(Identity(kind="whatsapp", value="5215512345678"))

    job = world.import_csv("nombre;telefono;etiquetas\n"
                           "María;011 15 2345-6789;vip\n"
                           "José;+54 9 11 8765-4321;\n"
                           "Lupe;55 1234 5678;mx\n", default_country="AR",
                           columns={"telefono": "phone"})
    assert job.status == "succeeded", job.error
    # Lupe's number is Mexican written nationally with AR as default: it does not parse as AR
    assert (job.progress.updated, job.progress.created, job.progress.rejected) == (2, 0, 1)
    after = world.contacts.contacts
    assert (after[maria.contact_id].name, after[maria.contact_id].tags) == ("María", ("vip",))
    assert after[maria.contact_id].version == 2
    assert after[maria.contact_id].phones == ["+5491123456789"]  # no second spelling of the same line
    assert after[jose.contact_id].name == "José" and after[jose.contact_id].phones == ["+541187654321"]

    mx = world.import_csv("whatsapp,etiquetas\n+52 1 55 1234 5678,mx\n")
    assert (mx.progress.updated, mx.progress.created) == (1, 0)
    assert after[lupe.contact_id].tags == ("mx",)
    assert [e for e in world.events.published if isinstance(e, ContactUpdated)][0].changes == ("name", "tags")


def test_email_matches_when_there_is_no_phone_and_consent_is_recorded_with_the_import_as_evidence(
        world: World) -> None:
    ana = world.seed(Identity(kind="email", value="ana@example.com"), consent={
        "marketing": ConsentRecord(status="opted_out", at=datetime(2025, 1, 1, tzinfo=UTC), source="whatsapp")})
    job = world.import_csv("email,consent.marketing\nANA@example.com,opted_in\n")
    assert job.progress.updated == 1
    record = world.contacts.contacts[ana.contact_id].consent["marketing"]
    assert (record.status, record.source, record.actor) == ("opted_in", "import", "key_1")
    again = world.import_csv("email,consent.marketing\nana@example.com,opted_in\n")
    assert again.progress.unchanged == 1
    assert world.contacts.contacts[ana.contact_id].consent["marketing"] == record  # evidence kept, not renewed


def test_rows_over_the_plan_cap_are_rejected_not_created(world: World) -> None:
    world.tenants.max_contacts = 2
    world.seed(Identity(kind="email", value="old@example.com"))
    world.contacts.counted = 1
    job = world.import_csv("email\nold@example.com\nnew1@example.com\nnew2@example.com\nnew3@example.com\n")
    p = job.progress
    assert (p.unchanged, p.created, p.rejected) == (1, 1, 2)
    assert {r.reasons[0].code for r in job.result.rejected_sample} == {"plan_limit_reached"}
    assert [r.line for r in job.result.rejected_sample] == [4, 5]


def test_a_whatsapp_id_owned_by_another_contact_rejects_the_row(world: World) -> None:
    world.seed(Identity(kind="whatsapp", value="5491155550000"))
    world.seed(Identity(kind="email", value="ana@example.com"))
    job = world.import_csv("email,whatsapp\nana@example.com,5491155550000\n")
    assert [r.reasons[0].code for r in job.result.rejected_sample] == ["identity_taken"]


def test_two_contacts_sharing_the_phone_make_the_row_ambiguous(world: World) -> None:
    world.seed(Identity(kind="phone", value="+5491123456789"))
    world.seed(Identity(kind="phone", value="+5491123456789"))
    job = world.import_csv("telefono,nombre\n+5491123456789,Ana\n")
    assert [r.reasons[0].code for r in job.result.rejected_sample] == ["ambiguous_match"]


def test_unknown_columns_fail_the_job_before_any_row(world: World) -> None:
    job = world.import_csv("nombre,telefono,color\nAna,+5491123456789,rojo\n")
    assert job.status == "failed" and job.finished_at is not None
    assert job.error and "unknown column 'color'" in job.error
    assert [(e.column, e.code) for e in job.errors] == [("color", "unknown_column")]
    assert not world.contacts.contacts and job.progress.processed == 0


def test_a_long_import_hands_over_near_the_deadline_and_resumes_at_its_offset(world: World) -> None:
    world.chunk_rows = 2
    text = "email,nombre\n" + "".join(f"c{i}@example.com,C{i}\n" for i in range(5)) + "bad,X\n"
    job = world.service.start_import(T, ImportInput(csv=text), actor="key_1")
    world.queue.sent.clear()

    # when the first run has almost no time left after its first chunk
    assert world.service.run(T, job.job_id, owner="req-1", remaining_s=lambda: 5.0) == "continued"
    mid = world.jobs.jobs[job.job_id]
    assert (mid.status, mid.progress.processed, mid.progress.created) == ("running", 2, 2)
    assert world.queue.sent == [(T, job.job_id)] and job.job_id not in world.jobs.leases

    # then the next run resumes after row 2 (a second hand-over, then the end)
    assert world.service.run(T, job.job_id, owner="req-2", remaining_s=lambda: 5.0) == "continued"
    assert world.service.run(T, job.job_id, owner="req-3", remaining_s=lambda: 5.0) == "done"
    done = world.service.get(T, job.job_id)
    assert (done.status, done.progress.processed, done.progress.created, done.progress.rejected) == \
        ("succeeded", 6, 5, 1)
    assert len(world.contacts.contacts) == 5
    report = world.files.objects[import_report_key(T, job.job_id)].decode("utf-8")
    assert report.count("\n") == 2 and "\n7," in report

    # a late duplicate of a message finds the job finished
    assert world.service.run(T, job.job_id, owner="req-4", remaining_s=lambda: 300.0) == "skipped"


def test_a_job_leased_by_another_worker_is_retried_later(world: World) -> None:
    job = world.service.start_import(T, ImportInput(csv="email\na@b.co\n"), actor="key_1")
    world.jobs.leases[job.job_id] = ("other", world.clock.at + timedelta(minutes=5))
    with pytest.raises(RetryableError):
        world.service.run(T, job.job_id, owner="req-1", remaining_s=lambda: 300.0)
    assert world.jobs.jobs[job.job_id].status == "queued"


def test_the_last_delivery_of_a_crashing_job_marks_it_failed(world: World) -> None:
    job = world.service.start_import(T, ImportInput(csv="email\na@b.co\n"), actor="key_1")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("dynamodb down")

    world.contacts.create_contact = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.service.run(T, job.job_id, owner="req-1", remaining_s=lambda: 300.0)
    assert world.jobs.jobs[job.job_id].status == "running" and job.job_id not in world.jobs.leases
    assert world.service.run(T, job.job_id, owner="req-2", remaining_s=lambda: 300.0, final_attempt=True) == "failed"
    assert world.jobs.jobs[job.job_id].error is not None


def test_an_upload_gets_a_link_and_starts_only_once_the_file_is_there(world: World) -> None:
    job = world.service.start_import(T, ImportInput(upload=True, default_country="AR"), actor="key_1")
    assert job.status == "awaiting_upload" and job.result.upload_url
    assert f"imports/{T}/{job.job_id}.csv" in job.result.upload_url and not world.queue.sent
    with pytest.raises(Conflict):
        world.service.start_uploaded_import(T, job.job_id, actor="key_1")

    world.files.objects[f"imports/{T}/{job.job_id}.csv"] = "nombre;teléfono\nAna;011 15 2345-6789\n".encode()
    started = world.service.start_uploaded_import(T, job.job_id, actor="key_1")
    assert started.status == "queued" and started.result.upload_url is None
    with pytest.raises(Conflict):
        world.service.start_uploaded_import(T, job.job_id, actor="key_1")
    world.drain()
    assert world.service.get(T, job.job_id).progress.created == 1


def test_another_tenants_job_is_not_found(world: World) -> None:
    from shared.errors import NotFound

    job = world.service.start_import(T, ImportInput(csv="email\na@b.co\n"), actor="key_1")
    with pytest.raises(NotFound):
        world.service.get("other", job.job_id)


def test_import_input_needs_exactly_one_source_and_known_targets() -> None:
    with pytest.raises(ValueError, match="either"):
        ImportInput()
    with pytest.raises(ValueError, match="either"):
        ImportInput(csv="a", upload=True)
    with pytest.raises(ValueError, match="unknown target"):
        ImportInput(csv="a", columns={"x": "birthday"})


# --- export (the CSV shape; S3 and links are covered by the integration test) -----------------------------------

def test_export_writes_excel_friendly_csv_with_the_requested_columns(world: World) -> None:
    world.seed(Identity(kind="phone", value="+5491123456789"), Identity(kind="whatsapp", value="5491123456789"),
               name="=cmd|' /C calc'!A0", tags=("vip", "norte"), fields={"puntos": 10, "talle": ["M", "L"]})
    job = world.service.start_export(T, ExportInput(fields=["name", "phones", "whatsapp", "tags", "fields.talle"],
                                                    delimiter=";"), actor="key_1")
    world.drain()
    done = world.service.get(T, job.job_id)
    assert done.status == "succeeded" and done.result.download_url and done.progress.processed == 1
    data = world.files.objects[export_key(T, job.job_id)].decode("utf-8")
    assert data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff")), delimiter=";"))
    assert rows == [["contact_id", "name", "phones", "whatsapp", "tags", "fields.talle"],
                    ["ct_seed0", "'=cmd|' /C calc'!A0", "+5491123456789", "5491123456789", "vip;norte", "M;L"]]


def test_safe_cell_only_touches_formula_starts() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+54", "-2", "@x", "Ana", "")] == ["'=1+1", "'+54", "'-2", "'@x", "Ana", ""]
