"""A window rule's aggregate gate: whether any level could still hold, knowing only the aggregate.

A level's ``when`` is a conjunction. A term of it that tests the aggregate itself (``count: {gte: 12}``) and
fails on this aggregate fails the level, whatever its other terms would say. When every level of a rule
has such a failing term, no level holds: the record's window step is over without the rule's baseline
samples (:mod:`rules.engine.baselines`), whose bisections over weeks of history are what a baseline rule
costs, while most records of a city leave their window far below every threshold.

Exact by construction: only top-level terms on the aggregate are read, by the reference semantics
(:func:`rules.engine.conditions.holds`, which the durable matcher is held equal to); a rule with a level
that holds without conditions, or with a level that has no such term, has no gate.
``tests/rules/test_gate.py`` holds a shut gate to the full evaluation, on generated conditions.

:func:`cuts_of` is the same idea for a window rule whose levels test nothing but its aggregate against
numbers: two aggregates that fall at the same place among those numbers (between the same two, or on the
same one) pass and fail every such test alike, so they get the same level. A sum takes a new value at
almost every record; its place among a few thresholds does not, so the level is remembered by place.
:func:`places_of` does the same for a baseline rule, whose levels compare the aggregate and the baseline's
``expected``, ``spread``, ``ratio`` and ``zscore``: new values at every record, a handful of places.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from rules.engine.conditions import holds
from rules.language.model import FieldTest, Op, Rule

__all__ = ["AggregateGate", "Places", "cuts_of", "gate_of", "places_of"]

_MEMO = 4096
"""Remembered aggregates (a count takes few values, a sum many)."""


class AggregateGate:
    """Per level, the terms of its ``when`` that test the aggregate ``name`` alone."""

    __slots__ = ("levels", "memo", "name")

    def __init__(self, name: str, levels: Sequence[tuple[FieldTest, ...]]) -> None:
        self.name = name
        self.levels = tuple(levels)
        self.memo: dict[float | int, bool] = {}

    def shut(self, total: float | int) -> bool:
        """Whether no level can hold when the aggregate is ``total`` (whatever else the levels test)."""
        got = self.memo.get(total)
        if got is None:
            fields = {self.name: total}
            got = all(not all(holds(t, fields) for t in terms) for terms in self.levels)
            if len(self.memo) >= _MEMO:
                self.memo.clear()
            self.memo[total] = got
        return got


def gate_of(rule: Rule, aggregate: str) -> AggregateGate | None:
    """The gate of window rule ``rule`` whose aggregate is named ``aggregate``, or ``None`` when some
    level could hold whatever the aggregate (no ``when``, or no top-level term on the aggregate)."""
    levels: list[tuple[FieldTest, ...]] = []
    for spec in rule.levels:
        if spec.when is None:
            return None
        terms = tuple(t for t in spec.when.terms if isinstance(t, FieldTest) and t.field == aggregate)
        if not terms:
            return None
        levels.append(terms)
    return AggregateGate(aggregate, levels) if levels else None


_ORDERED = frozenset({Op.eq, Op.ne, Op.gt, Op.gte, Op.lt, Op.lte})


def _cuts(rule: Rule, names: Collection[str]) -> dict[str, set[float | int]] | None:
    """Per name of ``names`` the numbers ``rule``'s levels compare it with, when every test of every level
    (inside ``any`` and ``not`` too) compares one of ``names`` with a number; else ``None``."""
    cuts: dict[str, set[float | int]] = {n: set() for n in names}
    for spec in rule.levels:
        if spec.when is None:
            continue
        for leaf in spec.when.walk():
            v = leaf.value
            if leaf.field not in cuts or leaf.op not in _ORDERED or type(v) not in (int, float) or v != v:
                return None
            cuts[leaf.field].add(v)
    return cuts


def cuts_of(rule: Rule, aggregate: str) -> tuple[float | int, ...] | None:
    """The numbers window rule ``rule``'s levels compare its aggregate ``aggregate`` with, sorted, when
    every test of every level (inside ``any`` and ``not`` too) is such a comparison; else ``None``.
    An aggregate's place among them (``bisect_left``, ``bisect_right``) decides its level."""
    cuts = _cuts(rule, (aggregate,))
    return None if cuts is None else tuple(sorted(cuts[aggregate]))


class Places:
    """Per tested name, the numbers the levels compare it with (sorted): :meth:`key` of two sets of
    values is the same only when every test of every level gives the same answer on both."""

    __slots__ = ("cuts",)

    def __init__(self, cuts: Sequence[tuple[str, tuple[float | int, ...]]]) -> None:
        self.cuts = tuple(cuts)

    def key(self, values: Mapping[str, Any]) -> tuple[tuple[int, int], ...] | None:
        """Where each tested value falls among its numbers; ``None`` when one is NaN (it has no place)."""
        out = []
        for name, cuts in self.cuts:
            v = values[name]
            if v != v:
                return None
            out.append((bisect_left(cuts, v), bisect_right(cuts, v)))
        return tuple(out)


def places_of(rule: Rule, names: Collection[str]) -> Places | None:
    """:class:`Places` of ``rule`` when its levels compare only ``names`` with numbers (a baseline
    rule's aggregate, ``expected``, ``spread``, ``ratio``, ``zscore``), else ``None``."""
    cuts = _cuts(rule, names)
    return None if cuts is None else Places([(n, tuple(sorted(c))) for n, c in cuts.items() if c])
