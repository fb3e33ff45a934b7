"""The CRM: contacts with identities per channel, custom fields, tags, consent, merge/split and duplicates.

Pure Python over ports. Phone numbers are normalized to E.164 (LATAM rules in services/phone.py) so a
customer who writes from WhatsApp and is imported from a spreadsheet is one contact, not two.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.errors import Conflict, InvalidInput, NotFound, PlanLimitReached
from shared.models.crm import (
    UNIQUE_IDENTITY_KINDS,
    Activity,
    ConsentInput,
    ConsentRecord,
    Contact,
    ContactInput,
    ContactPatch,
    CustomFieldDef,
    FieldValue,
    Identity,
    MergeRecord,
    normalize_email,
)
from shared.models.events import ContactCreated, ContactMerged, ContactUpdated, TenantEvent
from shared.models.messages import Identity as SenderIdentity
from shared.models.tenancy import Tenant
from shared.ports import Clock, ContactCapReached, ContactStore, EventPublisher, IdentityTaken, Page, StaleContact
from shared.services.phone import InvalidPhone, normalize_phone, whatsapp_wa_id_to_e164

if TYPE_CHECKING:
    from shared.services.quotas import QuotaGate


class TenantLookup(Protocol):
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...


def new_id(prefix: str, clock: Clock) -> str:
    """Time-ordered, unguessable ids: `<prefix>_<ms since epoch, hex>` + 64 random bits."""
    return f"{prefix}_{int(clock.now().timestamp() * 1000):012x}{secrets.token_hex(8)}"


def normalize_identity(identity: Identity, *, default_country: str | None = None) -> Identity:
    value = identity.value.strip()
    try:
        if identity.kind == "phone":
            value = normalize_phone(value, default_country=default_country)
        elif identity.kind == "email":
            value = normalize_email(value)
        elif identity.kind == "whatsapp":
            value = "".join(ch for ch in value if ch.isdigit())
            if not 6 <= len(value) <= 15:
                raise ValueError("a WhatsApp id is the phone number in digits")
    except (InvalidPhone, ValueError) as exc:
        raise InvalidInput(f"{identity.kind} '{identity.value}': {exc}") from None
    return Identity(kind=identity.kind, value=value, channel_id=identity.channel_id)


def _dedupe(identities: Sequence[Identity]) -> tuple[Identity, ...]:
    seen: dict[tuple[str, str], Identity] = {}
    for i in identities:
        seen.setdefault((i.kind, i.value), i)
    return tuple(seen.values())


@dataclass(frozen=True)
class DuplicateGroup:
    kind: str
    value: str
    contact_ids: tuple[str, ...]


class ContactService:
    def __init__(self, *, store: ContactStore, tenants: TenantLookup, events: EventPublisher, clock: Clock,
                 quotas: QuotaGate | None = None) -> None:
        self._store = store
        self._tenants = tenants
        self._events = events
        self._clock = clock
        self._quotas = quotas  # alerts at the plan's contact thresholds (the cap itself is the store's condition)

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, tenant_id: str, contact_id: str) -> Contact:
        contact = self._store.get_contact(tenant_id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}")
        return contact

    def page(self, tenant_id: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        return self._store.list_contacts(tenant_id, limit=limit, cursor=cursor)

    def cursor_after(self, contact: Contact) -> str:
        return self._store.cursor_after(contact)

    def iter_all(self, tenant_id: str) -> Iterator[Contact]:
        cursor: str | None = None
        while True:
            page = self._store.list_contacts(tenant_id, limit=200, cursor=cursor)
            yield from page.items
            if not page.cursor:
                return
            cursor = page.cursor

    def find(self, tenant_id: str, *, phone: str | None = None, email: str | None = None,
             identity: Identity | None = None, default_country: str | None = None) -> list[Contact]:
        """Exact lookups through the identity indexes (one or two reads, never a scan)."""
        ids: list[str] = []
        if phone:
            e164 = normalize_identity(Identity(kind="phone", value=phone), default_country=default_country).value
            ids += self._store.find_soft(tenant_id, "phone", e164)
            found = self._store.find_identity(tenant_id, "whatsapp", e164.lstrip("+"))
            ids += [found] if found else []
        if email:
            normalized = normalize_identity(Identity(kind="email", value=email)).value
            ids += self._store.find_soft(tenant_id, "email", normalized)
        if identity:
            norm = normalize_identity(identity)
            if norm.kind in UNIQUE_IDENTITY_KINDS:
                found = self._store.find_identity(tenant_id, norm.kind, norm.value)
                ids += [found] if found else []
            else:
                ids += self._store.find_soft(tenant_id, norm.kind, norm.value)
        contacts = [self._store.get_contact(tenant_id, cid) for cid in dict.fromkeys(ids)]
        return [c for c in contacts if c is not None and c.merged_into is None]

    def timeline(self, tenant_id: str, contact_id: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        self.get(tenant_id, contact_id)
        return self._store.activities(tenant_id, contact_id, limit=limit, cursor=cursor)

    def duplicates(self, tenant_id: str) -> list[DuplicateGroup]:
        """Contacts sharing a normalized phone or email (and not already merged)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for kind, value, cid in self._store.soft_index(tenant_id):
            groups.setdefault((kind, value), []).append(cid)
        return [DuplicateGroup(kind, value, tuple(sorted(set(ids)))) for (kind, value), ids in groups.items()
                if len(set(ids)) > 1]

    # -- custom fields -------------------------------------------------------------------------------
    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]:
        return self._store.field_defs(tenant_id)

    def put_field_def(self, tenant_id: str, definition: CustomFieldDef) -> CustomFieldDef:
        defs = self._store.field_defs(tenant_id)
        existing = defs.get(definition.key)
        if existing and existing.type != definition.type:
            raise Conflict(f"field '{definition.key}' exists with type {existing.type}; types cannot change")
        if definition.type == "list" and not definition.options:
            raise InvalidInput("a list field needs its options")
        if len(defs) >= 200 and not existing:
            raise PlanLimitReached("at most 200 custom fields per tenant")
        self._store.put_field_def(tenant_id, definition)
        return definition

    def delete_field_def(self, tenant_id: str, key: str) -> None:
        if not self._store.delete_field_def(tenant_id, key):
            raise NotFound(f"no custom field {key}")

    def _fields(self, tenant_id: str, values: dict[str, FieldValue], current: dict[str, FieldValue] | None = None
                ) -> dict[str, FieldValue]:
        defs = self._store.field_defs(tenant_id)
        out = dict(current or {})
        errors: list[dict[str, object]] = []
        for key, value in values.items():
            definition = defs.get(key)
            if definition is None:
                errors.append({"location": f"fields.{key}", "message": "no such custom field; define it first"})
                continue
            try:
                coerced = definition.coerce(value)
            except ValueError as exc:
                errors.append({"location": f"fields.{key}", "message": str(exc)})
                continue
            if coerced is None:
                out.pop(key, None)
            else:
                out[key] = coerced
        if errors:
            raise InvalidInput("invalid custom field values", errors=errors)
        return out

    # -- writes --------------------------------------------------------------------------------------
    def _publish(self, *events: TenantEvent) -> None:
        self._events.publish(list(events))

    def _cap(self, tenant_id: str) -> int:
        tenant = self._tenants.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound("unknown tenant")
        return tenant.plan.max_contacts

    def create(self, tenant_id: str, data: ContactInput, *, actor: str, source: str = "api") -> Contact:
        identities = [normalize_identity(i, default_country=data.default_country) for i in data.identities]
        if data.phone:
            identities.append(normalize_identity(Identity(kind="phone", value=data.phone),
                                                 default_country=data.default_country))
        if data.email:
            identities.append(normalize_identity(Identity(kind="email", value=data.email)))
        now = self._clock.now()
        contact = Contact(
            tenant_id=tenant_id, contact_id=new_id("ct", self._clock), name=data.name, identities=_dedupe(identities),
            tags=tuple(dict.fromkeys(data.tags)), lifecycle=data.lifecycle, owner_agent_id=data.owner_agent_id,
            language=data.language, fields=self._fields(tenant_id, data.fields), created_at=now, updated_at=now)
        try:
            self._store.create_contact(contact, cap=self._cap(tenant_id))
        except IdentityTaken as exc:
            raise Conflict(f"the {exc.kind} identity '{exc.value}' already belongs to contact {exc.owner}") from None
        except ContactCapReached:
            raise PlanLimitReached("the plan's contact limit is reached; existing contacts keep working") from None
        self._store.add_activity(tenant_id, contact.contact_id, Activity(
            at=now, kind="created", summary=f"created via {source}", data={"actor": actor}))
        self._publish(ContactCreated(tenant_id=tenant_id, contact_id=contact.contact_id, source=source))
        if self._quotas is not None:
            self._quotas.after_change(tenant_id, "contacts")
        return contact

    def _save(self, before: Contact, after: Contact, *, actor: str, kind: str, summary: str,
              changes: Sequence[str], added: Sequence[Identity] = (), removed: Sequence[Identity] = ()
              ) -> Contact:
        now = self._clock.now()
        after = after.model_copy(update={"updated_at": now, "version": before.version + 1})
        try:
            self._store.save_contact(after, expected_version=before.version, added=added, removed=removed)
        except StaleContact:
            raise Conflict("the contact changed meanwhile; read it again and retry") from None
        except IdentityTaken as exc:
            raise Conflict(f"the {exc.kind} identity '{exc.value}' already belongs to contact {exc.owner}") from None
        self._store.add_activity(after.tenant_id, after.contact_id, Activity(
            at=now, kind=kind, summary=summary, data={"actor": actor, "changes": list(changes)}))
        tags_before, tags_after = set(before.tags), set(after.tags)
        fields_changed = sorted(k for k in set(before.fields) | set(after.fields)
                                if before.fields.get(k) != after.fields.get(k))
        if before.lifecycle != after.lifecycle:
            fields_changed.append("lifecycle")
        self._publish(ContactUpdated(
            tenant_id=after.tenant_id, contact_id=after.contact_id, changes=tuple(changes),
            tags_added=tuple(t for t in after.tags if t not in tags_before),
            tags_removed=tuple(t for t in before.tags if t not in tags_after),
            fields_changed=tuple(fields_changed), actor=actor))
        return after

    def _live(self, tenant_id: str, contact_id: str) -> Contact:
        contact = self.get(tenant_id, contact_id)
        if contact.merged_into:
            raise Conflict(f"contact {contact_id} was merged into {contact.merged_into}")
        return contact

    def update(self, tenant_id: str, contact_id: str, patch: ContactPatch, *, actor: str) -> Contact:
        contact = self._live(tenant_id, contact_id)
        changes = dict(patch.model_dump(exclude_unset=True))
        fields = changes.pop("fields", None)
        if "lifecycle" in changes and changes["lifecycle"] is None:
            raise InvalidInput("lifecycle cannot be null")
        update: dict[str, Any] = dict(changes)
        if fields is not None:
            update["fields"] = self._fields(tenant_id, fields, contact.fields)
        changed = sorted(update)
        return self._save(contact, contact.model_copy(update=update), actor=actor, kind="updated",
                          summary="updated " + ", ".join(changed) if changed else "touched", changes=changed)

    def change_tags(self, tenant_id: str, contact_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
                    actor: str) -> Contact:
        contact = self._live(tenant_id, contact_id)
        tags = [t for t in contact.tags if t not in set(remove)]
        tags += [t for t in add if t not in tags]
        if len(tags) > 100:
            raise InvalidInput("a contact can carry at most 100 tags")
        summary = ", ".join([f"+{t}" for t in add] + [f"-{t}" for t in remove])
        return self._save(contact, contact.model_copy(update={"tags": tuple(tags)}), actor=actor, kind="tags",
                          summary=summary, changes=["tags"])

    def add_identity(self, tenant_id: str, contact_id: str, identity: Identity, *, actor: str,
                     default_country: str | None = None) -> Contact:
        contact = self._live(tenant_id, contact_id)
        norm = normalize_identity(identity, default_country=default_country)
        if any(i.kind == norm.kind and i.value == norm.value for i in contact.identities):
            return contact
        return self._save(contact, contact.model_copy(update={"identities": (*contact.identities, norm)}),
                          actor=actor, kind="identity_added", summary=f"+{norm.kind}", changes=["identities"],
                          added=[norm])

    def remove_identity(self, tenant_id: str, contact_id: str, kind: str, value: str, *, actor: str) -> Contact:
        contact = self._live(tenant_id, contact_id)
        gone = [i for i in contact.identities if i.kind == kind and i.value == value]
        if not gone:
            raise NotFound(f"the contact has no {kind} identity '{value}'")
        kept = tuple(i for i in contact.identities if i not in gone)
        return self._save(contact, contact.model_copy(update={"identities": kept}), actor=actor,
                          kind="identity_removed", summary=f"-{kind}", changes=["identities"], removed=gone)

    def set_consent(self, tenant_id: str, contact_id: str, data: ConsentInput, *, actor: str) -> Contact:
        contact = self._live(tenant_id, contact_id)
        record = ConsentRecord(status=data.status, at=data.at or self._clock.now(), source=data.source,
                               text=data.text, actor=actor)
        consent = {**contact.consent, data.purpose: record}
        return self._save(contact, contact.model_copy(update={"consent": consent}), actor=actor, kind="consent",
                          summary=f"{data.purpose}: {data.status} via {data.source}", changes=["consent"])

    def record_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None:
        self._store.add_activity(tenant_id, contact_id, activity)

    # -- merge and split -----------------------------------------------------------------------------
    def merge(self, tenant_id: str, survivor_id: str, merged_id: str, *, actor: str) -> MergeRecord:
        if survivor_id == merged_id:
            raise InvalidInput("a contact cannot be merged into itself")
        survivor = self._live(tenant_id, survivor_id)
        merged = self._live(tenant_id, merged_id)
        now = self._clock.now()
        moved = [i for i in merged.identities
                 if not any(i.kind == s.kind and i.value == s.value for s in survivor.identities)]
        fields = {**merged.fields, **survivor.fields}
        consent = dict(survivor.consent)
        for purpose, decision in merged.consent.items():
            mine = consent.get(purpose)
            if mine is None or decision.at > mine.at:
                consent[purpose] = decision  # the most recent decision wins, whichever contact it was on
        combined = survivor.model_copy(update={
            "identities": (*survivor.identities, *moved),
            "tags": tuple(dict.fromkeys((*survivor.tags, *merged.tags))),
            "fields": fields, "consent": consent, "name": survivor.name or merged.name,
            "owner_agent_id": survivor.owner_agent_id or merged.owner_agent_id,
            "language": survivor.language or merged.language,
            "last_inbound_at": max((d for d in (survivor.last_inbound_at, merged.last_inbound_at) if d), default=None),
            "last_outbound_at": max((d for d in (survivor.last_outbound_at, merged.last_outbound_at) if d),
                                    default=None),
            "updated_at": now, "version": survivor.version + 1,
        })
        threads = self._store.contact_threads(tenant_id, merged_id)
        record = MergeRecord(merge_id=new_id("mg", self._clock), tenant_id=tenant_id, survivor_id=survivor_id,
                             merged_id=merged_id, survivor_snapshot=survivor.model_dump(mode="json"),
                             merged_snapshot=merged.model_dump(mode="json"),
                             moved_threads=tuple(f"{t.channel_id}#{t.contact_key}" for t in threads), at=now,
                             actor=actor)
        tombstone = merged.model_copy(update={"merged_into": survivor_id, "updated_at": now,
                                              "version": merged.version + 1})
        try:
            self._store.merge_contacts(record, combined, tombstone, moved=moved)
        except StaleContact:
            raise Conflict("one of the contacts changed meanwhile; retry the merge") from None
        for thread in threads:  # conversations follow the survivor, the ones already held too (one history)
            self._store.assign_thread(thread, survivor_id)
            self._store.relink_conversations(thread, survivor_id)
        for cid, other in ((survivor_id, merged_id), (merged_id, survivor_id)):
            self._store.add_activity(tenant_id, cid, Activity(at=now, kind="merged", summary=f"merge {record.merge_id}",
                                                              data={"actor": actor, "other": other}))
        self._publish(ContactMerged(tenant_id=tenant_id, contact_id=survivor_id, merged_contact_id=merged_id,
                                    merge_id=record.merge_id))
        return record

    def get_merge(self, tenant_id: str, merge_id: str) -> MergeRecord:
        record = self._store.get_merge(tenant_id, merge_id)
        if record is None:
            raise NotFound(f"no merge {merge_id}")
        return record

    def split(self, tenant_id: str, merge_id: str, *, actor: str) -> tuple[Contact, Contact]:
        """Undo a merge: the merged contact comes back with its identities and conversations.

        Whatever the survivor gained since the merge stays on it; what the merge brought over is taken back.
        """
        record = self._store.get_merge(tenant_id, merge_id)
        if record is None:
            raise NotFound(f"no merge {merge_id}")
        if record.undone_at is not None:
            raise Conflict("this merge was already undone")
        survivor = self._live(tenant_id, record.survivor_id)
        before = Contact.model_validate(record.survivor_snapshot)
        original = Contact.model_validate(record.merged_snapshot)
        now = self._clock.now()
        had = {(i.kind, i.value) for i in before.identities}
        moved = [i for i in original.identities if (i.kind, i.value) not in had]
        moved_keys = {(i.kind, i.value) for i in moved}
        brought_tags = set(original.tags) - set(before.tags)
        fields = dict(survivor.fields)
        for key, value in original.fields.items():
            if key not in before.fields and fields.get(key) == value:
                fields.pop(key)
        consent = dict(survivor.consent)
        for purpose, record_ in original.consent.items():
            if consent.get(purpose) == record_:  # the merge brought this decision over: take it back
                if purpose in before.consent:
                    consent[purpose] = before.consent[purpose]
                else:
                    consent.pop(purpose)
        restored_survivor = survivor.model_copy(update={
            "identities": tuple(i for i in survivor.identities if (i.kind, i.value) not in moved_keys),
            "tags": tuple(t for t in survivor.tags if t not in brought_tags),
            "fields": fields, "consent": consent,
            # a name, language or owner the merge filled in goes back with the merged contact
            **{attr: None for attr in ("name", "language", "owner_agent_id")
               if getattr(before, attr) is None and getattr(survivor, attr) == getattr(original, attr)},
            "updated_at": now, "version": survivor.version + 1,
        })
        current_merged = self._store.get_contact(tenant_id, record.merged_id)
        restored = original.model_copy(update={"merged_into": None, "updated_at": now,
                                               "version": (current_merged.version if current_merged else 0) + 1})
        try:
            self._store.split_contacts(record, restored_survivor, restored, moved=moved, undone_at=now)
        except StaleContact:
            raise Conflict("the contact changed meanwhile; retry the split") from None
        keys = set(record.moved_threads)
        for thread in self._store.contact_threads(tenant_id, record.survivor_id):
            if f"{thread.channel_id}#{thread.contact_key}" in keys:
                self._store.assign_thread(thread, record.merged_id)
                self._store.relink_conversations(thread, record.merged_id)
        for cid in (record.survivor_id, record.merged_id):
            self._store.add_activity(tenant_id, cid, Activity(at=now, kind="split", summary=f"undo {merge_id}",
                                                              data={"actor": actor}))
        self._publish(ContactUpdated(tenant_id=tenant_id, contact_id=record.survivor_id, changes=("split",)),
                      ContactUpdated(tenant_id=tenant_id, contact_id=record.merged_id, changes=("split",)))
        return restored_survivor, restored

    # -- inbound -------------------------------------------------------------------------------------
    def resolve_sender(self, tenant_id: str, channel_id: str, sender: SenderIdentity) -> tuple[str, bool]:
        """The contact a sender is, creating it on first contact. Returns (contact_id, created).

        Lookup order: BSUID, then wa_id, then a single contact holding the same phone (imported or created
        by API). Identities learned here are attached, so a phone-keyed contact who later gets a BSUID stays
        one contact. At the plan's cap the contact is still created (the message must stay visible) but is
        flagged `over_cap` and not counted.
        """
        wanted: list[Identity] = []
        if sender.provider in ("telegram", "messenger", "instagram", "webchat"):  # chat id, PSID, IGSID, visitor
            wanted.append(Identity(kind=sender.provider, value=sender.key, channel_id=channel_id))
        if sender.user_id and sender.provider == "whatsapp":
            wanted.append(Identity(kind="whatsapp_bsuid", value=sender.user_id, channel_id=channel_id))
        if sender.wa_id and sender.provider == "whatsapp":
            wanted.append(Identity(kind="whatsapp", value=sender.wa_id, channel_id=channel_id))
        phone: str | None = None
        raw_phone = sender.phone or sender.wa_id
        if raw_phone:
            try:
                phone = whatsapp_wa_id_to_e164(raw_phone)
            except InvalidPhone:
                phone = None
        contact_id: str | None = None
        for identity in wanted:
            contact_id = self._store.find_identity(tenant_id, identity.kind, identity.value)
            if contact_id:
                break
        email: str | None = None
        if sender.email:
            try:
                email = normalize_email(sender.email)
            except ValueError:
                email = None
        # A phone or address the channel vouches for (the SMS number, SES's verified From) joins the one contact
        # holding it; a web chat visitor's typed-in phone or email does not (anyone can type anyone's): their
        # contact is created with it and offered as a duplicate to merge instead.
        vouched = sender.provider != "webchat"
        for soft_kind, soft_value in (("phone", phone), ("email", email)):
            if contact_id is None and soft_value and vouched:
                owners = self._store.find_soft(tenant_id, soft_kind, soft_value)
                if len(owners) == 1:
                    contact_id = owners[0]
        if contact_id is not None:
            contact = self._store.get_contact(tenant_id, contact_id)
            while contact is not None and contact.merged_into:
                contact = self._store.get_contact(tenant_id, contact.merged_into)
            if contact is not None:
                missing = [i for i in wanted if not any(i.kind == c.kind and i.value == c.value
                                                        for c in contact.identities)]
                if missing:
                    self._attach_learned(contact, missing)
                return contact.contact_id, False
        return self._create_from_sender(tenant_id, sender, wanted, phone, email)

    def _attach_learned(self, contact: Contact, missing: list[Identity]) -> None:
        for _ in range(3):
            try:
                self._store.save_contact(
                    contact.model_copy(update={"identities": (*contact.identities, *missing),
                                               "version": contact.version + 1, "updated_at": self._clock.now()}),
                    expected_version=contact.version, added=missing)
                return
            except StaleContact:
                fresh = self._store.get_contact(contact.tenant_id, contact.contact_id)
                if fresh is None:
                    return
                contact = fresh
                missing = [i for i in missing if i not in contact.identities]
            except IdentityTaken:
                return  # another contact already holds it (a concurrent first message); leave it there

    def _create_from_sender(self, tenant_id: str, sender: SenderIdentity, wanted: list[Identity],
                            phone: str | None, email: str | None = None) -> tuple[str, bool]:
        now = self._clock.now()
        identities = (list(wanted) + ([Identity(kind="phone", value=phone)] if phone else [])
                      + ([Identity(kind="email", value=email)] if email else []))
        contact = Contact(tenant_id=tenant_id, contact_id=new_id("ct", self._clock), name=sender.name,
                          identities=_dedupe(identities), created_at=now, updated_at=now)
        over_cap = False
        try:
            try:
                self._store.create_contact(contact, cap=self._cap(tenant_id))
            except ContactCapReached:
                over_cap = True
                contact = contact.model_copy(update={"over_cap": True})
                self._store.create_contact(contact, cap=None)
        except IdentityTaken as exc:
            if exc.owner:  # a concurrent first message created it: that one is the contact
                return exc.owner, False
            raise
        self._store.add_activity(tenant_id, contact.contact_id, Activity(
            at=now, kind="created", summary="first message" + (" (over the plan's contact cap)" if over_cap else "")))
        self._publish(ContactCreated(tenant_id=tenant_id, contact_id=contact.contact_id, source="inbound",
                                     over_cap=over_cap))
        if self._quotas is not None:
            self._quotas.after_change(tenant_id, "contacts")
        return contact.contact_id, True
