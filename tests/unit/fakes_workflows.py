"""In-memory fakes for the workflow engine's ports (shared.services.workflows): store, actions, timers, queue.

They mirror what the real adapters promise, not just their signatures:

- definitions are immutable versions: `get_workflow(t, id, version)` returns exactly that version, no version
  means the latest; `put_workflow(wf, previous=)` is an optimistic write (refused unless `previous` is still the
  latest, or, for a new workflow, unless the id is unused);
- a schedule workflow's next run is `Cron.next_after(updated_at)` of the version just stored, and
  `advance_schedule` only moves it when it still holds `expected` (one tick per minute wins);
- `create_execution` applies the definition's reentry rule per contact ("exists" beats "refused", so a
  redelivered start is recognised as the same execution); `commit` is one atomic compare-and-set on the
  execution's `version_token` together with its step record (which replaces the "started" one of that seq);
- `begin_step` is a conditional put: the record already stored for that seq wins.

Crash hooks: `crash_on_commit = N` makes the N-th `commit` from now raise RuntimeError("crash") before writing
anything (a Lambda dying between a step's effect and its commit); `crash_after_commit = N` makes the N-th
`commit` write and then raise (dying right after the transaction, before whatever follows it).

Stored and returned models are deep copies, so the service cannot change the "database" by mutating a read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from shared.errors import NotFound
from shared.models.workflows import AssignStep, Execution, HttpRequestStep, StepRecord, Workflow
from shared.services.workflow_time import Cron
from shared.services.workflows import Reach, WorkflowService

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # a Tuesday; 12:00 in Buenos Aires (UTC-3)
TENANT = "acme"
CHANNEL = "acme-wa-1"
HOOK_KEY = b"test-key"

_LIVE = ("running", "waiting")


# --- clock ------------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, at: datetime) -> datetime:
        self._now = at
        return at


# --- the store --------------------------------------------------------------------------------------------

class FakeWorkflowStore:
    """WorkflowStore in memory (see the module docstring for the semantics)."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], list[Workflow]] = {}
        self.deleted: set[tuple[str, str]] = set()
        self.hooks: dict[str, str] = {}  # workflow id -> tenant (incoming-webhook workflows)
        self.schedules: dict[tuple[str, str], datetime] = {}  # (tenant, workflow) -> next run
        self.execs: dict[tuple[str, str], Execution] = {}
        self.created_order: dict[tuple[str, str], int] = {}
        self.records: dict[tuple[str, str], dict[int, StepRecord]] = {}
        self.waits: dict[tuple[str, str, str], dict[str, tuple[str, datetime]]] = {}
        self.rotations: dict[tuple[str, str], str] = {}  # (tenant, key) -> last picked
        self.crash_on_commit: int | None = None
        self.crash_after_commit: int | None = None
        self.commit_calls = 0

    # -- definitions -------------------------------------------------------------------------------------
    def _latest(self, tenant_id: str, workflow_id: str) -> Workflow | None:
        if (tenant_id, workflow_id) in self.deleted:
            return None
        versions = self.versions.get((tenant_id, workflow_id))
        return versions[-1] if versions else None

    def put_workflow(self, workflow: Workflow, *, previous: Workflow | None) -> bool:
        key = (workflow.tenant_id, workflow.workflow_id)
        versions = self.versions.get(key, [])
        if previous is None:
            if versions:
                return False
        else:
            latest = self._latest(*key)
            if latest is None or latest.version != previous.version or workflow.version <= latest.version:
                return False
        self.versions[key] = [*versions, workflow.model_copy(deep=True)]
        if workflow.trigger.type == "incoming_webhook":
            self.hooks[workflow.workflow_id] = workflow.tenant_id
        else:
            self.hooks.pop(workflow.workflow_id, None)
        trigger: Any = workflow.trigger
        if trigger.type == "schedule" and workflow.enabled:
            self.schedules[key] = Cron.parse(trigger.cron, trigger.time_zone).next_after(workflow.updated_at)
        else:
            self.schedules.pop(key, None)
        return True

    def get_workflow(self, tenant_id: str, workflow_id: str, version: int | None = None) -> Workflow | None:
        if version is None:
            found = self._latest(tenant_id, workflow_id)
        else:  # old versions stay readable: executions finish on the version they started with
            found = next((w for w in self.versions.get((tenant_id, workflow_id), []) if w.version == version), None)
        return found.model_copy(deep=True) if found else None

    def list_workflows(self, tenant_id: str) -> list[Workflow]:
        out = [self._latest(t, w) for (t, w) in self.versions if t == tenant_id]
        return [w.model_copy(deep=True) for w in out if w is not None]

    def delete_workflow(self, workflow: Workflow) -> None:
        key = (workflow.tenant_id, workflow.workflow_id)
        self.deleted.add(key)
        self.schedules.pop(key, None)
        self.hooks.pop(workflow.workflow_id, None)

    def enabled_for(self, tenant_id: str, trigger_type: str) -> list[Workflow]:
        return [w for w in self.list_workflows(tenant_id) if w.enabled and w.trigger.type == trigger_type]

    def hook_tenant(self, workflow_id: str) -> str | None:
        return self.hooks.get(workflow_id)

    # -- schedules ---------------------------------------------------------------------------------------
    def due_schedules(self, now: datetime, *, limit: int = 100) -> list[tuple[str, str, datetime]]:
        due = sorted(((at, t, w) for (t, w), at in self.schedules.items() if at <= now))
        return [(t, w, at) for at, t, w in due[:limit]]

    def advance_schedule(self, tenant_id: str, workflow_id: str, *, expected: datetime, next_run: datetime) -> bool:
        key = (tenant_id, workflow_id)
        if self.schedules.get(key) != expected:
            return False
        self.schedules[key] = next_run
        return True

    # -- executions --------------------------------------------------------------------------------------
    def create_execution(self, execution: Execution, *, reentry: str) -> str:
        key = (execution.tenant_id, execution.execution_id)
        if key in self.execs:
            return "exists"
        if execution.contact_id and reentry != "always":
            others = [x for x in self.execs.values() if x.tenant_id == execution.tenant_id
                      and x.workflow_id == execution.workflow_id and x.contact_id == execution.contact_id]
            if reentry == "once" and others:
                return "refused"
            if reentry == "not_while_running" and any(x.status in _LIVE for x in others):
                return "refused"
        self.execs[key] = execution.model_copy(deep=True)
        self.created_order[key] = len(self.created_order)
        return "created"

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        found = self.execs.get((tenant_id, execution_id))
        return found.model_copy(deep=True) if found else None

    def commit(self, execution: Execution, *, expected_token: int, record: StepRecord | None) -> bool:
        self.commit_calls += 1
        if self.crash_on_commit is not None:
            self.crash_on_commit -= 1
            if self.crash_on_commit <= 0:
                self.crash_on_commit = None
                raise RuntimeError("crash")
        key = (execution.tenant_id, execution.execution_id)
        stored = self.execs.get(key)
        if stored is None or stored.version_token != expected_token:
            return False
        self.execs[key] = execution.model_copy(deep=True)
        if record is not None:
            self.records.setdefault(key, {})[record.seq] = record.model_copy(deep=True)
        if self.crash_after_commit is not None:
            self.crash_after_commit -= 1
            if self.crash_after_commit <= 0:
                self.crash_after_commit = None
                raise RuntimeError("crash")
        return True

    def begin_step(self, execution: Execution, record: StepRecord) -> StepRecord | None:
        records = self.records.setdefault((execution.tenant_id, execution.execution_id), {})
        existing = records.get(record.seq)
        if existing is not None:
            return existing.model_copy(deep=True)
        records[record.seq] = record.model_copy(deep=True)
        return None

    def steps(self, tenant_id: str, execution_id: str) -> list[StepRecord]:
        records = self.records.get((tenant_id, execution_id), {})
        return [records[seq].model_copy(deep=True) for seq in sorted(records)]

    def executions(self, tenant_id: str, *, contact_id: str | None = None, workflow_id: str | None = None,
                   limit: int = 50) -> list[Execution]:
        found = [(key, x) for key, x in self.execs.items() if x.tenant_id == tenant_id
                 and (contact_id is None or x.contact_id == contact_id)
                 and (workflow_id is None or x.workflow_id == workflow_id)]
        found.sort(key=lambda item: (item[1].started_at, self.created_order[item[0]]), reverse=True)
        return [x.model_copy(deep=True) for _, x in found[:limit]]

    # -- reply waits -------------------------------------------------------------------------------------
    @staticmethod
    def _thread(execution: Execution) -> tuple[str, str, str]:
        wait = execution.wait or {}
        return (execution.tenant_id, str(wait.get("channel_id") or execution.channel_id),
                str(wait.get("contact_key") or execution.contact_key))

    def add_reply_wait(self, execution: Execution) -> None:
        wait = execution.wait or {}
        until = datetime.fromisoformat(str(wait["until"]).replace("Z", "+00:00"))
        self.waits.setdefault(self._thread(execution), {})[execution.execution_id] = (str(wait["token"]), until)

    def reply_waits(self, tenant_id: str, channel_id: str, contact_key: str) -> list[tuple[str, str]]:
        return [(x, token) for x, (token, _) in self.waits.get((tenant_id, channel_id, contact_key), {}).items()]

    def remove_reply_wait(self, execution: Execution, token: str) -> None:
        waiting = self.waits.get(self._thread(execution), {})
        if execution.execution_id in waiting and waiting[execution.execution_id][0] == token:
            del waiting[execution.execution_id]

    def round_robin(self, tenant_id: str, key: str, candidates: Sequence[str]) -> str:
        """The first candidate (in sorted order) after the one picked last time, wrapping around."""
        ordered = sorted(candidates)
        last = self.rotations.get((tenant_id, key), "")
        chosen = next((c for c in ordered if c > last), ordered[0])
        self.rotations[(tenant_id, key)] = chosen
        return chosen


