"""Business hours: open/closed at the edges, holidays in local time, daylight saving, the next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.models.contact_center import Schedule, TimeRange
from shared.services.schedule import check_zone, is_open, local_day, next_open

BA = "America/Argentina/Buenos_Aires"  # UTC-3 all year


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(*ranges: tuple[str, str]) -> list[TimeRange]:
    return [TimeRange(start=start, end=end) for start, end in ranges]


def office(time_zone: str = BA, holidays: list[date] | None = None) -> Schedule:
    """Monday to Friday, 09:00-18:00."""
    day = hours(("09:00", "18:00"))
    return Schedule(time_zone=time_zone, weekly=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), day),
                    holidays=holidays or [])


# --- check_zone ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [BA, "UTC", "America/New_York", "America/Santiago", "Etc/GMT+3", "Asia/Tokyo"])
def test_check_zone_returns_a_valid_iana_name(name: str) -> None:
    assert check_zone(name) == name


@pytest.mark.parametrize("name", ["", "../etc", "../../etc/passwd", "/etc/passwd", "America", "America/",
                                  "Mars/Olympus_Mons", "utc", " UTC", "America/New_York\x00", "leapseconds",
                                  "zone.tab", "America/../Europe/Paris", "A" * 200])
def test_check_zone_rejects_unknown_names_and_paths(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        check_zone(name)


def test_schedule_model_rejects_an_unknown_zone() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Schedule(time_zone="Mars/Olympus_Mons")


# --- is_open ------------------------------------------------------------------------------------------------

def test_start_is_inclusive_and_end_is_exclusive() -> None:
    schedule = office()  # 2024-06-03 is a Monday; 09:00 in Buenos Aires is 12:00 UTC
    assert not is_open(schedule, utc(2024, 6, 3, 11, 59, 59))
    assert is_open(schedule, utc(2024, 6, 3, 12, 0))
    assert is_open(schedule, utc(2024, 6, 3, 20, 59, 59))
    assert not is_open(schedule, utc(2024, 6, 3, 21, 0))


def test_the_local_time_decides_not_the_utc_time() -> None:
    # 2024-06-04 01:00 UTC is still Monday 22:00 in Buenos Aires: closed, although 01:00 UTC is a Tuesday
    assert not is_open(office(), utc(2024, 6, 4, 1, 0))
    # the same instant in Tokyo is Tuesday 10:00: open
    assert is_open(office("Asia/Tokyo"), utc(2024, 6, 4, 1, 0))


def test_a_day_missing_from_the_weekly_map_is_closed() -> None:
    assert not is_open(office(), utc(2024, 6, 8, 15, 0))  # Saturday noon
    assert not is_open(office(), utc(2024, 6, 9, 15, 0))  # Sunday noon


def test_a_range_ending_at_24_00_is_open_until_midnight() -> None:
    schedule = Schedule(time_zone=BA, weekly={"sat": hours(("20:00", "24:00"))})  # 2024-06-08 is a Saturday
    assert is_open(schedule, utc(2024, 6, 9, 2, 59, 59))  # Saturday 23:59:59 local
    assert not is_open(schedule, utc(2024, 6, 9, 3, 0))  # Sunday 00:00 local


def test_several_ranges_in_a_day_leave_the_gap_closed() -> None:
    split = hours(("09:00", "13:00"), ("14:00", "18:00"))
    schedule = Schedule(time_zone=BA, weekly={"mon": split})
    assert is_open(schedule, utc(2024, 6, 3, 15, 59))  # 12:59
    assert not is_open(schedule, utc(2024, 6, 3, 16, 30))  # 13:30
    assert is_open(schedule, utc(2024, 6, 3, 17, 0))  # 14:00


def test_no_hours_at_all_means_always_open_except_on_holidays() -> None:
    schedule = Schedule(time_zone=BA, holidays=[date(2024, 7, 9)])
    assert is_open(schedule, utc(2024, 7, 8, 12, 0))
    assert is_open(schedule, utc(2024, 7, 9, 2, 59))  # still July 8 locally
    assert not is_open(schedule, utc(2024, 7, 9, 3, 0))  # July 9 00:00 locally
    assert not is_open(schedule, utc(2024, 7, 10, 2, 59))  # July 9 23:59 locally
    assert is_open(schedule, utc(2024, 7, 10, 3, 0))


def test_a_holiday_is_closed_all_day_in_local_time() -> None:
    # 2024-01-01 15:00 UTC is already Tuesday 2 January 00:00 in Tokyo
    schedule = Schedule(time_zone="Asia/Tokyo", weekly={"tue": hours(("00:00", "24:00"))},
                        holidays=[date(2024, 1, 2)])
    assert not is_open(schedule, utc(2024, 1, 1, 15, 0))
    assert not is_open(schedule, utc(2024, 1, 2, 3, 0))
    open_without_holiday = schedule.model_copy(update={"holidays": []})
    assert is_open(open_without_holiday, utc(2024, 1, 1, 15, 0))


def test_local_hours_follow_daylight_saving() -> None:
    schedule = office("America/New_York")  # 09:00 is 14:00 UTC in winter (EST) and 13:00 UTC in summer (EDT)
    assert is_open(schedule, utc(2024, 3, 8, 14, 0))  # Friday before the change
    assert not is_open(schedule, utc(2024, 3, 8, 13, 0))
    assert is_open(schedule, utc(2024, 3, 11, 13, 0))  # Monday after the change
    assert not is_open(schedule, utc(2024, 3, 11, 12, 59))


def test_a_repeated_local_hour_is_open_both_times() -> None:
    # Santiago goes back from Saturday 2024-04-06 23:59:59 (-03) to 23:00 (-04) at 03:00 UTC
    schedule = Schedule(time_zone="America/Santiago", weekly={"sat": hours(("23:00", "24:00"))})
    assert not is_open(schedule, utc(2024, 4, 7, 1, 59))
    assert is_open(schedule, utc(2024, 4, 7, 2, 0))  # 23:00 -03
    assert is_open(schedule, utc(2024, 4, 7, 3, 30))  # 23:30 -04
    assert not is_open(schedule, utc(2024, 4, 7, 4, 0))  # Sunday 00:00 -04


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(office(), datetime(2024, 6, 3, 12, 0))


# --- next_open ----------------------------------------------------------------------------------------------

def test_next_open_is_now_when_open() -> None:
    at = datetime(2024, 6, 3, 9, 30, tzinfo=ZoneInfo(BA))  # Monday 09:30 local
    result = next_open(office(), at)
    assert result == at
    assert result is not None and result.utcoffset() == timedelta(0)


def test_next_open_later_the_same_day() -> None:
    assert next_open(office(), utc(2024, 6, 3, 10, 0)) == utc(2024, 6, 3, 12, 0)


def test_next_open_after_a_lunch_break() -> None:
    schedule = Schedule(time_zone=BA, weekly={"mon": hours(("09:00", "13:00"), ("14:00", "18:00"))})
    assert next_open(schedule, utc(2024, 6, 3, 16, 0)) == utc(2024, 6, 3, 17, 0)


def test_next_open_skips_the_weekend() -> None:
    # Friday 2024-06-07 18:00 local (closing time) -> Monday 09:00 local
    assert next_open(office(), utc(2024, 6, 7, 21, 0)) == utc(2024, 6, 10, 12, 0)


def test_next_open_skips_weekend_and_holidays() -> None:
    schedule = office(holidays=[date(2024, 7, 8), date(2024, 7, 9)])  # Monday and Tuesday
    assert next_open(schedule, utc(2024, 7, 5, 22, 0)) == utc(2024, 7, 10, 12, 0)


def test_next_open_after_a_holiday_with_no_hours_is_local_midnight() -> None:
    schedule = Schedule(time_zone=BA, holidays=[date(2024, 7, 9)])
    assert next_open(schedule, utc(2024, 7, 9, 15, 0)) == utc(2024, 7, 10, 3, 0)


def test_next_open_across_a_daylight_saving_change() -> None:
    # New York moves its clocks forward on Sunday 2024-03-10: Friday's 09:00 was 14:00 UTC, Monday's is 13:00
    assert next_open(office("America/New_York"), utc(2024, 3, 8, 23, 0)) == utc(2024, 3, 11, 13, 0)
    # and back on Sunday 2024-11-03: Friday's 09:00 was 13:00 UTC, Monday's is 14:00
    assert next_open(office("America/New_York"), utc(2024, 11, 1, 22, 0)) == utc(2024, 11, 4, 14, 0)


def test_next_open_when_the_opening_time_does_not_exist() -> None:
    # Santiago jumps from Saturday 2024-09-07 23:59:59 (-04) to Sunday 01:00 (-03) at 04:00 UTC: Sunday has no
    # 00:00, so a Sunday opening at 00:00 happens at the jump
    schedule = Schedule(time_zone="America/Santiago", weekly={"sun": hours(("00:00", "12:00"))})
    assert next_open(schedule, utc(2024, 9, 7, 12, 0)) == utc(2024, 9, 8, 4, 0)
    # New York has no 02:30 on 2024-03-10: an opening at 02:30 happens at 03:00 EDT (07:00 UTC)
    schedule = Schedule(time_zone="America/New_York", weekly={"sun": hours(("02:30", "05:00"))})
    assert next_open(schedule, utc(2024, 3, 10, 5, 0)) == utc(2024, 3, 10, 7, 0)


def test_next_open_when_the_clock_goes_back_into_the_hours() -> None:
    # New York goes back from 01:59:59 EDT to 01:00 EST at 06:00 UTC on 2024-11-03: 01:00-01:30 happens twice
    schedule = Schedule(time_zone="America/New_York", weekly={"sun": hours(("01:00", "01:30"))})
    assert next_open(schedule, utc(2024, 11, 3, 4, 0)) == utc(2024, 11, 3, 5, 0)  # 01:00 EDT
    assert next_open(schedule, utc(2024, 11, 3, 5, 45)) == utc(2024, 11, 3, 6, 0)  # 01:00 EST
    later = Schedule(time_zone="America/New_York", weekly={"sun": hours(("01:30", "01:45"))})
    assert next_open(later, utc(2024, 11, 3, 5, 50)) == utc(2024, 11, 3, 6, 30)  # 01:30 EST, the second time


def test_next_open_is_none_when_never_open() -> None:
    assert next_open(Schedule(time_zone=BA, weekly={"mon": []}), utc(2024, 6, 3, 12, 0)) is None


def test_next_open_is_none_beyond_370_days() -> None:
    start = date(2024, 6, 3)
    every_day = [start + timedelta(days=i) for i in range(372)]
    schedule = Schedule(time_zone=BA, holidays=every_day)
    assert next_open(schedule, utc(2024, 6, 3, 12, 0)) is None
    schedule = Schedule(time_zone=BA, holidays=every_day[:300])
    assert next_open(schedule, utc(2024, 6, 3, 12, 0)) == datetime(2025, 3, 30, 3, 0, tzinfo=UTC)


def test_next_open_looks_exactly_370_days_ahead() -> None:
    evenings = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), hours(("20:00", "21:00")))
    schedule = Schedule(time_zone=BA, weekly=evenings, holidays=[date(2024, 6, 3) + timedelta(days=i)
                                                                 for i in range(370)])
    # the first opening is 2025-06-08 20:00 local (23:00 UTC)
    assert next_open(schedule, utc(2024, 6, 3, 15, 0)) is None  # 370 days and 8 hours away
    assert next_open(schedule, utc(2024, 6, 4, 0, 30)) == utc(2025, 6, 8, 23, 0)  # 369 days and 22.5 hours away


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(["America/Santiago", "America/New_York", BA, "Asia/Tokyo"]),
    at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)),
    start=st.integers(min_value=0, max_value=23 * 60),
    length=st.integers(min_value=1, max_value=6 * 60),
    day=st.sampled_from(["mon", "sat", "sun"]),
)
def test_next_open_is_the_first_open_minute(zone: str, at: datetime, start: int, length: int, day: str) -> None:
    end = min(start + length, 24 * 60)
    schedule = Schedule(time_zone=zone, weekly={day: [TimeRange(start=_hhmm(start), end=_hhmm(end))]})
    result = next_open(schedule, at)
    assert result is not None and result >= at and is_open(schedule, result)
    if result > at:
        assert not is_open(schedule, result - timedelta(seconds=1))
        minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute < result:  # nothing in between was open
            assert not is_open(schedule, minute)
            minute += timedelta(minutes=1)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- local_day ----------------------------------------------------------------------------------------------

def test_local_day_is_the_date_in_the_zone() -> None:
    assert local_day("Asia/Tokyo", utc(2024, 1, 1, 15, 0)) == date(2024, 1, 2)
    assert local_day(BA, utc(2024, 1, 1, 2, 0)) == date(2023, 12, 31)
    assert local_day("UTC", utc(2024, 1, 1, 2, 0)) == date(2024, 1, 1)
