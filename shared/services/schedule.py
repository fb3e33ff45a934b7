"""Business hours: is a campaign's schedule open at an instant, and when does it open next.

A `Schedule` is wall-clock hours in an IANA time zone: each weekday has ranges "HH:MM"-"HH:MM" (start
inclusive, end exclusive, "24:00" = the end of the day), and holidays close whole local days. An empty weekly
map means always open (holidays still close). Everything is computed in the schedule's zone with `zoneinfo`,
so daylight-saving changes move the UTC instants, not the local hours: on the day the clocks jump forward the
local times in the gap do not exist, and on the day they fall back the repeated local times are open twice.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.models.contact_center import WEEKDAYS, Schedule

HORIZON = timedelta(days=370)
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,3}")  # "America/Argentina/Buenos_Aires"
_DAY_MINUTES = 24 * 60


@lru_cache(maxsize=128)
def zone(name: str) -> ZoneInfo:
    """The zone named `name`; ValueError when it is not an IANA time zone (paths and odd input included)."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):  # not found, not TZif, a directory
        raise ValueError(f"unknown time zone {name!r}") from None


def check_zone(name: str) -> str:
    """`name` when it is a valid IANA time zone, else ValueError."""
    zone(name)
    return name


def local_day(time_zone: str, at: datetime) -> date:
    """The calendar date of `at` in `time_zone`."""
    return aware(at).astimezone(zone(time_zone)).date()


def is_open(schedule: Schedule, at: datetime) -> bool:
    local = aware(at).astimezone(zone(schedule.time_zone))
    if local.date() in schedule.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in _ranges(schedule, local.weekday()))


def next_open(schedule: Schedule, at: datetime) -> datetime | None:
    """The first instant (UTC) at or after `at` when the schedule is open; None if not within 370 days.

    The schedule can only become open at a range's start (local wall time) or at a daylight-saving
    transition (the wall clock jumps into a range), so those are the candidates, day by day.
    """
    at = aware(at).astimezone(UTC)
    if is_open(schedule, at):
        return at
    tz = zone(schedule.time_zone)
    first_day = at.astimezone(tz).date()
    for offset in range(HORIZON.days + 1):
        day = first_day + timedelta(days=offset)
        candidates = {
            instant
            for start, _ in _ranges(schedule, day.weekday())
            for instant in instants(tz, datetime.combine(day, time()) + timedelta(minutes=start))
        }
        candidates.update(_transitions(tz, day))
        opening = min((c for c in candidates if c >= at and is_open(schedule, c)), default=None)
        if opening is not None:
            return opening if opening - at <= HORIZON else None
    return None


def aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at


def _ranges(schedule: Schedule, weekday: int) -> list[tuple[int, int]]:
    """The day's ranges as (start, end) minutes since local midnight; all day when there are no hours at all."""
    if not schedule.weekly:
        return [(0, _DAY_MINUTES)]
    return [(minutes(r.start), minutes(r.end)) for r in schedule.weekly.get(WEEKDAYS[weekday], [])]


def minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def instants(tz: ZoneInfo, wall: datetime) -> set[datetime]:
    """The UTC instants whose local time in `tz` is the naive `wall`: none in a DST gap, two when it repeats."""
    found: set[datetime] = set()
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            found.add(instant)
    return found


def _transitions(tz: ZoneInfo, day: date) -> list[datetime]:
    """The instant the UTC offset changes between this local midnight and the next, if it does (bisected)."""
    low = int(datetime.combine(day, time(), tzinfo=tz).timestamp())
    high = int(datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).timestamp())
    before = datetime.fromtimestamp(low, tz).utcoffset()
    if datetime.fromtimestamp(high, tz).utcoffset() == before:
        return []
    while high - low > 1:  # offsets change on whole seconds
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return [datetime.fromtimestamp(high, UTC)]


def open_seconds(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Seconds between `start` and `end` during opening hours (business-hours-aware response times): a reply at
    09:05 to a message of 18:55 the day before, with hours 09-19, took 10 minutes of business time. Spans longer
    than the horizon count the horizon only."""
    start, end = aware(start).astimezone(UTC), aware(end).astimezone(UTC)
    if end <= start:
        return 0
    if not schedule.weekly and not schedule.holidays:
        return int((end - start).total_seconds())
    tz = zone(schedule.time_zone)
    day, last = start.astimezone(tz).date(), min(end.astimezone(tz).date(), start.date() + HORIZON)
    total = 0.0
    while day <= last:
        if day not in schedule.holidays:
            midnight = datetime.combine(day, time())
            for first, stop in _ranges(schedule, day.weekday()):
                low = (midnight + timedelta(minutes=first)).replace(tzinfo=tz).astimezone(UTC)
                high = (midnight + timedelta(minutes=stop)).replace(tzinfo=tz).astimezone(UTC)
                overlap = (min(high, end) - max(low, start)).total_seconds()
                total += max(overlap, 0.0)
        day += timedelta(days=1)
    return int(total)
