"""Recurring schedules in Beijing time: parsing, windows past midnight, date ranges across month ends and
leap days; property-checked against the tz database's Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.beijing import BEIJING
from domain.schedules import Schedule, ScheduleError, Window, parse_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
# China observed daylight saving until 1991; from 1992 on Asia/Shanghai is UTC+8 all year.
INSTANTS = st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2100, 12, 31),
                        timezones=st.just(UTC))


def bj(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BEIJING)


def test_reception_morning() -> None:
    s = parse_schedule("周一 09:00-11:00")
    assert s.covers(bj(2026, 1, 5, 9, 0)) and s.covers(bj(2026, 1, 5, 10, 59))  # a Monday
    assert not s.covers(bj(2026, 1, 5, 11, 0)) and not s.covers(bj(2026, 1, 6, 9, 30))
    assert s.covers(datetime(2026, 1, 5, 1, 30, tzinfo=UTC))  # 09:30 in Beijing


def test_overnight_belongs_to_the_day_it_began() -> None:
    s = parse_schedule("周五 22:00-06:00")
    assert s.covers(bj(2026, 1, 9, 23)) and s.covers(bj(2026, 1, 10, 5, 59))  # Friday night, Saturday 05:59
    assert not s.covers(bj(2026, 1, 9, 5)) and not s.covers(bj(2026, 1, 10, 22, 30))


def test_date_ranges_across_a_leap_day_and_a_month_end() -> None:
    s = parse_schedule("每天 20:00-02:00 2028-02-28~2028-02-29")
    assert s.covers(bj(2028, 2, 29, 21)) and s.covers(bj(2028, 3, 1, 1, 59))  # Feb 29's night runs into March
    assert not s.covers(bj(2028, 3, 1, 21)) and not s.covers(bj(2028, 2, 28, 1))
    with pytest.raises(ScheduleError, match="闰年"):
        parse_schedule("每天 09:00-10:00 2027-02-29~2027-03-01")


@pytest.mark.parametrize("monday", [date(2026, 1, 5), date(2026, 3, 9), date(2026, 3, 30), date(2026, 7, 6),
                                    date(2026, 10, 26), date(2026, 11, 2), date(2028, 2, 28)])
def test_no_daylight_saving_a_beijing_window_keeps_its_utc_hours_all_year(monday: date) -> None:
    """Asia/Shanghai has been UTC+8 all year since 1992: a Monday 00:00-08:00 window is Sunday 16:00 to
    Monday 00:00 UTC in winter, in summer and in the weeks Europe and America change their clocks, across
    the UTC date line of the Beijing day."""
    s = parse_schedule("周一 00:00-08:00")
    start = datetime.combine(monday - timedelta(days=1), time(16, 0), UTC)
    assert SHANGHAI.utcoffset(start.replace(tzinfo=None)) == timedelta(hours=8)
    assert s.covers(start) and s.covers(start + timedelta(hours=7, minutes=59))
    assert not s.covers(start - timedelta(minutes=1)) and not s.covers(start + timedelta(hours=8))


@pytest.mark.parametrize("spec", ["", "周一", "周八 09:00-10:00", "周一 9-10", "周一 25:00-26:00",
                                  "周一 09:00-09:00", "周一 09:00-10:00 2026-03-01~2026-02-01"])
def test_bad_specs_say_what_is_expected(spec: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(spec)


def test_groups_ranges_and_names() -> None:
    assert parse_schedule("工作日 08:00-09:00").windows[0].days == frozenset(range(5))
    assert parse_schedule("周六-周一 08:00-09:00").windows[0].days == frozenset({5, 6, 0})
    assert parse_schedule("mon,星期三、周五 08:00-09:00").text() == "周一,周三,周五 08:00-09:00"
    assert parse_schedule("每天 00:00-24:00").covers(bj(2026, 7, 1, 23, 59))


WINDOWS = st.builds(
    Window,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start=st.times().map(lambda t: time(t.hour, t.minute)),
    end=st.times().map(lambda t: time(t.hour, t.minute)),
    dates=st.lists(st.tuples(st.dates(date(1992, 1, 1), date(2100, 1, 1)), st.integers(0, 70)).map(
        lambda p: (p[0], p[0] + timedelta(days=p[1]))), max_size=2).map(tuple),
).filter(lambda w: w.start != w.end or w.end == time(0, 0))
SCHEDULES = st.lists(WINDOWS, min_size=1, max_size=3).map(lambda ws: Schedule(tuple(ws)))


def reference(s: Schedule, at: datetime) -> bool:
    """An independent reading: the tz database's wall clock, minute by minute back to the window's start."""
    local = at.astimezone(SHANGHAI)
    for w in s.windows:
        for back in (0, 1):
            day = local.date() - timedelta(days=back)
            began = datetime.combine(day, w.start, SHANGHAI)
            length = (datetime.combine(date.min, w.end) - datetime.combine(date.min, w.start)) % timedelta(days=1)
            length = length or timedelta(days=1)
            in_dates = not w.dates or any(a <= day <= b for a, b in w.dates)
            if day.weekday() in w.days and in_dates and began <= local < began + length:
                return True
    return False


@given(SCHEDULES, INSTANTS)
def test_matches_the_tz_database_reading(s: Schedule, at: datetime) -> None:
    assert s.covers(at) == reference(s, at)


@given(SCHEDULES, INSTANTS)
def test_text_round_trips(s: Schedule, at: datetime) -> None:
    again = parse_schedule(s.text())
    assert again.text() == s.text() and again.covers(at) == s.covers(at)


@given(SCHEDULES.map(lambda s: Schedule(tuple(Window(w.days, w.start, w.end) for w in s.windows))), INSTANTS)
def test_without_dates_a_schedule_repeats_weekly(s: Schedule, at: datetime) -> None:
    assert s.covers(at) == s.covers(at + timedelta(days=7)) == s.covers(at - timedelta(weeks=53))


@given(st.dates(date(1992, 1, 1), date(2099, 12, 1)), st.integers(0, 23))
def test_month_ends_and_leap_days_in_a_date_range(first: date, hour: int) -> None:
    last = (first.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)  # month end
    s = parse_schedule(f"每天 {hour:02d}:00-{hour:02d}:30 {first.isoformat()}~{last.isoformat()}")
    inside = datetime.combine(last, time(hour, 10), BEIJING)
    after = datetime.combine(last + timedelta(days=1), time(hour, 10), BEIJING)
    assert s.covers(inside) and not s.covers(after)
