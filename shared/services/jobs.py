"""Background jobs: contact import and export as CSV, run by the jobs worker; erasure is run through a port.

Import
  The CSV (inline up to 5 MB, or uploaded through a pre-signed PUT) lives in S3 at `imports/<t>/<job>.csv`.
  Columns are planned up front (explicit `columns` mapping, else recognized headers, Spanish included); an
  unknown or duplicate column fails the job before any row is touched. Each row is validated on its own
  (phone/email/WhatsApp normalization, custom field types, tags, lifecycle, language, consent) and rejected
  rows are reported with their line and reasons. A row matches an existing contact by normalized phone
  (and its WhatsApp spellings), else email, else WhatsApp id; only what differs is written, in one save,
  so re-importing the same file changes nothing (no version bump, no event). A new contact counts against
  the plan's cap (rejected as `plan_limit_reached` at the cap).
  The worker checkpoints the row offset and the counters every `chunk_rows` rows; near the Lambda deadline
  it releases the job and queues it again, and the next run resumes at the stored offset.

Export
  All contacts (or a segment's) into `exports/<t>/<job>.csv`, UTF-8 with BOM for Excel. Links are pre-signed
  when a job is read, so `GET /v1/jobs/{id}` always answers with a fresh one.

Concurrency: a worker claims a job with a lease (conditional write); checkpoints are conditional on holding
it. A duplicate queue message finds the lease taken and retries later, or finds the job finished and stops.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.errors import Conflict, InvalidInput, NotFound, RetryableError
from shared.models.crm import (
    TAG,
    Activity,
    ConsentRecord,
    ConsentStatus,
    Contact,
    CustomFieldDef,
    FieldValue,
    Identity,
    LifecycleStage,
    normalize_email,
)
from shared.models.events import ContactCreated, ContactUpdated, TenantEvent
from shared.models.jobs import (
    MAX_UPLOAD_BYTES,
    REJECTED_SAMPLE,
    ExportInput,
    ImportInput,
    Job,
    JobInputs,
    JobProgress,
    RejectedRow,
    RowProblem,
)
from shared.ports import Clock, ContactCapReached, EventPublisher, IdentityTaken, Page, StaleContact
from shared.services.contacts import TenantLookup, new_id

if TYPE_CHECKING:
    from shared.services.quotas import QuotaGate
from shared.services.phone import InvalidPhone, normalize_phone, phone_variants

CHUNK_ROWS = 100
EXPORT_PROGRESS_EVERY = 500
LINK_TTL = timedelta(hours=1)
LEASE = timedelta(minutes=6)  # longer than the worker's 300 s timeout
HANDOFF_MARGIN_S = 60.0  # hand the job over when less than this is left of the invocation
MAX_TAGS_PER_CONTACT = 100

RunOutcome = Literal["done", "continued", "skipped", "failed"]
Predicate = Callable[[Contact, datetime], bool]


# --- ports --------------------------------------------------------------------------------------------------

class JobStore(Protocol):
    def create_job(self, job: Job) -> None: ...

    def get_job(self, tenant_id: str, job_id: str) -> Job | None: ...

    def list_jobs(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        """Newest first."""

    def claim_job(self, job: Job, *, owner: str, now: datetime, until: datetime) -> bool:
        """Store `job` (running) and lease it to `owner` unless another live lease holds it."""

    def save_job(self, job: Job, *, owner: str | None = None, expected_status: str | None = None,
                 release: bool = False) -> bool:
        """Store `job`; False when `owner` no longer holds the lease or the status is not `expected_status`."""

    def release_job(self, tenant_id: str, job_id: str, *, owner: str) -> None: ...


class JobQueue(Protocol):
    def enqueue(self, tenant_id: str, job_id: str) -> None: ...


class JobFiles(Protocol):
    """Job files in object storage, and pre-signed links to them."""

    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def size(self, key: str) -> int | None: ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def presign_get(self, key: str, *, expires_s: int, filename: str | None = None) -> str: ...

    def presign_put(self, key: str, *, expires_s: int) -> str: ...


class JobContacts(Protocol):
    """The part of shared.ports.ContactStore that imports and exports use."""

    def create_contact(self, contact: Contact, *, cap: int | None) -> None: ...

    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None: ...

    def save_contact(self, contact: Contact, *, expected_version: int, added: Sequence[Identity] = (),
                     removed: Sequence[Identity] = ()) -> None: ...

    def find_identity(self, tenant_id: str, kind: str, value: str) -> str | None: ...

    def find_soft(self, tenant_id: str, kind: str, value: str) -> list[str]: ...

    def list_contacts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page: ...

    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]: ...

    def add_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None: ...


class SegmentPredicates(Protocol):
    def predicate(self, tenant_id: str, segment_id: str) -> Predicate: ...


class JobExecutor(Protocol):
    """Runs one kind of job to the end (erasure); idempotent, so a retry simply runs it again."""

    def execute(self, job: Job) -> Job: ...


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without writing."""


