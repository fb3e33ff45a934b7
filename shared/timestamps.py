"""Instants as events and records carry them: ISO 8601 strings, "Z" or an offset, naive meaning UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload


def instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO string or a datetime (naive is UTC); None when empty or unreadable."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@overload
def iso_z(at: datetime) -> str: ...


@overload
def iso_z(at: None) -> None: ...


def iso_z(at: datetime | None) -> str | None:
    """UTC ISO 8601 with a "Z" (what events carry); None for None."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None
