"""Workflow definitions (versioned data) and executions.

A workflow is one trigger, optional trigger conditions and up to 100 steps. Steps run in list order unless a
step names its `next` step (or "end"); branches, questions and HTTP requests name where each outcome goes.
Text fields are templates (`{{contact.first_name}}`, `{{vars.respuesta}}`, `{{steps.pedido.status}}`, see
shared.services.templating). Definitions are validated with precise errors (`steps[3].next: unknown step
'x'`) before they are stored; every change is a new immutable version, and an execution always finishes on
the version it started with.

Example (YAML or JSON):

    name: Encuesta de satisfacción
    trigger: {type: conversation_closed}
    steps:
      - id: pregunta
        type: ask_question
        text: "¿Cómo calificarías la atención del 1 al 5?"
        options: ["1", "2", "3", "4", "5"]
        save_as: csat
        timeout: 1d
        on_timeout: end
      - {id: guardar, type: update_contact, fields: {csat: "{{vars.csat}}"}}
      - {id: gracias, type: send_message, text: "¡Gracias por tu respuesta!"}
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

STEP_ID = r"^[a-z][a-z0-9_]{0,39}$"
WORKFLOW_ID = r"^wf_[a-z0-9]{8,40}$"
MAX_STEPS = 100
END = "end"
_TEXT = 4096


def _check_template(value: str | None) -> str | None:
    if value is None:
        return None
    from shared.services.templating import TemplateSyntaxError, validate

    try:
        validate(value)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax: {exc}") from None
    return value


def _check_duration(value: str | None) -> str | None:
    if value is None:
        return None
    from shared.services.workflow_time import parse_duration

    parse_duration(value)
    return value


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    from shared.services.schedule import check_zone

    return check_zone(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- conditions ---------------------------------------------------------------------------------------------

Operator = Literal["eq", "ne", "contains", "not_contains", "starts_with", "in", "not_in", "exists", "not_exists",
                   "gt", "gte", "lt", "lte", "matches", "has_tag", "not_has_tag"]


class FieldCondition(_Strict):
    """`subject` is a path into the execution's context: message.text, message.type, channel.id, channel.kind,
    contact.name, contact.tags, contact.lifecycle, contact.fields.<name>, conversation.status,
    conversation.campaign_id, vars.<name>, trigger.<name> (webhook data), steps.<id>.<output>."""

    type: Literal["field"] = "field"
    subject: str = Field(min_length=1, max_length=200, pattern=r"^[a-z_]+(\.[\w-]+)*$")
    op: Operator = "eq"
    value: Any = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _value(self) -> FieldCondition:
        if self.op in ("exists", "not_exists"):
            return self
        if self.value is None:
            raise ValueError(f"op '{self.op}' needs a value")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs a list value")
        if self.op == "matches":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ValueError(f"value is not a regular expression: {exc}") from None
            if len(str(self.value)) > 300:
                raise ValueError("a regular expression has at most 300 characters")
        return self


class HoursCondition(_Strict):
    """True when the campaign's business hours are open (`is_open: true`) or closed (false) now."""

    type: Literal["business_hours"] = "business_hours"
    campaign_id: str = Field(min_length=1, max_length=64)
    is_open: bool = True


class TimeCondition(_Strict):
    """True when the local time is within [after, before) on one of `days` (0 = Monday)."""

    type: Literal["time_of_day"] = "time_of_day"
    after: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    before: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
    time_zone: str = "America/Argentina/Buenos_Aires"
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], min_length=1, max_length=7)

    _zone = field_validator("time_zone")(_check_zone)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return value


def _condition_kind(value: Any) -> str:
    """A condition without `type` is a field condition (the common case reads `{subject, op, value}`)."""
    kind = value.get("type", "field") if isinstance(value, dict) else getattr(value, "type", "field")
    return str(kind)


Condition = Annotated[
    Annotated[FieldCondition, Tag("field")] | Annotated[HoursCondition, Tag("business_hours")]
    | Annotated[TimeCondition, Tag("time_of_day")],
    Discriminator(_condition_kind)]


