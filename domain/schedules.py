"""Recurring schedules for silences: weekdays, times of day and date ranges, in Beijing time.

Written the way a duty office says it: ``周一 09:00-11:00`` (the petition office's reception morning),
``工作日 08:00-09:00; 周六 10:00-12:00``, ``每天 22:00-06:00 2026-02-10~2026-02-24`` (nights of the
Spring Festival fortnight). A spec is one or more ``;``-separated parts, each: a weekday list (``周一``…
``周日``, ``星期一``…, ``mon``…``sun``, ``工作日``, ``周末``, ``每天``, joined by ``,``/``、`` or as a
range ``周一-周五``), a time window ``HH:MM-HH:MM`` (an end before the start runs past midnight: the
small hours belong to the day the window began), and optional date ranges ``YYYY-MM-DD~YYYY-MM-DD``
(inclusive, the day the window begins).

Times are Asia/Shanghai. China has kept no daylight saving since 1991, so the fixed offset UTC+8 is exact
for every date this system deals with (and the property tests check it against the tz database).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml

from domain.beijing import BEIJING
from domain.messages import N_, Message, message_of

_DAY_NAMES = {
    **{n: i for i, n in enumerate(("周一", "周二", "周三", "周四", "周五", "周六", "周日"))},
    **{n: i for i, n in enumerate(("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"))},
    **{n: i for i, n in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    "周天": 6, "星期天": 6,
}
_GROUPS = {"每天": tuple(range(7)), "daily": tuple(range(7)), "工作日": tuple(range(5)), "weekdays": tuple(range(5)),
           "周末": (5, 6), "weekends": (5, 6)}
_CANON = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DATES = re.compile(r"^(\d{4}-\d{2}-\d{2})~(\d{4}-\d{2}-\d{2})$")


class ScheduleError(ValueError):
    """A schedule spec that cannot be read; the message (Chinese) says what is expected."""


@dataclass(frozen=True)
class Window:
    """One part of a schedule: on these weekdays (0 = Monday), from ``start`` to ``end`` (Beijing time;
    ``end`` <= ``start`` runs past midnight), on days within one of ``dates`` (none: any day)."""

    days: frozenset[int]
    start: time
    end: time
    dates: tuple[tuple[date, date], ...] = ()

    def _began_on(self, day: date) -> bool:
        """True if a window beginning on ``day`` is part of the schedule."""
        return day.weekday() in self.days and (not self.dates or any(a <= day <= b for a, b in self.dates))

    def covers(self, at: datetime) -> bool:
        """True if ``at`` (timezone-aware) falls in this window."""
        local = at.astimezone(BEIJING)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end and self._began_on(local.date())
        # Past midnight: the evening belongs to today's window, the small hours to yesterday's.
        return (clock >= self.start and self._began_on(local.date())) or (
            clock < self.end and self._began_on(local.date() - timedelta(days=1)))

    def text(self) -> str:
        """The canonical spec of this window."""
        days = "每天" if len(self.days) == 7 else ",".join(_CANON[d] for d in sorted(self.days))
        end = "24:00" if self.end == time(0, 0) else f"{self.end:%H:%M}"  # midnight ends the day it began
        parts = [days, f"{self.start:%H:%M}-{end}"]
        parts += [f"{a.isoformat()}~{b.isoformat()}" for a, b in self.dates]
        return " ".join(parts)


@dataclass(frozen=True)
class Schedule:
    """A recurring schedule: covered when any of its windows covers the instant."""

    windows: tuple[Window, ...]

    def covers(self, at: datetime) -> bool:
        """True if ``at`` (timezone-aware) is inside the schedule."""
        return any(w.covers(at) for w in self.windows)

    def text(self) -> str:
        """The canonical spec (``parse_schedule(s.text()) == s``)."""
        return "; ".join(w.text() for w in self.windows)


def _days(token: str) -> frozenset[int]:
    out: set[int] = set()
    for item in re.split(r"[,，、]", token):
        item = item.strip().lower() if item.isascii() else item.strip()
        if item in _GROUPS:
            out.update(_GROUPS[item])
        elif "-" in item and all(x in _DAY_NAMES for x in item.split("-", 1)):
            a, b = (_DAY_NAMES[x] for x in item.split("-", 1))
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif item in _DAY_NAMES:
            out.add(_DAY_NAMES[item])
        else:
            raise ScheduleError(Message(N_("看不懂的星期 {item}：请写 周一…周日、工作日、周末 或 每天"),
                                        item=repr(item)))
    return frozenset(out)


def _window(part: str) -> Window:
    tokens = part.split()
    if len(tokens) < 2:
        raise ScheduleError(Message(N_("时间段 {part} 不完整：请写 星期 时间，例如 周一 09:00-11:00"), part=repr(part)))
    found = _TIME.match(tokens[1])
    if not found:
        raise ScheduleError(Message(N_("看不懂的时间 {text}：请写 HH:MM-HH:MM，例如 09:00-11:00"),
                                    text=repr(tokens[1])))
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ScheduleError(Message(N_("时间 {text} 超出范围：小时 0-23，分钟 0-59"), text=repr(tokens[1])))
    start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
    if start == end and h2 != 24:
        raise ScheduleError(Message(N_("时间段 {text} 长度为零：开始与结束不能相同"), text=repr(tokens[1])))
    dates = []
    for token in tokens[2:]:
        span = _DATES.match(token)
        if not span:
            raise ScheduleError(Message(N_("看不懂的日期范围 {text}：请写 2026-02-10~2026-02-24"), text=repr(token)))
        try:
            a, b = date.fromisoformat(span.group(1)), date.fromisoformat(span.group(2))
        except ValueError:
            raise ScheduleError(Message(N_("日期 {text} 不存在：请核对年月日（如 2 月 29 日只在闰年）"),
                                        text=repr(token))) from None
        if b < a:
            raise ScheduleError(Message(N_("日期范围 {text} 结束早于开始"), text=repr(token)))
        dates.append((a, b))
    return Window(days=_days(tokens[0]), start=start, end=end, dates=tuple(dates))


def parse_schedule(spec: str) -> Schedule:
    """Read a schedule spec (see the module docstring); :class:`ScheduleError` names what is wrong."""
    parts = [p.strip() for p in re.split(r"[;；]", spec) if p.strip()]
    if not parts:
        raise ScheduleError(Message(N_("静默时间表为空：请写如 周一 09:00-11:00")))
    return Schedule(tuple(_window(p) for p in parts))


def load_named_schedules(path: Path) -> dict[str, Schedule]:
    """Named schedules from a YAML mapping ``name: spec`` (safe loader); a missing file names none.
    A bad spec raises :class:`ScheduleError` naming the file and the schedule."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ScheduleError(Message(N_("{path}: 须为 名称: 时间表 的映射"), path=str(path)))
    out: dict[str, Schedule] = {}
    for name, spec in data.items():
        try:
            out[str(name)] = parse_schedule(str(spec))
        except ScheduleError as exc:
            raise ScheduleError(Message(N_("{path}: 时间表 {name}: {reason}"), path=str(path), name=name,
                                        reason=message_of(exc) or str(exc))) from None
    return out


def resolve_schedule(text: str, named: dict[str, Schedule]) -> Schedule:
    """``--schedule``: a name from the schedules file, else a spec written out."""
    return named[text] if text in named else parse_schedule(text)
