"""The contact center: campaigns (teams), agents' presence, the waiting queue and what supervisors see.

A *campaign* (uContact's word; a team elsewhere) owns a FIFO waiting queue, a schedule, thresholds and the
messages the built-in flows send. An *agent* is a tenant user (any role can take conversations) with a
presence: status, the number of conversations they hold, and an optional personal cap. A conversation's
routing state lives on the conversation record (`routing`, `campaign_id`, `assignee`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AgentStatus = Literal["online", "busy", "break", "offline"]
AGENT_STATUSES: tuple[AgentStatus, ...] = ("online", "busy", "break", "offline")
Strategy = Literal["round_robin", "least_busy", "sticky_owner"]
RoutingState = Literal["none", "waiting", "assigned", "desk", "overflow", "out_of_hours"]
"""none: nobody routed it (a bot answers, or nothing yet); waiting: in a campaign's queue; assigned: an agent
holds it; desk: an external contact center holds it; overflow: the queue was full (ACD) when it asked;
out_of_hours: it asked out of hours and the campaign does not keep such conversations waiting."""
Priority = Literal["high", "normal", "low"]
PRIORITY_RANK: dict[str, int] = {"high": 1, "normal": 5, "low": 8}
CAMPAIGN_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_BREAK_TYPES = ("almuerzo", "baño", "capacitación", "reunión", "pausa_supervisor")


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description="HH:MM, local time", examples=["09:00"])
    end: str = Field(description="HH:MM (24:00 = midnight at the end of the day); after start", examples=["18:00"])

    @model_validator(mode="after")
    def _valid(self) -> TimeRange:
        for value in (self.start, self.end):
            if not _HHMM.match(value):
                raise ValueError(f"'{value}' is not HH:MM")
        if self.start >= self.end:
            raise ValueError(f"{self.start}-{self.end}: the end must be after the start")
        return self


class Schedule(BaseModel):
    """Weekly opening hours in a time zone, with holidays (closed all day). No hours at all = always open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str = Field(default="America/Argentina/Buenos_Aires", max_length=64)
    weekly: dict[str, list[TimeRange]] = Field(
        default_factory=dict, description="mon..sun → ranges; a day absent from a non-empty map is closed")
    holidays: list[date] = Field(default_factory=list, max_length=400)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from shared.services.schedule import check_zone

        return check_zone(value)

    @field_validator("weekly")
    @classmethod
    def _days(cls, value: dict[str, list[TimeRange]]) -> dict[str, list[TimeRange]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown day(s) {', '.join(unknown)}; use {', '.join(WEEKDAYS)}")
        return value


class Snippet(BaseModel):
    """A canned response; `text` may use {{contact.name}}, {{contact.fields.x}}, {{agent.name}}, {{campaign.name}}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", examples=["saludo"])
    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=4096)


class CampaignMessages(BaseModel):
    """What the built-in flows tell the customer. Variables: {{agent.name}}, {{position}}, {{campaign.name}}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assigned: str | None = Field(default="Hola, te atiende {{agent.name}}. ¿En qué te puedo ayudar?",
                                 max_length=1024)
    queued: str | None = Field(
        default="Gracias por escribirnos. Todos nuestros asesores están atendiendo; estás en la posición "
                "{{position}} de la fila. Te responderemos en cuanto se libere uno.", max_length=1024)
    out_of_hours: str | None = Field(
        default="Gracias por escribirnos. Nuestro horario de atención terminó; te responderemos apenas "
                "abramos.", max_length=1024)
    all_busy: str | None = Field(
        default="En este momento todos nuestros asesores están ocupados y la fila está completa. Por favor "
                "escribinos de nuevo en unos minutos.", max_length=1024)


class ExternalDesk(BaseModel):
    """An external contact center takes this campaign's conversations instead of our agents.

    Handoffs are delivered to it as signed webhooks: create a webhook subscription with this campaign's
    id (`campaign_id`) for ConversationAssigned, RoutedMessageReceived and ConversationClosed; the desk
    answers with POST /v1/conversations/{id}/messages and closes with POST /v1/conversations/{id}/close."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, examples=["Mesa externa"])


class CampaignInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: str = Field(pattern=CAMPAIGN_ID, examples=["ventas"])
    name: str = Field(min_length=1, max_length=120)
    skills: list[str] = Field(default_factory=list, max_length=50,
                              description="Keywords a handoff (bot team/skills) or a workflow routes by")
    members: list[str] = Field(default_factory=list, max_length=500, description="User ids of the agents")
    fallback: bool = Field(default=False, description="Takes handoffs no campaign's skills match (one per tenant)")
    strategy: Strategy = "least_busy"
    schedule: Schedule = Field(default_factory=Schedule)
    out_of_hours_queue: bool = Field(default=True, description="Out of hours: keep the conversation waiting "
                                     "(true) or only send the away message (false)")
    sla_threshold_s: int = Field(default=60, ge=1, le=7 * 86400, description="Service level: answered within")
    abandon_threshold_s: int = Field(default=30, ge=0, le=7 * 86400,
                                     description="Leaving the queue unanswered after at least this long is an "
                                                 "abandon; shorter waits are short abandons, not counted")
    max_duration_s: int = Field(default=3600, ge=60, le=30 * 86400,
                                description="Chats held longer are flagged to supervisors")
    max_waiting: int | None = Field(default=100, ge=0, le=100_000, description="ACD: most customers waiting; "
                                    "null = no limit")
    max_per_agent: int = Field(default=3, ge=1, le=100, description="Concurrent conversations per agent")
    prioritize_expiring_s: int | None = Field(
        default=None, ge=60, le=86400, description="Take first the conversations whose 24-hour window closes "
                                                   "within this many seconds (null = strict arrival order)")
    on_agent_offline: Literal["requeue", "keep"] = Field(
        default="requeue", description="An agent going offline: their conversations go back to the head of the "
                                       "queue, or stay with them")
    enabled: bool = True
    messages: CampaignMessages = Field(default_factory=CampaignMessages)
    snippets: list[Snippet] = Field(default_factory=list, max_length=200)
    external_desk: ExternalDesk | None = None

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        from shared.services.text_norm import fold

        out = []
        for skill in value:
            folded = fold(skill)
            if not folded or len(folded) > 60:
                raise ValueError(f"skill '{skill}' must have 1-60 letters")
            out.append(folded)
        return list(dict.fromkeys(out))

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("snippets")
    @classmethod
    def _snippet_keys(cls, value: list[Snippet]) -> list[Snippet]:
        keys = [s.key for s in value]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate snippet keys: {', '.join(dupes)}")
        return value


class Campaign(CampaignInput):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant_id: str
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def snippet(self, key: str) -> Snippet | None:
        return next((s for s in self.snippets if s.key == key), None)


class ContactCenterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    break_types: list[str] = Field(default_factory=lambda: list(DEFAULT_BREAK_TYPES), min_length=1, max_length=30)
    time_zone: str = Field(default="America/Argentina/Buenos_Aires", max_length=64,
                           description="The day that agents' daily counters belong to")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from shared.services.schedule import check_zone

        return check_zone(value)


# --- agents ----------------------------------------------------------------------------------------------

class AgentPresence(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    tenant_id: str
    name: str | None = None
    status: AgentStatus = "offline"
    break_type: str | None = None
    since: datetime
    active: int = Field(default=0, description="Conversations the agent holds now")
    max_concurrent: int | None = Field(default=None, description="Personal cap; null = each campaign's")
    last_assigned_ms: int = 0

    def cap_for(self, campaign: Campaign) -> int:
        return self.max_concurrent if self.max_concurrent is not None else campaign.max_per_agent


class StatusInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AgentStatus
    break_type: str | None = Field(default=None, max_length=40, description="Required with status `break`")

    @model_validator(mode="after")
    def _break(self) -> StatusInput:
        if self.status == "break" and not self.break_type:
            raise ValueError("a break needs a break_type")
        if self.status != "break" and self.break_type:
            raise ValueError("break_type goes only with status `break`")
        return self


class CapacityInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_concurrent: int | None = Field(ge=1, le=100, description="null: use each campaign's max_per_agent")


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    status: AgentStatus
    break_type: str | None = None
    previous_status: AgentStatus | None = None
    at: datetime
    by: str


class QueueEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    campaign_id: str
    conversation_id: str
    channel_id: str
    contact_key: str
    contact_id: str | None = None
    address: str
    priority: Priority = "normal"
    queued_at: datetime
    window_closes_at: datetime | None = None
    reason: str = "handoff"
    summary: str | None = None
    event_key: str | None = None  # the event that queued it (a redelivery of it finishes its work)
    owner_id: str | None = None  # the contact's owner agent (sticky strategy)

    @property
    def sort_key(self) -> str:
        return f"E#{PRIORITY_RANK[self.priority]}#{int(self.queued_at.timestamp() * 1000):014d}#{self.conversation_id}"


class CloseNote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1, max_length=60, examples=["venta_concretada"])
    text: str | None = Field(default=None, max_length=2000)


class CloseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: CloseNote | None = None


class CsatInput(BaseModel):
    """A customer's satisfaction score for a conversation (a survey answered elsewhere, an integrator's form)."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: str | None = Field(default=None, max_length=1000)
    answer_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,80}$",
                                  description="Your id of the answer: sending it again counts it once; a new "
                                              "answer for the conversation replaces the previous one")


