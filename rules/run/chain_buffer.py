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
producers also tell the buffer the times of the records they take (:meth:`ChainBuffer.saw`), and it
releases them to the chained group as tick records (a kind no rule watches) among the warnings: a
tick at ``t`` before every record at ``t``. An absence's warning is held at ``(deadline, MAX, MAX, 0,
deadline, rule index)`` and released right after the first tick past its deadline — its single-run
trigger, among the records the producers see (a kind no rule reads moves a single run's time but not
the clusters'; the default configuration has none). Only a chained group whose rules also read
departmental records could still tell the difference: it takes its own records directly, not as ticks.

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
from rules.run.shard_run import CLOCK_KIND

__all__ = ["MAX", "ChainBuffer", "Place", "place_of", "tick", "upto_clock", "upto_record"]

MAX = "\uffff\uffff"
"""Sorts after every source and id (a tick's is ``"\\uffff"``): marks an absence's place."""

_NOWHERE = "000000000000"
"""Region of a tick record (no rule watches its kind, so none reads it)."""

Place = tuple[float, str, str, int, float, int]
"""``(at, source, id, phase, deadline, rule index)``: where a chained warning enters a single run's stream."""

Key = tuple[Any, ...]
"""Order of what a chained group is fed: a place, ``(t, "", "")`` for a tick at ``t``, a record's key."""


def tick(at: datetime, source: str = "\uffff") -> Record:
    """A record no rule watches: moves an engine's watermark to ``at`` (sorting after every record at
    ``at`` with the default ``source``)."""
    return Record.model_construct(kind=CLOCK_KIND, source=source, id="", at=at, region=_NOWHERE, attributes={},
                                  late=False)


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
    return (seconds(record.at), record.source, record.id)


class ChainBuffer:
    """Chained ``warning`` records of producer groups, and the times of their records, held by place until
    a chained group's release passes them."""

    def __init__(self, rule_index: Mapping[str, int], absences: Iterable[str]) -> None:
        """``rule_index``: each rule's position in the full rulebook; ``absences``: the ids of its absence rules."""
        self.rule_index = dict(rule_index)
        self.absences = frozenset(absences)
        self._heap: list[tuple[Place, int, Record]] = []
        self._times: list[tuple[float, datetime]] = []
        self._seq = 0
        self._last_tick: tuple[float, datetime] | None = None
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
            if self._last_tick is not None and self._last_tick[0] > place[0]:
                self.late += 1  # time has passed its deadline in the chained group already
        elif self.released is not None and place[:3] <= self.released:
            self.late += 1
        self._seq += 1
        heapq.heappush(self._heap, (place, self._seq, warning))

    def saw(self, records: Iterable[Record]) -> None:
        """A producer took ``records``: keep their times, to move the chained group's time with them."""
        floor = self._last_tick[0] if self._last_tick is not None else float("-inf")
        times = self._times
        for r in records:
            t = seconds(r.at)
            if t > floor:  # at or behind the chained group's time already: a tick there would do nothing
                heapq.heappush(times, (t, r.at))

    def release(self, upto: tuple[float, str, str]) -> list[tuple[Key, Record]]:
        """Ticks and warnings up to ``upto`` (:func:`upto_clock`, :func:`upto_record`), in order, each with
        its key, taken out of the buffer; an absence's warning waits for the first tick past its deadline."""
        out: list[tuple[Key, Record]] = []
        heap, times = self._heap, self._times
        while heap or times:
            item: Key | None
            if heap and heap[0][0][1] == MAX:  # an absence's warning: right after the first tick past its due
                place, last = heap[0][0], self._last_tick
                if last is not None and last[0] > place[0]:
                    _, _, warning = heapq.heappop(heap)
                    out.append(((last[0], "", "", 0, place[4], place[5]), warning))
                    continue
                if not times:
                    break  # no record past its deadline yet: it waits, and nothing comes before it
                item = None  # the next tick goes first
            else:
                item = heap[0][0] if heap else None
            if times and (item is None or (times[0][0], "", "") < item):
                t, at = times[0]
                if (t, "", "") > upto:
                    break
                while times and times[0][0] == t:
                    heapq.heappop(times)
                self._last_tick = (t, at)
                out.append(((t, "", ""), tick(at, "")))
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
        last = self._last_tick
        return {"released": None if self.released is None else list(self.released), "late": self.late,
                "last_tick": None if last is None else last[1].isoformat(),
                "times": sorted({at.isoformat() for _, at in self._times}),
                "held": [[list(p), s, w.model_dump(mode="json")] for p, s, w in sorted(self._heap)]}

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Continue from :meth:`to_json`'s output."""
        released = data.get("released")
        self.released = None if released is None else (float(released[0]), str(released[1]), str(released[2]))
        self.late = int(data.get("late", 0))
        last = data.get("last_tick")
        at = None if last is None else datetime.fromisoformat(last)
        self._last_tick = None if at is None else (seconds(at), at)
        self._times = [(seconds(a), a) for a in map(datetime.fromisoformat, data.get("times", []))]
        heapq.heapify(self._times)
        self._heap = [((float(p[0]), str(p[1]), str(p[2]), int(p[3]), float(p[4]), int(p[5])), int(s),
                       Record.model_validate(w)) for p, s, w in data.get("held", [])]
        heapq.heapify(self._heap)
        self._seq = max((s for _, s, _ in self._heap), default=0)