class _Conditions(_Strict):
    when: list[Condition] = Field(default_factory=list, max_length=20)
    match: Literal["all", "any"] = "all"


# --- triggers -----------------------------------------------------------------------------------------------

class ConversationOpenedTrigger(_Conditions):
    type: Literal["conversation_opened"]
    channel_ids: list[str] = Field(default_factory=list, description="Only these channels (empty: all)")


class ConversationClosedTrigger(_Conditions):
    type: Literal["conversation_closed"]
    channel_ids: list[str] = Field(default_factory=list)
    closed_by: Literal["anyone", "agent", "bot", "system"] = "anyone"


class ConversationAssignedTrigger(_Conditions):
    type: Literal["conversation_assigned"]
    channel_ids: list[str] = Field(default_factory=list)
    campaign_ids: list[str] = Field(default_factory=list)


class MessageReceivedTrigger(_Conditions):
    type: Literal["message_received"]
    channel_ids: list[str] = Field(default_factory=list)


class TagTrigger(_Conditions):
    type: Literal["tag_added", "tag_removed"]
    tag: str = Field(min_length=1, max_length=60)


class FieldUpdatedTrigger(_Conditions):
    type: Literal["field_updated"]
    field: str = Field(min_length=1, max_length=64, description="A custom field's name, or `lifecycle`")


class BroadcastReplyTrigger(_Conditions):
    type: Literal["broadcast_reply"]
    broadcast_id: str | None = Field(default=None, description="Only replies to this broadcast (empty: any)")


class WebhookTrigger(_Conditions):
    """POST /hooks/workflows/{workflow_id}?token=… with a JSON body; `contact` identifies who it is about."""

    type: Literal["incoming_webhook"]


class ScheduleTrigger(_Conditions):
    """Cron (5 fields) in a time zone; runs once per matching contact of `segment_id`, or once without one."""

    type: Literal["schedule"]
    cron: str = Field(min_length=9, max_length=120)
    time_zone: str = "America/Argentina/Buenos_Aires"
    segment_id: str | None = None

    _zone = field_validator("time_zone")(_check_zone)

    @model_validator(mode="after")
    def _cron(self) -> ScheduleTrigger:
        from shared.services.workflow_time import Cron, CronError

        try:
            Cron.parse(self.cron, self.time_zone)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return self


class ManualTrigger(_Conditions):
    """POST /v1/workflows/{id}/runs for one contact or a segment."""

    type: Literal["manual"]


Trigger = Annotated[
    ConversationOpenedTrigger | ConversationClosedTrigger | ConversationAssignedTrigger | MessageReceivedTrigger
    | TagTrigger | FieldUpdatedTrigger | BroadcastReplyTrigger | WebhookTrigger | ScheduleTrigger | ManualTrigger,
    Field(discriminator="type")]

def _tags(union: Any) -> tuple[str, ...]:
    """The `type` values of a discriminated union of models."""
    members = get_args(get_args(union)[0])
    return tuple(t for m in members for t in get_args(m.model_fields["type"].annotation))


TRIGGER_TYPES = _tags(Trigger)

# --- steps --------------------------------------------------------------------------------------------------


class _Step(_Strict):
    id: str = Field(pattern=STEP_ID)
    next: str | None = Field(default=None, description="The step after this one (default: the next in the list)")


class SendMessageStep(_Step):
    """Text (with up to 3 reply buttons), or a WhatsApp template when the 24-hour window may be closed."""

    type: Literal["send_message"]
    text: str | None = Field(default=None, max_length=_TEXT)
    buttons: list[str] = Field(default_factory=list, max_length=3)
    template: dict[str, Any] | None = Field(default=None, description="{name, language, components}")
    channel_id: str | None = Field(default=None, description="Default: the conversation's channel")

    _text = field_validator("text")(_check_template)

    @model_validator(mode="after")
    def _one(self) -> SendMessageStep:
        if (self.text is None) == (self.template is None):
            raise ValueError("give exactly one of `text` or `template`")
        if self.template is not None and not {"name", "language"} <= set(self.template):
            raise ValueError("a template needs `name` and `language`")
        if any(not 1 <= len(b) <= 20 for b in self.buttons):
            raise ValueError("button titles have 1 to 20 characters")
        return self


