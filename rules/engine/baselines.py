"""Baselines (rule language 1.1): a window rule's aggregate compared with the same window, at the same
key, in earlier periods.

When a record arrives at ``t`` and its window's aggregate is ``value``, sample ``i`` (1 ≤ i ≤ ``samples``)
is the same aggregate over the key's records with ``at`` in ``(t − i·every − within, t − i·every]``.
:func:`measure` turns the samples into ``expected`` (their mean; an empty sample is 0), ``spread`` (their
population standard deviation), ``ratio`` = value / max(expected, 1) and ``zscore`` =
(value − expected) / max(spread, 1).

:class:`Baselines` keeps the history of one rule's keys: the records inside ``samples·every + within``
of the event-time watermark, and those the watermark passed since its last sweep. A sweep runs each time
the watermark has moved on by a quarter of ``within`` (at most a day) and evicts everything at or before
``watermark − samples·every − within``; it visits only the keys whose oldest record it reaches (each key is
listed under its oldest record's time), so a busy key's expired records go a sweep's worth at a time, not
one by one. A sample never reads a record at or before ``watermark − samples·every − within``, whether it
is evicted yet or not: what a sample sees depends on the records and their order alone, never on when
the engine swept (so a live run restored from a snapshot equals a backtest).
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from rules.engine.windows import Key, key_in, sweep_pace

__all__ = ["Baselines", "Measure", "measure", "shown"]

Measure = dict[str, float]
"""``expected``, ``spread``, ``ratio``, ``zscore``."""


def measure(value: float, samples: Sequence[float]) -> Measure:
    """The baseline's names for an aggregate ``value`` and its ``samples`` (unrounded)."""
    n = len(samples)
    if not any(samples):  # no history (the common case for a new key): nothing to average
        return {"expected": 0.0, "spread": 0.0, "ratio": value / 1.0, "zscore": value / 1.0}
    expected = math.fsum(samples) / n
    spread = math.sqrt(math.fsum((s - expected) ** 2 for s in samples) / n) if n else 0.0
    return {"expected": expected, "spread": spread, "ratio": value / max(expected, 1.0),
            "zscore": (value - expected) / max(spread, 1.0)}


def shown(value: float) -> float | int:
    """A number as summaries and explanations show it: rounded to 2 decimals, a whole one without any
    (``5``, ``2.67``, ``-0.5``). Levels compare the unrounded value."""
    r = round(float(value), 2)
    return int(r) if r.is_integer() else r


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_BIG = 1 << 62
"""Running totals stay within a signed 64-bit word while each part is below this."""


def _whole(v: Any) -> bool:
    """Whether a summed value can join running totals: a whole number well within 64 bits."""
    return type(v) is int and -_BIG < v < _BIG


def _running(values: Sequence[Any]) -> array[int] | None:
    """:attr:`Baselines.cums` of a key's ``values``: ``None`` unless they are all whole numbers whose
    totals fit."""
    if not all(map(_whole, values)):
        return None
    totals = list(accumulate(values, initial=0))
    return array("q", totals) if all(-_BIG < c < _BIG for c in totals) else None


