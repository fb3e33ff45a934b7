"""What a provider's webhook parser hands the ingest service: one unit per message/status/account change, plus
what it could not accept (quarantined with the reason). Shared by every channel's parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one (provider payloads are read defensively)."""
    return value if isinstance(value, dict) else {}


def nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class PayloadShapeError(ValueError):
    """A provider object lacks what we need to identify it (kept in quarantine with this reason)."""


@dataclass(frozen=True)
class UnitDraft:
    kind: str  # "message" | "status" | "account" | "comment"
    payload: dict[str, Any]
    contacts: list[dict[str, Any]]
    value_errors: list[dict[str, Any]]
    dedup_key: str  # WhatsApp: wamid, or wamid:status for statuses; Telegram: update:<update_id>
    contact_key: str


@dataclass(frozen=True)
class Rejection:
    reason: str
    fragment: Any


@dataclass
class SplitResult:
    units: list[UnitDraft] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    ignored: int = 0