# --- actions ----------------------------------------------------------------------------------------------

class FakeActions:
    """WorkflowActions that records every call in `calls` as (name, arguments)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.contacts: dict[tuple[str, str], dict[str, Any]] = {}
        self.conversations: dict[tuple[str, str], dict[str, Any]] = {}
        self.open_conversation: dict[tuple[str, str], str] = {}  # (tenant, contact) -> its open conversation
        self.sent: list[dict[str, Any]] = []
        self.duplicate_sends: list[dict[str, Any]] = []
        self.notes: dict[str, dict[str, Any]] = {}
        self.emails: list[dict[str, Any]] = []
        self.default_channel = CHANNEL
        self.assign_result: dict[str, Any] | None = None
        self.http_result: dict[str, Any] | Callable[[HttpRequestStep, Mapping[str, Any]], dict[str, Any]] = {
            "ok": True, "status": 200, "outputs": {}, "error": None}
        self.campaign_hours: dict[str, bool | None] = {}  # campaign -> open now (absent: unknown)
        self.next_open: dict[str, datetime | None] = {}
        self.segments: dict[str, list[str]] = {}
        self.bot_flows: dict[str, set[str]] = {}  # channel -> the flows of the bot answering it

    # -- test helpers ------------------------------------------------------------------------------------
    def add_contact(self, contact_id: str, *, tenant_id: str = TENANT, name: str = "Ana Pérez",
                    email: str | None = "ana@example.com", phone: str | None = "5491122334455",
                    tags: Sequence[str] = (), fields: Mapping[str, Any] | None = None,
                    conversation_id: str | None = None) -> dict[str, Any]:
        contact = {"contact_id": contact_id, "name": name, "first_name": name.split()[0], "email": email,
                   "phone": phone, "tags": list(tags), "fields": dict(fields or {}), "lifecycle": None}
        self.contacts[(tenant_id, contact_id)] = contact
        if conversation_id:
            self.open_conversation[(tenant_id, contact_id)] = conversation_id
        return contact

    def named(self, name: str) -> list[dict[str, Any]]:
        return [args for call, args in self.calls if call == name]

    @property
    def bodies(self) -> list[Any]:
        return [s["content"].get("body") for s in self.sent]

    # -- reads -------------------------------------------------------------------------------------------
    def contact(self, tenant_id: str, contact_id: str) -> dict[str, Any] | None:
        found = self.contacts.get((tenant_id, contact_id))
        return {**found, "tags": list(found["tags"]), "fields": dict(found["fields"])} if found else None

    def conversation(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        found = self.conversations.get((tenant_id, conversation_id))
        return dict(found) if found else None

    def find_contact(self, tenant_id: str, who: Mapping[str, str]) -> dict[str, Any] | None:
        """By phone or email, like the CRM lookup the webhook trigger uses."""
        for (t, _), contact in self.contacts.items():
            if t == tenant_id and any(who.get(k) and who.get(k) == contact.get(k) for k in ("phone", "email")):
                return dict(contact)
        return None

    def reach(self, tenant_id: str, *, contact_id: str | None, conversation_id: str | None,
              channel_id: str | None, contact_key: str | None) -> Reach | None:
        """Like the platform's: a known conversation decides the thread; then the trigger's thread; then the
        contact's phone on the channel (default: the tenant's WhatsApp number)."""
        conversation = self.conversations.get((tenant_id, conversation_id)) if conversation_id else None
        if conversation is not None:
            channel_id, contact_key = conversation["channel_id"], conversation["contact_key"]
        contact = self.contacts.get((tenant_id, contact_id)) if contact_id else None
        open_conversation = self.open_conversation.get((tenant_id, contact_id)) if contact_id else None
        if channel_id and contact_key:
            return Reach(channel_id=channel_id, contact_key=contact_key, address=contact_key,
                         conversation_id=conversation_id or open_conversation)
        if contact is not None and contact.get("phone"):
            return Reach(channel_id=channel_id or self.default_channel, contact_key=contact["phone"],
                         address=contact["phone"], conversation_id=conversation_id or open_conversation)
        return None

    # -- effects -----------------------------------------------------------------------------------------
    def send(self, tenant_id: str, reach: Reach, content: dict[str, Any], *, request_id: str, origin: str) -> None:
        entry = {"tenant_id": tenant_id, "reach": reach, "content": content, "request_id": request_id,
                 "origin": origin}
        self.calls.append(("send", entry))
        if any(s["request_id"] == request_id for s in self.sent):
            self.duplicate_sends.append(entry)  # the outbound sender drops a request id it has seen
        else:
            self.sent.append(entry)

    def assign(self, tenant_id: str, conversation_id: str, step: AssignStep, *, key: str) -> dict[str, Any]:
        self.calls.append(("assign", {"tenant_id": tenant_id, "conversation_id": conversation_id, "step": step,
                                      "key": key}))
        if self.assign_result is not None:
            return dict(self.assign_result)
        return {"status": "assigned", "agent_id": step.agent_id or "agent-1"}

    def update_contact(self, tenant_id: str, contact_id: str, *, fields: dict[str, Any], add_tags: list[str],
                       remove_tags: list[str], lifecycle: str | None, actor: str) -> None:
        self.calls.append(("update_contact", {"tenant_id": tenant_id, "contact_id": contact_id, "fields": fields,
                                              "add_tags": add_tags, "remove_tags": remove_tags,
                                              "lifecycle": lifecycle, "actor": actor}))
        contact = self.contacts[(tenant_id, contact_id)]
        contact["fields"].update(fields)
        contact["tags"] = [t for t in contact["tags"] if t not in remove_tags]
        contact["tags"] += [t for t in add_tags if t not in contact["tags"]]
        if lifecycle:
            contact["lifecycle"] = lifecycle

    def add_note(self, tenant_id: str, conversation_id: str, text: str, *, note_id: str, actor: str) -> None:
        entry = {"tenant_id": tenant_id, "conversation_id": conversation_id, "text": text, "note_id": note_id,
                 "actor": actor}
        self.calls.append(("add_note", entry))
        self.notes.setdefault(note_id, entry)  # idempotent by note id

    def close(self, tenant_id: str, conversation_id: str, *, category: str | None, note: str | None,
              actor: str) -> None:
        self.calls.append(("close", {"tenant_id": tenant_id, "conversation_id": conversation_id,
                                     "category": category, "note": note, "actor": actor}))

    def bot(self, tenant_id: str, conversation_id: str, *, action: str) -> None:
        self.calls.append(("bot", {"tenant_id": tenant_id, "conversation_id": conversation_id, "action": action}))

    def start_bot_flow(self, tenant_id: str, reach: Reach, *, conversation_id: str, contact_id: str | None,
                       flow: str, key: str, actor: str) -> dict[str, Any]:
        flows = self.bot_flows.get(reach.channel_id)
        if flows is None:
            raise NotFound(f"no bot answers channel {reach.channel_id}")
        if flow not in flows:
            raise NotFound(f"the bot has no flow '{flow}'")
        self.calls.append(("start_bot_flow", {"tenant_id": tenant_id, "channel_id": reach.channel_id,
                                              "conversation_id": conversation_id, "contact_id": contact_id,
                                              "flow": flow, "key": key, "actor": actor}))
        return {"bot": "start_flow", "flow": flow}

    def send_email(self, tenant_id: str, *, to: str, subject: str, body: str) -> str:
        message_id = f"email-{len(self.emails) + 1}"
        entry = {"tenant_id": tenant_id, "to": to, "subject": subject, "body": body, "message_id": message_id}
        self.calls.append(("send_email", entry))
        self.emails.append(entry)
        return message_id

    def http(self, tenant_id: str, step: HttpRequestStep, *, variables: Mapping[str, Any],
             contact: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
        self.calls.append(("http", {"tenant_id": tenant_id, "step": step, "variables": dict(variables),
                                    "contact": dict(contact or {}), "key": key}))
        result = self.http_result(step, variables) if callable(self.http_result) else self.http_result
        return dict(result)

    def campaign_open(self, tenant_id: str, campaign_id: str, at: datetime) -> bool | None:
        self.calls.append(("campaign_open", {"tenant_id": tenant_id, "campaign_id": campaign_id, "at": at}))
        return self.campaign_hours.get(campaign_id)

    def campaign_next_open(self, tenant_id: str, campaign_id: str, at: datetime) -> datetime | None:
        self.calls.append(("campaign_next_open", {"tenant_id": tenant_id, "campaign_id": campaign_id, "at": at}))
        return self.next_open.get(campaign_id)

    def segment_contacts(self, tenant_id: str, segment_id: str) -> list[str]:
        self.calls.append(("segment_contacts", {"tenant_id": tenant_id, "segment_id": segment_id}))
        return list(self.segments.get(segment_id, []))


# --- timers and the queue ---------------------------------------------------------------------------------

class FakeTimers:
    """One-time schedules as (name, at, message). Like EventBridge Scheduler behind SchedulerTimers, a name is
    taken once: scheduling it again (a step re-run after a crash) is a ConflictException the adapter ignores, so
    the FIRST schedule stays (`scheduled`); `calls` keeps every attempt."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, dict[str, Any]]] = []
        self.scheduled: list[tuple[str, datetime, dict[str, Any]]] = []
        self.fired: set[int] = set()

    def schedule(self, name: str, at: datetime, message: dict[str, Any]) -> None:
        self.calls.append((name, at, dict(message)))
        if all(existing != name for existing, _, _ in self.scheduled):
            self.scheduled.append((name, at, dict(message)))