class AskQuestionStep(_Step):
    """Send a question and wait for the customer's next message (or the timeout)."""

    type: Literal["ask_question"]
    text: str = Field(min_length=1, max_length=1024)
    options: list[str] = Field(default_factory=list, max_length=10,
                               description="Accepted answers (buttons up to 3, a numbered list beyond)")
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The variable that keeps the answer")
    timeout: str = "1d"
    on_timeout: str | None = Field(default=END, description="Where to go when nobody answers")
    invalid_text: str = Field(default="Por favor elegí una de las opciones.", max_length=1024)
    channel_id: str | None = None

    _text = field_validator("text")(_check_template)
    _timeout = field_validator("timeout")(_check_duration)


class AssignStep(_Step):
    """To a campaign's queue (its own strategy), to an online member picked round robin or least busy (queued
    when nobody is free), or to one agent."""

    type: Literal["assign"]
    campaign_id: str | None = None
    agent_id: str | None = None
    strategy: Literal["campaign", "round_robin", "least_busy"] = "campaign"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"

    @model_validator(mode="after")
    def _target(self) -> AssignStep:
        if not self.campaign_id and not self.agent_id:
            raise ValueError("give `campaign_id` or `agent_id`")
        if self.strategy != "campaign" and not self.campaign_id:
            raise ValueError(f"strategy '{self.strategy}' picks among a campaign's members: give `campaign_id`")
        return self


class Branch(_Conditions):
    name: str = Field(min_length=1, max_length=60)
    next: str


class BranchStep(_Step):
    type: Literal["branch"]
    branches: list[Branch] = Field(min_length=1, max_length=10)
    otherwise: str | None = Field(default=None, description="When no branch matches (default: the next step)")


class WaitStep(_Step):
    """A duration ("2h", "3d", "PT30M"), or until a local time ("09:00" on `days`), or until a campaign opens."""

    type: Literal["wait"]
    duration: str | None = None
    until_time: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    days: list[int] | None = None
    time_zone: str = "America/Argentina/Buenos_Aires"
    until_open: str | None = Field(default=None, description="A campaign id: wait until its business hours open")

    _duration = field_validator("duration")(_check_duration)
    _zone = field_validator("time_zone")(_check_zone)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(d < 0 or d > 6 for d in value)):
            raise ValueError("days lists 0 (Monday) to 6 (Sunday), at least one")
        return value

    @model_validator(mode="after")
    def _one(self) -> WaitStep:
        if sum(x is not None for x in (self.duration, self.until_time, self.until_open)) != 1:
            raise ValueError("give exactly one of `duration`, `until_time` or `until_open`")
        return self


class HttpRequestStep(_Step):
    """A call to the business's own API. The URL's host is literal or comes from a tenant secret, credentials
    only from secrets, private addresses are refused (the bot's integration rules). `save` maps a variable to
    a path in the JSON answer; failures go to `on_error` (default: the execution fails)."""

    type: Literal["http_request"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=8, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    secrets: dict[str, str] = Field(default_factory=dict)
    save: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10, gt=0, le=15)
    on_error: str | None = None

    def integration(self) -> Any:
        from shared.services.integrations import IntegrationSpec

        return IntegrationSpec.model_validate({
            "name": self.id, "description": f"workflow step {self.id}", "method": self.method, "url": self.url,
            "headers": self.headers, "query": self.query, "body": self.body, "secrets": self.secrets,
            "outputs": {k: v if v.endswith("?") else v + "?" for k, v in self.save.items()},
            "timeout_s": self.timeout_s})

    @model_validator(mode="after")
    def _spec(self) -> HttpRequestStep:
        self.integration()  # the integration rules raise ValueError with the reason
        return self


