"""Workflows: definitions (versioned, validated), triggers from domain events, and the durable step engine.

Execution model (why it is safe under at-least-once delivery):
- An execution is one item with a cursor: the step it is at (`step_id`) and how many steps it ran (`seq`), its
  variables and each step's output, guarded by an optimistic token.
- Running step number `seq + 1` first writes its step record as "started" (conditional put); when the step is
  done, ONE transaction writes the record as "done" and moves the cursor (condition: the token it read). A
  redelivered message therefore finds the cursor already past a finished step and never runs it again.
- A crash after a step's effect and before its commit re-runs that step with the same idempotency key
  (`<execution>:<seq>`): sends are deduplicated by request id, notes by id, contact updates and bot switches are
  idempotent, assignment is a no-op when already routed. HTTP requests and emails cannot be deduplicated by
  us: a "started" record without "done" for one of those is NOT repeated; the step is recorded as interrupted
  and its `on_error` path is taken (or the execution fails) — at most once, visibly.
- Waits (a duration, a time, a question's timeout) are one-time schedules (EventBridge Scheduler) that put a
  resume message on the workflows queue; the execution item says what it waits for and a token, so a late or
  repeated timer, or a reply after the timeout, changes nothing.
- Bounds: `max_steps` per execution (loops), at most 25 steps per invocation (the rest continues through the
  queue), trigger-another-workflow and workflow-caused events at most `MAX_DEPTH` deep, one execution per
  workflow, contact and event (deterministic ids), and the definition's `reentry` rule per contact.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from shared.errors import Conflict, InvalidInput, NotFound, NotYetKnown
from shared.models.actors import closed_by_kind
from shared.models.workflows import (
    AT_MOST_ONCE,
    END,
    NEEDS_CONVERSATION,
    STEP_TYPES,
    TRIGGER_TYPES,
    USES_CONTEXT,
    AddNoteStep,
    AskQuestionStep,
    AssignStep,
    BotStep,
    BranchStep,
    CloseConversationStep,
    Execution,
    FieldCondition,
    HoursCondition,
    HttpRequestStep,
    RecordCsatStep,
    RunInput,
    SendEmailStep,
    SendMessageStep,
    SetVariableStep,
    StepRecord,
    TimeCondition,
    TriggerWorkflowStep,
    UpdateContactStep,
    WaitStep,
    Workflow,
    WorkflowInput,
    WorkflowSummary,
)
from shared.ports import Clock
from shared.services.schedule import minutes as wall_minutes
from shared.services.templating import TemplateError, lookup, render, render_value
from shared.services.text_norm import fold
from shared.services.workflow_time import local_minutes, next_local_time, parse_duration

if TYPE_CHECKING:
    from shared.services.sentiment import SentimentAnalyzer

logger = Logger(child=True)

MAX_DEPTH = 5
STEPS_PER_INVOCATION = 25
MAX_WORKFLOWS_PER_TENANT = 100
MAX_INVALID_ANSWERS = 2
RESUME_ATTEMPTS = 5  # reads and tries again when another runner committed the execution first
TRIGGER_AND_STEP_TAGS = frozenset(TRIGGER_TYPES) | frozenset(STEP_TYPES) | frozenset({
    "field", "business_hours", "time_of_day"})


# --- ports ----------------------------------------------------------------------------------------------------

class WorkflowStore(Protocol):
    def put_workflow(self, workflow: Workflow, *, previous: Workflow | None) -> bool: ...

    def get_workflow(self, tenant_id: str, workflow_id: str, version: int | None = None) -> Workflow | None: ...

    def list_workflows(self, tenant_id: str) -> list[Workflow]: ...

    def delete_workflow(self, workflow: Workflow) -> None: ...

    def enabled_for(self, tenant_id: str, trigger_type: str) -> list[Workflow]: ...

    def hook_tenant(self, workflow_id: str) -> str | None: ...

    def due_schedules(self, now: datetime, *, limit: int = 100) -> list[tuple[str, str, datetime]]: ...

    def advance_schedule(self, tenant_id: str, workflow_id: str, *, expected: datetime, next_run: datetime) -> bool:
        ...

    def create_execution(self, execution: Execution, *, reentry: str) -> str:
        """"created", "exists" (this id already), or "refused" (the reentry rule for this contact)."""
        ...

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None: ...

    def commit(self, execution: Execution, *, expected_token: int, record: StepRecord | None) -> bool: ...

    def begin_step(self, execution: Execution, record: StepRecord) -> StepRecord | None:
        """Write the record as started; the record already there (any state) when there is one."""
        ...

    def steps(self, tenant_id: str, execution_id: str) -> list[StepRecord]: ...

    def executions(self, tenant_id: str, *, contact_id: str | None = None, workflow_id: str | None = None,
                   limit: int = 50) -> list[Execution]: ...

    def add_reply_wait(self, execution: Execution) -> None:
        """Remember that `execution.wait` (a question: token, until, channel and contact key) waits for a reply."""
        ...

    def reply_waits(self, tenant_id: str, channel_id: str, contact_key: str) -> list[tuple[str, str]]:
        """(execution id, token) of executions waiting for this thread's next message."""
        ...

    def remove_reply_wait(self, execution: Execution, token: str) -> None: ...

    def round_robin(self, tenant_id: str, key: str, candidates: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class Reach:
    channel_id: str
    contact_key: str
    address: str
    conversation_id: str | None


class WorkflowActions(Protocol):
    """Effects on the rest of the platform (implemented over the existing services)."""

    def contact(self, tenant_id: str, contact_id: str) -> dict[str, Any] | None: ...

    def find_contact(self, tenant_id: str, who: Mapping[str, str]) -> dict[str, Any] | None:
        """The contact (as `contact`) with this phone or email, if any."""
        ...

    def conversation(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None: ...

    def reach(self, tenant_id: str, *, contact_id: str | None, conversation_id: str | None,
              channel_id: str | None, contact_key: str | None) -> Reach | None: ...

    def send(self, tenant_id: str, reach: Reach, content: dict[str, Any], *, request_id: str, origin: str) -> None:
        ...

    def assign(self, tenant_id: str, conversation_id: str, step: AssignStep, *, key: str) -> dict[str, Any]: ...

    def update_contact(self, tenant_id: str, contact_id: str, *, fields: dict[str, Any], add_tags: list[str],
                       remove_tags: list[str], lifecycle: str | None, actor: str) -> None: ...

    def add_note(self, tenant_id: str, conversation_id: str, text: str, *, note_id: str, actor: str) -> None: ...

    def record_csat(self, tenant_id: str, conversation_id: str, score: int, *, comment: str | None, csat_id: str,
                    actor: str) -> None: ...

    def close(self, tenant_id: str, conversation_id: str, *, category: str | None, note: str | None,
              actor: str) -> None: ...

    def bot(self, tenant_id: str, conversation_id: str, *, action: str) -> None: ...

    def start_bot_flow(self, tenant_id: str, reach: Reach, *, conversation_id: str, contact_id: str | None,
                       flow: str, key: str, actor: str) -> dict[str, Any]: ...

    def send_email(self, tenant_id: str, *, to: str, subject: str, body: str) -> str: ...

    def http(self, tenant_id: str, step: HttpRequestStep, *, variables: Mapping[str, Any],
             contact: Mapping[str, Any] | None, key: str) -> dict[str, Any]: ...

    def campaign_open(self, tenant_id: str, campaign_id: str, at: datetime) -> bool | None: ...

    def campaign_next_open(self, tenant_id: str, campaign_id: str, at: datetime) -> datetime | None: ...

    def segment_contacts(self, tenant_id: str, segment_id: str) -> list[str]: ...


class Timers(Protocol):
    def schedule(self, name: str, at: datetime, message: dict[str, Any]) -> None: ...


class WorkQueue(Protocol):
    def send(self, messages: Sequence[dict[str, Any]]) -> None:
        """Enqueue any number of messages (the adapter batches them)."""
        ...


# --- conditions -----------------------------------------------------------------------------------------------

def _norm(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str) and not case_sensitive:
        return fold(value)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def field_matches(c: FieldCondition, context: Mapping[str, Any]) -> bool:
    value = lookup(c.subject, context)
    present = value is not None and value != "" and value != [] and value != ()
    if c.op == "exists":
        return present
    if c.op == "not_exists":
        return not present
    if c.op in ("has_tag", "not_has_tag"):
        tags = {fold(str(t)) for t in (value or [])} if isinstance(value, list | tuple) else set()
        return (fold(str(c.value)) in tags) == (c.op == "has_tag")
    if not present:
        return c.op in ("ne", "not_contains", "not_in")
    if isinstance(value, list | tuple) and c.op in ("contains", "not_contains"):
        hit = _norm(c.value, c.case_sensitive) in [_norm(v, c.case_sensitive) for v in value]
        return hit == (c.op == "contains")
    if c.op in ("gt", "gte", "lt", "lte"):
        left, right = _number(value), _number(c.value)
        if left is None or right is None:
            return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[c.op]
    if c.op == "matches":
        flags = 0 if c.case_sensitive else re.IGNORECASE
        return re.search(str(c.value), str(value), flags) is not None
    left = _norm(value if not isinstance(value, int | float) or isinstance(value, bool) else str(value),
                 c.case_sensitive)
    if c.op in ("in", "not_in"):
        options = [_norm(str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v, c.case_sensitive)
                   for v in c.value]
        return (left in options) == (c.op == "in")
    right = _norm(str(c.value) if isinstance(c.value, int | float) and not isinstance(c.value, bool) else c.value,
                  c.case_sensitive)
    if c.op == "eq":
        return bool(left == right)
    if c.op == "ne":
        return bool(left != right)
    if c.op == "contains":
        return str(right) in str(left)
    if c.op == "not_contains":
        return str(right) not in str(left)
    if c.op == "starts_with":
        return str(left).startswith(str(right))
    return False


def _asks_sentiment(conditions: Sequence[Any]) -> bool:
    return any(isinstance(c, FieldCondition) and c.subject.startswith(("message.sentiment", "trigger.sentiment"))
               for c in conditions)


def conditions_hold(conditions: Sequence[Any], match: str, context: Mapping[str, Any], *, now: datetime,
                    campaign_open: Callable[[str], bool | None]) -> bool:
    if not conditions:
        return True
    results = []
    for c in conditions:
        if isinstance(c, FieldCondition):
            results.append(field_matches(c, context))
        elif isinstance(c, HoursCondition):
            is_open = campaign_open(c.campaign_id)
            results.append(is_open is not None and is_open == c.is_open)
        elif isinstance(c, TimeCondition):
            weekday, minutes = local_minutes(now, c.time_zone)
            start, end = wall_minutes(c.after), wall_minutes(c.before)
            results.append(weekday in c.days and start <= minutes < end)
        if match == "any" and results and results[-1]:
            return True
        if match == "all" and results and not results[-1]:
            return False
    return match == "all"


# --- definitions from JSON or YAML --------------------------------------------------------------------------

def parse_definition(definition: Mapping[str, Any] | None = None, source: str | None = None) -> WorkflowInput:
    """A definition from a JSON object or from YAML/JSON text; InvalidInput lists every problem with its place
    (`steps[2].next: unknown step 'x'`, `trigger.cron: cron field 2 (hour): 25 is outside 0-23`)."""
    import yaml
    from pydantic import ValidationError

    if (definition is None) == (source is None):
        raise InvalidInput("give `definition` (a JSON object) or `source` (YAML or JSON text)")
    data: Any = definition
    if source is not None:
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise InvalidInput(f"the source is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(data, dict):
            raise InvalidInput("the source must be a mapping (name, trigger, steps)")
    try:
        return WorkflowInput.model_validate(data)
    except ValidationError as exc:
        errors: list[dict[str, object]] = [
            {"field": _loc(e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()]
        raise InvalidInput(f"the workflow definition has {len(errors)} problem(s): "
                           + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors) from None


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in TRIGGER_AND_STEP_TAGS:
            continue  # the discriminated union's tag adds nothing a person needs
        else:
            out += ("." if out else "") + str(part)
    return out or "(definition)"


# --- the service ----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What running one step produced."""

    output: dict[str, Any] = field(default_factory=dict)
    next: str | None = None  # None: the step's default next
    vars: dict[str, Any] = field(default_factory=dict)
    wait: dict[str, Any] | None = None
    error: str | None = None
    fail: bool = False  # the execution fails (an error with nowhere to go)
    seen: str | None = None  # the customer message this outcome consumed (replies are used once)


def execution_id_for(workflow_id: str, key: str) -> str:
    return "wx_" + hashlib.sha256(f"{workflow_id}|{key}".encode()).hexdigest()[:28]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")



class WorkflowService:
    def __init__(self, *, store: WorkflowStore, actions: WorkflowActions, timers: Timers, queue: WorkQueue,
                 clock: Clock, hook_key: bytes | Callable[[], bytes], new_id: Callable[[], str] | None = None,
                 templates: Callable[[], Mapping[str, dict[str, Any]]] | None = None,
                 sentiment: Callable[[], SentimentAnalyzer] | None = None) -> None:
        self._store = store
        # message.sentiment in trigger conditions: the analyzer is built (and the message analyzed) only when a
        # condition asks for it, so functions that never evaluate triggers do not load it
        self._sentiment = lru_cache(maxsize=1)(sentiment) if sentiment else None
        self._actions = actions
        self._timers = timers
        self._queue = queue
        self._clock = clock
        self._new_id = new_id or (lambda: "wf_" + secrets.token_hex(12))
        self._templates = templates or (lambda: {})
        self._hook_key = hook_key

    # -- definitions --------------------------------------------------------------------------------------------
    def _check_references(self, tenant_id: str, data: WorkflowInput, workflow_id: str | None) -> None:
        errors = []
        for i, step in enumerate(data.steps):
            if isinstance(step, TriggerWorkflowStep):
                if step.workflow_id == workflow_id:
                    errors.append(f"steps[{i}].workflow_id: a workflow cannot trigger itself")
                elif self._store.get_workflow(tenant_id, step.workflow_id) is None:
                    errors.append(f"steps[{i}].workflow_id: no workflow '{step.workflow_id}'")
        if errors:
            raise InvalidInput("; ".join(errors))

    def create(self, tenant_id: str, data: WorkflowInput, *, template: str | None = None) -> Workflow:
        if len(self._store.list_workflows(tenant_id)) >= MAX_WORKFLOWS_PER_TENANT:
            raise Conflict(f"a tenant has at most {MAX_WORKFLOWS_PER_TENANT} workflows")
        workflow_id = self._new_id()
        self._check_references(tenant_id, data, workflow_id)
        now = self._clock.now()
        workflow = Workflow(**data.model_dump(), workflow_id=workflow_id, tenant_id=tenant_id, version=1,
                            created_at=now, updated_at=now, template=template)
        if not self._store.put_workflow(workflow, previous=None):
            raise Conflict("a workflow with this id exists")
        return workflow

    def replace(self, tenant_id: str, workflow_id: str, data: WorkflowInput) -> Workflow:
        """A new version; executions already running finish on theirs."""
        return self._replace(self.get(tenant_id, workflow_id), data)

    def _replace(self, current: Workflow, data: WorkflowInput) -> Workflow:
        tenant_id, workflow_id = current.tenant_id, current.workflow_id
        self._check_references(tenant_id, data, workflow_id)
        workflow = Workflow(**data.model_dump(), workflow_id=workflow_id, tenant_id=tenant_id,
                            version=current.version + 1, created_at=current.created_at, updated_at=self._clock.now(),
                            template=current.template)
        if not self._store.put_workflow(workflow, previous=current):
            raise Conflict("the workflow changed meanwhile; read it again and retry")
        return workflow

    def set_enabled(self, tenant_id: str, workflow_id: str, enabled: bool) -> Workflow:
        current = self.get(tenant_id, workflow_id)
        if current.enabled == enabled:
            return current
        data = WorkflowInput.model_validate({**current.model_dump(include=set(WorkflowInput.model_fields)),
                                             "enabled": enabled})
        return self._replace(current, data)

    def get(self, tenant_id: str, workflow_id: str, version: int | None = None) -> Workflow:
        workflow = self._store.get_workflow(tenant_id, workflow_id, version)
        if workflow is None:
            raise NotFound(f"workflow {workflow_id}" + (f" version {version}" if version else "") + " not found")
        return workflow

    def summaries(self, tenant_id: str) -> list[WorkflowSummary]:
        return [WorkflowSummary(workflow_id=w.workflow_id, name=w.name, trigger=w.trigger.type, enabled=w.enabled,
                                version=w.version, updated_at=w.updated_at, template=w.template)
                for w in sorted(self._store.list_workflows(tenant_id), key=lambda w: w.name)]

    def delete(self, tenant_id: str, workflow_id: str) -> None:
        self._store.delete_workflow(self.get(tenant_id, workflow_id))

    def templates(self) -> list[dict[str, Any]]:
        return [{"template": key, "name": t["name"], "description": t.get("description", ""),
                 "trigger": t["trigger"]["type"], "definition": t} for key, t in sorted(self._templates().items())]

    def from_template(self, tenant_id: str, template: str, overrides: Mapping[str, Any]) -> Workflow:
        source = self._templates().get(template)
        if source is None:
            raise NotFound(f"no built-in template '{template}'")
        try:
            data = WorkflowInput.model_validate(_merge(source, overrides))
        except ValidationError as exc:  # the overrides made the definition invalid: the caller's mistake
            raise InvalidInput("the template with these overrides is not a valid workflow",
                               errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]) from None
        return self.create(tenant_id, data, template=template)

    # -- executions (read) ----------------------------------------------------------------------------------------
    def execution(self, tenant_id: str, execution_id: str) -> tuple[Execution, list[StepRecord]]:
        execution = self._store.get_execution(tenant_id, execution_id)
        if execution is None:
            raise NotFound(f"execution {execution_id} not found")
        return execution, self._store.steps(tenant_id, execution_id)

    def executions(self, tenant_id: str, *, contact_id: str | None = None, workflow_id: str | None = None,
                   limit: int = 50) -> list[Execution]:
        if not contact_id and not workflow_id:
            raise InvalidInput("filter by contact_id or workflow_id")
        if workflow_id:
            self.get(tenant_id, workflow_id)  # 404 for another tenant's (or no) workflow
        return self._store.executions(tenant_id, contact_id=contact_id, workflow_id=workflow_id, limit=limit)

    # -- starting -----------------------------------------------------------------------------------------------
    def run_manual(self, tenant_id: str, workflow_id: str, data: RunInput, *, request_key: str) -> dict[str, Any]:
        workflow = self.get(tenant_id, workflow_id)
        if workflow.trigger.type != "manual":
            raise Conflict(f"this workflow starts on '{workflow.trigger.type}', not manually")
        if not workflow.enabled:
            raise Conflict("the workflow is disabled; enable it first")
        contacts = [data.contact_id] if data.contact_id else self._actions.segment_contacts(tenant_id,
                                                                                           str(data.segment_id))
        if data.contact_id and self._actions.contact(tenant_id, data.contact_id) is None:
            raise NotFound(f"contact {data.contact_id} not found")
        messages = [self._start_message(workflow, contact_id=c, conversation_id=data.conversation_id,
                                        key=f"manual:{request_key}:{c}", trigger_data=dict(data.data))
                    for c in contacts]
        self._queue.send(messages)
        return {"workflow_id": workflow_id, "version": workflow.version, "contacts": len(messages),
                "execution_ids": [m["execution_id"] for m in messages[:100]]}

    def run_webhook(self, workflow_id: str, token: str, body: Mapping[str, Any], *, delivery_key: str
                    ) -> dict[str, Any]:
        """The public incoming-webhook trigger: the tenant comes from the workflow, never from the body."""
        tenant_id = self._store.hook_tenant(workflow_id)
        workflow = self._store.get_workflow(tenant_id, workflow_id) if tenant_id else None
        if workflow is None or workflow.trigger.type != "incoming_webhook" or \
                not hmac.compare_digest(token.encode(), self.hook_token(workflow).encode()):
            raise NotFound("no such workflow hook")  # the same answer for a bad token: nothing to probe
        if not workflow.enabled:
            raise Conflict("the workflow is disabled")
        raw_who, raw_data = body.get("contact"), body.get("data")
        who: Mapping[str, Any] = raw_who if isinstance(raw_who, Mapping) else {}
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        contact = self._find_contact(workflow.tenant_id, who)
        contact_id = str(contact["contact_id"]) if contact else None
        context = {"trigger": dict(data), "contact": contact}
        if not conditions_hold(workflow.trigger.when, workflow.trigger.match, context, now=self._clock.now(),
                               campaign_open=lambda c: self._actions.campaign_open(workflow.tenant_id, c,
                                                                                   self._clock.now())):
            return {"accepted": False, "reason": "conditions not met"}
        message = self._start_message(workflow, contact_id=contact_id, key=f"hook:{delivery_key}",
                                      trigger_data=dict(data))
        self._queue.send([message])
        return {"accepted": True, "execution_id": message["execution_id"]}

    def _find_contact(self, tenant_id: str, who: Mapping[str, Any]) -> dict[str, Any] | None:
        contact_id = who.get("contact_id")
        contact = self._actions.contact(tenant_id, contact_id) if isinstance(contact_id, str) else None
        return contact or self._actions.find_contact(
            tenant_id, {k: str(v) for k, v in who.items() if isinstance(v, str | int)})

    def hook_token(self, workflow: Workflow) -> str:
        """The secret part of a workflow's incoming-webhook URL: HMAC of tenant and workflow with the platform's
        hook key (nothing to store; rotating the key changes every URL)."""
        message = f"{workflow.tenant_id}:{workflow.workflow_id}".encode()
        key = self._hook_key() if callable(self._hook_key) else self._hook_key
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]

    def hook_url_path(self, workflow: Workflow) -> str:
        return f"/hooks/workflows/{workflow.workflow_id}?token={self.hook_token(workflow)}"

    def _start_message(self, workflow: Workflow, *, key: str, contact_id: str | None = None,
                       conversation_id: str | None = None, channel_id: str | None = None,
                       contact_key: str | None = None, trigger_data: dict[str, Any] | None = None, depth: int = 0
                       ) -> dict[str, Any]:
        return {"kind": "start", "tenant_id": workflow.tenant_id, "workflow_id": workflow.workflow_id,
                "version": workflow.version, "execution_id": execution_id_for(workflow.workflow_id, key),
                "contact_id": contact_id, "conversation_id": conversation_id, "channel_id": channel_id,
                "contact_key": contact_key, "trigger": workflow.trigger.type, "trigger_data": trigger_data or {},
                "depth": depth, "check_conditions": workflow.trigger.type in ("schedule", "manual")}

    def on_event(self, detail_type: str, detail: Mapping[str, Any], *, event_id: str) -> dict[str, int]:
        """A domain event: resume executions waiting for this reply, start the workflows it triggers."""
        tenant_id = str(detail.get("tenant_id") or "")
        if not tenant_id:
            return {"started": 0}
        resumed = 0
        if detail_type == "MessageReceived":
            resumed = self._on_reply(tenant_id, detail)
        candidates = self._triggered(tenant_id, detail_type, detail)
        depth = self._depth_of(tenant_id, detail)
        if depth > MAX_DEPTH:
            logger.warning("workflow chain too deep: not starting", extra={"tenant_id": tenant_id, "depth": depth})
            return {"started": 0, "resumed": resumed, "too_deep": 1}
        started = 0
        for workflow, trigger_data in candidates:
            message = self._start_message(
                workflow, key=f"event:{event_id}", contact_id=detail.get("contact_id"),
                conversation_id=detail.get("conversation_id"), channel_id=detail.get("channel_id"),
                contact_key=detail.get("contact_key"), trigger_data=trigger_data, depth=depth)
            if self.start(message):
                started += 1
        return {"started": started, "resumed": resumed}

    def _depth_of(self, tenant_id: str, detail: Mapping[str, Any]) -> int:
        actor = str(detail.get("actor") or "")
        if actor.startswith("workflow:"):
            parent = self._store.get_execution(tenant_id, actor.split(":", 2)[1])
            return (parent.depth + 1) if parent else MAX_DEPTH + 1
        return 0

    def _triggered(self, tenant_id: str, detail_type: str, detail: Mapping[str, Any]
                   ) -> list[tuple[Workflow, dict[str, Any]]]:
        kinds: list[str] = []
        data: dict[str, Any] = {}
        channel_id = detail.get("channel_id")
        if detail_type == "ConversationOpened":
            kinds = ["conversation_opened"]
            data = {"message_id": detail.get("opened_by_message_id")}
        elif detail_type == "ConversationClosed":
            kinds = ["conversation_closed"]
            data = {"closed_by": detail.get("closed_by"), "category": detail.get("note_category"),
                    "campaign_id": detail.get("campaign_id"), "assignee": detail.get("assignee")}
        elif detail_type == "ConversationAssigned":
            kinds = ["conversation_assigned"]
            data = {"assignee": detail.get("assignee"), "agent_name": detail.get("assignee_name"),
                    "campaign_id": detail.get("campaign_id"), "reason": detail.get("reason")}
        elif detail_type == "MessageReceived":
            kinds = ["message_received"] + (["broadcast_reply"] if detail.get("broadcast_id") else [])
            data = {"text": detail.get("text"), "message_type": detail.get("message_type"),
                    "message_id": detail.get("message_id"),
                    "reply_id": detail.get("reply_id"), "broadcast_id": detail.get("broadcast_id")}
        elif detail_type == "ContactUpdated":
            if detail.get("tags_added"):
                kinds.append("tag_added")
            if detail.get("tags_removed"):
                kinds.append("tag_removed")
            if detail.get("fields_changed"):
                kinds.append("field_updated")
            data = {"tags_added": list(detail.get("tags_added") or []),
                    "tags_removed": list(detail.get("tags_removed") or []),
                    "fields_changed": list(detail.get("fields_changed") or [])}
        out: list[tuple[Workflow, dict[str, Any]]] = []
        context: dict[str, Any] | None = None
        now = self._clock.now()
        for kind in kinds:
            for workflow in self._store.enabled_for(tenant_id, kind):
                trigger: Any = workflow.trigger
                channels = getattr(trigger, "channel_ids", None)
                if channels and channel_id not in channels:
                    continue
                if kind == "conversation_closed" and getattr(trigger, "closed_by", "anyone") != "anyone" and \
                        closed_by_kind(str(detail.get("closed_by") or "")) != trigger.closed_by:
                    continue
                if kind == "conversation_assigned" and getattr(trigger, "campaign_ids", None) and \
                        detail.get("campaign_id") not in trigger.campaign_ids:
                    continue
                if kind in ("tag_added", "tag_removed"):
                    changed = data["tags_added" if kind == "tag_added" else "tags_removed"]
                    if fold(trigger.tag) not in {fold(t) for t in changed}:
                        continue
                if kind == "field_updated" and trigger.field not in data["fields_changed"]:
                    continue
                if kind == "broadcast_reply" and trigger.broadcast_id and \
                        trigger.broadcast_id != detail.get("broadcast_id"):
                    continue
                if trigger.when:
                    if context is None:
                        context = self._event_context(tenant_id, detail, data)
                    if "sentiment" not in context["message"] and _asks_sentiment(trigger.when):
                        # once per event: every workflow this event starts then sees it as trigger.sentiment
                        context["message"]["sentiment"] = data["sentiment"] = self._message_sentiment(detail)
                    if not conditions_hold(trigger.when, trigger.match, context, now=now,
                                           campaign_open=lambda c: self._actions.campaign_open(tenant_id, c, now)):
                        continue
                out.append((workflow, data))
        return out

    def _message_sentiment(self, detail: Mapping[str, Any]) -> dict[str, Any] | None:
        """The customer message's sentiment (label: positive | negative | neutral | mixed; score -1..1), or None
        without text or an analyzer."""
        text = str(detail.get("text") or "").strip()
        if not text or self._sentiment is None:
            return None
        from shared.services.sentiment import SentimentUnavailable

        try:
            found = self._sentiment().analyze(text)
        except SentimentUnavailable as exc:  # the condition does not hold; the rest of the event goes on
            logger.warning("sentiment unavailable", extra={"error": str(exc)})
            return None
        if found.failed:
            return None
        return {"label": found.label.value.lower(), "score": round(found.score, 3)}

    def _event_context(self, tenant_id: str, detail: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        contact_id = detail.get("contact_id")
        conversation_id = detail.get("conversation_id")
        return {
            "contact": self._actions.contact(tenant_id, str(contact_id)) if contact_id else None,
            "conversation": self._actions.conversation(tenant_id, str(conversation_id)) if conversation_id else None,
            "channel": {"id": detail.get("channel_id")},
            "message": {"text": detail.get("text"), "type": detail.get("message_type"),
                        "reply_id": detail.get("reply_id")},
            "trigger": data, "vars": {},
        }

    def start(self, message: Mapping[str, Any]) -> bool:
        """Create the execution (once per id; the workflow's reentry rule) and run it."""
        tenant_id = str(message["tenant_id"])
        workflow = self._store.get_workflow(tenant_id, str(message["workflow_id"]), message.get("version"))
        if workflow is None:
            logger.warning("start for an unknown workflow", extra={"tenant_id": tenant_id})
            return False
        now = self._clock.now()
        first = workflow.steps[0].id
        trigger_message = (message.get("trigger_data") or {}).get("message_id")
        execution = Execution(
            execution_id=str(message["execution_id"]), tenant_id=tenant_id, workflow_id=workflow.workflow_id,
            version=workflow.version, trigger=str(message.get("trigger") or workflow.trigger.type),
            contact_id=message.get("contact_id"), conversation_id=message.get("conversation_id"),
            channel_id=message.get("channel_id"), contact_key=message.get("contact_key"), step_id=first,
            trigger_data=dict(message.get("trigger_data") or {}), depth=int(message.get("depth") or 0),
            started_at=now, updated_at=now,
            # the message that triggered the execution was sent before any question it asks: never an answer
            seen_messages=[str(trigger_message)] if trigger_message else [])
        if message.get("check_conditions") and workflow.trigger.when:
            context = self._context(execution)
            if not conditions_hold(workflow.trigger.when, workflow.trigger.match, context, now=now,
                                   campaign_open=lambda c: self._actions.campaign_open(tenant_id, c, now)):
                return False  # a cron or manual run for a contact the trigger's conditions leave out
        created = self._store.create_execution(execution, reentry=workflow.reentry)
        if created == "refused":
            return False
        if created == "created":
            self._run(execution, workflow)
            return True
        self.run(tenant_id, execution.execution_id)  # a redelivered start: finish what the first one left
        return False

    # -- resuming ---------------------------------------------------------------------------------------------
    def _on_reply(self, tenant_id: str, detail: Mapping[str, Any]) -> int:
        channel_id, contact_key = detail.get("channel_id"), detail.get("contact_key")
        if not channel_id or not contact_key:
            return 0
        resumed = 0
        for execution_id, token in self._store.reply_waits(tenant_id, str(channel_id), str(contact_key)):
            answer = {"text": detail.get("text"), "reply_id": detail.get("reply_id"),
                      "message_id": detail.get("message_id"), "conversation_id": detail.get("conversation_id")}
            if self.resume({"tenant_id": tenant_id, "execution_id": execution_id, "token": token,
                            "reason": "reply", "answer": answer}):
                resumed += 1
        return resumed

    def awaiting_reply(self, tenant_id: str, channel_id: str, contact_key: str) -> bool:
        return bool(self._store.reply_waits(tenant_id, channel_id, contact_key))

    def resume(self, message: Mapping[str, Any]) -> bool:
        """A timer fired or a reply arrived: continue the execution if it still waits for exactly this. A commit
        lost to another runner (two replies at once, a reply and the timeout) is tried again on the state that
        won, so neither reply is dropped: the second one answers, or is refused, on what the first left."""
        for _ in range(RESUME_ATTEMPTS):
            done = self._resume_once(message)
            if done is not None:
                return done
        raise NotYetKnown("the execution kept changing while resuming it", delay_s=1)

    def _resume_once(self, message: Mapping[str, Any]) -> bool | None:
        """True: resumed; False: nothing to resume; None: the commit lost a race (read again and retry)."""
        tenant_id, execution_id = str(message["tenant_id"]), str(message["execution_id"])
        execution = self._store.get_execution(tenant_id, execution_id)
        if execution is None or execution.status != "waiting" or not execution.wait or \
                execution.wait.get("token") != message.get("token"):
            return False  # late, repeated, or already answered: nothing to do
        workflow = self.get(tenant_id, execution.workflow_id, execution.version)
        step = workflow.step(str(execution.step_id))
        reason = str(message.get("reason"))
        wait = execution.wait
        outcome: Outcome
        if isinstance(step, AskQuestionStep):
            answer = dict(message.get("answer") or {})
            message_id = str(answer.get("message_id") or "")
            if reason == "reply":
                if message_id and message_id in execution.seen_messages:
                    return False  # a redelivered message: it already answered (or was refused) once
                outcome = self._answer(execution, workflow, step, answer)
                if message_id:
                    outcome.seen = message_id
                if outcome.wait is not None:  # an invalid answer: asked again, still waiting
                    committed = self._commit(execution, workflow, step, outcome, kind="answer", keep_step=True)
                    return None if committed is None else True
            else:
                outcome = Outcome(output={"timed_out": True}, next=step.on_timeout or END)
            resumed = self._commit(execution, workflow, step, outcome,
                                   kind="answer" if reason == "reply" else "timeout")
            if resumed is None:
                return None
            self._store.remove_reply_wait(execution, str(wait.get("token")))
        else:
            if reason != "timer":
                return False
            resumed = self._commit(execution, workflow, step, Outcome(output={"waited_until": wait.get("until")}),
                                   kind="resume")
            if resumed is None:
                return None
        self._run(resumed, workflow)
        return True

    def _answer(self, execution: Execution, workflow: Workflow, step: AskQuestionStep, answer: dict[str, Any]
                ) -> Outcome:
        text = str(answer.get("text") or "").strip()
        value: str | None = text
        if step.options:
            value = _pick_option(step.options, text, answer.get("reply_id"))
        if value is None or not text and not answer.get("reply_id"):
            invalid = int((execution.wait or {}).get("invalid", 0)) + 1
            if invalid > MAX_INVALID_ANSWERS:
                return Outcome(output={"answer": text, "invalid": invalid}, next=step.on_timeout or END)
            reach = self._reach(execution, step.channel_id)
            if reach is not None:
                self._actions.send(execution.tenant_id, reach, _question(step, step.invalid_text, self._context(
                    execution)), request_id=f"wf:{execution.execution_id}:{execution.seq}:invalid{invalid}",
                    origin=f"workflow:{execution.workflow_id}")
            return Outcome(output={"answer": text, "invalid": invalid},
                           wait={**(execution.wait or {}), "invalid": invalid})
        return Outcome(output={"answer": value}, vars={step.save_as: value})

    # -- running --------------------------------------------------------------------------------------------------
    def run(self, tenant_id: str, execution_id: str) -> Execution | None:
        """Run an execution from what is stored (a `continue` message, a redelivered start)."""
        execution = self._store.get_execution(tenant_id, execution_id)
        if execution is None or execution.status != "running":
            return execution
        return self._run(execution, self.get(tenant_id, execution.workflow_id, execution.version))

    def _run(self, execution: Execution, workflow: Workflow) -> Execution | None:
        """Run steps from a known state: each commit returns the new state, so the execution is read again only
        when another runner moved it first (the version's steps never change)."""
        current: Execution | None = execution
        for _ in range(STEPS_PER_INVOCATION):
            if current is None:  # a commit lost to another runner: see where it is now
                current = self._store.get_execution(execution.tenant_id, execution.execution_id)
            if current is None or current.status != "running":
                return current
            if current.step_id in (None, END):
                current = self._end(current, "completed")
            elif current.seq >= workflow.max_steps:
                current = self._end(current, "failed", error=f"runaway: ran {workflow.max_steps} steps (max_steps)")
            else:
                current = self._step(current, workflow, workflow.step(str(current.step_id)))
        if current is None:
            current = self._store.get_execution(execution.tenant_id, execution.execution_id)
        if current is not None and current.status == "running":
            self._queue.send([{"kind": "continue", "tenant_id": current.tenant_id,
                               "execution_id": current.execution_id}])
        return current

    def _end(self, execution: Execution, status: str, *, error: str | None = None) -> Execution | None:
        now = self._clock.now()
        ended = execution.model_copy(update={"status": status, "error": error, "ended_at": now, "updated_at": now,
                                             "wait": None, "version_token": execution.version_token + 1})
        return ended if self._store.commit(ended, expected_token=execution.version_token, record=None) else None

    def _step(self, execution: Execution, workflow: Workflow, step: Any) -> Execution | None:
        seq = execution.seq + 1
        now = self._clock.now()
        started = StepRecord(seq=seq, step_id=step.id, type=step.type, state="started", started_at=now)
        existing = self._store.begin_step(execution, started)
        if existing is not None and existing.state != "started":
            return None  # another runner finished it: read its commit
        if existing is not None and step.type in AT_MOST_ONCE:
            outcome = Outcome(error="interrupted: the step may have run before a crash; not repeated",
                              next=getattr(step, "on_error", None), fail=getattr(step, "on_error", None) is None)
        else:
            try:
                outcome = self._execute(execution, workflow, step)
            except (TemplateError, InvalidInput, NotFound, Conflict) as exc:
                outcome = Outcome(error=f"{type(exc).__name__}: {exc}", fail=True)
        return self._commit(execution, workflow, step, outcome, kind=step.type)

    def _commit(self, execution: Execution, workflow: Workflow, step: Any, outcome: Outcome, *, kind: str,
                keep_step: bool = False) -> Execution | None:
        """Write the step's record and move the cursor in one conditional write: the new state, or None when
        another runner committed first."""
        now = self._clock.now()
        seq = execution.seq + 1
        if outcome.fail:
            status, next_id = "failed", END
        elif outcome.wait is not None:
            status, next_id = "waiting", step.id
        else:
            status, next_id = "running", outcome.next or step.next or workflow.after(step.id)
        outputs = dict(execution.outputs)
        if outcome.output:
            outputs[step.id] = {**outputs.get(step.id, {}), **outcome.output}
        record = StepRecord(seq=seq, step_id=step.id, type=kind, state="failed" if outcome.fail else "done",
                            input=_shorten(self._input_of(step)) if kind == step.type else {},
                            output=_shorten(outcome.output), error=outcome.error,
                            next=None if status == "waiting" else next_id, started_at=now, ended_at=now)
        seen = list(execution.seen_messages)
        if outcome.seen:
            seen = (seen + [outcome.seen])[-20:]
        updated = execution.model_copy(update={
            "seen_messages": seen, "seq": seq, "step_id": next_id if not keep_step else step.id,
            "vars": {**execution.vars, **outcome.vars},
            "outputs": outputs, "wait": outcome.wait, "status": status, "updated_at": now,
            "error": outcome.error if outcome.fail else None, "ended_at": now if status == "failed" else None,
            "version_token": execution.version_token + 1})
        if outcome.wait is not None and outcome.wait.get("kind") == "reply" and not keep_step:
            # before the commit: a crash in between leaves a wait whose token the execution never had (ignored),
            # never a waiting execution that no reply can reach
            self._store.add_reply_wait(updated)
        if not self._store.commit(updated, expected_token=execution.version_token, record=record):
            logger.info("workflow step committed by another runner", extra={
                "tenant_id": execution.tenant_id, "execution_id": execution.execution_id, "seq": seq})
            return None
        return updated

    @staticmethod
    def _input_of(step: Any) -> dict[str, Any]:
        return dict(step.model_dump(exclude={"id", "type", "next"}, exclude_none=True, exclude_defaults=True))

    def _context(self, execution: Execution) -> dict[str, Any]:
        contact = self._actions.contact(execution.tenant_id, execution.contact_id) if execution.contact_id else None
        conversation = self._actions.conversation(execution.tenant_id, execution.conversation_id) \
            if execution.conversation_id else None
        return {"vars": dict(execution.vars), "contact": contact or {}, "conversation": conversation or {},
                "trigger": dict(execution.trigger_data), "steps": dict(execution.outputs),
                "channel": {"id": execution.channel_id},
                "message": {"text": execution.trigger_data.get("text"),
                            "type": execution.trigger_data.get("message_type")},
                "execution": {"id": execution.execution_id, "workflow_id": execution.workflow_id}}

    def _reach(self, execution: Execution, channel_id: str | None) -> Reach | None:
        return self._actions.reach(execution.tenant_id, contact_id=execution.contact_id,
                                   conversation_id=execution.conversation_id if not channel_id or
                                   channel_id == execution.channel_id else None,
                                   channel_id=channel_id or execution.channel_id,
                                   contact_key=execution.contact_key if not channel_id or
                                   channel_id == execution.channel_id else None)

    def _conversation_id(self, execution: Execution) -> str | None:
        if execution.conversation_id:
            return execution.conversation_id
        reach = self._reach(execution, None)
        return reach.conversation_id if reach else None

    def _execute(self, x: Execution, workflow: Workflow, step: Any) -> Outcome:
        key = f"wf:{x.execution_id}:{x.seq + 1}"
        origin = f"workflow:{x.workflow_id}"
        actor = f"workflow:{x.execution_id}"
        # reads only what the step uses: the contact and conversation for templates and conditions, the
        # conversation id (possibly the contact's latest thread) for the steps that act on one
        context = self._context(x) if step.type in USES_CONTEXT else {}
        tenant_id = x.tenant_id
        conversation_id: str | None = None
        if step.type in NEEDS_CONVERSATION:
            conversation_id = self._conversation_id(x)
            if conversation_id is None:
                return Outcome(error="no conversation: the trigger has none and the contact has no open one",
                               fail=True)
        if isinstance(step, SendMessageStep | AskQuestionStep):
            reach = self._reach(x, step.channel_id)
            if reach is None:
                return Outcome(error="the contact cannot be reached on this channel", fail=True)
            if isinstance(step, SendMessageStep):
                content = _content(step, context)
                self._actions.send(tenant_id, reach, content, request_id=key, origin=origin)
                return Outcome(output={"sent": content.get("body") or content.get("name"), "to": reach.address,
                                       "request_id": key})
            self._actions.send(tenant_id, reach, _question(step, step.text, context), request_id=key, origin=origin)
            until = self._clock.now() + parse_duration(step.timeout)
            token = _token(key)
            self._timers.schedule(f"{x.execution_id}-{x.seq + 1}", until, {
                "kind": "resume", "tenant_id": tenant_id, "execution_id": x.execution_id, "token": token,
                "reason": "timeout"})
            return Outcome(output={"asked": render(step.text, context)},
                           wait={"kind": "reply", "token": token, "until": _iso(until), "channel_id": reach.channel_id,
                                 "contact_key": reach.contact_key})
        if isinstance(step, WaitStep):
            now = self._clock.now()
            if step.duration:
                until = now + parse_duration(step.duration)
            elif step.until_time:
                weekdays = frozenset(step.days) if step.days else None
                until = next_local_time(now, step.until_time, step.time_zone, weekdays=weekdays)
            else:
                opens = self._actions.campaign_next_open(tenant_id, str(step.until_open), now)
                if opens is None:
                    return Outcome(error=f"campaign {step.until_open} never opens (or does not exist)", fail=True)
                if opens <= now:
                    return Outcome(output={"waited": False})
                until = opens
            token = _token(key)
            self._timers.schedule(f"{x.execution_id}-{x.seq + 1}", until, {
                "kind": "resume", "tenant_id": tenant_id, "execution_id": x.execution_id, "token": token,
                "reason": "timer"})
            return Outcome(output={"until": _iso(until)}, wait={"kind": "timer", "token": token, "until": _iso(until)})
        if isinstance(step, BranchStep):
            now = self._clock.now()
            for branch in step.branches:
                if conditions_hold(branch.when, branch.match, context, now=now,
                                   campaign_open=lambda c: self._actions.campaign_open(tenant_id, c, now)):
                    return Outcome(output={"branch": branch.name}, next=branch.next)
            return Outcome(output={"branch": "otherwise"}, next=step.otherwise)
        if isinstance(step, AssignStep):
            result = self._actions.assign(tenant_id, str(conversation_id), step, key=key)
            return Outcome(output=result)
        if isinstance(step, UpdateContactStep):
            if not x.contact_id:
                return Outcome(error="the execution has no contact", fail=True)
            fields = {k: render_value(v, context) for k, v in step.fields.items()}
            self._actions.update_contact(tenant_id, x.contact_id, fields=fields, add_tags=step.add_tags,
                                         remove_tags=step.remove_tags, lifecycle=step.lifecycle, actor=actor)
            return Outcome(output={"fields": fields, "add_tags": step.add_tags, "remove_tags": step.remove_tags,
                                   **({"lifecycle": step.lifecycle} if step.lifecycle else {})})
        if isinstance(step, AddNoteStep):
            text = render(step.text, context)
            note_id = "note_" + hashlib.sha256(key.encode()).hexdigest()[:20]
            self._actions.add_note(tenant_id, str(conversation_id), text, note_id=note_id, actor=actor)
            return Outcome(output={"note_id": note_id, "text": text})
        if isinstance(step, RecordCsatStep):
            raw = render(step.score, context).strip()
            if not raw.isdigit() or not 1 <= int(raw) <= 5:
                return Outcome(error=f"the CSAT score must be a whole number from 1 to 5, not {raw!r}", fail=True)
            comment = render(step.comment, context) if step.comment else None
            csat_id = "csat_" + hashlib.sha256(key.encode()).hexdigest()[:20]
            self._actions.record_csat(tenant_id, str(conversation_id), int(raw), comment=comment, csat_id=csat_id,
                                      actor=actor)
            return Outcome(output={"score": int(raw), "csat_id": csat_id})
        if isinstance(step, CloseConversationStep):
            self._actions.close(tenant_id, str(conversation_id), category=step.category, note=step.note, actor=actor)
            return Outcome(output={"closed": conversation_id})
        if isinstance(step, BotStep):
            if step.action == "start_flow":
                reach = self._reach(x, None)
                if reach is None:
                    return Outcome(error="the contact cannot be reached on this channel", fail=True)
                return Outcome(output=self._actions.start_bot_flow(
                    tenant_id, reach, conversation_id=str(conversation_id), contact_id=x.contact_id,
                    flow=str(step.flow), key=key, actor=actor))
            self._actions.bot(tenant_id, str(conversation_id), action=step.action)
            return Outcome(output={"bot": step.action})
        if isinstance(step, TriggerWorkflowStep):
            if x.depth + 1 > MAX_DEPTH:
                return Outcome(error=f"trigger_workflow: more than {MAX_DEPTH} workflows deep", fail=True)
            target = self._store.get_workflow(tenant_id, step.workflow_id)
            if target is None or not target.enabled:
                return Outcome(error=f"workflow {step.workflow_id} does not exist or is disabled", fail=True)
            message = self._start_message(target, key=key, contact_id=x.contact_id,
                                          conversation_id=x.conversation_id, channel_id=x.channel_id,
                                          contact_key=x.contact_key, trigger_data=dict(x.trigger_data),
                                          depth=x.depth + 1)
            self._queue.send([message])
            return Outcome(output={"execution_id": message["execution_id"]})
        if isinstance(step, SendEmailStep):
            to = render(step.to, context).strip()
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", to):
                return Outcome(error=f"no email address to send to ('{to}')", fail=True)
            message_id = self._actions.send_email(tenant_id, to=to, subject=render(step.subject, context),
                                                  body=render(step.body, context))
            return Outcome(output={"to": to, "message_id": message_id})
        if isinstance(step, HttpRequestStep):
            result = self._actions.http(tenant_id, step, variables=dict(x.vars), contact=context["contact"],
                                        key=key)
            if result.get("error"):
                return Outcome(output=result, error=str(result["error"]), next=step.on_error,
                               fail=step.on_error is None)
            return Outcome(output=result, vars=dict(result.get("outputs") or {}))
        if isinstance(step, SetVariableStep):
            value = render_value(step.value, context)
            return Outcome(output={step.name: value}, vars={step.name: value})
        return Outcome(error=f"unknown step type {step.type}", fail=True)

    # -- schedules ----------------------------------------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        """The per-minute schedule: start every due cron workflow once for its minute."""
        from shared.services.workflow_time import Cron

        now = self._clock.now()
        started = 0
        for tenant_id, workflow_id, due in self._store.due_schedules(now):
            workflow = self._store.get_workflow(tenant_id, workflow_id)
            if workflow is None or workflow.trigger.type != "schedule" or not workflow.enabled:
                continue
            trigger: Any = workflow.trigger
            cron = Cron.parse(trigger.cron, trigger.time_zone)
            if not self._store.advance_schedule(tenant_id, workflow_id, expected=due,
                                                next_run=cron.next_after(max(now, due))):
                continue  # another tick took this minute
            segment = trigger.segment_id
            contacts: list[str | None] = list(self._actions.segment_contacts(tenant_id, segment)) if segment \
                else [None]
            key = f"cron:{_iso(due)}"
            messages = [self._start_message(workflow, key=f"{key}:{c or '-'}", contact_id=c,
                                            trigger_data={"scheduled_for": _iso(due)}) for c in contacts]
            self._queue.send(messages)
            started += len(messages)
        return {"started": started}


def _token(key: str) -> str:
    """A wait's token from its step's key: a step re-run after a crash names the same schedule with the same
    token, so the schedule that already exists (the first one wins) still resumes it."""
    return hashlib.sha256(f"wait:{key}".encode()).hexdigest()[:16]


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) \
            else value
    return out


def _shorten(value: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    import json

    text = json.dumps(value, default=str, ensure_ascii=False)
    return value if len(text) <= limit else {"truncated": text[:limit]}


def _pick_option(options: Sequence[str], text: str, reply_id: Any) -> str | None:
    if isinstance(reply_id, str) and reply_id.startswith("opt:"):
        index = reply_id[4:]
        if index.isdigit() and int(index) < len(options):
            return options[int(index)]
    folded = fold(text)
    for option in options:
        if fold(option) == folded:
            return option
    if folded.isdigit() and 1 <= int(folded) <= len(options) and not any(fold(o).isdigit() for o in options):
        return options[int(folded) - 1]
    return None


def _content(step: SendMessageStep, context: Mapping[str, Any]) -> dict[str, Any]:
    if step.template is not None:
        template = render_value(step.template, context)
        return {"type": "template", "name": template["name"], "language": template["language"],
                "components": template.get("components") or []}
    body = render(str(step.text), context)
    if step.buttons:
        return {"type": "buttons", "body": body[:1024],
                "buttons": [{"id": f"btn:{i}", "title": b} for i, b in enumerate(step.buttons)]}
    return {"type": "text", "body": body}


def _question(step: AskQuestionStep, text: str, context: Mapping[str, Any]) -> dict[str, Any]:
    body = render(text, context)
    if 1 <= len(step.options) <= 3 and all(len(o) <= 20 for o in step.options):
        return {"type": "buttons", "body": body[:1024],
                "buttons": [{"id": f"opt:{i}", "title": o} for i, o in enumerate(step.options)]}
    if step.options:
        lines = "\n".join(f"{i + 1}. {o}" for i, o in enumerate(step.options))
        return {"type": "text", "body": f"{body}\n\n{lines}"}
    return {"type": "text", "body": body}

