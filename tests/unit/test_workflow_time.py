from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.services.workflow_time import Cron, CronError, local_minutes, next_local_time, parse_duration

BA = "America/Argentina/Buenos_Aires"  # UTC-3 all year
MADRID = "Europe/Madrid"  # 2026: forward 29 Mar 02:00 -> 03:00, back 25 Oct 03:00 -> 02:00
SANTIAGO = "America/Santiago"  # 2026: back 4 Apr 24:00 -> 23:00, forward 6 Sep 24:00 -> 01:00


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def cron(expression: str, tz: str = "UTC") -> Cron:
    return Cron.parse(expression, tz)


def error(expression: str, tz: str = "UTC") -> str:
    with pytest.raises(CronError) as err:
        Cron.parse(expression, tz)
    return str(err.value)


def chain(c: Cron, start: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    at = start
    for _ in range(count):
        at = c.next_after(at)
        out.append(at)
    return out


# --- parsing ------------------------------------------------------------------------------------------------


def test_star_fields_allow_everything() -> None:
    c = cron("* * * * *")
    assert c.minutes == frozenset(range(60))
    assert c.hours == frozenset(range(24))
    assert c.days == frozenset(range(1, 32))
    assert c.months == frozenset(range(1, 13))
    assert c.weekdays == frozenset(range(7))
    assert not c.dom_restricted and not c.dow_restricted


def test_numbers_lists_ranges_and_steps() -> None:
    c = cron("5,10,15 1-3 */10 1-12/4 1-5")
    assert c.minutes == {5, 10, 15}
    assert c.hours == {1, 2, 3}
    assert c.days == {1, 11, 21, 31}
    assert c.months == {1, 5, 9}
    assert c.weekdays == {1, 2, 3, 4, 5}


def test_steps_in_ranges_and_from_a_start() -> None:
    assert cron("1-30/5 * * * *").minutes == {1, 6, 11, 16, 21, 26}
    assert cron("*/15 * * * *").minutes == {0, 15, 30, 45}
    assert cron("5/20 * * * *").minutes == {5, 25, 45}  # "a/step" runs to the end of the field
    assert cron("0 */7 * * *").hours == {0, 7, 14, 21}


def test_mixed_list_of_ranges_steps_and_numbers() -> None:
    assert cron("0,10-12,50-59/3 * * * *").minutes == {0, 10, 11, 12, 50, 53, 56, 59}


def test_month_and_weekday_names_case_insensitive() -> None:
    c = cron("0 9 * jan,Mar-MAY mon-fri")
    assert c.months == {1, 3, 4, 5}
    assert c.weekdays == {1, 2, 3, 4, 5}
    assert cron("0 0 * DEC Sun,sat").weekdays == {0, 6}


def test_sunday_is_0_and_7() -> None:
    assert cron("0 0 * * 7").weekdays == {0}
    assert cron("0 0 * * 0").weekdays == {0}
    assert cron("0 0 * * 5-7").weekdays == {5, 6, 0}
    assert cron("0 0 * * */2").weekdays == {0, 2, 4, 6}


def test_whitespace_is_normalised() -> None:
    assert cron("  0   9 *\t* 1 ").expression == "0 9 * * 1"


def test_dom_and_dow_restriction_flags_follow_vixie() -> None:
    assert cron("0 0 1 * 1").dom_restricted and cron("0 0 1 * 1").dow_restricted
    assert not cron("0 0 */2 * 1").dom_restricted  # a field starting with "*" is unrestricted
    assert not cron("0 0 1 * *").dow_restricted


@pytest.mark.parametrize(("expression", "message"), [
    ("0 25 * * *", "cron field 2 (hour): 25 is outside 0-23"),
    ("60 * * * *", "cron field 1 (minute): 60 is outside 0-59"),
    ("0 0 0 * *", "cron field 3 (day-of-month): 0 is outside 1-31"),
    ("0 0 32 * *", "cron field 3 (day-of-month): 32 is outside 1-31"),
    ("0 0 * 13 *", "cron field 4 (month): 13 is outside 1-12"),
    ("0 0 * * 8", "cron field 5 (day-of-week): 8 is outside 0-7"),
    ("x * * * *", "cron field 1 (minute): 'x' is not a number"),
    ("0 0 * FOO *", "cron field 4 (month): 'FOO' is not a number or a name"),
    ("0 0 * * MONDAY", "cron field 5 (day-of-week): 'MONDAY' is not a number or a name"),
    ("JAN * * * *", "cron field 1 (minute): 'JAN' is not a number"),
    ("*/0 * * * *", "cron field 1 (minute): step must be at least 1"),
    ("*/x * * * *", "cron field 1 (minute): step 'x' is not a number"),
    ("5-1 * * * *", "cron field 1 (minute): range 5-1 runs backwards (5 > 1)"),
    ("0 0 * * FRI-MON", "cron field 5 (day-of-week): range FRI-MON runs backwards (5 > 1)"),
    ("1,,2 * * * *", "cron field 1 (minute): empty item in list '1,,2'"),
    ("-5 * * * *", "cron field 1 (minute): a number is missing"),
    ("1-2-3 * * * *", "cron field 1 (minute): '2-3' is not a number"),
    ("-1 * * * *", "cron field 1 (minute): a number is missing"),
])
def test_field_errors_say_exactly_what_is_wrong(expression: str, message: str) -> None:
    assert error(expression) == message


@pytest.mark.parametrize("expression", ["* * * *", "* * * * * *", "", "@daily"])
def test_wrong_field_count(expression: str) -> None:
    count = len(expression.split())
    assert error(expression) == ("a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                                 f"got {count} in {expression!r}")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "UTC/../../x", "America/"])
def test_unknown_time_zone(zone: str) -> None:
    assert error("* * * * *", zone) == f"unknown time zone {zone!r}"


def test_cron_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        Cron.parse("0 24 * * *", "UTC")


# --- matches ------------------------------------------------------------------------------------------------


def test_matches_converts_to_the_cron_zone_and_ignores_seconds() -> None:
    c = cron("30 9 * * MON-FRI", BA)
    assert c.matches(utc(2026, 3, 2, 12, 30))  # Monday 09:30 in Buenos Aires
    assert c.matches(utc(2026, 3, 2, 12, 30, 59, 999999))
    assert not c.matches(utc(2026, 3, 2, 9, 30))  # 09:30 UTC is 06:30 local
    assert not c.matches(utc(2026, 3, 7, 12, 30))  # Saturday
    assert c.matches(datetime(2026, 3, 2, 14, 30, tzinfo=timezone(timedelta(hours=2))))


def test_matches_requires_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cron("* * * * *").matches(datetime(2026, 1, 1))


def test_dom_or_dow_when_both_restricted() -> None:
    c = cron("0 0 13 * FRI")  # the 13th, or any Friday
    assert c.matches(utc(2026, 1, 13))  # Tuesday the 13th
    assert c.matches(utc(2026, 1, 2))  # Friday the 2nd
    assert not c.matches(utc(2026, 1, 3))  # Saturday the 3rd
    assert chain(c, utc(2026, 1, 1), 4) == [utc(2026, 1, 2), utc(2026, 1, 9), utc(2026, 1, 13), utc(2026, 1, 16)]


def test_dom_and_dow_when_one_starts_with_star() -> None:
    c = cron("0 0 */2 * MON")  # odd days AND Mondays (Vixie: "*/2" is unrestricted)
    assert c.matches(utc(2026, 1, 5))  # Monday 5th
    assert not c.matches(utc(2026, 1, 12))  # Monday 12th: even day
    assert not c.matches(utc(2026, 1, 7))  # Wednesday 7th
    assert cron("0 0 1 * *").matches(utc(2026, 2, 1)) and not cron("0 0 * * 1").matches(utc(2026, 2, 1))


def test_month_restriction() -> None:
    c = cron("0 0 1 JUN *")
    assert c.matches(utc(2026, 6, 1))
    assert not c.matches(utc(2026, 7, 1))


# --- next_after ---------------------------------------------------------------------------------------------


def test_next_after_is_strictly_after_and_utc() -> None:
    c = cron("0 * * * *")
    result = c.next_after(utc(2026, 5, 1, 10, 0))
    assert result == utc(2026, 5, 1, 11, 0)
    assert result.tzinfo is UTC
    assert c.next_after(utc(2026, 5, 1, 9, 59, 59)) == utc(2026, 5, 1, 10, 0)
    assert c.next_after(utc(2026, 5, 1, 10, 0, 0, 1)) == utc(2026, 5, 1, 11, 0)


def test_next_after_accepts_any_aware_input_zone() -> None:
    at = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))  # 07:00 UTC
    assert cron("0 8 * * *").next_after(at) == utc(2026, 5, 1, 8, 0)


