"""Event-time state of rules: sliding windows, partial sequences and pending absences.

Times are epoch seconds of the records' ``at``; keys are tuples of the ``by``/``join`` values. Records
arrive in the engine's order ``(at, source, id)``, one after another. Every structure forgets
what event time has left behind (``sweep``), so memory is bounded by what the windows hold, not by how
many records went through. Every structure can be written to and read from plain JSON.

Semantics (docs/rules-language.md#windows and #sequences-and-absences):

- :class:`Windows`: the aggregate over the key's records that arrived so far with ``at`` in
  ``(t - within, t]``; ``count``, ``sum`` of a field or ``distinct`` values of a field.
- :class:`Sequences`: a match completes when the last step arrives with earlier steps in order and all
  within ``[first.at, first.at + within]``; the oldest partial match completes first, and a record
  completes (or else advances) at most one partial match; a record matching the first step also
  starts a new partial match.
- :class:`Absences`: ``after`` fires at ``after.at + within`` once the watermark passes that instant
  with no ``missing`` record of its key in ``[after.at, after.at + within]``.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone, tzinfo
from typing import Any

__all__ = ["Absences", "Sequences", "Windows", "seconds"]

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


def _key_in(raw: list[Any]) -> Key:
    return tuple(raw)


def _same(payload: Any) -> Any:
    return payload


_OLD = -float(2**62)
"""The sweep bucket of a slot that holds nothing: swept first."""


class _Slot:
    """The records of one key in a window: their times and values (from ``head`` on), with running
    aggregates. Plain lists with a moving head: small for the many keys that hold one record."""

    __slots__ = ("ats", "bucket", "counts", "head", "total", "vals")

    def __init__(self, ats: list[float] | None = None, vals: list[Any] | None = None, bucket: float = _OLD) -> None:
        self.ats: list[float] = [] if ats is None else ats
        self.vals: list[Any] = [] if vals is None else vals
        self.head = 0
        self.total: float = 0
        self.counts: dict[Any, int] | None = None
        self.bucket: float = bucket
        """The sweep bucket of the latest ``at`` (see :meth:`Windows.sweep`)."""

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

    For sweeping, every key is also listed under the *bucket* (``at // grain``) of its latest record:
    a sweep visits only the buckets the horizon has reached, not every key."""

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
        """bucket → keys whose latest record fell in it (a key may linger where it no longer is)."""

    def _list(self, key: Key, b: float) -> None:
        """List ``key`` under bucket ``b``."""
        got = self.buckets.get(b)
        if got is None:
            self.buckets[b] = [key]
        else:
            got.append(key)

    def _listed(self, key: Key, slot: _Slot) -> None:
        """List ``key`` under the bucket of its slot's latest record."""
        b = slot.ats[-1] // self.grain if slot.ats else _OLD
        if b != slot.bucket:
            slot.bucket = b
            self._list(key, b)

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
        # _listed, inlined: this runs once per record per window rule, the engine's hottest line.
        b = t // self.grain
        if b != slot.bucket:
            slot.bucket = b
            got = self.buckets.get(b)
            if got is None:
                self.buckets[b] = [key]
            else:
                got.append(key)
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
            self.slots[key] = _Slot([t], None, b)
            aggregate: float | int = 1
        elif value is None:
            self.slots[key] = _Slot([t], [None], b)
            aggregate = 0
        else:
            slot = self.slots[key] = _Slot(None, None, b)
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
        """Forget keys whose every record is at or before ``watermark - within``: those listed in the
        buckets up to the horizon's (a key's latest record is in its bucket; later buckets are later)."""
        horizon = watermark - self.within
        last = horizon // self.grain
        slots: dict[Key, Any] = self.slots
        for b in sorted(b for b in self.buckets if b <= last):
            keep: list[Key] = []
            for k in self.buckets.pop(b):
                entry = slots.get(k)
                if entry is None:
                    continue  # gone
                listed, latest = self._latest(entry)
                if listed != b:
                    continue  # listed again under a later bucket
                if latest is None or latest <= horizon:
                    del slots[k]
                else:
                    keep.append(k)
            if keep:
                self.buckets[b] = keep

    def _latest(self, entry: Any) -> tuple[float, float | None]:
        """A key's bucket and the time of its latest record (``None``: it holds none). Subclasses that
        keep some keys in a compact form (:mod:`rules.engine.count_windows`, :mod:`rules.engine.distinct_windows`)
        say it for theirs; :meth:`sweep` is theirs too."""
        return entry.bucket, entry.ats[-1] if entry.ats else None

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
            k = _key_in(key)
            slot = self.slots[k] = _Slot()
            for a, v in zip(ats, vals, strict=True):
                slot.push(float(a), v)
            if self.counting:
                slot.vals = []
            self._listed(k, slot)


@dataclass
class _Partial:
    first: float
    next: int
    refs: list[str] = field(default_factory=list)


