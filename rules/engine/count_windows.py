"""Count windows kept compact: the state of the windows a city has most of.

A counting window needs only the times of its records, and most keys of a city's count rules hold one
record (a person's first petition of the month, a community's first complaint of its kind that day).
:class:`CountWindows` keeps such a key as that one time (a float: no object the garbage collector
walks) and a key holding more as the list of its times, oldest first. It answers exactly as
:class:`rules.engine.windows.Windows` with ``aggregate="count"`` — the same counts, sweeps, sizes and JSON —
in about half the memory per key (``tests/rules/test_compact_windows.py`` checks both on generated
streams). Semantics: the count of the key's records that arrived so far with ``at`` in
``(t - within, t]`` (docs/rules-language.md#windows).
"""

from __future__ import annotations

import bisect
from typing import Any

from rules.engine.windows import Key, Windows

__all__ = ["CountWindows"]


class CountWindows(Windows):
    """Sliding event-time count windows of one rule, one per key (see the module docstring); listed once
    and swept as :class:`rules.engine.windows.Windows` does."""

    def __init__(self, within: float) -> None:
        super().__init__(within, "count")
        self.slots: dict[Key, Any] = {}
        """key → the time of its one record, or the times of its records (more than one), oldest first."""

    def add(self, key: Key, t: float, value: Any = None) -> int:
        """Let a record at ``t`` join ``key``'s window; return the count over ``(t - within, t]``
        (``value`` is ignored: a count needs none)."""
        slots = self.slots
        got = slots.get(key)
        if got is None:
            slots[key] = t
            self._list(key, t // self.grain)
            return 1
        if not isinstance(got, list):  # one record held
            if t < got:
                return self._late(key, [got], t)
            if got <= t - self.within:
                slots[key] = t
                return 1
            slots[key] = [got, t]
            return 2
        last = got[-1]
        if t < last:
            return self._late(key, got, t)
        got.append(t)
        horizon = t - self.within
        if got[0] <= horizon:
            keep = bisect.bisect_right(got, horizon)  # below len(got): t itself is inside
            if keep == len(got) - 1:
                slots[key] = t
                return 1
            del got[:keep]
        return len(got)

    def _late(self, key: Key, times: list[float], t: float) -> int:
        """A record behind its key's latest (a chained warning of an absence): kept in time order with
        everything the window holds; counted over what lies in ``(t - within, t]``."""
        times = [*times]
        bisect.insort_right(times, t)
        self.slots[key] = times
        lo = bisect.bisect_right(times, t - self.within)
        return bisect.bisect_right(times, t) - lo

    def _latest(self, entry: Any) -> float | None:
        latest: float = entry[-1] if isinstance(entry, list) else entry
        return latest

    def size(self) -> int:
        """How many records the windows hold."""
        return sum(len(v) if isinstance(v, list) else 1 for v in self.slots.values())

    def to_json(self) -> list[Any]:
        """The windows' contents as plain JSON (as :meth:`rules.engine.windows.Windows.to_json` writes them)."""
        out: list[Any] = []
        for k, v in self.slots.items():
            times = v if isinstance(v, list) else [v]
            out.append([list(k), list(times), [None] * len(times)])
        return out

    def load_json(self, data: list[Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.slots, self.buckets = {}, {}
        for key, ats, _ in data:
            if not ats:
                continue
            k = tuple(key)
            times = [float(a) for a in ats]
            self.slots[k] = times if len(times) > 1 else times[0]
            self._list(k, times[-1] // self.grain)
