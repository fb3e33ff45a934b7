"""A bot session (one per conversation while the bot talks) and what one turn produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from shared.models.envelopes import OutboundContent

EndReason = Literal["solved", "handoff", "timeout", "closed", "error"]
Generation = Literal["rules", "keywords", "intents", "knowledge", "generative", "fallback", "none"]


@dataclass
class SessionState:
    """Everything the engine remembers between turns; stored as one JSON document with the session."""

    session_id: str
    bot_id: str
    version: int
    started_at: int
    last_activity_at: int
    flow: str | None = None
    node: str | None = None  # the node waiting for an answer; None: the next message is routed afresh
    vars: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    turns: int = 0
    status: Literal["active", "ended"] = "active"
    end_reason: str | None = None
    otp: dict[str, Any] | None = None
    clarify: list[str] | None = None  # targets offered by a clarifying question
    ai_history: list[dict[str, Any]] = field(default_factory=list)
    ai_turns: int = 0
    ai_pii: dict[str, str] = field(default_factory=dict)  # placeholder -> value, so history stays consistent
    files: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    ai_answers: int = 0  # turns of this session the generative assistant answered (an "AI session" has some)
    llm_tier: str | None = None  # the model tier (LITE | PRO) of those turns
    address: str | None = None  # where replies go (for turns the bot starts itself, e.g. the idle timeout)
    contact_key: str | None = None
    contact_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class TurnInput:
    """One customer turn: every message of a burst, in order, already coalesced."""

    text: str | None = None
    reply_id: str | None = None  # the id of a tapped reply button or list row
    media: tuple[dict[str, Any], ...] = ()  # {type, media_id, mime_type, s3_key?, transcript?, description?}
    start_flow: str | None = None  # a reply to a broadcast that starts this flow (a new session only)


@dataclass(frozen=True)
class HandoffRequest:
    team: str
    skills: tuple[str, ...]
    priority: str
    summary: str
    reason: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    kind: Literal["llm", "voice", "image"]
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0


@dataclass
class TurnResult:
    state: SessionState
    replies: list[OutboundContent] = field(default_factory=list)
    generation: Generation = "none"
    ended: str | None = None
    handoff: HandoffRequest | None = None
    close_conversation: bool = False
    usage: list[Usage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong quietly (template gaps, failed calls)
