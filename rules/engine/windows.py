"""Event-time state of rules: sliding windows (partial sequences and pending absences are in
:mod:`rules.engine.sequences`).

Times are epoch seconds of the records' ``at``; keys are tuples of the ``by``/``join`` values. Records
arrive in the engine's order ``(at, source, id)``, one after another. Every structure forgets
what event time has left behind (``sweep``), so memory is bounded by what the windows hold, not by how
many records went through. Every structure can be written to and read from plain JSON.

Semantics (docs/rules-language.md#windows):

- :class:`Windows`: the aggregate over the key's records that arrived so far with ``at`` in
  ``(t - within, t]``; ``count``, ``sum`` of a field or ``distinct`` values of a field.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from datetime import UTC, datetime, timezone, tzinfo
from typing import Any

__all__ = ["Key", "Windows", "key_in", "seconds", "sweep_pace"]

Key = tuple[Hashable, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCHS: dict[tzinfo, datetime] = {}


def seconds(at: datetime) -> float:
    """``at.timestamp()`` (``at`` aware), the same float, in a third of the time for the usual fixed
    offsets: ``timestamp()`` asks both ``at``'s and the UTC epoch's tzinfo for their offsets on every
    call, while two datetimes with the same ``tzinfo`` object subtract as naive ones (exact for a
    fixed-offset :class:`~datetime.timezone`; not for a zone with DST, which takes ``timestamp()``)."""
    tz = at.tzinfo
    if type(tz) is timezone:
        epoch = _EPOCHS.get(tz)
        if epoch is None:
            if len(_EPOCHS) > 64:
                _EPOCHS.clear()
            epoch = _EPOCHS[tz] = _EPOCH.astimezone(tz)
        return (at - epoch).total_seconds()
    return at.timestamp()


def sweep_pace(within: float) -> float:
    """Event time between two sweeps of a state whose records stay ``within`` seconds: a quarter of it, at
    least a minute, at most a day (so a state holds at most that much more than it must)."""
    return max(60.0, min(within / 4, 86400.0))


def key_in(raw: list[Any]) -> Key:
    """A key read back from JSON (a list) as the tuple it was."""
    return tuple(raw)


def same(payload: Any) -> Any:
    """The identity: payloads that are JSON already."""
    return payload


_OLD = -float(2**62)
"""The sweep bucket of a slot that holds nothing: swept first."""


class _Slot:
    """The records of one key in a window: their times and values (from ``head`` on), with running
    aggregates. Plain lists with a moving head: small for the many keys that hold one record."""

    __slots__ = ("ats", "counts", "head", "total", "vals")

    def __init__(self, ats: list[float] | None = None, vals: list[Any] | None = None) -> None:
        self.ats: list[float] = [] if ats is None else ats
        self.vals: list[Any] = [] if vals is None else vals
        self.head = 0
        self.total: float = 0
        self.counts: dict[Any, int] | None = None

    def push(self, t: float, value: Any) -> None:
        self.ats.append(t)
        self.vals.append(value)
        if value is not None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.total += value
            counts = self.counts
            if counts is None:
                counts = self.counts = {}
            counts[value] = counts.get(value, 0) + 1

    def pop(self) -> None:
        value = self.vals[self.head]
        self.head += 1
        if value is not None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.total -= value
            assert self.counts is not None
            left = self.counts[value] - 1
            if left:
                self.counts[value] = left
            else:
                del self.counts[value]
        if self.head == len(self.ats):
            self.ats, self.vals, self.head, self.total = [], [], 0, 0
        elif self.head > 16 and self.head * 2 > len(self.ats):
            del self.ats[: self.head]
            del self.vals[: self.head]
            self.head = 0

    def live(self) -> list[tuple[float, Any]]:
        return list(zip(self.ats[self.head :], self.vals[self.head :], strict=True))

    def __len__(self) -> int:
        return len(self.ats) - self.head


class Windows:
    """Sliding event-time windows of one rule, one per key.

    For sweeping, every key is also listed under one *bucket* (``at // grain``) at or before that of its
    latest record: a sweep visits only the buckets the horizon has reached, not every key (see
    :meth:`sweep`)."""

    def __init__(self, within: float, aggregate: str) -> None:
        if aggregate not in ("count", "sum", "distinct"):
            raise ValueError(f"unknown aggregate {aggregate!r}")
        self.within = within
        self.aggregate = aggregate
        self.counting = aggregate == "count"
        self.slots: dict[Key, _Slot] = {}
        self.grain = max(1.0, min(within / 32, 3600.0))
        """Bucket width: a sweep re-reads the live keys of the horizon's bucket, so keep it narrow."""
        self.buckets: dict[float, list[Key]] = {}
        """bucket → keys listed under it: each key once, under a bucket at or before its latest record's."""

    def _list(self, key: Key, b: float) -> None:
        """List ``key`` under bucket ``b``."""
        got = self.buckets.get(b)
        if got is None:
            self.buckets[b] = [key]
        else:
            got.append(key)

    def add(self, key: Key, t: float, value: Any = None) -> float | int:
        """Let a record at ``t`` (with the summed or distinct ``value``) join ``key``'s window; return
        the aggregate over ``(t - within, t]``."""
        slot = self.slots.get(key)
        if slot is None:
            return self._first(key, t, value)
        if slot.ats and t < slot.ats[-1]:
            return self._add_late(slot, t, value)
        counting = self.counting
        ats = slot.ats
        if counting:  # a count keeps the times only (its `vals` stay empty)
            ats.append(t)
        elif value is None:
            ats.append(t)
            slot.vals.append(None)
        else:
            slot.push(t, value)
        horizon = t - self.within
        head = slot.head
        if ats[head] <= horizon:  # never past the end: `t` itself is inside
            if counting:
                head += 1
                while ats[head] <= horizon:
                    head += 1
                if head > 16 and head * 2 > len(ats):
                    del ats[:head]
                    head = 0
                slot.head = head
            else:
                while ats[slot.head] <= horizon:
                    slot.pop()
                ats = slot.ats
        if counting:
            return len(ats) - slot.head
        if self.aggregate == "sum":
            return slot.total
        return len(slot.counts or ())

    def _first(self, key: Key, t: float, value: Any) -> float | int:
        """:meth:`add` for a key that holds nothing yet (most keys of a city hold one record): its slot
        is made holding ``t`` and listed, with nothing to drop from the window."""
        b = t // self.grain
        if self.counting:
            self.slots[key] = _Slot([t], None)
            aggregate: float | int = 1
        elif value is None:
            self.slots[key] = _Slot([t], [None])
            aggregate = 0
        else:
            slot = self.slots[key] = _Slot()
            slot.push(t, value)
            aggregate = slot.total if self.aggregate == "sum" else 1
        self._list(key, b)
        return aggregate

    def _live(self, slot: _Slot) -> list[tuple[float, Any]]:
        if self.counting:
            return [(a, None) for a in slot.ats[slot.head :]]
        return slot.live()

    def _add_late(self, slot: _Slot, t: float, value: Any) -> float | int:
        """A record behind its key's latest (a chained warning of an absence): insert it in time order
        and aggregate over what the window still holds in ``(t - within, t]``."""
        pairs = self._live(slot)
        pos = bisect.bisect_right([a for a, _ in pairs], t)
        pairs.insert(pos, (t, value))
        fresh = _Slot()
        for a, v in pairs:
            fresh.push(a, v)
        slot.ats, slot.vals, slot.head = fresh.ats, [] if self.counting else fresh.vals, 0
        slot.total, slot.counts = fresh.total, fresh.counts
        inside = [v for a, v in pairs if t - self.within < a <= t]
        if self.aggregate == "count":
            return len(inside)
        if self.aggregate == "sum":
            return sum(v for v in inside if isinstance(v, (int, float)) and not isinstance(v, bool))
        return len(set(inside))

    def sweep(self, watermark: float) -> None:
        """Forget keys whose every record is at or before ``watermark - within``.

        A key is listed once, when it is made, and moved only here: a key listed under a bucket the
        horizon has reached is forgotten if its latest record is at or before the horizon, else listed
        again under its latest record's bucket. A key's listing is never after its latest record's
        bucket, so every key a sweep of all keys would forget is visited; adding a record lists nothing
        (listing a busy key under every bucket it touched made the sweeps a twelfth of a district's work)."""
        horizon = watermark - self.within
        grain = self.grain
        last = horizon // grain
        slots: dict[Key, Any] = self.slots
        buckets = self.buckets
        latest_of = self._latest
        for b in sorted(b for b in buckets if b <= last):
            keep: list[Key] = []
            for k in buckets.pop(b):
                entry = slots.get(k)
                if entry is None:
                    continue  # gone
                latest = latest_of(entry)
                if latest is None or latest <= horizon:
                    del slots[k]
                    continue
                now = latest // grain
                if now <= last:
                    keep.append(k)
                else:
                    self._list(k, now)
            if keep:
                buckets[b] = keep

    def _latest(self, entry: Any) -> float | None:
        """The time of a key's latest record (``None``: it holds none). Subclasses that keep some keys in
        a compact form (:mod:`rules.engine.count_windows`, :mod:`rules.engine.distinct_windows`) say it for
        theirs."""
        return entry.ats[-1] if entry.ats else None

    def size(self) -> int:
        """How many records the windows hold."""
        return sum(len(s) for s in self.slots.values())

    def to_json(self) -> list[Any]:
        """The windows' contents as plain JSON."""
        return [[list(k), *map(list, zip(*self._live(s), strict=True))] for k, s in self.slots.items() if len(s)]

    def load_json(self, data: list[Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.slots, self.buckets = {}, {}
        for key, ats, vals in data:
            k = key_in(key)
            slot = self.slots[k] = _Slot()
            for a, v in zip(ats, vals, strict=True):
                slot.push(float(a), v)
            if self.counting:
                slot.vals = []
            self._list(k, slot.ats[-1] // self.grain if slot.ats else _OLD)