class ReplyInput(BaseModel):
    """An agent's reply in a conversation: content, a snippet by key (rendered with its variables), or a file of
    the library."""

    model_config = ConfigDict(extra="forbid")

    content: dict[str, object] | None = Field(default=None, description="An OutboundContent object (text, media, "
                                              "template, interactive)")
    snippet: str | None = Field(default=None, max_length=40)
    file_id: str | None = Field(default=None, max_length=64, description="A ready file of the library (POST "
                                "/v1/files, then .../confirm): sent as its media kind, by a short-lived link")
    caption: str | None = Field(default=None, max_length=1024, description="With file_id: the media's caption")
    client_reference: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one(self) -> ReplyInput:
        if sum(x is not None for x in (self.content, self.snippet, self.file_id)) != 1:
            raise ValueError("give content, snippet or file_id (exactly one)")
        if self.caption is not None and self.file_id is None:
            raise ValueError("caption goes with file_id")
        return self


class NoteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class AssignInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str | None = Field(default=None, max_length=64, description="Default: the caller (take it)")


class TransferInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str | None = Field(default=None, max_length=64)
    campaign_id: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000, description="Stored as an internal note")

    @model_validator(mode="after")
    def _one(self) -> TransferInput:
        if (self.agent_id is None) == (self.campaign_id is None):
            raise ValueError("give agent_id or campaign_id (exactly one)")
        return self


class AgentMessageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


# --- views ------------------------------------------------------------------------------------------------

class AssignedConversation(BaseModel):
    conversation_id: str
    campaign_id: str | None = None
    channel_id: str
    contact_id: str | None = None
    assigned_at: datetime


class AgentLive(BaseModel):
    user_id: str
    name: str | None = None
    status: AgentStatus
    break_type: str | None = None
    since: datetime
    seconds_in_status: int
    active: int
    cap: int
    completed_in: int = 0
    completed_out: int = 0


class WaitingLive(BaseModel):
    conversation_id: str
    campaign_id: str | None = None
    position: int
    channel_id: str
    contact_id: str | None = None
    priority: Priority
    queued_at: datetime
    wait_s: int
    window_closes_at: datetime | None = None
    reason: str | None = Field(default=None, description="Why it is waiting: handoff, transfer, requeue, ...")
    summary: str | None = Field(default=None, description="The bot's summary of the conversation so far")


class CampaignStats(BaseModel):
    day: date
    offered: int = 0
    answered: int = 0
    answered_in_sla: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    overflowed: int = 0
    out_of_hours: int = 0
    completed: int = 0
    transferred_out: int = 0
    wait_ms_total: int = 0
    service_level_pct: float | None = Field(default=None, description="answered within the threshold / "
                                            "(answered + abandoned), today")
    abandon_rate_pct: float | None = Field(default=None, description="abandoned / (answered + abandoned)")
    average_wait_s: float | None = None


class CampaignLive(BaseModel):
    campaign_id: str
    name: str
    enabled: bool
    open_now: bool
    agents: list[AgentLive]
    waiting: list[WaitingLive]
    long_chats: list[str] = Field(default_factory=list, description="Conversations held beyond max_duration_s")
    stats: CampaignStats


class AgentMe(BaseModel):
    presence: AgentPresence
    conversations: list[AssignedConversation]
    campaigns: list[str]
    break_types: list[str]


# --- transcripts ("grabaciones") ----------------------------------------------------------------------------

class TranscriptEntry(BaseModel):
    """One line of a transcript: a message (customer, bot, agent, API), an internal note, or a routing event."""

    at: datetime
    kind: Literal["message", "note", "event"]
    direction: Literal["in", "out"] | None = None
    author: str = Field(description="customer, bot, auto_reply, system, user:<id>, key:<id>, desk:<campaign>")
    author_name: str | None = None
    type: str = Field(description="Message type (text, image, template, ...) or the event (assigned, queued, ...)")
    text: str | None = None
    status: str | None = Field(default=None, description="Delivery status of an outgoing message")
    media: dict[str, object] | None = None
    error: str | None = None


class TranscriptSummary(BaseModel):
    conversation_id: str
    channel_id: str
    contact_id: str | None = None
    contact_key: str
    status: str
    origin: Literal["in", "out"] = "in"
    opened_at: datetime
    closed_at: datetime | None = None
    campaign_id: str | None = None
    agents: list[str] = Field(default_factory=list)
    closing_note: CloseNote | None = None


class Transcript(BaseModel):
    summary: TranscriptSummary
    contact_name: str | None = None
    entries: list[TranscriptEntry]