class ColumnsRejected(Exception):
    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = tuple(problems)


# --- S3 layout (the contract of the import/export API) ---------------------------------------------------------

def import_source_key(tenant_id: str, job_id: str) -> str:
    return f"imports/{tenant_id}/{job_id}.csv"


def import_report_key(tenant_id: str, job_id: str) -> str:
    return f"imports/{tenant_id}/{job_id}-rejected.csv"


def _report_parts_prefix(tenant_id: str, job_id: str) -> str:
    return f"imports/{tenant_id}/{job_id}-rejected.parts/"


def export_key(tenant_id: str, job_id: str) -> str:
    return f"exports/{tenant_id}/{job_id}.csv"


# --- CSV reading ----------------------------------------------------------------------------------------------

BOM = "\ufeff"


def decode_csv(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else Windows-1252 (what Excel saves in LATAM locales)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; TAB | outside quotes (',' when none)."""
    counts = dict.fromkeys(",;\t|", 0)
    quoted = False
    for ch in text.lstrip(BOM):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "\r\n":
            break
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


@dataclass(frozen=True)
class CsvTable:
    delimiter: str
    headers: tuple[str, ...]
    rows: list[tuple[int, list[str]]]  # (line where the row starts, cells); blank rows left out


def parse_csv(text: str) -> CsvTable:
    text = text.lstrip(BOM)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ColumnsRejected([RowProblem(code="empty_file", message="the file has no header row")]) from None
    except csv.Error as exc:
        raise ColumnsRejected([RowProblem(code="malformed_csv", message=f"the header row is not valid CSV: {exc}")]
                              ) from None
    rows: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ColumnsRejected([RowProblem(code="malformed_csv", message=f"line {start}: {exc}")]) from None
        if any(c.strip() for c in cells):
            rows.append((start, cells))
    return CsvTable(delimiter, tuple(h.strip() for h in header), rows)


# --- column planning --------------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """Header comparison form: lower case, accents and separators dropped ("Teléfono móvil" -> "telefonomovil")."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if ch.isalnum() or ch == ".")


HEADER_ALIASES: dict[str, str] = {
    **dict.fromkeys(("name", "nombre", "nombrecompleto", "nombreyapellido", "fullname", "nome"), "name"),
    **dict.fromkeys(("phone", "phonenumber", "telefono", "tel", "celular", "movil", "mobile", "telefone"), "phone"),
    **dict.fromkeys(("email", "mail", "emailaddress", "correo", "correoelectronico"), "email"),
    **dict.fromkeys(("whatsapp", "waid", "whatsappid"), "whatsapp"),
    **dict.fromkeys(("tags", "tag", "etiquetas", "etiqueta"), "tags"),
    **dict.fromkeys(("lifecycle", "lifecyclestage", "etapa", "ciclodevida"), "lifecycle"),
    **dict.fromkeys(("language", "lang", "idioma"), "language"),
    **dict.fromkeys(("consent.marketing", "consentmarketing", "marketingconsent", "marketing",
                     "consentimiento", "consentimientomarketing", "optin"), "consent.marketing"),
}
IDENTITY_TARGETS = ("phone", "email", "whatsapp")


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    target: str  # name, phone, ..., fields.<key>


def _field_target(header: str, defs: Mapping[str, CustomFieldDef]) -> str | None:
    folded = fold(header)
    if folded.startswith("fields."):
        return f"fields.{folded[7:]}"
    snake = re.sub(r"[^a-z0-9]+", "_", unicodedata.normalize("NFKD", header.strip().lower())
                   .encode("ascii", "ignore").decode()).strip("_")
    for key, definition in defs.items():
        if snake == key or folded == fold(definition.label):
            return f"fields.{key}"
    return None


def plan_columns(headers: Sequence[str], mapping: Mapping[str, str | None],
                 defs: Mapping[str, CustomFieldDef]) -> tuple[Column, ...]:
    """Which column feeds which target; raises ColumnsRejected listing every problem."""
    problems: list[RowProblem] = []
    by_header = {h: i for i, h in enumerate(headers)}
    folded_headers = {h.lower(): h for h in headers}
    explicit: dict[int, str | None] = {}
    for given, target in mapping.items():
        header = given if given in by_header else folded_headers.get(given.strip().lower())
        if header is None:
            problems.append(RowProblem(column=given, code="column_not_in_file",
                                       message=f"column '{given}' from `columns` is not in the file's header"))
            continue
        explicit[by_header[header]] = target
    columns: list[Column] = []
    for index, header in enumerate(headers):
        if index in explicit:
            target = explicit[index]
            if target is None:
                continue  # skipped on purpose
        elif not header:
            continue  # an unnamed column (a trailing delimiter in a spreadsheet export)
        else:
            target = HEADER_ALIASES.get(fold(header)) or _field_target(header, defs)
            if target is None:
                problems.append(RowProblem(column=header, code="unknown_column",
                                           message=f"unknown column '{header}'; map it in `columns` (null skips it)"))
                continue
        if target.startswith("fields.") and target[7:] not in defs:
            problems.append(RowProblem(column=header, code="unknown_field",
                                       message=f"no custom field '{target[7:]}'; define it before importing"))
            continue
        columns.append(Column(index, header, target))
    seen: dict[str, str] = {}
    for col in columns:
        if col.target in seen:
            problems.append(RowProblem(column=col.header, code="duplicate_target",
                                       message=f"columns '{seen[col.target]}' and '{col.header}' both map to "
                                               f"{col.target}"))
        seen.setdefault(col.target, col.header)
    if len(set(headers) - {""}) != len([h for h in headers if h]):
        problems.append(RowProblem(code="duplicate_header", message="the header repeats a column name"))
    if not problems and not any(c.target in IDENTITY_TARGETS for c in columns):
        problems.append(RowProblem(code="no_identity_column",
                                   message="the file needs a phone, email or whatsapp column to match contacts"))
    if problems:
        raise ColumnsRejected(problems)
    return tuple(columns)


# --- row validation ---------------------------------------------------------------------------------------------

LIFECYCLE_ALIASES: dict[str, LifecycleStage] = {
    "new": "new", "nuevo": "new", "lead": "lead", "prospecto": "lead", "qualified": "qualified",
    "calificado": "qualified", "customer": "customer", "cliente": "customer", "churned": "churned",
    "perdido": "churned", "baja": "churned",
}
CONSENT_ALIASES: dict[str, ConsentStatus] = {
    **dict.fromkeys(("optedin", "optin", "yes", "si", "true", "1", "acepta"), "opted_in"),
    **dict.fromkeys(("optedout", "optout", "no", "false", "0", "rechaza", "baja"), "opted_out"),
}
_TAG = re.compile(TAG)
_LANGUAGE = re.compile(r"^([a-z]{2})(?:[-_]([a-z]{2}))?$")


@dataclass(frozen=True)
class RowData:
    """A validated row: normalized values, only for the cells that were filled in."""

    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    whatsapp: str | None = None  # digits (E.164 without '+')
    tags: tuple[str, ...] = ()
    lifecycle: LifecycleStage | None = None
    language: str | None = None
    consent_marketing: ConsentStatus | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)