class UpdateContactStep(_Step):
    type: Literal["update_contact"]
    fields: dict[str, Any] = Field(default_factory=dict, description="Custom fields; values may be templates")
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    remove_tags: list[str] = Field(default_factory=list, max_length=20)
    lifecycle: str | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdateContactStep:
        if not (self.fields or self.add_tags or self.remove_tags or self.lifecycle):
            raise ValueError("nothing to update: give fields, add_tags, remove_tags or lifecycle")
        return self


class AddNoteStep(_Step):
    type: Literal["add_note"]
    text: str = Field(min_length=1, max_length=_TEXT)

    _text = field_validator("text")(_check_template)


class CloseConversationStep(_Step):
    type: Literal["close_conversation"]
    category: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=1000)


class BotStep(_Step):
    """Turn the bot on (it answers the customer's next message) or off for the conversation, or start one of
    the channel's bot's flows now: the bot ends any session it has running and speaks first."""

    type: Literal["bot"]
    action: Literal["on", "off", "start_flow"]
    flow: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _flow_with_start(self) -> BotStep:
        if self.action == "start_flow" and not self.flow:
            raise ValueError("start_flow needs the flow to start")
        if self.action != "start_flow" and self.flow:
            raise ValueError(f"flow is only for start_flow, not '{self.action}'")
        return self


class TriggerWorkflowStep(_Step):
    type: Literal["trigger_workflow"]
    workflow_id: str = Field(pattern=WORKFLOW_ID)


class SendEmailStep(_Step):
    type: Literal["send_email"]
    to: str = Field(default="{{contact.email}}", max_length=254)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)

    _templates = field_validator("to", "subject", "body")(_check_template)


class RecordCsatStep(_Step):
    """Record the customer's satisfaction score (1-5) for the conversation: reports count it per agent and
    campaign. The score is usually an answer: "{{vars.csat}}"."""

    type: Literal["record_csat"]
    score: str = Field(min_length=1, max_length=200, examples=["{{vars.csat}}"])
    comment: str | None = Field(default=None, max_length=1000)

    _score = field_validator("score", "comment")(_check_template)


class SetVariableStep(_Step):
    type: Literal["set_variable"]
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    value: Any


Step = Annotated[
    SendMessageStep | AskQuestionStep | AssignStep | BranchStep | WaitStep | HttpRequestStep | UpdateContactStep
    | AddNoteStep | CloseConversationStep | BotStep | TriggerWorkflowStep | SendEmailStep | SetVariableStep
    | RecordCsatStep, Field(discriminator="type")]

STEP_TYPES = _tags(Step)

# Steps whose effect cannot be made idempotent by a key: after a crash in the middle they are not repeated.
AT_MOST_ONCE = frozenset({"http_request", "send_email"})
# Steps that need a conversation (the trigger's, or the contact's latest one on the step's channel).
NEEDS_CONVERSATION = frozenset({"assign", "add_note", "close_conversation", "bot", "record_csat"})
# Steps that render templates or evaluate conditions over the contact, conversation and variables.
USES_CONTEXT = frozenset({"send_message", "ask_question", "branch", "update_contact", "add_note", "send_email",
                          "http_request", "set_variable", "record_csat"})


class WorkflowInput(_Strict):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    enabled: bool = False
    reentry: Literal["always", "once", "not_while_running"] = Field(
        default="not_while_running", description="Start again for a contact always, only once ever, or only when "
                                                 "no execution of this workflow is running for them")
    max_steps: int = Field(default=200, ge=1, le=1000, description="Steps one execution may run (loops)")

    @model_validator(mode="after")
    def _graph(self) -> WorkflowInput:
        errors = graph_errors(self.steps)
        if errors:
            raise ValueError("; ".join(errors))
        return self


