"""Registers (台账) of people to care for: the categories (local policy, as data) and when visits fall due.

A category (``integrations/data/care_categories.yaml``) has a key, a Chinese title and a visit interval.
A registered person is due a visit on their start date and every interval after it, up to their end date
(inclusive) or the day their entry was closed (exclusive). :func:`due_dates` gives those days inside a
half-open window of days, so consecutive windows give each due day exactly once.

Pure functions: no store, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from domain.messages import N_, Message, joined, message_of

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_INTERVAL = re.compile(r"^(\d+)([dw])$")


class CategoriesError(ValueError):
    """A categories file that cannot be used; the message (Chinese) says where and what to fix."""


@dataclass(frozen=True)
class CareCategory:
    """One category of people to care for."""

    key: str
    title: str
    interval_days: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CareCategories:
    """The categories in force, by key; :meth:`resolve` also accepts a title or an alias."""

    by_key: Mapping[str, CareCategory]

    @classmethod
    def from_mapping(cls, data: object) -> CareCategories:
        """Validate ``{"categories": [{key, title, interval, aliases?}, ...]}``; :class:`CategoriesError`."""
        items = data.get("categories") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise CategoriesError(Message(N_("类别文件须有非空的 categories 列表")))
        by_key: dict[str, CareCategory] = {}
        names: dict[str, str] = {}
        for i, item in enumerate(items, 1):
            category = _category(item, i)
            if category.key in by_key:
                raise CategoriesError(Message(N_("第 {i} 个类别：键 {key} 重复"), i=i, key=category.key))
            for name in (category.key, category.title, *category.aliases):
                if name in names and names[name] != category.key:
                    raise CategoriesError(Message(N_("第 {i} 个类别：名称「{name}」已属于类别 {other}"), i=i, name=name,
                                                  other=names[name]))
                names[name] = category.key
            by_key[category.key] = category
        return cls(by_key)

    @classmethod
    def load(cls, path: Path) -> CareCategories:
        """Read and validate a categories YAML file."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CategoriesError(Message(N_("无法读取类别文件 {path}：{reason}"), path=str(path),
                                          reason=exc.strerror or str(exc))) from None
        except yaml.YAMLError as exc:
            raise CategoriesError(Message(N_("类别文件 {path} 不是有效的 YAML：{error}"), path=str(path),
                                          error=str(exc))) from None
        try:
            return cls.from_mapping(data)
        except CategoriesError as exc:
            raise CategoriesError(Message(N_("{path}：{reason}"), path=str(path),
                                          reason=message_of(exc) or str(exc))) from None

    def resolve(self, name: str) -> CareCategory | None:
        """The category named ``name`` (key, title or alias; surrounding spaces ignored), or None."""
        name = name.strip()
        if name in self.by_key:
            return self.by_key[name]
        for category in self.by_key.values():
            if name == category.title or name in category.aliases:
                return category
        return None

    def get(self, key: str) -> CareCategory:
        """The category with key ``key``; ``KeyError`` naming the known keys otherwise."""
        try:
            return self.by_key[key]
        except KeyError:
            raise KeyError(Message(N_("未知类别 {key}；可用：{known}"), key=key,
                                   known=", ".join(self.by_key))) from None

    def title(self, key: str) -> str:
        """The category's Chinese title (the key itself for a category no longer in the file)."""
        category = self.by_key.get(key)
        return category.title if category else key

    def names(self) -> str:
        """The titles, for messages (``社区矫正对象、独居老人…``)."""
        return joined((c.title for c in self.by_key.values()), Message(N_("、")))


def _category(item: Any, index: int) -> CareCategory:
    if not isinstance(item, dict):
        raise CategoriesError(Message(N_("第 {i} 个类别须为映射（key、title、interval）"), i=index))
    unknown = sorted(set(item) - {"key", "title", "interval", "aliases"})
    if unknown:
        raise CategoriesError(Message(N_("第 {i} 个类别：未知字段 {fields}"), i=index,
                                      fields=", ".join(map(str, unknown))))
    key, title = item.get("key"), item.get("title")
    if not isinstance(key, str) or not _KEY.match(key):
        raise CategoriesError(Message(N_("第 {i} 个类别：key 须为小写字母、数字和下划线，得到 {key}"), i=index,
                                      key=repr(key)))
    if not isinstance(title, str) or not title.strip():
        raise CategoriesError(Message(N_("类别 {key}：缺少 title（中文名称）"), key=key))
    aliases = item.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise CategoriesError(Message(N_("类别 {key}：aliases 须为名称列表"), key=key))
    return CareCategory(key, title.strip(), parse_interval(item.get("interval"), key),
                        tuple(a.strip() for a in aliases))


def parse_interval(value: object, key: str = "") -> int:
    """A visit interval (``7d``, ``2w``, or a number of days) as whole days, at least 1."""
    match = _INTERVAL.match(value.strip()) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif match:
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    else:
        raise CategoriesError(Message(N_("类别 {key}：interval 须写作 7d 或 2w，得到 {value}"), key=key,
                                      value=repr(value)))
    if not 1 <= days <= 3660:
        raise CategoriesError(Message(N_("类别 {key}：interval 须在 1 天到 10 年之间，得到 {value}"), key=key,
                                       value=repr(value)))
    return days


def due_dates(start: date, end: date | None, interval_days: int, first: date, last: date) -> list[date]:
    """The days a person is due a visit within the half-open window ``[first, last)``.

    Due days are ``start + k * interval_days`` (k = 0, 1, …), never after ``end`` (inclusive; None: open
    ended). Splitting a window in two gives the same days as the whole (each due day belongs to exactly
    one window), which is what keeps generated records from doubling or going missing across runs.
    """
    if interval_days < 1:
        raise ValueError(Message(N_("interval_days 至少为 1")))
    stop = last if end is None else min(last, end + timedelta(days=1))
    if stop <= start or stop <= first:
        return []
    skip = max(0, -(-(first - start).days // interval_days))  # ceil: the first k with start + k*i >= first
    day = start + timedelta(days=skip * interval_days)
    step = timedelta(days=interval_days)
    out = []
    while day < stop:
        out.append(day)
        day += step
    return out


_DATE_FORMS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_register_date(value: object) -> date | None:
    """A date as departments write it: ``2026-01-05``, ``2026/1/5``, ``2026.1.5``, ``2026年1月5日``,
    ``20260105``, a spreadsheet date (or date-time, its day is taken), or an ISO date-time (its date part).
    ``None`` for an empty cell; ``ValueError`` for anything else (including impossible dates)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().translate(_FULLWIDTH_DIGITS)
    if not text:
        return None
    text = text.split(" ")[0].split("T")[0]
    for form in _DATE_FORMS:
        match = form.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)  # ValueError for 2026-02-30
    raise ValueError(Message(N_("无法识别的日期 {value}"), value=repr(value)))


_FULLWIDTH_DIGITS = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF0D: 0x2D, 0xFF0F: 0x2F, 0x3000: 0x20}


def due_id(register_id: int, day: date) -> str:
    """The stable id of the visit due to register entry ``register_id`` on ``day``: ``due-<id>-<yyyymmdd>``."""
    return f"due-{register_id}-{day:%Y%m%d}"

