"""Time for workflows: cron schedules, durations, "next 09:00 on a weekday" and time-of-day lookups.

`Cron` is a standard five-field cron expression (minute hour day-of-month month day-of-week) bound to an IANA
time zone. It is evaluated in the zone's local wall time, so a daily "0 9 * * *" stays at 09:00 across
daylight-saving changes. Two rules cover the hours those changes create or repeat:

* a wall time that does not exist (the clocks jump forward over it) never fires; the schedule is not shifted;
* a wall time that happens twice (the clocks fall back) fires once, at its first occurrence (``fold=0``).

Day-of-month and day-of-week follow Vixie cron: when both fields are restricted a day matches if either one
matches; a field that starts with ``*`` (``*`` or ``*/2``) counts as unrestricted, and then both must match.

`parse_duration` reads "30s", "15m", "2h", "3d", "1w", "1h30m" and ISO 8601 durations ("PT2H", "P1DT12H").
`next_local_time` finds the next instant the local clock reads "HH:MM" (optionally on some weekdays only), and
`local_minutes` gives the local weekday and minute of the day for "time of day" conditions.

Every instant returned is an aware UTC datetime; every instant accepted must be timezone-aware.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.services.schedule import aware, instants, zone

__all__ = ["Cron", "CronError", "local_minutes", "next_local_time", "parse_duration"]

HORIZON_YEARS = 5


class CronError(ValueError):
    """A cron expression that cannot be parsed, or one that never fires."""


# --- time zones (shared/services/schedule.py: IANA names checked, aware datetimes, wall times across DST) -------


def _instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of the naive local `wall` time (its first occurrence), or None when it does not exist."""
    return min(instants(tz, wall), default=None)


# --- cron ---------------------------------------------------------------------------------------------------

_MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _WEEKDAYS),
)
_NUMBER = re.compile(r"[0-9]{1,4}")


def _value(token: str, spec: _Field, where: str) -> int:
    if not token:
        raise CronError(f"{where}: a number is missing")
    named = spec.names.get(token.upper())
    if named is not None:
        return named
    if not _NUMBER.fullmatch(token):
        raise CronError(f"{where}: {token!r} is not a number" + (" or a name" if spec.names else ""))
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise CronError(f"{where}: {value} is outside {spec.low}-{spec.high}")
    return value