class FakeQueue:
    """The workflows queue: `messages` is everything ever sent, `pending` what is not processed yet."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.pending: deque[dict[str, Any]] = deque()

    def send(self, messages: Sequence[dict[str, Any]]) -> None:
        """Any number of messages, like the SQS adapter (it sends them in batches of 10)."""
        for message in messages:
            self.messages.append(dict(message))
            self.pending.append(dict(message))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("kind") == kind]

    def drain(self, service: WorkflowService, *, limit: int = 1000) -> int:
        """Feed queued messages back to the service (start / resume / continue) until none is left."""
        processed = 0
        while self.pending:
            if processed >= limit:
                raise AssertionError(f"the queue did not drain within {limit} messages")
            message = self.pending.popleft()
            kind = message.get("kind")
            if kind == "start":
                service.start(message)
            elif kind == "resume":
                service.resume(message)
            elif kind == "continue":
                service.run(str(message["tenant_id"]), str(message["execution_id"]))
            else:
                raise AssertionError(f"unknown message kind {kind!r}")
            processed += 1
        return processed


def fire_due(timers: FakeTimers, clock: FakeClock, service: WorkflowService) -> int:
    """Resume every timer due at the clock's time, each once (timers scheduled meanwhile included)."""
    fired = 0
    while True:
        due = [i for i, (_, at, _) in enumerate(timers.scheduled) if i not in timers.fired and at <= clock.now()]
        if not due:
            return fired
        for i in due:
            timers.fired.add(i)
            service.resume(timers.scheduled[i][2])
            fired += 1


# --- wiring -----------------------------------------------------------------------------------------------

class Rig(NamedTuple):
    service: WorkflowService
    store: FakeWorkflowStore
    actions: FakeActions
    timers: FakeTimers
    queue: FakeQueue
    clock: FakeClock


def make_service(**overrides: Any) -> Rig:
    """A WorkflowService over fresh fakes; keyword overrides replace a fake (store=, actions=, timers=, queue=,
    clock=) or pass a constructor argument (templates=, new_id=, hook_key=). Workflow ids are deterministic:
    wf_test0001, wf_test0002, ..."""
    store = overrides.pop("store", None) or FakeWorkflowStore()
    actions = overrides.pop("actions", None) or FakeActions()
    timers = overrides.pop("timers", None) or FakeTimers()
    queue = overrides.pop("queue", None) or FakeQueue()
    clock = overrides.pop("clock", None) or FakeClock()
    counter = iter(range(1, 10_000))
    options: dict[str, Any] = {"hook_key": HOOK_KEY, "new_id": lambda: f"wf_test{next(counter):04d}", **overrides}
    service = WorkflowService(store=store, actions=actions, timers=timers, queue=queue, clock=clock, **options)
    return Rig(service, store, actions, timers, queue, clock)