class Baselines:
    """The history one window rule's baseline needs, per key: its records' times (and summed or distinct
    values) in time order, each key listed under the time of its oldest record to evict by."""

    def __init__(self, within: float, every: float, samples: int, aggregate: str) -> None:
        if aggregate not in ("count", "sum", "distinct"):
            raise ValueError(f"unknown aggregate {aggregate!r}")
        self.within = within
        """The window's ``within`` (the engine also paces its sweeps by it)."""
        self.every = every
        self.samples = samples
        self.aggregate = aggregate
        self.span = samples * every + within
        """How far back from the watermark a record can still fall in a sample."""
        self.ats: dict[Key, array[float]] = {}
        """Per key, its records' times in order, as packed doubles: a month of a megacity's hotline is about
        two million times, and bisecting Python float objects scattered over the heap cost twice as much
        as bisecting them packed (and four times the memory)."""
        self.vals: dict[Key, list[Any]] = {}
        """Per key, the summed or distinct values beside :attr:`ats` (not kept for a count; for a sum,
        a value that is not a number is kept as 0)."""
        self.cums: dict[Key, array[int] | None] = {}
        """Per key of a sum: running totals of :attr:`vals` (``cums[i]``: the values before ``i``, so one
        more than the values), making a sample's sum one subtraction instead of a pass over a day of
        values. Only while every value of the key is a whole number that fits (``None`` once one is not):
        whole numbers add up the same in any grouping, fractions need not, and a sample must not depend
        on where its key's history happened to start."""
        self.pace = sweep_pace(within)
        """Event time between two sweeps: how late, at most, an expired record is evicted."""
        self.buckets: dict[float, list[Key]] = {}
        """``time // pace`` → the keys listed there: each key under its oldest record's (or earlier)."""
        self._due = -math.inf
        """The floor at which :meth:`remember` sweeps next."""
        self._ends = [i * every for i in range(1, samples + 1)]

    def add(self, key: Key, t: float, value: Any, watermark: float) -> list[float | int]:
        """Record a record of ``key`` at ``t`` (``value``: the summed or distinct field, ``None`` for a
        count) and return its samples, oldest offset last (sample 1 first). ``watermark``: the latest
        ``at`` the engine has seen, this record's included."""
        samples = self.samples_at(key, t, self.remember(key, t, value, watermark))
        assert samples is not None  # no cap
        return samples

    def remember(self, key: Key, t: float, value: Any, watermark: float) -> float:
        """:meth:`add` without the samples: what a record whose samples nobody reads (its rule's
        aggregate gate is shut, :mod:`rules.engine.gate`) leaves in the history. Returns the floor
        :meth:`samples_at` takes for it."""
        ats = self.ats.get(key)
        counting = self.aggregate == "count"
        summing = self.aggregate == "sum"
        if ats is None:
            ats = self.ats[key] = array("d")
            self._list(key, t)
            if not counting:
                self.vals[key] = []
            if summing:
                self.cums[key] = array("q", (0,))
        if summing:
            value = value if _numeric(value) else 0  # what a sum adds for it
        if not ats or t >= ats[-1]:
            ats.append(t)
            if not counting:
                self.vals[key].append(value)
            if summing and (cums := self.cums[key]) is not None:
                if _whole(value) and -_BIG < cums[-1] < _BIG:
                    cums.append(cums[-1] + value)
                else:
                    self.cums[key] = None
        else:  # behind its key's latest (a chained warning of an absence): kept in time order
            pos = bisect.bisect_right(ats, t)
            if pos == 0:
                self._list(key, t)  # its new oldest record: listed there too (a sweep drops the other listing)
            ats.insert(pos, t)
            if not counting:
                self.vals[key].insert(pos, value)
            if summing and self.cums[key] is not None:
                self.cums[key] = _running(self.vals[key])
        floor = watermark - self.span
        if floor >= self._due:
            self.sweep(watermark)
        return floor

    def samples_at(self, key: Key, t: float, floor: float, cap: float = math.inf) -> list[float | int] | None:
        """The samples of ``key``'s record at ``t``, just remembered (``floor``: what :meth:`remember`
        returned for it). For a count, ``None`` as soon as the samples read add up to ``cap`` or more
        (:mod:`rules.engine.sample_cap`: then no level can hold, whatever the rest)."""
        ats = self.ats.get(key)
        if not ats or ats[0] > t - self._ends[0]:  # nothing as old as the first sample's end: all empty
            return None if cap <= 0 else [0] * self.samples
        within = self.within
        right = bisect.bisect_right
        out: list[float | int] = []
        if self.aggregate == "count":
            total = 0
            for d in self._ends:
                end = t - d
                hi = right(ats, end)
                n = hi - right(ats, max(end - within, floor), 0, hi)
                total += n
                if total >= cap:
                    return None
                out.append(n)
            return out
        vals = self.vals[key]
        summing = self.aggregate == "sum"
        cums = self.cums[key] if summing else None
        for d in self._ends:
            end = t - d
            hi = right(ats, end)
            lo = right(ats, max(end - within, floor), 0, hi)
            if cums is not None:
                out.append(cums[hi] - cums[lo])
            elif summing:
                out.append(sum(vals[lo:hi]))
            else:
                seen = set(vals[lo:hi])
                seen.discard(None)
                out.append(len(seen))
        return out

    def sweep(self, watermark: float) -> None:
        """Evict every record at or before ``watermark − samples·every − within``: no sample of a record
        to come can reach it. Visits the keys listed at or before that time; each left with records is
        listed again under its oldest one."""
        floor = watermark - self.span
        pace = self.pace
        self._due = floor + pace
        last = floor // pace
        ats_of, vals_of, cums_of, buckets = self.ats, self.vals, self.cums, self.buckets
        right = bisect.bisect_right
        seen: set[Key] = set()
        for b in sorted(b for b in buckets if b <= last):
            keep: list[Key] = []
            for key in buckets.pop(b):
                ats = ats_of.get(key)
                if ats is None or key in seen:
                    continue  # evicted already, or listed twice (a late oldest record) and visited
                seen.add(key)
                cut = right(ats, floor)
                if cut == len(ats):
                    del ats_of[key]
                    vals_of.pop(key, None)
                    cums_of.pop(key, None)
                    continue
                if cut:
                    del ats[:cut]
                    if key in vals_of:
                        del vals_of[key][:cut]
                    if (cums := cums_of.get(key)) is not None:
                        del cums[:cut]  # the totals before the first kept value become the base
                now = ats[0] // pace
                if now <= last:
                    keep.append(key)  # its oldest record is in this sweep's last bucket, after the floor
                else:
                    self._list(key, ats[0])
            if keep:
                buckets.setdefault(b, []).extend(keep)

    def _list(self, key: Key, t: float) -> None:
        """List ``key`` under the bucket of time ``t``."""
        b = t // self.pace
        got = self.buckets.get(b)
        if got is None:
            self.buckets[b] = [key]
        else:
            got.append(key)

    def size(self) -> int:
        """How many records the history holds."""
        return sum(map(len, self.ats.values()))

    def to_json(self) -> list[Any]:
        """The history as plain JSON: ``[[key, times, values or null], …]``."""
        return [[list(k), list(a), list(self.vals[k]) if k in self.vals else None] for k, a in self.ats.items()]

    def load_json(self, data: list[Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.ats, self.vals, self.cums, self.buckets = {}, {}, {}, {}
        for raw_key, times, values in data:
            if not times:
                continue
            key = key_in(raw_key)
            self.ats[key] = array("d", times)
            self._list(key, self.ats[key][0])
            if values is not None:
                self.vals[key] = list(values)
                if self.aggregate == "sum":
                    self.cums[key] = _running(self.vals[key])
