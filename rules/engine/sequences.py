"""Event-time state of sequence and absence rules: partial sequences and pending absences.

Semantics (RULES.md, "Sequences and absences"; keys and times as in :mod:`rules.engine.windows`):

- :class:`Sequences`: a match completes when the last step arrives with earlier steps in order and all
  within ``[first.at, first.at + within]``; the oldest partial match completes first, and a record
  completes (or else advances) at most one partial match; a record matching the first step also
  starts a new partial match.
- :class:`Absences`: ``after`` fires at ``after.at + within`` once the watermark passes that instant
  with no ``missing`` record of its key in ``[after.at, after.at + within]``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rules.engine.windows import Key, key_in, same

__all__ = ["Absences", "Sequences"]


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
        self.expiry: list[tuple[float, int, Key]] = []
        """When each partial match made can no longer complete, with its key (a heap; the counter keeps
        keys from being compared): a sweep visits only the keys with one past the watermark, not every key
        (a city's people, every day)."""
        self._made = 0

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
            self._made += 1
            heapq.heappush(self.expiry, (t + self.within, self._made, key))
        if plist is not None and not plist and key in self.partials and not self.partials[key]:
            del self.partials[key]
        return done

    def sweep(self, watermark: float) -> None:
        """Forget partial matches that can no longer complete."""
        expiry, partials, within = self.expiry, self.partials, self.within
        while expiry and expiry[0][0] < watermark:
            key = heapq.heappop(expiry)[2]
            plist = partials.get(key)
            if plist is None:
                continue  # completed, or forgotten with an earlier partial of its key
            kept = [p for p in plist if p.first + within >= watermark]
            if kept:
                partials[key] = kept
            else:
                del partials[key]

    def size(self) -> int:
        """How many partial matches are held."""
        return sum(len(v) for v in self.partials.values())

    def to_json(self) -> list[Any]:
        """Partial matches as plain JSON."""
        return [[list(k), [[p.first, p.next, p.refs] for p in v]] for k, v in self.partials.items()]

    def load_json(self, data: list[Any]) -> None:
        """Restore what :meth:`to_json` wrote."""
        self.partials = {key_in(k): [_Partial(float(f), int(n), list(r)) for f, n, r in v] for k, v in data}
        self.expiry = []
        for k, v in self.partials.items():
            for p in v:
                self.expiry.append((p.first + self.within, len(self.expiry) + 1, k))
        heapq.heapify(self.expiry)
        self._made = len(self.expiry)


class Absences:
    """Pending ``after`` records of one absence rule, waiting for their deadline or a ``missing`` record."""

    def __init__(self, within: float) -> None:
        self.within = within
        self.pending: dict[Key, dict[int, tuple[float, Any]]] = {}
        self.heap: list[tuple[float, int, Key]] = []
        self.last_missing: dict[Key, float] = {}
        self.seq = 0
        self._pending = 0
        """How many ``after`` records are pending (:meth:`size`, kept as they come and go: counting them at
        every sweep walked every key)."""

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
                self._pending -= 1
        if not waiting:
            del self.pending[key]

    def after(self, key: Key, t: float, payload: Any) -> None:
        """An ``after`` record at ``t``; ``payload`` is returned by :meth:`due` when it fires."""
        seen = self.last_missing.get(key)
        if seen is not None and t <= seen <= t + self.within:
            return  # a missing record with the same at arrived just before it
        self.seq += 1
        self.pending.setdefault(key, {})[self.seq] = (t, payload)
        self._pending += 1
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
            self._pending -= 1
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
        return self._pending

    def to_json(self, encode: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        """Pending records as plain JSON: payloads through ``encode`` (they may be built lazily: most
        never come due), else as they are (JSON already)."""
        encode = encode or same
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
            key = key_in(k)
            self.pending.setdefault(key, {})[int(s)] = (float(t), p)
            self.heap.append((float(t) + self.within, int(s), key))
        heapq.heapify(self.heap)
        self._pending = len(self.heap)
        self.last_missing = {key_in(k): float(t) for k, t in data["last_missing"]}