def _parse_field(text: str, index: int) -> frozenset[int]:
    spec = _FIELDS[index]
    where = f"cron field {index + 1} ({spec.name})"
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{where}: empty item in list {text!r}")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _NUMBER.fullmatch(step_text):
                raise CronError(f"{where}: step {step_text!r} is not a number")
            step = int(step_text)
            if step == 0:
                raise CronError(f"{where}: step must be at least 1")
        if base == "*":
            low, high = spec.low, spec.high
            if index == 4:
                high = 6  # "*" is every weekday once; 7 is only an alias of Sunday
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, spec, where), _value(last, spec, where)
            if low > high:
                raise CronError(f"{where}: range {base} runs backwards ({low} > {high})")
        else:
            low = _value(base, spec, where)
            high = spec.high if slash else low  # "5/15" means 5 to the end of the field, every 15
        values.update(range(low, high + 1, step))
    if index == 4 and 7 in values:  # 7 is Sunday, like 0
        values.discard(7)
        values.add(0)
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression evaluated in the wall time of `timezone`.

    The value sets hold what each field allows: `weekdays` uses cron numbering (0 = Sunday ... 6 = Saturday).
    `dom_restricted` / `dow_restricted` say whether the day fields were restricted in the Vixie sense (the
    field does not start with ``*``); when both are, a day matches if either field matches.
    """

    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool

    @classmethod
    def parse(cls, expression: str, timezone: str) -> Cron:
        """Parse "minute hour day-of-month month day-of-week"; CronError says what is wrong."""
        if not isinstance(expression, str):
            raise CronError("a cron expression must be a string")
        fields = expression.split()
        if len(fields) != 5:
            raise CronError("a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                            f"got {len(fields)} in {expression!r}")
        try:
            zone(timezone)
        except ValueError:
            raise CronError(f"unknown time zone {timezone!r}") from None
        minutes, hours, days, months, weekdays = (_parse_field(text, i) for i, text in enumerate(fields))
        return cls(expression=" ".join(fields), timezone=timezone, minutes=minutes, hours=hours, days=days,
                   months=months, weekdays=weekdays, dom_restricted=not fields[2].startswith("*"),
                   dow_restricted=not fields[4].startswith("*"))

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays  # Python Monday=0 -> cron Monday=1
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def matches(self, at: datetime) -> bool:
        """Whether the cron fires in the minute of `at` (seconds ignored).

        The second occurrence of a repeated wall time (clocks falling back) does not match: it fired already.
        """
        local = aware(at).astimezone(zone(self.timezone))
        if local.fold and local.utcoffset() != local.replace(fold=0).utcoffset():
            return False
        return local.minute in self.minutes and local.hour in self.hours and self._day_matches(local.date())

    def next_after(self, at: datetime) -> datetime:
        """The first instant strictly after `at` when the cron fires, as an aware UTC datetime.

        Walks local days (skipping whole months and days that cannot match), then the allowed hours and
        minutes of a matching day. CronError when nothing fires within 5 years of `at`.
        """
        at = aware(at)
        tz = zone(self.timezone)
        local = at.astimezone(tz).replace(tzinfo=None, fold=0, second=0, microsecond=0)
        start = local + timedelta(minutes=1)  # seconds ignored: the next whole wall minute
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        day = start.date()
        try:
            limit = day.replace(year=day.year + HORIZON_YEARS)
        except ValueError:  # 29 February
            limit = day.replace(year=day.year + HORIZON_YEARS, day=28)
        first = True
        while day <= limit:
            if day.month not in self.months:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
                first = False
                continue
            if self._day_matches(day):
                hour_floor = start.hour if first else 0
                for hour in hours[bisect_left(hours, hour_floor):]:
                    minute_floor = start.minute if first and hour == start.hour else 0
                    for minute in minutes[bisect_left(minutes, minute_floor):]:
                        instant = _instant(datetime(day.year, day.month, day.day, hour, minute), tz)
                        if instant is not None and instant > at:  # not in a gap, not a repeat already past
                            return instant
            day += timedelta(days=1)
            first = False
        raise CronError(f"cron {self.expression!r} does not fire within {HORIZON_YEARS} years "
                        f"after {at.astimezone(UTC).isoformat()}")


# --- durations ----------------------------------------------------------------------------------------------

_SHORT = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.IGNORECASE)
_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE)
MAX_DURATION = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """"30s", "15m", "2h", "3d", "1w", "1h30m" (largest unit first) or ISO 8601 "PT2H", "P3D", "P1DT12H".

    ValueError when the text is not a duration or the duration is not between 1 second and 365 days.
    """
    bad = ValueError(f"{text!r} is not a duration: use 30m, 2h, 3d, 1h30m or ISO 8601 like PT2H")
    if not isinstance(text, str) or len(text) > 40:
        raise bad
    cleaned = text.strip()
    match = _ISO.fullmatch(cleaned) or _SHORT.fullmatch(cleaned)
    if match is None or not any(match.groups()):
        raise bad
    weeks, days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    if any(part > 10**6 for part in (weeks, days, hours, minutes, seconds)):
        raise ValueError("duration must be between 1 second and 365 days")
    duration = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not timedelta(seconds=1) <= duration <= MAX_DURATION:
        raise ValueError("duration must be between 1 second and 365 days")
    return duration


# --- wall-clock helpers -------------------------------------------------------------------------------------

_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_ALL_DAYS = frozenset(range(1, 32))
_ALL_MONTHS = frozenset(range(1, 13))
_ALL_WEEKDAYS = frozenset(range(7))


def next_local_time(after: datetime, hhmm: str, timezone: str, *, weekdays: frozenset[int] | None = None) -> datetime:
    """The first instant strictly after `after` when the clock in `timezone` reads `hhmm` (24-hour "09:00").

    `weekdays` limits the days (Python numbering, 0 = Monday ... 6 = Sunday; None = every day). Same rules as
    `Cron`: a time inside a spring-forward gap is skipped that day, a repeated time counts at its first
    occurrence. Returns an aware UTC datetime.
    """
    match = _HHMM.fullmatch(hhmm) if isinstance(hhmm, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{hhmm!r} is not a time of day: use 24-hour HH:MM like 09:00")
    zone(timezone)
    if weekdays is None:
        cron_days = _ALL_WEEKDAYS
    else:
        if not weekdays:
            raise ValueError("weekdays is empty: give at least one day (0 = Monday ... 6 = Sunday), or None")
        if any(not isinstance(day, int) or not 0 <= day <= 6 for day in weekdays):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {sorted(weekdays)}")
        cron_days = frozenset((day + 1) % 7 for day in weekdays)
    dow = "*" if weekdays is None else ",".join(map(str, sorted(cron_days)))
    cron = Cron(expression=f"{int(match[2])} {int(match[1])} * * {dow}",
                timezone=timezone, minutes=frozenset({int(match[2])}), hours=frozenset({int(match[1])}),
                days=_ALL_DAYS, months=_ALL_MONTHS, weekdays=cron_days, dom_restricted=False,
                dow_restricted=weekdays is not None)
    return cron.next_after(after)


def local_minutes(at: datetime, timezone: str) -> tuple[int, int]:
    """(Python weekday 0 = Monday ... 6 = Sunday, minutes since local midnight) of `at` in `timezone`."""
    local = aware(at).astimezone(zone(timezone))
    return local.weekday(), local.hour * 60 + local.minute
