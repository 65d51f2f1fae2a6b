"""Distinct windows with their one-record keys kept compact.

A ``distinct`` window (how many different callers reported one community's problem within a day) has a
key per community and category; most of them hold a single record on any day. :class:`DistinctWindows`
keeps such a key as a ``(time, value)`` pair instead of a slot with two lists and a dictionary, and
makes the slot only when a second record arrives. It answers exactly as :class:`rules.engine.windows.Windows`
with ``aggregate="distinct"`` — the same aggregates, sweeps, sizes and JSON
(``tests/rules/test_compact_windows.py`` checks both on generated streams).
"""

from __future__ import annotations

from typing import Any

from rules.engine.windows import Key, Windows, _Slot

__all__ = ["DistinctWindows"]


class DistinctWindows(Windows):
    """:class:`~rules.engine.windows.Windows` of ``distinct`` values, one-record keys as ``(time, value)``."""

    def __init__(self, within: float) -> None:
        super().__init__(within, "distinct")
        self.slots: dict[Key, Any] = {}  # a _Slot, or a (time, value) pair

    def add(self, key: Key, t: float, value: Any = None) -> float | int:
        """Let a record at ``t`` with the ``value`` counted join ``key``'s window; return how many
        different values it holds over ``(t - within, t]``."""
        got = self.slots.get(key)
        if got is None:
            self.slots[key] = (t, value)
            self._list(key, t // self.grain)
            return 0 if value is None else 1
        if type(got) is not tuple:
            return super().add(key, t, value)
        t0, v0 = got
        if t < t0:  # behind its latest (a chained warning of an absence): the general way
            return self._add_late(self._expand(key, t0, v0), t, value)
        if t0 <= t - self.within:  # the earlier record has left the window
            self.slots[key] = (t, value)
            return 0 if value is None else 1
        slot = self._expand(key, t0, v0)
        slot.push(t, value)
        return len(slot.counts or ())

    def _expand(self, key: Key, t: float, value: Any) -> _Slot:
        """Replace ``key``'s pair with a slot holding its record."""
        slot = self.slots[key] = _Slot()
        slot.push(t, value)
        return slot

    def _latest(self, entry: Any) -> float | None:
        if type(entry) is tuple:
            return float(entry[0])
        return super()._latest(entry)

    def size(self) -> int:
        """How many records the windows hold."""
        return sum(1 if type(s) is tuple else len(s) for s in self.slots.values())

    def to_json(self) -> list[Any]:
        """The windows' contents as plain JSON (as :meth:`rules.engine.windows.Windows.to_json` writes them)."""
        out: list[Any] = []
        for k, s in self.slots.items():
            if type(s) is tuple:
                out.append([list(k), [s[0]], [s[1]]])
            elif len(s):
                out.append([list(k), *map(list, zip(*s.live(), strict=True))])
        return out