def test_every_15_minutes_sequence() -> None:
    assert chain(cron("*/15 * * * *"), utc(2026, 12, 31, 23, 7, 30), 5) == [
        utc(2026, 12, 31, 23, 15), utc(2026, 12, 31, 23, 30), utc(2026, 12, 31, 23, 45), utc(2027, 1, 1, 0, 0),
        utc(2027, 1, 1, 0, 15)]


def test_next_after_crosses_month_and_year_ends() -> None:
    assert cron("0 0 1 * *").next_after(utc(2026, 1, 31, 12)) == utc(2026, 2, 1)
    assert cron("30 6 1 1 *").next_after(utc(2026, 1, 1, 6, 30)) == utc(2027, 1, 1, 6, 30)
    assert cron("0 0 31 * *").next_after(utc(2026, 4, 1)) == utc(2026, 5, 31)  # April has no 31st
    assert cron("0 12 * DEC *").next_after(utc(2026, 12, 31, 12)) == utc(2027, 12, 1, 12)


def test_leap_day() -> None:
    c = cron("0 0 29 2 *")
    assert c.next_after(utc(2026, 1, 1)) == utc(2028, 2, 29)
    assert c.next_after(utc(2028, 2, 29)) == utc(2032, 2, 29)


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 FEB *"])
def test_never_fires_raises(expression: str) -> None:
    with pytest.raises(CronError, match="does not fire within 5 years"):
        cron(expression).next_after(utc(2026, 1, 1))


