"""A baseline rule's sample cap: how large a record's samples may add up to before no level can hold.

A count's samples are never negative, so the samples read so far bound the baseline's ``expected`` from
below (the rest add zero or more), and with it ``ratio`` and ``zscore`` from above:

- ``ratio`` = value / max(expected, 1) ≤ value / max(partial / n, 1);
- ``zscore`` = (value − expected) / max(spread, 1) ≤ max(value − partial / n, 0), since dividing by a
  spread of at least 1 only shrinks a positive difference, and a negative one gives a negative zscore.

Both bounds are worked out as :func:`rules.engine.baselines.measure` works out the values (the same
divisions, which round monotonically), so a bound that fails a level's ``ratio: {gte: 4}`` proves the
value fails it too. When every level has a top-level ``ratio`` or ``zscore`` test with a positive
threshold that the bounds fail, no level holds, and the record's remaining samples (two bisections each
over weeks of its key's history) are not read.

:meth:`SampleCap.cap` gives, per aggregate value, the smallest sum of samples that settles it (found once
per value by bisection on the bound, which only falls as the sum grows, and remembered: counts take few
values). ``tests/rules/test_sample_cap.py`` holds a reached cap to the full evaluation on generated levels.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.language.model import FieldTest, Op, Rule

__all__ = ["SampleCap", "cap_of"]

_MEMO = 4096
_NEVER = float("inf")

Limit = tuple[float, bool] | None
"""A level's strongest ``ratio`` or ``zscore`` floor: (threshold, strict), or ``None`` when it has none."""


class SampleCap:
    """Per level, its ``ratio`` and ``zscore`` floors, for a baseline of ``samples`` samples."""

    __slots__ = ("levels", "memo", "samples")

    def __init__(self, samples: int, levels: Sequence[tuple[Limit, Limit]]) -> None:
        self.samples = samples
        self.levels = tuple(levels)
        self.memo: dict[float | int, float] = {}

    def settled(self, value: float | int, partial: int) -> bool:
        """Whether no level can hold for aggregate ``value`` once the samples read add up to ``partial``."""
        lower = partial / self.samples  # as measure's fsum(samples) / n of whole samples
        ratio = value / max(lower, 1.0)
        zscore = max(value - lower, 0.0)
        for r, z in self.levels:
            if r is not None and (ratio <= r[0] if r[1] else ratio < r[0]):
                continue
            if z is not None and (zscore <= z[0] if z[1] else zscore < z[0]):
                continue
            return False  # this level might still hold
        return True

    def cap(self, value: float | int) -> float:
        """The smallest sum of samples at which no level can hold for aggregate ``value`` (infinity if
        none: a level with a floor that no sum of samples can fail)."""
        got = self.memo.get(value)
        if got is None:
            got = self._search(value)
            if len(self.memo) >= _MEMO:
                self.memo.clear()
            self.memo[value] = got
        return got

    def _search(self, value: float | int) -> float:
        if value != value:
            return _NEVER
        if self.settled(value, 0):  # a value below every floor even with no history
            return 0
        hi = 1
        while not self.settled(value, hi):
            if hi > 1 << 62:
                return _NEVER
            hi *= 2
        lo = 0
        while hi - lo > 1:  # settled at hi, not at lo: the bounds only fall as the sum grows
            mid = (lo + hi) // 2
            if self.settled(value, mid):
                hi = mid
            else:
                lo = mid
        return hi


def _floor(terms: Sequence[FieldTest], name: str) -> Limit:
    """The strongest ``gte``/``gt`` floor above zero on ``name`` among ``terms``."""
    best: Limit = None
    for t in terms:
        v = t.value
        if t.field != name or t.op not in (Op.gte, Op.gt) or type(v) not in (int, float) or not v > 0:
            continue
        limit = (float(v), t.op is Op.gt)
        if best is None or limit > best:
            best = limit
    return best


def cap_of(rule: Rule, samples: int, aggregate: str) -> SampleCap | None:
    """The sample cap of baseline rule ``rule`` (``samples`` samples of its ``aggregate``), or ``None``
    unless it counts (a sum's samples can be negative) and every level has a positive ``ratio`` or
    ``zscore`` floor."""
    if aggregate != "count" or samples < 1:
        return None
    levels: list[tuple[Limit, Limit]] = []
    for spec in rule.levels:
        if spec.when is None:
            return None
        terms = [t for t in spec.when.terms if isinstance(t, FieldTest)]
        limits = (_floor(terms, "ratio"), _floor(terms, "zscore"))
        if limits == (None, None):
            return None
        levels.append(limits)
    return SampleCap(samples, levels) if levels else None
