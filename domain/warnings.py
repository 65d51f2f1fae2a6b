"""Warnings: levels, lifecycle, fingerprints, and folding firings into warnings.

A rule *fires*; a firing becomes a warning identified by its fingerprint (rule id + ``group_by``
values). While the warning is open (not resolved) further firings fold into it: occurrences, last
seen, and the highest level reached. Its level never falls by itself.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any


class Level(StrEnum):
    """Warning level, lowest first: blue (IV) < yellow (III) < orange (II) < red (I)."""

    blue = "blue"
    yellow = "yellow"
    orange = "orange"
    red = "red"

    @property
    def rank(self) -> int:
        """0 for blue … 3 for red."""
        return _RANKS[self]

    @property
    def roman(self) -> str:
        """IV for blue … I for red."""
        return ("IV", "III", "II", "I")[self.rank]

    @property
    def chinese(self) -> str:
        """The colour name and gravity a responder reads, e.g. ``橙色（严重）``."""
        return ("蓝色（一般）", "黄色（较重）", "橙色（严重）", "红色（特别严重）")[self.rank]

    @property
    def cap_severity(self) -> str:
        """CAP 1.2 severity for this level."""
        return ("Minor", "Moderate", "Severe", "Extreme")[self.rank]


LEVELS: tuple[Level, ...] = (Level.blue, Level.yellow, Level.orange, Level.red)
_RANKS = {level: i for i, level in enumerate(LEVELS)}


class Status(StrEnum):
    """Lifecycle of a warning. Open means not resolved: an acknowledged warning still folds firings."""

    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


def fingerprint(rule: str, group: dict[str, Any]) -> str:
    """Stable identity of a warning: a hash of the rule id and its ``group_by`` values."""
    # A window over its threshold fires on every record with the same group: remember the recent ones.
    # The key keeps each value's type, as its text does (1, 1.0 and True hash alike, print differently).
    try:
        return _remembered(rule, tuple((k, v.__class__, v) for k, v in group.items()))
    except TypeError:  # an unhashable value (a list): computed each time
        return _fingerprint(rule, group)


def _fingerprint(rule: str, group: Mapping[str, Any]) -> str:
    canon = json.dumps([rule, sorted((k, str(v)) for k, v in group.items())], ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:24]


@lru_cache(maxsize=1 << 16)
def _remembered(rule: str, items: tuple[tuple[str, type, Any], ...]) -> str:
    return _fingerprint(rule, {k: v for k, _, v in items})


@dataclass(frozen=True)
class Firing:
    """One time a rule fired, with everything needed to explain it."""

    rule: str
    level: Level
    at: datetime
    group: dict[str, Any]
    region: str
    records: tuple[str, ...]
    explanation: str
    summary: str = ""
    title: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    rulebook_version: str = ""

    @cached_property
    def fingerprint(self) -> str:
        """The fingerprint of the warning this firing belongs to (computed once)."""
        return fingerprint(self.rule, self.group)


_new = object.__new__


def made_firing(fingerprint: str, **fields: Any) -> Firing:
    """``Firing(**fields)`` with its fingerprint already known, built without the frozen dataclass's
    ``__init__`` (a field at a time through ``object.__setattr__``): the engine makes one per firing.
    ``fields`` must name every field of :class:`Firing`; the result equals ``Firing(**fields)``."""
    out = _new(Firing)
    d = out.__dict__
    d.update(fields)
    d["fingerprint"] = fingerprint  # the cached property's slot
    return out


class Change(StrEnum):
    """What a firing did to its warning."""

    opened = "opened"
    updated = "updated"
    raised = "raised"


@dataclass(frozen=True)
class WarningState:
    """The evaluator's view of a warning (the store keeps the rest: routing, audit, notifications)."""

    fingerprint: str
    rule: str
    level: Level
    region: str
    first_at: datetime
    last_at: datetime
    occurrences: int
    explanation: str
    summary: str
    title: str
    records: tuple[str, ...]
    rulebook_version: str
    status: Status = Status.open


MAX_RECORD_REFS = 50
"""A warning keeps the first records that fired it and the latest; enough to explain, bounded in size."""


_HALF = MAX_RECORD_REFS // 2


class _Unique(tuple[str, ...]):
    """A warning's record refs known to hold no repeats (a tuple in every other way)."""

    __slots__ = ()


