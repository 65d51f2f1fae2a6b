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

- ``(at, source, id, 1, 0.0, rule index)`` after the record ``(at, source, id)`` that fired its rule;
- ``(deadline, MAX, MAX, 0, deadline, rule index)`` for an absence: a single run fires it at the first
  record of the city past its deadline, a record the producer's group may not see. Among the records
  and warnings a chained group sees, that place is the same: after everything at or before the deadline,
  before everything after it, and before the trigger's own firings (absences go first). Only a chained
  group whose rules also read departmental records could tell the difference (it would see the trigger
  record itself after the absence's warning, not before); the default rulebook's clusters read warnings
  only.

Two warnings at one place (of one rule, on one record) keep the order the producer made them in (a
sequence number breaks the tie).

Why this is enough: the caller feeds every producer group before the chained group in each pass, and a
chained group's bound is never past a producer's (it is held by a superset of the sources, and its clock
is ``min(bound, latest at)`` as theirs). So when the chained group is released up to ``t``, every
producer has processed every record at or before ``t``, and moved time at least to ``t``: every warning
placed at or before ``t`` is in the buffer, but for the absences due at ``t`` itself, which fire only
once time passes ``t`` (:func:`upto_clock` leaves them for a later release). One that arrives behind
what was already released would be a caller's mistake; it is still fed (at the next release, as a late
record is) and counted in :attr:`ChainBuffer.late`.

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

__all__ = ["MAX", "ChainBuffer", "Place", "place_of", "upto_clock", "upto_record"]

MAX = "\uffff\uffff"
"""Sorts after every source and id (a tick's source is ``"\\uffff"``): an absence's place within its deadline."""

Place = tuple[float, str, str, int, float, int]
"""``(at, source, id, phase, deadline, rule index)``: where a chained warning enters a single run's stream."""


def place_of(trigger: Record, firing: Firing, rule_index: int, absence: bool) -> Place:
    """Where the warning of ``firing`` (rule number ``rule_index`` of the full rulebook) sits in a single
    run's stream, ``trigger`` being the record whose processing made the firing (see the module)."""
    if absence:
        due = seconds(firing.at)
        return (due, MAX, MAX, 0, due, rule_index)
    return (seconds(trigger.at), trigger.source, trigger.id, 1, 0.0, rule_index)


def upto_clock(clock: datetime) -> tuple[float, str, str]:
    """A release bound at ``clock``: every place at or before that instant but those of the absences due
    at it (an absence fires only once time is past its deadline: a producer at ``clock`` has not fired
    it yet)."""
    return (seconds(clock), "\uffff", "")


def upto_record(record: Record) -> tuple[float, str, str]:
    """A release bound at ``record``: the places up to the warnings its own firings chain."""
    return (seconds(record.at), record.source, record.id)


class ChainBuffer:
    """Chained ``warning`` records of producer groups, by place, until a consumer's release passes them."""

    def __init__(self, rule_index: Mapping[str, int], absences: Iterable[str]) -> None:
        """``rule_index``: each rule's position in the full rulebook; ``absences``: the ids of its absence rules."""
        self.rule_index = dict(rule_index)
        self.absences = frozenset(absences)
        self._heap: list[tuple[Place, int, Record]] = []
        self._seq = 0
        self.released: tuple[float, str, str] | None = None
        """The bound of the last :meth:`release` (``None``: none yet)."""
        self.late = 0
        """Warnings that arrived at a place already released (a caller's mistake: see the module)."""

    def __len__(self) -> int:
        return len(self._heap)

    def __call__(self, trigger: Record, warning: Record, firing: Firing) -> None:
        """The producers' :data:`~rules.engine.evaluate.ChainHook`: keep ``warning`` at its place."""
        self.push(place_of(trigger, firing, self.rule_index[firing.rule], firing.rule in self.absences), warning)

    def push(self, place: Place, warning: Record) -> None:
        """Keep ``warning`` at ``place``."""
        if self.released is not None and place[:3] <= self.released:
            self.late += 1
        self._seq += 1
        heapq.heappush(self._heap, (place, self._seq, warning))

    def release(self, upto: tuple[float, str, str]) -> list[tuple[Place, Record]]:
        """The warnings placed at or before ``upto`` (:func:`upto_clock`, :func:`upto_record`), in place
        order, taken out of the buffer."""
        out: list[tuple[Place, Record]] = []
        heap = self._heap
        while heap and heap[0][0][:3] <= upto:
            place, _, warning = heapq.heappop(heap)
            out.append((place, warning))
        if self.released is None or upto > self.released:
            self.released = upto
        return out

    def to_json(self) -> dict[str, Any]:
        """The held warnings and the release so far, as plain JSON."""
        return {"released": None if self.released is None else list(self.released), "late": self.late,
                "held": [[list(p), s, w.model_dump(mode="json")] for p, s, w in sorted(self._heap)]}

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Continue from :meth:`to_json`'s output."""
        released = data.get("released")
        self.released = None if released is None else (float(released[0]), str(released[1]), str(released[2]))
        self.late = int(data.get("late", 0))
        self._heap = [((float(p[0]), str(p[1]), str(p[2]), int(p[3]), float(p[4]), int(p[5])), int(s),
                       Record.model_validate(w)) for p, s, w in data.get("held", [])]
        heapq.heapify(self._heap)
        self._seq = max((s for _, s, _ in self._heap), default=0)