def _targets(step: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if step.next is not None:
        out.append(("next", step.next))
    if isinstance(step, BranchStep):
        out += [(f"branches[{i}].next", b.next) for i, b in enumerate(step.branches)]
        if step.otherwise is not None:
            out.append(("otherwise", step.otherwise))
    if isinstance(step, AskQuestionStep) and step.on_timeout is not None:
        out.append(("on_timeout", step.on_timeout))
    if isinstance(step, HttpRequestStep) and step.on_error is not None:
        out.append(("on_error", step.on_error))
    return out


def graph_errors(steps: list[Any]) -> list[str]:
    """Unique ids, every jump names a step (or "end"), every step reachable from the first."""
    errors: list[str] = []
    ids: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id == END:
            errors.append(f"steps[{i}].id: '{END}' is reserved")
        if step.id in ids:
            errors.append(f"steps[{i}].id: '{step.id}' is also steps[{ids[step.id]}].id")
        ids.setdefault(step.id, i)
    for i, step in enumerate(steps):
        for where, target in _targets(step):
            if target != END and target not in ids:
                errors.append(f"steps[{i}].{where}: unknown step '{target}'")
    if errors:
        return errors
    seen: set[int] = set()
    todo = [0]
    while todo:
        i = todo.pop()
        if i in seen or i >= len(steps):
            continue
        seen.add(i)
        step = steps[i]
        targets = [t for _, t in _targets(step)]
        if step.next is None and not (isinstance(step, BranchStep) and step.otherwise is not None):
            todo.append(i + 1)
        todo += [ids[t] for t in targets if t != END]
    for i, step in enumerate(steps):
        if i not in seen:
            errors.append(f"steps[{i}] ('{step.id}') can never run: no step leads to it")
    return errors


class Workflow(WorkflowInput):
    model_config = ConfigDict(extra="ignore", frozen=True)

    workflow_id: str
    tenant_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    template: str | None = Field(default=None, description="The built-in template it was created from")

    def step(self, step_id: str) -> Any:
        return next(s for s in self.steps if s.id == step_id)

    def after(self, step_id: str) -> str:
        """The step that follows `step_id` in list order, or "end"."""
        index = next(i for i, s in enumerate(self.steps) if s.id == step_id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END


class WorkflowSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    workflow_id: str
    name: str
    trigger: str
    enabled: bool
    version: int
    updated_at: datetime
    template: str | None = None


ExecutionStatus = Literal["running", "waiting", "completed", "failed", "cancelled"]


class Execution(BaseModel):
    model_config = ConfigDict(frozen=True)

    execution_id: str
    tenant_id: str
    workflow_id: str
    version: int
    status: ExecutionStatus = "running"
    trigger: str
    contact_id: str | None = None
    conversation_id: str | None = None
    channel_id: str | None = None
    contact_key: str | None = None
    step_id: str | None = Field(default=None, description="The step it is at (waiting in, or about to run)")
    seq: int = Field(default=0, description="How many steps it has run")
    vars: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict, description="Each finished step's output, by step id")
    trigger_data: dict[str, Any] = Field(default_factory=dict)
    wait: dict[str, Any] | None = Field(default=None, description="What it waits for: {kind, until, token}")
    depth: int = 0
    seen_messages: list[str] = Field(default_factory=list, description="Customer messages already used as answers")
    error: str | None = None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    version_token: int = 0  # optimistic concurrency


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    step_id: str
    type: str
    state: Literal["started", "done", "failed"]
    input: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    next: str | None = None
    started_at: datetime
    ended_at: datetime | None = None


class RunInput(_Strict):
    contact_id: str | None = None
    segment_id: str | None = None
    conversation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Available to steps as trigger.<name>")

    @model_validator(mode="after")
    def _one(self) -> RunInput:
        if bool(self.contact_id) == bool(self.segment_id):
            raise ValueError("give exactly one of `contact_id` or `segment_id`")
        if self.segment_id and self.conversation_id:
            raise ValueError("`conversation_id` goes with one contact, not with a segment")
        return self
