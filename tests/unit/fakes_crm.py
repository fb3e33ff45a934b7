"""In-memory fakes for the CRM ports and their neighbours (tenancy, channels, secrets, threads).

They mirror the semantics of the DynamoDB adapters (shared/adapters/dynamodb_crm.py, dynamodb_tenancy.py,
dynamodb.py), not just their signatures:

- unique identity kinds (WhatsApp, BSUID, ...) are exclusive per tenant; phone and email are soft rows, one per
  (value, contact), so several contacts may share them;
- every multi-item write is a transaction: all conditions are checked first, then everything is applied, so a
  refused write leaves no trace;
- the plan counter moves in the same transaction as the contact; `cap` is checked at create, `cap=None` means
  "flagged over the cap, not counted";
- save/merge/split carry optimistic version checks; merged tombstones leave the listing index.

Stored and returned models are deep copies, so a service cannot change the "database" by mutating what it read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import InvalidInput
from shared.models.channel import Channel
from shared.models.conversations import Conversation
from shared.models.crm import UNIQUE_IDENTITY_KINDS, Activity, Contact, CustomFieldDef, Identity, MergeRecord
from shared.models.events import TenantEvent
from shared.models.messages import InboundMessage, StatusUpdate
from shared.models.tenancy import ApiKey, Plan, Tenant
from shared.ports import (
    ContactCapReached,
    IdentityTaken,
    OutboundClaim,
    Page,
    StaleContact,
    StatusApplied,
    Thread,
    ThreadTouch,
)
from shared.services.auth import key_hash

T0 = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


class TransactionCanceled(Exception):
    """A transaction the real adapter would let through as a raw ClientError (no domain meaning)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- clock, tenants, events -----------------------------------------------------------------------------