def validate_row(cells: Sequence[str], columns: Sequence[Column], defs: Mapping[str, CustomFieldDef], *,
                 default_country: str | None, width: int) -> RowData | tuple[RowProblem, ...]:
    """Normalize one row; the problems say which column and why, never repeating the value."""
    problems: list[RowProblem] = []
    values: dict[str, Any] = {}
    custom: dict[str, FieldValue] = {}
    if any(c.strip() for c in cells[width:]):
        problems.append(RowProblem(code="malformed_row", message="more cells than columns in the header"))

    def bad(col: Column, code: str, message: str) -> None:
        problems.append(RowProblem(column=col.header, code=code, message=message))

    for col in columns:
        raw = cells[col.index].strip() if col.index < len(cells) else ""
        if not raw:
            continue
        target = col.target
        if target == "name":
            if len(raw) > 200:
                bad(col, "invalid_name", "a name has at most 200 characters")
            else:
                values["name"] = raw
        elif target in ("phone", "whatsapp"):
            try:
                e164 = normalize_phone(raw, default_country=default_country)
            except InvalidPhone as exc:
                bad(col, f"invalid_{target}", str(exc))
            else:
                values[target] = e164 if target == "phone" else e164[1:]
        elif target == "email":
            try:
                values["email"] = normalize_email(raw)
            except ValueError:
                bad(col, "invalid_email", "not a valid email address")
        elif target == "tags":
            tags = tuple(dict.fromkeys(t.strip() for t in raw.split(";") if t.strip()))
            if any(not _TAG.match(t) for t in tags):
                bad(col, "invalid_tag", "tags are up to 50 letters, digits, spaces or . : / - (';' separates them)")
            elif len(tags) > 50:
                bad(col, "invalid_tag", "at most 50 tags per row")
            else:
                values["tags"] = tags
        elif target == "lifecycle":
            stage = LIFECYCLE_ALIASES.get(fold(raw))
            if stage is None:
                bad(col, "invalid_lifecycle", "expected new, lead, qualified, customer or churned")
            else:
                values["lifecycle"] = stage
        elif target == "language":
            match = _LANGUAGE.match(raw.strip().lower())
            if match is None:
                bad(col, "invalid_language", "expected a language code such as es or es-AR")
            else:
                values["language"] = match[1] + (f"-{match[2].upper()}" if match[2] else "")
        elif target == "consent.marketing":
            status = CONSENT_ALIASES.get(fold(raw).replace(".", ""))
            if status is None:
                bad(col, "invalid_consent", "expected opted_in or opted_out")
            else:
                values["consent_marketing"] = status
        else:  # fields.<key>
            definition = defs[target[7:]]
            try:
                value = definition.coerce(raw)
            except ValueError as exc:
                bad(col, "invalid_field", str(exc))
            else:
                if value is not None:
                    custom[definition.key] = value
    if not problems and not any(values.get(k) for k in IDENTITY_TARGETS):
        problems.append(RowProblem(code="no_identity", message="the row has no phone, email or whatsapp to match"))
    if problems:
        return tuple(problems)
    return RowData(fields=custom, **values)