def _refs(held: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    """``held`` then ``new``, repeats dropped (the first kept), the first and the latest
    :data:`MAX_RECORD_REFS` // 2 kept when there are more."""
    refs = tuple(dict.fromkeys(held + new))
    if len(refs) > MAX_RECORD_REFS:
        refs = refs[:_HALF] + refs[-_HALF:]
    return _Unique(refs)


def _added(held: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    """A warning's refs ``held`` after a firing's ``new`` ones folded in (:func:`_refs`)."""
    if type(held) is _Unique and len(new) == 1:
        # Known free of repeats (a fold made it): what the general way gives, without a dict of 51 refs
        # per firing — the biggest cost of a window that stays over its threshold.
        if new[0] in held:
            return held
        if len(held) < MAX_RECORD_REFS:
            return _Unique(held + new)
        if len(held) == MAX_RECORD_REFS:
            return _Unique(held[:_HALF] + held[_HALF + 1 :] + new)
    return _refs(held, new)


class RefRing:
    """A warning's record refs held mutable while one-record firings fold into it: what :func:`_added`
    gives firing after firing, at a set lookup and an append each instead of a new tuple of up to
    :data:`MAX_RECORD_REFS` refs (the first half never changes; the latest half is a queue). Only for
    refs :meth:`fits` accepts; :meth:`write` puts the tuple back into the state."""

    __slots__ = ("head", "seen", "tail")

    def __init__(self, refs: tuple[str, ...]) -> None:
        self.head = list(refs[:_HALF])
        self.tail = deque(refs[_HALF:])
        self.seen = set(refs)

    @staticmethod
    def fits(refs: tuple[str, ...]) -> bool:
        """Whether ``refs`` are a fold's (known free of repeats) and within bounds."""
        return type(refs) is _Unique and len(refs) <= MAX_RECORD_REFS

    def add(self, ref: str) -> None:
        """Fold in the ref of a one-record firing."""
        if ref in self.seen:
            return
        self.seen.add(ref)
        if len(self.head) < _HALF:
            self.head.append(ref)
            return
        self.tail.append(ref)
        if len(self.tail) > _HALF:  # the oldest of the latest half goes
            self.seen.discard(self.tail.popleft())

    def write(self, state: WarningState) -> None:
        """Set ``state``'s refs to these (a state :func:`fold_in_place` folds into)."""
        state.__dict__["records"] = _Unique((*self.head, *self.tail))


def fold_in_place(current: WarningState, at: datetime, ref: str, rulebook_version: str,
                  ring: RefRing | None = None) -> None:
    """Write into ``current`` itself what ``fold(current, firing)`` gives for a firing of the one record
    ``ref`` at ``at`` that does not raise its level (``current`` open, the firing's level at most its
    own): the evaluator of a backtest folds tens of thousands of such firings and reads none of the
    states in between. Only for a state its caller made and has handed to no one: it is frozen to
    everyone else. Given ``ring`` (``current``'s refs, :class:`RefRing`), the ref goes there, and
    ``current.records`` are stale until ``ring.write(current)``."""
    d = current.__dict__
    if at > d["last_at"]:  # max(last_at, at): the held one when equal
        d["last_at"] = at
    d["occurrences"] += 1
    if ring is None:
        d["records"] = _added(d["records"], (ref,))
    else:
        ring.add(ref)
    if rulebook_version:
        d["rulebook_version"] = rulebook_version


def fold(current: WarningState | None, firing: Firing) -> tuple[WarningState, Change]:
    """Fold ``firing`` into the open warning ``current`` (or open a new one when there is none or it
    is resolved). Returns the new state and what changed; a level only rises."""
    if current is None or current.status is Status.resolved:
        return (
            WarningState(
                fingerprint=firing.fingerprint,
                rule=firing.rule,
                level=firing.level,
                region=firing.region,
                first_at=firing.at,
                last_at=firing.at,
                occurrences=1,
                explanation=firing.explanation,
                summary=firing.summary,
                title=firing.title,
                records=_Unique(firing.records) if len(firing.records) == 1 else firing.records[:MAX_RECORD_REFS],
                rulebook_version=firing.rulebook_version,
            ),
            Change.opened,
        )
    raised = firing.level.rank > current.level.rank
    refs = _added(current.records, firing.records)
    # A copy of the state's fields, changed: what dataclasses.replace gives, without its walk over the
    # fields and __init__ (a fold per firing, tens of thousands of them while a window stays over)
    state = _new(WarningState)
    d = state.__dict__
    d.update(current.__dict__)
    d["last_at"] = max(current.last_at, firing.at)
    d["occurrences"] = current.occurrences + 1
    d["records"] = refs
    d["rulebook_version"] = firing.rulebook_version or current.rulebook_version
    if raised:
        # The explanation follows the firing that set the level: it says why the level is what it is.
        d["level"], d["explanation"], d["summary"] = firing.level, firing.explanation, firing.summary
    return state, (Change.raised if raised else Change.updated)
