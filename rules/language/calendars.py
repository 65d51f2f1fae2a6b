"""Calendars: named sensitive periods as inclusive date ranges in Asia/Shanghai.

``rules/calendars.yaml`` maps a period name to a list of ``{from: DATE, to: DATE}`` ranges. A record's
``periods`` field is the sorted names of the periods whose ranges contain its ``at``, read as a
Shanghai calendar date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.beijing import BEIJING
from domain.messages import N_, Message
from rules.language.positions import LanguageError, key_line, line_of

PERIOD_NAME = re.compile(r"^[a-z0-9-]+$")


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of Shanghai calendar dates."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Calendars:
    """Named periods. ``periods_at`` answers which contain an instant."""

    periods: Mapping[str, tuple[DateRange, ...]] = field(default_factory=dict)

    def periods_at(self, at: datetime) -> tuple[str, ...]:
        """Sorted names of the periods containing ``at`` (an aware datetime), by its Shanghai date."""
        if at.tzinfo is None:
            raise ValueError("periods_at needs a timezone-aware datetime")
        day = at.astimezone(BEIJING).date()
        return tuple(sorted(name for name, ranges in self.periods.items() if any(day in r for r in ranges)))

    @property
    def names(self) -> frozenset[str]:
        """Every period name."""
        return frozenset(self.periods)

    @staticmethod
    def looks_like(data: Any) -> bool:
        """True if parsed YAML has the calendars shape (every value a list of from/to maps)."""
        return (
            isinstance(data, Mapping)
            and bool(data)
            and all(
                isinstance(v, list) and v and all(isinstance(r, Mapping) and "from" in r for r in v)
                for v in data.values()
            )
        )

    @classmethod
    def from_mapping(cls, data: Any) -> Calendars:
        """Build from parsed YAML; :class:`LanguageError` with a line for a malformed entry."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise LanguageError(Message(N_("时段文件把时段名称对应到 {from, to} 的列表")), line_of(data, 1))
        periods: dict[str, tuple[DateRange, ...]] = {}
        for name, ranges in data.items():
            here = key_line(data, name, 1)
            if not isinstance(name, str) or not PERIOD_NAME.match(name):
                raise LanguageError(Message(N_("时段名称须符合 [a-z0-9-]+，收到 {name}"), name=repr(name)), here)
            if not isinstance(ranges, list) or not ranges:
                raise LanguageError(Message(N_("时段 '{name}' 须为 {{from: DATE, to: DATE}} 的列表"), name=name), here)
            out = []
            for i, item in enumerate(ranges):
                iline = key_line(ranges, i, here)
                if not isinstance(item, Mapping) or set(item) != {"from", "to"}:
                    raise LanguageError(Message(N_(
                            "时段 '{name}'：每个范围写作 {{from: DATE, to: DATE}}"), name=name), iline)
                start, end = item["from"], item["to"]
                if type(start) is not date or type(end) is not date:
                    raise LanguageError(Message(N_("时段 '{name}'：from/to 须为日期，如 2026-01-17"), name=name), iline)
                if end < start:
                    msg = Message(N_(
                            "时段 '{name}'：范围的结束（{end}）早于开始（{start}）"), name=name, end=end, start=start)
                    raise LanguageError(msg, iline)
                out.append(DateRange(start, end))
            periods[name] = tuple(out)
        return cls(periods)
