"""The chain buffer (issue 17): producer groups' warnings, held for a chained group until its release passes them.

A chained release group (the default rulebook's cluster rules) takes the ``warning`` records that other
groups' rules chain. Those groups run ahead of it: each is held back only by its own sources, while the
chained group waits for every source upstream. Rather than run the producers' rules a second time at
the chained group's pace (the *shadow* of :mod:`rules.run.grouped`), the producers' evaluators hand each
warning they chain to a :class:`ChainBuffer` (:attr:`rules.engine.evaluate.Evaluator.on_chain`), which
keeps it at the place a single run over all records gives it, and :meth:`ChainBuffer.release` gives the
chained group the warnings its release bound has passed, in that order, to be fed unsorted
(``Evaluator.feed(..., in_order=True)``).

Places (as :mod:`rules.run.shard_run` numbers them). A single run processes a record, then the warnings
its firings chain, depth first: due absences first by (deadline, rule index), then the record's own
firings by rule index (the index in the FULL rulebook, so groups agree). So a warning sits at
``(at, source, id, 1, 0.0, rule index)`` right after the record ``(at, source, id)`` that fired its rule.

Time. A single run's clusters also see time move with every record of the city: the watermark, and the
sweeps that forget old window keys, follow it. That matters for an absence's warning, the one chained
warning behind its own ``at``: a single run fires it at the first record past its deadline, after that
record has moved the watermark (and maybe swept the windows it is about to be counted in). So the
producers also hand the buffer the records they take (:meth:`ChainBuffer.saw`), and it releases them
to the chained group among the warnings, each at its own place: the chained group's rules watch none
of their kinds, so they only move its time, as they move a single run's (an unwatched record costs
the engine next to nothing). An absence's warning is held at ``(deadline, MAX, MAX, 0, deadline, rule
index)`` and released right after the first such record past its deadline — its single-run trigger,
among the records the producers see (a kind no rule reads moves a single run's time but not the
clusters'; the default configuration has none). Records of a kind the chained group reads itself are
not taken from the producers: it is fed those directly.

Two warnings at one place (of one rule, on one record) keep the order the producer made them in (a
sequence number breaks the tie).

Why this is enough: the caller feeds every producer group before the chained group in each pass, and a
chained group's bound is never past a producer's (it is held by a superset of the sources, and its clock
is ``min(bound, latest at)`` as theirs). So when the chained group is released up to ``t``, every
producer has processed every record at or before ``t``, and moved time at least to ``t``: every warning
placed at or before ``t`` is in the buffer, and every absence due before ``t`` too. One that arrives
behind what was already released would be a caller's mistake; it is still fed (at the next release, as
a late record is) and counted in :attr:`ChainBuffer.late`.

The buffer is plain data (:meth:`ChainBuffer.to_json`), kept in the chained group's snapshot by
:class:`rules.run.grouped.GroupedEvaluator`; the live path is to persist it as a table
(docs/proposals/README.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.records import Record
from domain.warnings import Firing
from rules.engine.windows import seconds

__all__ = ["MAX", "ChainBuffer", "Key", "Place", "key_of", "place_of", "upto_clock", "upto_record"]

MAX = "\uffff\uffff"
"""Sorts after every source and id (a tick's is ``"\\uffff"``): marks an absence's place."""

Place = tuple[float, str, str, int, float, int]
"""``(at, source, id, phase, deadline, rule index)``: where a chained warning enters a single run's stream."""

Key = tuple[Any, ...]
"""Order of what a chained group is fed: a record's ``(at, source, id)`` (``at`` in epoch seconds) or a place."""


def key_of(record: Record) -> tuple[float, str, str]:
    """A record's place in the stream: :attr:`Record.key` with ``at`` in epoch seconds."""
    return (seconds(record.at), record.source, record.id)


def place_of(trigger: Record, firing: Firing, rule_index: int, absence: bool) -> Place:
    """Where the warning of ``firing`` (rule number ``rule_index`` of the full rulebook) is held, ``trigger``
    being the record whose processing made the firing (see the module)."""
    if absence:
        due = seconds(firing.at)
        return (due, MAX, MAX, 0, due, rule_index)
    return (seconds(trigger.at), trigger.source, trigger.id, 1, 0.0, rule_index)


def upto_clock(clock: datetime) -> tuple[float, str, str]:
    """A release bound at ``clock``: everything at or before that instant (an absence due at it fires
    only once time is past it)."""
    return (seconds(clock), "\uffff", "")


def upto_record(record: Record) -> tuple[float, str, str]:
    """A release bound at ``record``: the places up to the warnings its own firings chain."""
    return key_of(record)


class ChainBuffer:
    """Chained ``warning`` records of producer groups, and the records those groups took, held in stream
    order until a chained group's release passes them."""

    def __init__(self, rule_index: Mapping[str, int], absences: Iterable[str], reads: Iterable[str] = ()) -> None:
        """``rule_index``: each rule's position in the full rulebook; ``absences``: the ids of its absence
        rules; ``reads``: the record kinds the chained group is fed directly (not taken from producers)."""
        self.rule_index = dict(rule_index)
        self.absences = frozenset(absences)
        self.reads = frozenset(reads)
        self._heap: list[tuple[Place, int, Record]] = []
        self._passing: list[tuple[tuple[float, str, str], Record]] = []
        self._seq = 0
        self._last: tuple[float, str, str] | None = None
        """The key of the last producer record released."""
        self.released: tuple[float, str, str] | None = None
        """The bound of the last :meth:`release` (``None``: none yet)."""
        self.late = 0
        """Warnings that arrived at a place already released (a caller's mistake: see the module)."""

    def __len__(self) -> int:
        """How many warnings it holds."""
        return len(self._heap)

    def __call__(self, trigger: Record, warning: Record, firing: Firing) -> None:
        """The producers' :data:`~rules.engine.evaluate.ChainHook`: keep ``warning`` at its place."""
        self.push(place_of(trigger, firing, self.rule_index[firing.rule], firing.rule in self.absences), warning)

    def push(self, place: Place, warning: Record) -> None:
        """Keep ``warning`` at ``place``."""
        if place[1] == MAX:
            if self._last is not None and self._last[0] > place[0]:
                self.late += 1  # the chained group's time is past its deadline already
        elif self.released is not None and place[:3] <= self.released:
            self.late += 1
        self._seq += 1
        heapq.heappush(self._heap, (place, self._seq, warning))

    def saw(self, records: Iterable[Record]) -> None:
        """A producer took ``records``: keep them, to move the chained group's time with them."""
        last, reads, passing = self._last, self.reads, self._passing
        for r in records:
            if r.kind in reads:
                continue
            k = key_of(r)
            if last is None or k > last:  # another producer's copy of one already released is dropped
                heapq.heappush(passing, (k, r))

    def release(self, upto: tuple[float, str, str]) -> list[tuple[Key, Record]]:
        """The producers' records and the warnings up to ``upto`` (:func:`upto_clock`, :func:`upto_record`),
        in stream order, each with its key, taken out of the buffer; an absence's warning waits for the
        first record past its deadline."""
        out: list[tuple[Key, Record]] = []
        heap, passing = self._heap, self._passing
        while heap or passing:
            item: Key | None
            if heap and heap[0][0][1] == MAX:  # an absence's warning: right after the first record past its due
                place, last = heap[0][0], self._last
                if last is not None and last[0] > place[0]:
                    _, _, warning = heapq.heappop(heap)
                    out.append(((*last, 0, place[4], place[5]), warning))
                    continue
                if not passing:
                    break  # no record past its deadline yet: it waits, and nothing comes before it
                item = None  # the next record goes first
            else:
                item = heap[0][0] if heap else None
            if passing and (item is None or passing[0][0] < item):
                k, r = passing[0]
                if k > upto:
                    break
                while passing and passing[0][0] == k:  # one record taken by several producers
                    heapq.heappop(passing)
                self._last = k
                out.append((k, r))
                continue
            if item is None or item[:3] > upto:
                break
            _, _, warning = heapq.heappop(heap)
            out.append((item, warning))
        if self.released is None or upto > self.released:
            self.released = upto
        return out

    def to_json(self) -> dict[str, Any]:
        """What it holds and the release so far, as plain JSON."""
        unique = {k: r for k, r in self._passing}
        return {"released": None if self.released is None else list(self.released), "late": self.late,
                "last": None if self._last is None else list(self._last),
                "passing": [r.model_dump(mode="json") for _, r in sorted(unique.items(), key=lambda x: x[0])],
                "held": [[list(p), s, w.model_dump(mode="json")] for p, s, w in sorted(self._heap)]}

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Continue from :meth:`to_json`'s output."""
        released, last = data.get("released"), data.get("last")
        self.released = None if released is None else (float(released[0]), str(released[1]), str(released[2]))
        self._last = None if last is None else (float(last[0]), str(last[1]), str(last[2]))
        self.late = int(data.get("late", 0))
        self._passing = []
        self.saw(map(Record.model_validate, data.get("passing", [])))
        self._heap = [((float(p[0]), str(p[1]), str(p[2]), int(p[3]), float(p[4]), int(p[5])), int(s),
                       Record.model_validate(w)) for p, s, w in data.get("held", [])]
        heapq.heapify(self._heap)
        self._seq = max((s for _, s, _ in self._heap), default=0)
