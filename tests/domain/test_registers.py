"""Care categories (local policy as data) and the days visits fall due: property-tested."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.registers import (
    CareCategories,
    CategoriesError,
    due_dates,
    due_id,
    parse_interval,
    parse_register_date,
)
from integrations.settings import PACKAGE_ROOT

POLICY = PACKAGE_ROOT / "integrations" / "data" / "care_categories.yaml"


def test_the_shipped_policy_loads_with_the_brief_categories() -> None:
    cats = CareCategories.load(POLICY)
    assert cats.get("community_corrections").interval_days == 7
    assert cats.get("released_resettlement").title == "刑满释放安置帮教"
    assert cats.get("severe_mental_disorder").interval_days == 14
    assert {"left_behind_elderly", "left_behind_children", "living_alone_elderly"} <= set(cats.by_key)
    assert "local policy" in POLICY.read_text(encoding="utf-8").lower()


def test_a_category_is_found_by_key_title_or_alias() -> None:
    cats = CareCategories.load(POLICY)
    assert cats.resolve("社区矫正对象") == cats.resolve(" community_corrections ") == cats.resolve("社区矫正")
    assert cats.resolve("社区矫正对象") is not None
    assert cats.resolve("低保户") is None


@pytest.mark.parametrize(("data", "words"), [
    ({}, "categories"),
    ({"categories": [{"key": "Bad-Key", "title": "x", "interval": "7d"}]}, "key"),
    ({"categories": [{"key": "a", "title": "甲", "interval": "7x"}]}, "interval"),
    ({"categories": [{"key": "a", "title": "甲", "interval": "0d"}]}, "interval"),
    ({"categories": [{"key": "a", "title": "", "interval": "7d"}]}, "title"),
    ({"categories": [{"key": "a", "title": "甲", "interval": "7d", "colour": "red"}]}, "colour"),
    ({"categories": [{"key": "a", "title": "甲", "interval": "7d"}, {"key": "a", "title": "乙", "interval": "7d"}]},
     "重复"),
    ({"categories": [{"key": "a", "title": "甲", "interval": "7d"}, {"key": "b", "title": "甲", "interval": "7d"}]},
     "已属于"),
])
def test_bad_policy_files_are_refused_saying_what(data: object, words: str) -> None:
    with pytest.raises(CategoriesError, match=words):
        CareCategories.from_mapping(data)


def test_intervals_in_days_or_weeks() -> None:
    assert parse_interval("7d") == 7 and parse_interval("2w") == 14 and parse_interval(30) == 30


@pytest.mark.parametrize(("text", "day"), [
    ("2026-01-05", date(2026, 1, 5)), ("2026/1/5", date(2026, 1, 5)), ("2026.01.05", date(2026, 1, 5)),
    ("2026年1月5日", date(2026, 1, 5)), ("20260105", date(2026, 1, 5)), ("２０２６-０１-０５", date(2026, 1, 5)),
    ("2026-01-05 00:00:00", date(2026, 1, 5)), (datetime(2026, 1, 5, 8), date(2026, 1, 5)), ("", None), (None, None),
])
def test_dates_as_departments_write_them(text: object, day: date | None) -> None:
    assert parse_register_date(text) == day


@pytest.mark.parametrize("text", ["2026-02-30", "05/01/2026", "下周一", "2026-13-01"])
def test_unreadable_dates_are_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_register_date(text)


def test_due_days_start_on_the_start_date_and_stop_at_the_end() -> None:
    days = due_dates(date(2026, 1, 1), date(2026, 1, 15), 7, date(2025, 12, 1), date(2026, 3, 1))
    assert days == [date(2026, 1, 1), date(2026, 1, 8), date(2026, 1, 15)]
    assert due_id(12, date(2026, 1, 8)) == "due-12-20260108"


DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@given(start=DAYS, length=st.none() | st.integers(0, 400), interval=st.integers(1, 60), first=DAYS,
       span=st.integers(0, 400), cut=st.integers(0, 400))
def test_due_days_are_the_schedule_inside_the_window_and_windows_split_cleanly(
        start: date, length: int | None, interval: int, first: date, span: int, cut: int) -> None:
    end = None if length is None else start + timedelta(days=length)
    last = first + timedelta(days=span)
    days = due_dates(start, end, interval, first, last)
    # Each is a visit day of the schedule, inside the window and the person's time in the register…
    for day in days:
        assert (day - start).days % interval == 0
        assert first <= day < last and day >= start and (end is None or day <= end)
    # …consecutive, none missed…
    assert all((b - a).days == interval for a, b in pairwise(days))
    brute = [start + timedelta(days=k * interval) for k in range(0, 2000)]
    assert days == [d for d in brute if first <= d < last and (end is None or d <= end)]
    # …and two windows side by side give the days of the whole, once each.
    middle = first + timedelta(days=min(cut, span))
    assert due_dates(start, end, interval, first, middle) + due_dates(start, end, interval, middle, last) == days