class FakeClock:
    """Fixed by default; `step` advances it on every read, `advance()` moves it explicitly."""

    def __init__(self, start: datetime = T0, *, step: timedelta = timedelta(0)) -> None:
        self._now = start
        self._step = step

    def now(self) -> datetime:
        current = self._now
        self._now = current + self._step
        return current

    def peek(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class FakeTenants:
    """TenantLookup / TenantDirectory: tenants by id."""

    def __init__(self, *tenants: Tenant) -> None:
        self.tenants: dict[str, Tenant] = {t.tenant_id: t for t in tenants}
        self.reads = 0

    def add(self, tenant_id: str, *, max_contacts: int = 1000, status: str = "active",
            rate_limit_per_s: int = 20) -> Tenant:
        tenant = Tenant(tenant_id=tenant_id, name=tenant_id.title(), status=status, created_at=T0,
                        plan=Plan(max_contacts=max_contacts, rate_limit_per_s=rate_limit_per_s))
        self.tenants[tenant_id] = tenant
        return tenant

    def set_cap(self, tenant_id: str, max_contacts: int) -> None:
        tenant = self.tenants[tenant_id]
        self.tenants[tenant_id] = tenant.model_copy(update={"plan": tenant.plan.model_copy(
            update={"max_contacts": max_contacts})})

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        self.reads += 1
        return self.tenants.get(tenant_id)


class RecordingPublisher:
    """EventPublisher that keeps every published event, in order, and each batch as it was published."""

    def __init__(self) -> None:
        self.batches: list[list[TenantEvent]] = []

    def publish(self, events: Sequence[TenantEvent]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[TenantEvent]:
        return [e for batch in self.batches for e in batch]

    def of_type(self, cls: type[TenantEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def clear(self) -> None:
        self.batches.clear()


# --- threads (shared by the message store and the CRM, as the real thread item is) ----------------------

@dataclasses.dataclass
class ThreadBook:
    threads: dict[tuple[str, str, str], Thread] = dataclasses.field(default_factory=dict)
    opened_by: dict[tuple[str, str, str], str | None] = dataclasses.field(default_factory=dict)

    def add(self, thread: Thread) -> Thread:
        self.threads[(thread.tenant_id, thread.channel_id, thread.contact_key)] = thread
        return thread


# --- the contact store -----------------------------------------------------------------------------------

def _copy(contact: Contact) -> Contact:
    return contact.model_copy(deep=True)


class InMemoryContactStore:
    """ContactStore with the DynamoDB adapter's semantics (see the module docstring)."""

    def __init__(self, threads: ThreadBook | None = None) -> None:
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.unique: dict[tuple[str, str, str], str] = {}  # (tenant, kind, value) -> contact id
        self.soft: set[tuple[str, str, str, str]] = set()  # (tenant, kind, value, contact id)
        self.counts: dict[str, int] = {}  # the plan counter (contact_count on the tenant item)
        self.activity_log: dict[tuple[str, str], list[Activity]] = {}
        self.defs: dict[str, dict[str, CustomFieldDef]] = {}
        self.merges: dict[tuple[str, str], MergeRecord] = {}
        self.threads = threads if threads is not None else ThreadBook()
        self.calls: list[str] = []
        self._hooks: dict[str, list[Callable[[], object]]] = {}

    # -- test helpers --------------------------------------------------------------------------------
    def before(self, op: str, hook: Callable[[], object]) -> None:
        """Run `hook` once, right before the next call of `op` does anything (to stage a concurrent writer)."""
        self._hooks.setdefault(op, []).append(hook)

    def _enter(self, op: str) -> None:
        self.calls.append(op)
        hooks = self._hooks.pop(op, [])
        for hook in hooks:
            hook()

    def count(self, tenant_id: str) -> int:
        return self.counts.get(tenant_id, 0)

    def owners_of(self, tenant_id: str, kind: str, value: str) -> list[str]:
        if kind in UNIQUE_IDENTITY_KINDS:
            owner = self.unique.get((tenant_id, kind, value))
            return [owner] if owner else []
        return self.find_soft(tenant_id, kind, value)

    def add_thread(self, tenant_id: str, channel_id: str, contact_key: str, contact_id: str | None = None,
                   conversation_id: str | None = None) -> Thread:
        return self.threads.add(Thread(tenant_id=tenant_id, channel_id=channel_id, contact_key=contact_key,
                                       address=contact_key, conversation_id=conversation_id, contact_id=contact_id))

    # -- identity rows -------------------------------------------------------------------------------
    def _check_identities(self, tenant_id: str, contact_id: str, added: Sequence[Identity],
                          removed: Sequence[Identity]) -> None:
        for ident in added:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                owner = self.unique.get((tenant_id, ident.kind, ident.value))
                if owner is not None and owner != contact_id:
                    raise IdentityTaken(ident.kind, ident.value, owner)
        for ident in removed:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                owner = self.unique.get((tenant_id, ident.kind, ident.value))
                if owner is not None and owner != contact_id:
                    raise TransactionCanceled(f"{ident.kind} row belongs to {owner}")

    def _apply_identities(self, tenant_id: str, contact_id: str, added: Sequence[Identity],
                          removed: Sequence[Identity]) -> None:
        for ident in added:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                self.unique[(tenant_id, ident.kind, ident.value)] = contact_id
            else:
                self.soft.add((tenant_id, ident.kind, ident.value, contact_id))
        for ident in removed:
            if ident.kind in UNIQUE_IDENTITY_KINDS:
                self.unique.pop((tenant_id, ident.kind, ident.value), None)
            else:
                self.soft.discard((tenant_id, ident.kind, ident.value, contact_id))

    def _version_is(self, tenant_id: str, contact_id: str, expected: int) -> bool:
        current = self.contacts.get((tenant_id, contact_id))
        return current is not None and current.version == expected

    # -- contacts ------------------------------------------------------------------------------------
    def create_contact(self, contact: Contact, *, cap: int | None) -> None:
        self._enter("create_contact")
        t, cid = contact.tenant_id, contact.contact_id
        if (t, cid) in self.contacts:
            raise TransactionCanceled("contact id exists")
        self._check_identities(t, cid, contact.identities, ())
        if cap is not None and self.count(t) >= cap:
            raise ContactCapReached()
        # all conditions hold: apply everything
        self.contacts[(t, cid)] = _copy(contact)
        self._apply_identities(t, cid, contact.identities, ())
        if cap is not None:
            self.counts[t] = self.count(t) + 1

    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None:
        contact = self.contacts.get((tenant_id, contact_id))
        return _copy(contact) if contact else None

    def save_contact(self, contact: Contact, *, expected_version: int, added: Sequence[Identity] = (),
                     removed: Sequence[Identity] = ()) -> None:
        self._enter("save_contact")
        t, cid = contact.tenant_id, contact.contact_id
        if not self._version_is(t, cid, expected_version):
            raise StaleContact()
        self._check_identities(t, cid, added, removed)
        self.contacts[(t, cid)] = _copy(contact)
        self._apply_identities(t, cid, added, removed)

    def find_identity(self, tenant_id: str, kind: str, value: str) -> str | None:
        return self.unique.get((tenant_id, kind, value))

    def find_soft(self, tenant_id: str, kind: str, value: str) -> list[str]:
        return sorted(cid for (t, k, v, cid) in self.soft if (t, k, v) == (tenant_id, kind, value))

    def _listed(self, tenant_id: str) -> list[Contact]:
        return sorted((c for (t, _), c in self.contacts.items() if t == tenant_id and not c.merged_into),
                      key=lambda c: c.contact_id, reverse=True)

    def list_contacts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        listed = self._listed(tenant_id)
        if cursor:
            owner, _, after = cursor.partition("|")
            if owner != tenant_id:
                raise InvalidInput("this cursor does not belong to this listing")
            listed = [c for c in listed if c.contact_id < after]
        page = listed[:limit]
        more = len(listed) > limit
        return Page([_copy(c) for c in page], f"{tenant_id}|{page[-1].contact_id}" if more and page else None)

    def cursor_after(self, contact: Contact) -> str:
        return f"{contact.tenant_id}|{contact.contact_id}"

    def soft_index(self, tenant_id: str) -> list[tuple[str, str, str]]:
        return sorted((k, v, cid) for (t, k, v, cid) in self.soft if t == tenant_id)

    def delete_contact(self, contact: Contact) -> None:
        self._enter("delete_contact")
        t, cid = contact.tenant_id, contact.contact_id
        self._check_identities(t, cid, (), contact.identities)
        self.contacts.pop((t, cid), None)
        self._apply_identities(t, cid, (), contact.identities)
        if not contact.over_cap and not contact.merged_into:
            self.counts[t] = self.count(t) - 1
        self.activity_log.pop((t, cid), None)

    def touch_inbound(self, tenant_id: str, contact_id: str, at: datetime) -> None:
        """Forward only, no version bump (the real adapter keeps it beside the document)."""
        self.calls.append("touch_inbound")
        contact = self.contacts.get((tenant_id, contact_id))
        if contact is None:
            return
        if contact.last_inbound_at is None or contact.last_inbound_at < at:
            self.contacts[(tenant_id, contact_id)] = contact.model_copy(update={"last_inbound_at": at})

    # -- timeline ------------------------------------------------------------------------------------
    def add_activity(self, tenant_id: str, contact_id: str, activity: Activity) -> None:
        self.activity_log.setdefault((tenant_id, contact_id), []).append(activity)

    def activities(self, tenant_id: str, contact_id: str, *, limit: int, cursor: str | None) -> Page:
        items = sorted(self.activity_log.get((tenant_id, contact_id), []), key=lambda a: a.at, reverse=True)
        start = int(cursor) if cursor else 0
        page = items[start:start + limit]
        return Page(page, str(start + limit) if start + limit < len(items) else None)

    # -- custom field definitions --------------------------------------------------------------------
    def field_defs(self, tenant_id: str) -> dict[str, CustomFieldDef]:
        return dict(self.defs.get(tenant_id, {}))

    def put_field_def(self, tenant_id: str, definition: CustomFieldDef) -> None:
        self.defs.setdefault(tenant_id, {})[definition.key] = definition

    def delete_field_def(self, tenant_id: str, key: str) -> bool:
        return self.defs.get(tenant_id, {}).pop(key, None) is not None

    # -- merge and split -----------------------------------------------------------------------------
    def merge_contacts(self, record: MergeRecord, survivor: Contact, merged: Contact, *,
                       moved: Sequence[Identity]) -> None:
        self._enter("merge_contacts")
        t = survivor.tenant_id
        if not self._version_is(t, survivor.contact_id, survivor.version - 1) or \
                not self._version_is(t, merged.contact_id, merged.version - 1):
            raise StaleContact()
        if (t, record.merge_id) in self.merges:
            raise TransactionCanceled("merge id exists")
        moved_unique = [i for i in moved if i.kind in UNIQUE_IDENTITY_KINDS]
        for ident in moved_unique:
            if self.unique.get((t, ident.kind, ident.value)) != merged.contact_id:
                raise TransactionCanceled(f"{ident.kind} row is not the merged contact's")
        # apply
        self.contacts[(t, survivor.contact_id)] = _copy(survivor)
        self.contacts[(t, merged.contact_id)] = _copy(merged)
        self.merges[(t, record.merge_id)] = record.model_copy(deep=True)
        for ident in moved_unique:
            self.unique[(t, ident.kind, ident.value)] = survivor.contact_id
        self._apply_identities(t, merged.contact_id, (),
                               [i for i in merged.identities if i.kind not in UNIQUE_IDENTITY_KINDS])
        self._apply_identities(t, survivor.contact_id, [i for i in moved if i.kind not in UNIQUE_IDENTITY_KINDS], ())
        if not merged.over_cap:
            self.counts[t] = self.count(t) - 1

    def split_contacts(self, record: MergeRecord, survivor: Contact, restored: Contact, *,
                       moved: Sequence[Identity], undone_at: datetime) -> None:
        self._enter("split_contacts")
        t = survivor.tenant_id
        if not self._version_is(t, survivor.contact_id, survivor.version - 1):
            raise StaleContact()
        current = self.contacts.get((t, restored.contact_id))
        if current is not None and current.version != restored.version - 1:
            raise StaleContact()
        if (t, record.merge_id) not in self.merges:
            raise StaleContact()
        moved_unique = [i for i in moved if i.kind in UNIQUE_IDENTITY_KINDS]
        for ident in moved_unique:
            owner = self.unique.get((t, ident.kind, ident.value))
            if owner is not None and owner != survivor.contact_id:
                raise TransactionCanceled(f"{ident.kind} row belongs to {owner}")
        # apply
        self.contacts[(t, survivor.contact_id)] = _copy(survivor)
        self.contacts[(t, restored.contact_id)] = _copy(restored)
        self.merges[(t, record.merge_id)] = record.model_copy(update={"undone_at": undone_at}, deep=True)
        for ident in moved_unique:
            self.unique[(t, ident.kind, ident.value)] = restored.contact_id
        self._apply_identities(t, survivor.contact_id, (),
                               [i for i in moved if i.kind not in UNIQUE_IDENTITY_KINDS])
        self._apply_identities(t, restored.contact_id,
                               [i for i in restored.identities if i.kind not in UNIQUE_IDENTITY_KINDS], ())
        if not restored.over_cap:
            self.counts[t] = self.count(t) + 1

    def get_merge(self, tenant_id: str, merge_id: str) -> MergeRecord | None:
        record = self.merges.get((tenant_id, merge_id))
        return record.model_copy(deep=True) if record else None

    # -- threads -------------------------------------------------------------------------------------
    def contact_threads(self, tenant_id: str, contact_id: str) -> list[Thread]:
        return [th for (t, _, _), th in sorted(self.threads.threads.items())
                if t == tenant_id and th.contact_id == contact_id]

    def assign_thread(self, thread: Thread, contact_id: str) -> None:
        self.calls.append("assign_thread")
        key = (thread.tenant_id, thread.channel_id, thread.contact_key)
        stored = self.threads.threads.get(key)
        if stored is None:
            raise TransactionCanceled("no such thread")  # ConditionExpression attribute_exists(pk)
        self.threads.threads[key] = dataclasses.replace(stored, contact_id=contact_id)

    def relink_conversations(self, thread: Thread, contact_id: str) -> int:
        self.calls.append("relink_conversations")
        self.relinked = [*getattr(self, "relinked", []), (thread.channel_id, thread.contact_key, contact_id)]
        return 0


# --- the message store (only what the inbound path needs) ------------------------------------------------

class InMemoryMessageStore:
    """MessageStore for InboundService: messages stored once, threads with a window that never moves back."""

    def __init__(self, threads: ThreadBook | None = None) -> None:
        self.threads = threads if threads is not None else ThreadBook()
        self.messages: dict[tuple[str, str, str], InboundMessage] = {}
        self.orphans: list[StatusUpdate] = []

    def put_inbound(self, tenant_id: str, channel_id: str, message: InboundMessage, *, received_at: datetime
                    ) -> bool:
        key = (tenant_id, channel_id, message.provider_message_id)
        if key in self.messages:
            return False
        self.messages[key] = message
        return True

    def touch_thread(self, tenant_id: str, channel_id: str, message: InboundMessage, *, new_conversation_id: str
                     ) -> ThreadTouch:
        sender = message.sender
        key = (tenant_id, channel_id, sender.key)
        old = self.threads.threads.get(key)
        if old is not None and old.last_inbound_at is not None and old.last_inbound_at > message.sent_at:
            return ThreadTouch(old, conversation_opened=self.threads.opened_by.get(key) ==
                               message.provider_message_id, window_advanced=False)
        base = old or Thread(tenant_id=tenant_id, channel_id=channel_id, contact_key=sender.key,
                             address=sender.wa_id or sender.key)
        thread = dataclasses.replace(
            base, address=sender.wa_id or base.address, last_inbound_at=message.sent_at,
            name=sender.name or base.name, phone=sender.phone or base.phone)
        if thread.conversation_id is None:
            thread = dataclasses.replace(thread, conversation_id=new_conversation_id,
                                         conversation_opened_at=message.sent_at)
            self.threads.opened_by[key] = message.provider_message_id
        self.threads.threads[key] = thread
        return ThreadTouch(thread, conversation_opened=self.threads.opened_by.get(key) == message.provider_message_id,
                           window_advanced=True)

    def close_conversation(self, tenant_id: str, channel_id: str, contact_key: str) -> None:
        """What closing a conversation does to the thread: the next message opens a new one."""
        key = (tenant_id, channel_id, contact_key)
        self.threads.threads[key] = dataclasses.replace(self.threads.threads[key], conversation_id=None,
                                                        conversation_opened_at=None)
        self.threads.opened_by[key] = None

    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None:
        return self.threads.threads.get((tenant_id, channel_id, contact_key))

    def apply_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> StatusApplied | None:
        return None  # no outbound messages in this fake

    def record_orphan_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> None:
        self.orphans.append(update)

    def claim_outbound(self, *args: Any, **kwargs: Any) -> OutboundClaim:
        raise NotImplementedError("outbound is not part of this fake")

    def record_sent(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("outbound is not part of this fake")

    def record_failed(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("outbound is not part of this fake")

    def record_media(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("media is not part of this fake")


class RecordingConversations:
    """The conversation record opener of InboundCrm."""

    def __init__(self) -> None:
        self.opened: list[Conversation] = []

    def open(self, conversation: Conversation) -> None:
        self.opened.append(conversation)


# --- tenancy: tenants, API keys, operators, channels, secrets -------------------------------------------

class InMemoryTenancy:
    """TenantStore + KeyStore + TenantDirectory, mirroring DynamoTenancy's conditions."""

    def __init__(self, contacts: InMemoryContactStore | None = None) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.keys: dict[str, ApiKey] = {}  # sha256 -> key
        self.touches: list[tuple[str, datetime]] = []
        self.key_reads = 0
        self.tenant_reads = 0
        self._contacts = contacts

    def create_tenant(self, tenant: Tenant) -> bool:
        if tenant.tenant_id in self.tenants:
            return False
        self.tenants[tenant.tenant_id] = tenant
        return True

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        self.tenant_reads += 1
        return self.tenants.get(tenant_id)

    def update_tenant(self, tenant_id: str, *, status: str | None = None, reason: str | None = None,
                      plan: Plan | None = None) -> Tenant | None:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return None
        update: dict[str, Any] = {}
        if status is not None:
            update["status"] = status
            update["suspended_reason"] = reason if status == "suspended" else None
        if plan is not None:
            update["plan"] = plan
        tenant = tenant.model_copy(update=update)
        self.tenants[tenant_id] = tenant
        return tenant

    def list_tenants(self) -> list[Tenant]:
        return sorted(self.tenants.values(), key=lambda t: t.tenant_id)

    def contact_count(self, tenant_id: str) -> int:
        return self._contacts.count(tenant_id) if self._contacts else 0

    def put_key(self, hashed: str, key: ApiKey) -> None:
        if hashed in self.keys:
            raise TransactionCanceled("key hash exists")
        self.keys[hashed] = key

    def get_key(self, hashed: str) -> ApiKey | None:
        self.key_reads += 1
        return self.keys.get(hashed)

    def touch_key(self, hashed: str, at: datetime, *, older_than: datetime) -> None:
        key = self.keys.get(hashed)
        if key is None or (key.last_used_at is not None and not key.last_used_at < older_than):
            return  # the condition failed: nothing written
        self.keys[hashed] = key.model_copy(update={"last_used_at": at})
        self.touches.append((hashed, at))

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.tenant_id == tenant_id]

    def revoke_key(self, tenant_id: str, key_id: str, at: datetime) -> ApiKey | None:
        hashed = next((h for h, k in self.keys.items() if k.tenant_id == tenant_id and k.key_id == key_id), None)
        if hashed is None:
            return None
        key = self.keys[hashed]
        if key.revoked_at is None:
            key = key.model_copy(update={"revoked_at": at})
            self.keys[hashed] = key
        return key


class FakeOperators:
    def __init__(self, *raw_keys: str) -> None:
        self.raw_keys = list(raw_keys)

    def operator_key_hashes(self) -> frozenset[str]:
        return frozenset(key_hash(k) for k in self.raw_keys)


class InMemoryChannels:
    """ChannelStore: channel ids are unique across tenants. Writes go to a shared journal to check ordering."""

    def __init__(self, journal: list[str] | None = None) -> None:
        self.channels: dict[str, Channel] = {}
        self.journal = journal if journal is not None else []

    def create(self, channel: Channel) -> bool:
        self.journal.append(f"channel:{channel.channel_id}")
        if channel.channel_id in self.channels:
            return False
        self.channels[channel.channel_id] = channel
        return True

    def list_for_tenant(self, tenant_id: str) -> list[Channel]:
        return [c for c in self.channels.values() if c.tenant_id == tenant_id]

    def get(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)


class RecordingSecrets:
    """SecretWriter: create or overwrite, like SecretsManagerWriter."""

    def __init__(self, journal: list[str] | None = None) -> None:
        self.secrets: dict[str, dict[str, str]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.journal = journal if journal is not None else []

    def put_secret(self, name: str, value: dict[str, str], *, tags: dict[str, str]) -> None:
        self.journal.append(f"secret:{name}")
        self.secrets[name] = dict(value)
        self.tags.setdefault(name, dict(tags))
