"""The period of a 考核 report: an ISO week (Monday–Sunday) or a calendar month, in Beijing time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from domain.beijing import BEIJING
from domain.messages import N_, Message
from domain.situation.views import local_date

PeriodKind = Literal["week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("week", "month")


@dataclass(frozen=True)
class Period:
    """Local days ``first`` … ``last`` (inclusive) in :data:`BEIJING`."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """Midnight opening the first day (aware)."""
        return datetime.combine(self.first, time(0), tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        """Midnight closing the last day (exclusive, aware)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=BEIJING)

    def contains(self, at: datetime | None) -> bool:
        """True if ``at`` (aware) lies within the period."""
        return at is not None and self.start <= at < self.end

    @property
    def slug(self) -> str:
        """For file names: ``2026-W49`` or ``2026-11``."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        """In Chinese: ``2026年第49周（11月30日至12月06日）`` or ``2026年11月``."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return (f"{year}年第{week}周（{self.first:%m}月{self.first:%d}日至"
                    f"{self.last:%m}月{self.last:%d}日）")
        return f"{self.first.year}年{self.first.month}月"

    @property
    def chinese_kind(self) -> str:
        """周 or 月."""
        return "周" if self.kind == "week" else "月"


def period_containing(kind: PeriodKind, day: date) -> Period:
    """The week (Monday first) or calendar month that contains ``day``."""
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period("week", monday, monday + timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period("month", first, following - timedelta(days=1))
    raise ValueError(Message(N_("未知的周期 {kind}：请用 week 或 month"), kind=repr(kind)))


def last_complete(kind: PeriodKind, now: datetime) -> Period:
    """The latest period that ended by ``now`` (aware): last week, or last month."""
    current = period_containing(kind, local_date(now))
    return period_containing(kind, current.first - timedelta(days=1))