# --- applying a row to the CRM ----------------------------------------------------------------------------------

class _Ambiguous(Exception):
    pass


Applied = Literal["created", "updated", "unchanged"]


class _RowRejected(Exception):
    def __init__(self, code: str, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.problem = RowProblem(column=column, code=code, message=message)


class ContactImporter:
    """Matches a validated row to a contact and writes only what differs (one save, one event)."""

    def __init__(self, *, store: JobContacts, clock: Clock, tenant_id: str, cap: int, job_id: str,
                 actor: str) -> None:
        self._store = store
        self._clock = clock
        self._tenant = tenant_id
        self._cap = cap
        self._job_id = job_id
        self._actor = actor
        self.events: list[TenantEvent] = []

    # -- matching ------------------------------------------------------------------------------------
    def _live(self, ids: Iterable[str]) -> list[Contact]:
        found = [self._store.get_contact(self._tenant, cid) for cid in dict.fromkeys(ids)]
        return [c for c in found if c is not None and c.merged_into is None]

    @staticmethod
    def _variants(e164: str) -> tuple[str, ...]:
        try:
            return phone_variants(e164)
        except InvalidPhone:
            return (e164,)

    def match(self, row: RowData) -> Contact | None:
        lookups: list[Callable[[], list[str]]] = []
        if row.phone:
            phone = row.phone
            lookups.append(lambda: [cid for v in self._variants(phone) for cid in (
                *self._store.find_soft(self._tenant, "phone", v),
                *filter(None, [self._store.find_identity(self._tenant, "whatsapp", v[1:])]))])
        if row.email:
            email = row.email
            lookups.append(lambda: self._store.find_soft(self._tenant, "email", email))
        if row.whatsapp:
            wa = row.whatsapp
            lookups.append(lambda: [cid for v in self._variants("+" + wa)
                                    for cid in filter(None, [self._store.find_identity(self._tenant, "whatsapp",
                                                                                        v[1:])])])
        for lookup in lookups:
            contacts = self._live(lookup())
            if len(contacts) > 1:
                raise _Ambiguous()
            if contacts:
                return contacts[0]
        return None

    # -- writing -------------------------------------------------------------------------------------
    def apply(self, row: RowData) -> Applied:
        try:
            contact = self.match(row)
        except _Ambiguous:
            raise _RowRejected("ambiguous_match", "more than one contact has this phone or email; merge them first"
                               ) from None
        if contact is None:
            return self._create(row)
        for _ in range(3):
            try:
                return self._update(contact, row)
            except StaleContact:
                fresh = self._store.get_contact(self._tenant, contact.contact_id)
                if fresh is None:
                    break
                contact = fresh
        raise _RowRejected("conflict", "the contact changed while importing; import the row again")

    def _identities(self, row: RowData) -> list[Identity]:
        out: list[Identity] = []
        if row.phone:
            out.append(Identity(kind="phone", value=row.phone))
        if row.email:
            out.append(Identity(kind="email", value=row.email))
        if row.whatsapp:
            out.append(Identity(kind="whatsapp", value=row.whatsapp))
        return out

    def _consent(self, status: ConsentStatus, now: datetime) -> ConsentRecord:
        return ConsentRecord(status=status, at=now, source="import", actor=self._actor[:128])

    def _create(self, row: RowData) -> Applied:
        now = self._clock.now()
        contact = Contact(
            tenant_id=self._tenant, contact_id=new_id("ct", self._clock), name=row.name,
            identities=tuple(self._identities(row)), tags=row.tags, lifecycle=row.lifecycle or "new",
            language=row.language, fields=dict(row.fields),
            consent={"marketing": self._consent(row.consent_marketing, now)} if row.consent_marketing else {},
            created_at=now, updated_at=now)
        try:
            self._store.create_contact(contact, cap=self._cap)
        except ContactCapReached:
            raise _RowRejected("plan_limit_reached", "the plan's contact limit is reached") from None
        except IdentityTaken as exc:
            raise _RowRejected("identity_taken", f"the {exc.kind} id belongs to another contact", exc.kind) from None
        self._store.add_activity(self._tenant, contact.contact_id, Activity(
            at=now, kind="imported", summary="created by import", data={"job_id": self._job_id, "actor": self._actor}))
        self.events.append(ContactCreated(tenant_id=self._tenant, contact_id=contact.contact_id, source="import"))
        return "created"

    def _diff(self, contact: Contact, row: RowData, now: datetime) -> tuple[dict[str, Any], list[Identity]]:
        update: dict[str, Any] = {}
        if row.name and row.name != contact.name:
            update["name"] = row.name
        added: list[Identity] = []
        phones = set(contact.phones)
        if row.phone and not phones.intersection(self._variants(row.phone)):
            added.append(Identity(kind="phone", value=row.phone))
        if row.email and row.email not in contact.emails:
            added.append(Identity(kind="email", value=row.email))
        if row.whatsapp:
            have = set(contact.identity_values("whatsapp"))
            if not have.intersection(v[1:] for v in self._variants("+" + row.whatsapp)):
                added.append(Identity(kind="whatsapp", value=row.whatsapp))
        if added:
            update["identities"] = (*contact.identities, *added)
        new_tags = [t for t in row.tags if t not in contact.tags]
        if new_tags:
            if len(contact.tags) + len(new_tags) > MAX_TAGS_PER_CONTACT:
                raise _RowRejected("too_many_tags", f"a contact can carry at most {MAX_TAGS_PER_CONTACT} tags", "tags")
            update["tags"] = (*contact.tags, *new_tags)
        if row.lifecycle and row.lifecycle != contact.lifecycle:
            update["lifecycle"] = row.lifecycle
        if row.language and row.language != contact.language:
            update["language"] = row.language
        changed_fields = {k: v for k, v in row.fields.items() if contact.fields.get(k) != v}
        if changed_fields:
            update["fields"] = {**contact.fields, **changed_fields}
        current = contact.consent.get("marketing")
        if row.consent_marketing and (current is None or current.status != row.consent_marketing):
            update["consent"] = {**contact.consent, "marketing": self._consent(row.consent_marketing, now)}
        return update, added

    def _update(self, contact: Contact, row: RowData) -> Applied:
        now = self._clock.now()
        update, added = self._diff(contact, row, now)
        if not update:
            return "unchanged"
        after = contact.model_copy(update={**update, "updated_at": now, "version": contact.version + 1})
        try:
            self._store.save_contact(after, expected_version=contact.version, added=added)
        except IdentityTaken as exc:
            raise _RowRejected("identity_taken", f"the {exc.kind} id belongs to another contact", exc.kind) from None
        changes = sorted(update)
        self._store.add_activity(self._tenant, contact.contact_id, Activity(
            at=now, kind="imported", summary="updated by import: " + ", ".join(changes),
            data={"job_id": self._job_id, "actor": self._actor, "changes": changes}))
        self.events.append(ContactUpdated(tenant_id=self._tenant, contact_id=contact.contact_id,
                                          changes=tuple(changes)))
        return "updated"


# --- CSV writing ------------------------------------------------------------------------------------------------

def safe_cell(value: str) -> str:
    """Neutralize spreadsheet formulas (=, +, -, @ first) in text that came from people, not from us."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_text(rows: Iterable[Sequence[str]], *, delimiter: str = ",") -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _report_lines(rejected: Sequence[tuple[RejectedRow, Sequence[str]]]) -> str:
    return _csv_text([str(r.line), "; ".join(f"{p.column}: {p.message}" if p.column else p.message
                                             for p in r.reasons),
                      *(safe_cell(c) for c in cells)] for r, cells in rejected)


BASE_EXPORT_COLUMNS: tuple[str, ...] = (
    "contact_id", "name", "phones", "emails", "whatsapp", "tags", "lifecycle", "language",
    "consent.marketing", "consent.marketing_at", "consent.marketing_source",
    "consent.utility", "consent.utility_at", "consent.utility_source",
)
TAIL_EXPORT_COLUMNS: tuple[str, ...] = ("created_at", "last_inbound_at")


def export_columns(defs: Mapping[str, CustomFieldDef]) -> tuple[str, ...]:
    return (*BASE_EXPORT_COLUMNS, *(f"fields.{k}" for k in sorted(defs)), *TAIL_EXPORT_COLUMNS)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def export_cell(contact: Contact, column: str) -> str:
    if column == "contact_id":
        return contact.contact_id
    if column == "name":
        return safe_cell(contact.name or "")
    if column == "phones":
        return ";".join(contact.phones)
    if column == "emails":
        return safe_cell(";".join(contact.emails))
    if column == "whatsapp":
        return ";".join(contact.identity_values("whatsapp"))
    if column == "tags":
        return safe_cell(";".join(contact.tags))
    if column == "lifecycle":
        return contact.lifecycle
    if column == "language":
        return contact.language or ""
    if column.startswith("consent."):
        purpose, _, attr = column[8:].partition("_")
        record = contact.consent.get(purpose)
        if record is None:
            return ""
        return {"": record.status, "at": record.at.isoformat(), "source": safe_cell(record.source)}[attr]
    if column.startswith("fields."):
        value = contact.fields.get(column[7:])
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return safe_cell(";".join(value))
        return safe_cell(str(value))
    if column == "created_at":
        return _iso(contact.created_at)
    if column == "last_inbound_at":
        return _iso(contact.last_inbound_at)
    raise KeyError(column)


# --- the service ------------------------------------------------------------------------------------------------

@dataclass
class _Chunk:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[RejectedRow, Sequence[str]]] = field(default_factory=list)


class JobService:
    def __init__(self, *, jobs: JobStore, queue: JobQueue, files: JobFiles, contacts: JobContacts,
                 tenants: TenantLookup, events: EventPublisher, clock: Clock,
                 segments: SegmentPredicates | None = None, erasure: JobExecutor | None = None,
                 chunk_rows: int = CHUNK_ROWS, handoff_margin_s: float = HANDOFF_MARGIN_S,
                 quotas: QuotaGate | None = None) -> None:
        self._jobs = jobs
        self._quotas = quotas  # alerts at the plan's contact thresholds after a chunk created contacts
        self._queue = queue
        self._files = files
        self._contacts = contacts
        self._tenants = tenants
        self._events = events
        self._clock = clock
        self._segments = segments
        self._erasure = erasure
        self._chunk = chunk_rows
        self._margin = handoff_margin_s

    # -- API -----------------------------------------------------------------------------------------
    def _new(self, tenant_id: str, kind: Literal["import", "export"], actor: str, inputs: JobInputs,
             status: Literal["awaiting_upload", "queued"] = "queued") -> Job:
        return Job(job_id=new_id("jb", self._clock), tenant_id=tenant_id, kind=kind, status=status, actor=actor,
                   inputs=inputs, created_at=self._clock.now())

    def start_import(self, tenant_id: str, body: ImportInput, *, actor: str) -> Job:
        inputs = JobInputs(default_country=body.default_country, columns=dict(body.columns))
        job = self._new(tenant_id, "import", actor, inputs, "queued" if body.csv is not None else "awaiting_upload")
        key = import_source_key(tenant_id, job.job_id)
        job = job.model_copy(update={"files": {"source": key}})
        if body.csv is not None:
            self._files.put(key, body.csv.encode("utf-8"), content_type="text/csv; charset=utf-8")
        self._jobs.create_job(job)
        if job.status == "queued":
            self._queue.enqueue(tenant_id, job.job_id)
        return self._present(job)

    def start_uploaded_import(self, tenant_id: str, job_id: str, *, actor: str) -> Job:
        job = self._get(tenant_id, job_id)
        if job.kind != "import" or job.status != "awaiting_upload":
            raise Conflict(f"job {job_id} is not an import waiting for its file (status {job.status})")
        size = self._files.size(job.files["source"])
        if size is None:
            raise Conflict("the file has not been uploaded yet; PUT it to the upload_url first")
        if size > MAX_UPLOAD_BYTES:
            raise InvalidInput(f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        queued = job.model_copy(update={"status": "queued"})
        if not self._jobs.save_job(queued, expected_status="awaiting_upload"):
            raise Conflict(f"job {job_id} was started already")
        self._queue.enqueue(tenant_id, job_id)
        return self._present(queued)

    def start_export(self, tenant_id: str, body: ExportInput, *, actor: str) -> Job:
        if body.segment_id:
            if self._segments is None:
                raise InvalidInput("segments are not available")
            try:
                self._segments.predicate(tenant_id, body.segment_id)
            except NotFound:
                raise InvalidInput(f"no segment {body.segment_id}",
                                   errors=[{"location": "segment_id", "message": "no such segment"}]) from None
        if body.fields:
            known = set(export_columns(self._contacts.field_defs(tenant_id)))
            unknown = [f for f in body.fields if f not in known]
            if unknown:
                raise InvalidInput("unknown export columns", errors=[
                    {"location": "fields", "message": f"unknown column '{f}'"} for f in unknown])
        job = self._new(tenant_id, "export", actor, JobInputs(
            segment_id=body.segment_id, fields=tuple(body.fields) if body.fields else None, delimiter=body.delimiter))
        self._jobs.create_job(job)
        self._queue.enqueue(tenant_id, job.job_id)
        return self._present(job)

    def _get(self, tenant_id: str, job_id: str) -> Job:
        job = self._jobs.get_job(tenant_id, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def get(self, tenant_id: str, job_id: str) -> Job:
        return self._present(self._get(tenant_id, job_id))

    def list_jobs(self, tenant_id: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        page = self._jobs.list_jobs(tenant_id, limit=limit, cursor=cursor)
        return Page([self._present(j) for j in page.items], page.cursor)

    def _present(self, job: Job) -> Job:
        """The job as the API shows it: links to its files freshly signed."""
        expires = int(LINK_TTL.total_seconds())
        links: dict[str, Any] = {}
        if job.status == "awaiting_upload" and "source" in job.files:
            links["upload_url"] = self._files.presign_put(job.files["source"], expires_s=expires)
        if job.status == "succeeded" and "report" in job.files:
            links["report_url"] = self._files.presign_get(job.files["report"], expires_s=expires,
                                                          filename=f"{job.job_id}-rejected.csv")
        if job.status == "succeeded" and "export" in job.files:
            links["download_url"] = self._files.presign_get(job.files["export"], expires_s=expires,
                                                            filename=f"contacts-{job.job_id}.csv")
        if not links:
            return job
        links["url_expires_at"] = self._clock.now() + LINK_TTL
        return job.model_copy(update={"result": job.result.model_copy(update=links)})

    # -- worker --------------------------------------------------------------------------------------
    def run(self, tenant_id: str, job_id: str, *, owner: str, remaining_s: Callable[[], float],
            final_attempt: bool = False) -> RunOutcome:
        """Run (or resume) a queued job. Returns what happened; raises to have the message retried."""
        job = self._jobs.get_job(tenant_id, job_id)
        if job is None or job.terminal or job.status == "awaiting_upload":
            return "skipped"
        now = self._clock.now()
        job = job.model_copy(update={"status": "running", "started_at": job.started_at or now})
        if not self._jobs.claim_job(job, owner=owner, now=now, until=now + LEASE):
            raise RetryableError("the job is held by another worker", delay_s=int(LEASE.total_seconds()))
        try:
            if job.kind == "import":
                return self._run_import(job, owner, remaining_s)
            if job.kind == "export":
                return self._run_export(job, owner)
            if self._erasure is None:
                raise RuntimeError("no erasure executor configured")
            done = self._erasure.execute(job)
            self._finish(done, owner)
            return "done"
        except LeaseLost:
            return "skipped"
        except Exception as exc:
            if not final_attempt:
                self._jobs.release_job(tenant_id, job_id, owner=owner)
                raise
            self._fail(job, owner, f"the job stopped on an internal error ({type(exc).__name__}); "
                                   "it was retried and gave up")
            return "failed"

    def _save(self, job: Job, owner: str, *, release: bool = False) -> None:
        if not self._jobs.save_job(job, owner=owner, release=release):
            raise LeaseLost()

    def _finish(self, job: Job, owner: str) -> None:
        self._save(job.model_copy(update={"status": "succeeded", "finished_at": self._clock.now()}), owner,
                   release=True)

    def _fail(self, job: Job, owner: str, error: str, problems: Sequence[RowProblem] = ()) -> RunOutcome:
        self._save(job.model_copy(update={"status": "failed", "finished_at": self._clock.now(), "error": error,
                                          "errors": tuple(problems)}), owner, release=True)
        return "failed"

    # -- import --------------------------------------------------------------------------------------
    def _run_import(self, job: Job, owner: str, remaining_s: Callable[[], float]) -> RunOutcome:
        t = job.tenant_id
        data = self._files.get(job.files["source"])
        if data is None:
            return self._fail(job, owner, "the CSV file is missing")
        text, encoding = decode_csv(data)
        defs = self._contacts.field_defs(t)
        try:
            table = parse_csv(text)
            columns = plan_columns(table.headers, job.inputs.columns, defs)
        except ColumnsRejected as exc:
            return self._fail(job, owner, "the file's columns cannot be imported: " + str(exc), exc.problems)
        tenant = self._tenants.get_tenant(t)
        if tenant is None:
            return self._fail(job, owner, "unknown tenant")
        importer = ContactImporter(store=self._contacts, clock=self._clock, tenant_id=t,
                                   cap=tenant.plan.max_contacts, job_id=job.job_id, actor=job.actor)
        job = job.model_copy(update={
            "progress": job.progress.model_copy(update={"total": len(table.rows)}),
            "result": job.result.model_copy(update={"delimiter": table.delimiter, "encoding": encoding})})
        offset = job.progress.processed
        while offset < len(table.rows):
            rows = table.rows[offset:offset + self._chunk]
            chunk = self._import_chunk(rows, columns, defs, job, importer, width=len(table.headers))
            if chunk.rejected:  # keyed by the chunk's offset: a re-run of the chunk overwrites the same part
                self._files.put(f"{_report_parts_prefix(t, job.job_id)}{offset:09d}.csv",
                                _report_lines(chunk.rejected).encode("utf-8"), content_type="text/csv")
            offset += len(rows)
            p = job.progress
            sample = (*job.result.rejected_sample, *(r for r, _ in chunk.rejected))[:REJECTED_SAMPLE]
            job = job.model_copy(update={
                "progress": p.model_copy(update={
                    "processed": offset, "created": p.created + chunk.created, "updated": p.updated + chunk.updated,
                    "unchanged": p.unchanged + chunk.unchanged, "rejected": p.rejected + len(chunk.rejected)}),
                "result": job.result.model_copy(update={"rejected_sample": sample})})
            if chunk.created and self._quotas is not None:
                self._quotas.after_change(t, "contacts")
            handoff = offset < len(table.rows) and remaining_s() < self._margin
            self._save(job, owner, release=handoff)
            if handoff:
                self._queue.enqueue(t, job.job_id)
                return "continued"
        if job.progress.rejected:
            job = self._write_report(job, table.headers)
        self._finish(job, owner)
        self._files.delete(self._files.list_keys(_report_parts_prefix(t, job.job_id)))
        return "done"

    def _import_chunk(self, rows: Sequence[tuple[int, list[str]]], columns: Sequence[Column],
                      defs: Mapping[str, CustomFieldDef], job: Job, importer: ContactImporter, *,
                      width: int) -> _Chunk:
        chunk = _Chunk()
        importer.events.clear()
        for line, cells in rows:
            row = validate_row(cells, columns, defs, default_country=job.inputs.default_country, width=width)
            if isinstance(row, tuple):
                chunk.rejected.append((RejectedRow(line=line, reasons=row), cells))
                continue
            try:
                outcome = importer.apply(row)
            except _RowRejected as exc:
                chunk.rejected.append((RejectedRow(line=line, reasons=(exc.problem,)), cells))
                continue
            setattr(chunk, outcome, getattr(chunk, outcome) + 1)
        if importer.events:
            self._events.publish(list(importer.events))
        return chunk

    def _write_report(self, job: Job, headers: Sequence[str]) -> Job:
        t = job.tenant_id
        body = [BOM + _csv_text([["line", "reasons", *headers]])]
        for key in sorted(self._files.list_keys(_report_parts_prefix(t, job.job_id))):
            part = self._files.get(key)
            if part:
                body.append(part.decode("utf-8"))
        key = import_report_key(t, job.job_id)
        self._files.put(key, "".join(body).encode("utf-8"), content_type="text/csv; charset=utf-8")
        return job.model_copy(update={"files": {**job.files, "report": key}})

    # -- export --------------------------------------------------------------------------------------
    def _run_export(self, job: Job, owner: str) -> RunOutcome:
        t = job.tenant_id
        predicate: Predicate | None = None
        if job.inputs.segment_id:
            if self._segments is None:
                return self._fail(job, owner, "segments are not available")
            try:
                predicate = self._segments.predicate(t, job.inputs.segment_id)
            except (NotFound, InvalidInput) as exc:
                return self._fail(job, owner, f"the segment cannot be used: {exc}")
        catalog = export_columns(self._contacts.field_defs(t))
        wanted = job.inputs.fields
        columns = ["contact_id", *(c for c in catalog if c != "contact_id" and (not wanted or c in wanted))]
        out = io.StringIO(newline="")
        out.write(BOM)
        writer = csv.writer(out, delimiter=job.inputs.delimiter or ",", lineterminator="\r\n")
        writer.writerow(columns)
        now = self._clock.now()
        scanned = written = 0
        cursor: str | None = None
        while True:
            page = self._contacts.list_contacts(t, limit=200, cursor=cursor)
            for contact in page.items:
                scanned += 1
                if predicate is not None and not predicate(contact, now):
                    continue
                writer.writerow([export_cell(contact, c) for c in columns])
                written += 1
            if scanned // EXPORT_PROGRESS_EVERY != (scanned - len(page.items)) // EXPORT_PROGRESS_EVERY:
                job = job.model_copy(update={"progress": JobProgress(processed=written, total=scanned)})
                self._save(job, owner)
            cursor = page.cursor
            if not cursor:
                break
        key = export_key(t, job.job_id)
        self._files.put(key, out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        job = job.model_copy(update={"progress": JobProgress(processed=written, total=scanned),
                                     "files": {**job.files, "export": key}})
        self._finish(job, owner)
        return "done"