class Sequences:
    """Partial matches of one sequence rule, per ``join`` key."""

    def __init__(self, steps: int, within: float) -> None:
        self.steps = steps
        self.within = within
        self.partials: dict[Key, list[_Partial]] = {}

    def add(self, key: Key, t: float, matched: frozenset[int] | set[int], ref: str) -> list[str] | None:
        """A record at ``t`` that passes the steps ``matched`` (indices). Returns the record refs of the
        match it completes, if any (the record itself last)."""
        last = self.steps - 1
        plist = self.partials.get(key)
        if plist:
            plist[:] = [p for p in plist if p.first + self.within >= t]
        done: list[str] | None = None
        if plist:
            used = False
            if last in matched:
                for i, p in enumerate(plist):
                    if p.next == last and p.first <= t:
                        done = [*p.refs, ref]
                        del plist[i]
                        used = True
                        break
            if not used:
                for step in sorted((s for s in matched if 0 < s < last), reverse=True):
                    hit = next((p for p in plist if p.next == step and p.first <= t), None)
                    if hit is not None:
                        hit.refs.append(ref)
                        hit.next += 1
                        break
        if 0 in matched and last > 0:
            self.partials.setdefault(key, []).append(_Partial(t, 1, [ref]))
        if plist is not None and not plist and key in self.partials and not self.partials[key]:
            del self.partials[key]
        return done

    def sweep(self, watermark: float) -> None:
        """Forget partial matches that can no longer complete."""
        for key in list(self.partials):
            self.partials[key] = [p for p in self.partials[key] if p.first + self.within >= watermark]
            if not self.partials[key]:
                del self.partials[key]

    def size(self) -> int:
        """How many partial matches are held."""
        return sum(len(v) for v in self.partials.values())

    def to_json(self) -> list[Any]:
        """Partial matches as plain JSON."""
        return [[list(k), [[p.first, p.next, p.refs] for p in v]] for k, v in self.partials.items()]

    def load_json(self, data: list[Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.partials = {_key_in(k): [_Partial(float(f), int(n), list(r)) for f, n, r in v] for k, v in data}


class Absences:
    """Pending ``after`` records of one absence rule, waiting for their deadline or a ``missing`` record."""

    def __init__(self, within: float) -> None:
        self.within = within
        self.pending: dict[Key, dict[int, tuple[float, Any]]] = {}
        self.heap: list[tuple[float, int, Key]] = []
        self.last_missing: dict[Key, float] = {}
        self.seq = 0

    def missing(self, key: Key, t: float) -> None:
        """A ``missing`` record at ``t``: it cancels every pending ``after`` of the key with
        ``after.at <= t <= after.at + within``."""
        self.last_missing[key] = max(t, self.last_missing.get(key, t))
        waiting = self.pending.get(key)
        if not waiting:
            return
        for seq, (at, _) in list(waiting.items()):
            if at <= t <= at + self.within:
                del waiting[seq]
        if not waiting:
            del self.pending[key]

    def after(self, key: Key, t: float, payload: Any) -> None:
        """An ``after`` record at ``t``; ``payload`` is returned by :meth:`due` when it fires."""
        seen = self.last_missing.get(key)
        if seen is not None and t <= seen <= t + self.within:
            return  # a missing record with the same at arrived just before it
        self.seq += 1
        self.pending.setdefault(key, {})[self.seq] = (t, payload)
        heapq.heappush(self.heap, (t + self.within, self.seq, key))

    def due(self, watermark: float) -> list[tuple[float, Any]]:
        """Pop the pending ``after`` records whose deadline the watermark has passed, oldest deadline
        first, as ``(deadline, payload)``."""
        out: list[tuple[float, Any]] = []
        heap = self.heap
        while heap and heap[0][0] < watermark:
            deadline, seq, key = heapq.heappop(heap)
            waiting = self.pending.get(key)
            if waiting is None or seq not in waiting:
                continue  # cancelled
            _, payload = waiting.pop(seq)
            if not waiting:
                del self.pending[key]
            out.append((deadline, payload))
        return out

    def sweep(self, watermark: float) -> None:
        """Forget the last ``missing`` times no future ``after`` can be affected by."""
        self.last_missing = {k: t for k, t in self.last_missing.items() if t >= watermark}
        if len(self.heap) > 2 * self.size() + 64:
            self.heap = [(d, s, k) for d, s, k in self.heap if s in self.pending.get(k, {})]
            heapq.heapify(self.heap)

    def size(self) -> int:
        """How many ``after`` records are pending."""
        return sum(len(v) for v in self.pending.values())

    def to_json(self, encode: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        """Pending records as plain JSON: payloads through ``encode`` (they may be built lazily: most
        never come due), else as they are (JSON already)."""
        encode = encode or _same
        return {
            "seq": self.seq,
            "pending": [[list(k), s, t, encode(p)] for k, v in self.pending.items() for s, (t, p) in v.items()],
            "last_missing": [[list(k), t] for k, t in self.last_missing.items()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.seq = int(data["seq"])
        self.pending, self.heap = {}, []
        for k, s, t, p in data["pending"]:
            key = _key_in(k)
            self.pending.setdefault(key, {})[int(s)] = (float(t), p)
            self.heap.append((float(t) + self.within, int(s), key))
        heapq.heapify(self.heap)
        self.last_missing = {_key_in(k): float(t) for k, t in data["last_missing"]}