def test_next_after_is_fast_for_rare_schedules() -> None:
    started = time.perf_counter()
    for _ in range(20):
        with pytest.raises(CronError):
            cron("* * 30 2 *").next_after(utc(2026, 1, 1))
        cron("59 23 31 12 *").next_after(utc(2026, 1, 1))
    assert time.perf_counter() - started < 2


def test_buenos_aires_local_wall_time() -> None:
    c = cron("0 9 * * MON-FRI", BA)
    assert c.next_after(utc(2026, 3, 6, 12, 0)) == utc(2026, 3, 9, 12, 0)  # Friday 09:00 -> Monday 09:00
    assert c.next_after(utc(2026, 3, 9, 11, 59)) == utc(2026, 3, 9, 12, 0)


def test_madrid_spring_forward_gap_is_skipped() -> None:
    c = cron("30 2 * * *", MADRID)  # 02:30 does not exist on 29 March 2026
    assert c.next_after(utc(2026, 3, 28, 2, 0)) == utc(2026, 3, 30, 0, 30)  # 30 Mar 02:30 CEST
    assert not c.matches(utc(2026, 3, 29, 0, 30))  # 01:30 CET
    every = cron("*/30 * * * *", MADRID)
    assert chain(every, utc(2026, 3, 29, 0, 0), 3) == [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0),
                                                       utc(2026, 3, 29, 1, 30)]  # 01:30 CET, 03:00 CEST, ...


def test_madrid_hours_keep_local_time_across_dst() -> None:
    c = cron("0 9 * * *", MADRID)
    assert chain(c, utc(2026, 3, 28, 9), 2) == [utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert c.next_after(utc(2026, 3, 27, 9)) == utc(2026, 3, 28, 8)


def test_madrid_fall_back_fires_once() -> None:
    c = cron("30 2 * * *", MADRID)  # 02:30 happens twice on 25 October 2026
    assert c.next_after(utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)  # the first, CEST
    assert c.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)  # not again at 01:30 UTC
    assert c.matches(utc(2026, 10, 25, 0, 30))
    assert not c.matches(utc(2026, 10, 25, 1, 30))  # the repeat
    # asked from inside the repeated hour: the first 02:45 is already past, the repeat does not fire
    assert cron("45 2 * * *", MADRID).next_after(utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 26, 1, 45)


def test_madrid_every_15_minutes_over_fall_back() -> None:
    got = chain(cron("*/15 * * * *", MADRID), utc(2026, 10, 25, 0, 30), 4)
    # 02:45 CEST, then the repeated 02:xx CET are skipped, 03:00 CET
    assert got == [utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 15),
                   utc(2026, 10, 25, 2, 30)]


def test_santiago_midnight_gap_and_repeated_hour() -> None:
    midnight = cron("0 0 * * *", SANTIAGO)  # 6 Sep 2026 00:00 does not exist (24:00 -> 01:00)
    assert midnight.next_after(utc(2026, 9, 5, 12)) == utc(2026, 9, 7, 3)  # 7 Sep 00:00 -03
    assert midnight.next_after(utc(2026, 9, 4, 12)) == utc(2026, 9, 5, 4)  # 5 Sep 00:00 -04
    late = cron("30 23 * * *", SANTIAGO)  # 4 Apr 2026 23:30 happens at 02:30 and 03:30 UTC
    assert late.next_after(utc(2026, 4, 4, 12)) == utc(2026, 4, 5, 2, 30)
    assert late.next_after(utc(2026, 4, 5, 2, 30)) == utc(2026, 4, 6, 3, 30)


def test_next_after_requires_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cron("* * * * *").next_after(datetime(2026, 1, 1))


def _random_field(rng: random.Random, low: int, high: int) -> str:
    kind = rng.randrange(6)
    a, b = sorted(rng.sample(range(low, high + 1), 2))
    if kind == 0:
        return "*"
    if kind == 1:
        return f"*/{rng.randint(1, (high - low) // 2 + 1)}"
    if kind == 2:
        return str(a)
    if kind == 3:
        return ",".join(str(v) for v in sorted(rng.sample(range(low, high + 1), rng.randint(2, 4))))
    if kind == 4:
        return f"{a}-{b}"
    return f"{a}-{b}/{rng.randint(1, 5)}"


def _brute_force(c: Cron, at: datetime) -> list[datetime]:
    """Every firing minute in the 26 hours after `at`, or the first one within 8 days when there is none."""
    found: list[datetime] = []
    minute = at.astimezone(UTC).replace(second=0, microsecond=0)
    end = at + timedelta(hours=26)
    for _ in range(8 * 24 * 60 + 1):
        minute += timedelta(minutes=1)
        if found and minute > end:
            break
        if c.matches(minute):
            found.append(minute)
    return found


def test_next_after_agrees_with_brute_force() -> None:
    rng = random.Random(20260417)
    zones = ["UTC", BA, MADRID, SANTIAGO, "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"]
    # a few hours before the 2026 changes in Madrid (March, October), Santiago (April, September), Lord Howe
    hot_spots = {MADRID: [utc(2026, 3, 28, 22), utc(2026, 10, 24, 22)],
                 SANTIAGO: [utc(2026, 4, 4, 22), utc(2026, 9, 5, 23)],
                 "Australia/Lord_Howe": [utc(2026, 4, 4, 12), utc(2026, 10, 3, 12)]}
    for _ in range(30):
        dow = "*" if rng.random() < 0.4 else _random_field(rng, 0, 7)
        expression = f"{_random_field(rng, 0, 59)} {_random_field(rng, 0, 23)} * * {dow}"
        c = cron(expression, rng.choice(zones))
        if c.timezone in hot_spots and rng.random() < 0.8:  # just before a daylight-saving change
            at = rng.choice(hot_spots[c.timezone]) + timedelta(seconds=rng.randrange(4 * 3600))
        else:  # anywhere in 2026-2027
            at = utc(2026, 1, 1) + timedelta(seconds=rng.randrange(730 * 86400), microseconds=rng.randrange(10**6))
        expected = _brute_force(c, at)
        assert expected, (expression, c.timezone, at)
        assert chain(c, at, len(expected)) == expected, (expression, c.timezone, at)


# --- durations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)),
    ("15m", timedelta(minutes=15)),
    ("2h", timedelta(hours=2)),
    ("3d", timedelta(days=3)),
    ("1w", timedelta(weeks=1)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    (" 2H ", timedelta(hours=2)),
    ("PT2H", timedelta(hours=2)),
    ("P3D", timedelta(days=3)),
    ("P1DT12H", timedelta(days=1, hours=12)),
    ("PT90M", timedelta(minutes=90)),
    ("PT45S", timedelta(seconds=45)),
    ("P2W", timedelta(weeks=2)),
    ("pt1h30m", timedelta(hours=1, minutes=30)),
    ("365d", timedelta(days=365)),
    ("1s", timedelta(seconds=1)),
])
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["abc", "", "90", "30m1h", "1.5h", "P", "PT", "P1DT", "P1M", "P1Y", "-5m",
                                  "1h 30m", "2 hours", "PT2H30", "1" * 50 + "s"])
def test_parse_duration_rejects_text(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == f"{text!r} is not a duration: use 30m, 2h, 3d, 1h30m or ISO 8601 like PT2H"


@pytest.mark.parametrize("text", ["0s", "0m", "PT0S", "366d", "53w", "P400D", "9999999h"])
def test_parse_duration_range(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == "duration must be between 1 second and 365 days"


# --- next_local_time ----------------------------------------------------------------------------------------


def test_next_local_time_later_same_day() -> None:
    assert next_local_time(utc(2026, 3, 2, 11, 0), "09:00", BA) == utc(2026, 3, 2, 12, 0)


def test_next_local_time_next_day_when_passed_or_equal() -> None:
    assert next_local_time(utc(2026, 3, 2, 12, 0), "09:00", BA) == utc(2026, 3, 3, 12, 0)
    assert next_local_time(utc(2026, 3, 2, 13, 0), "09:00", BA) == utc(2026, 3, 3, 12, 0)


def test_next_local_time_weekdays() -> None:
    friday_evening = utc(2026, 3, 6, 22, 0)  # 19:00 Friday in Buenos Aires
    weekdays = frozenset({0, 1, 2, 3, 4})
    assert next_local_time(friday_evening, "09:00", BA, weekdays=weekdays) == utc(2026, 3, 9, 12, 0)
    assert next_local_time(friday_evening, "09:00", BA, weekdays=frozenset({6})) == utc(2026, 3, 8, 12, 0)
    assert next_local_time(friday_evening, "20:30", BA, weekdays=frozenset({4})) == utc(2026, 3, 6, 23, 30)


def test_next_local_time_dst() -> None:
    assert next_local_time(utc(2026, 3, 28, 12), "02:30", MADRID) == utc(2026, 3, 30, 0, 30)  # gap skipped
    assert next_local_time(utc(2026, 10, 24, 12), "02:30", MADRID) == utc(2026, 10, 25, 0, 30)  # first one
    assert next_local_time(utc(2026, 10, 25, 0, 30), "02:30", MADRID) == utc(2026, 10, 26, 1, 30)
    assert next_local_time(utc(2026, 3, 27, 12), "09:00", MADRID) == utc(2026, 3, 28, 8)
    assert next_local_time(utc(2026, 3, 28, 12), "09:00", MADRID) == utc(2026, 3, 29, 7)


@pytest.mark.parametrize("hhmm", ["24:00", "9", "09:60", "0900", "09:00:00", "", "ab:cd", "-1:00", "9:5"])
def test_next_local_time_bad_hhmm(hhmm: str) -> None:
    with pytest.raises(ValueError, match="is not a time of day"):
        next_local_time(utc(2026, 1, 1), hhmm, "UTC")


def test_next_local_time_accepts_single_digit_hour() -> None:
    assert next_local_time(utc(2026, 1, 1), "9:05", "UTC") == utc(2026, 1, 1, 9, 5)


def test_next_local_time_bad_zone_and_weekdays() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Nowhere/City'"):
        next_local_time(utc(2026, 1, 1), "09:00", "Nowhere/City")
    with pytest.raises(ValueError, match="weekdays is empty"):
        next_local_time(utc(2026, 1, 1), "09:00", "UTC", weekdays=frozenset())
    with pytest.raises(ValueError, match=r"weekdays must be 0 \(Monday\) to 6 \(Sunday\), got \[7\]"):
        next_local_time(utc(2026, 1, 1), "09:00", "UTC", weekdays=frozenset({7}))


# --- local_minutes ------------------------------------------------------------------------------------------


def test_local_minutes() -> None:
    assert local_minutes(utc(2026, 3, 2, 12, 30), BA) == (0, 9 * 60 + 30)  # Monday 09:30
    assert local_minutes(utc(2026, 3, 2, 2, 15), BA) == (6, 23 * 60 + 15)  # still Sunday 23:15 locally
    assert local_minutes(utc(2026, 7, 1, 22, 5, 59), MADRID) == (3, 5)  # Thursday 00:05 CEST
    assert local_minutes(utc(2026, 1, 1, 0, 0), "UTC") == (3, 0)


def test_local_minutes_errors() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        local_minutes(utc(2026, 1, 1), "Bogus")
    with pytest.raises(ValueError, match="timezone-aware"):
        local_minutes(datetime(2026, 1, 1), "UTC")
