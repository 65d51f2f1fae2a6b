"""Evaluation per release group (issue 17): one evaluator per group of :mod:`rules.run.release_groups`.

Each group's evaluator takes only its group's record kinds, in event-time order, when its own sources'
watermarks release them (the caller decides what is released: the store in live operation, a test's
model of the deliveries here). Within a group nothing differs from a single run: rules share no state
across groups except time and chaining, and both are restored:

- **Time.** A rule's absences fire when the watermark passes their deadline; a single run's watermark is
  the latest ``at`` of *any* record, a group's only that of its own records. So each feed may bring a
  ``clock``: the group's engine moves to it as a single run would at the first record past it (a tick
  record no rule watches, :data:`rules.run.shard_run.CLOCK_KIND`), firing the absences due before it.
  The caller passes ``min(the group's release bound, the latest at stored)``: every record of the
  group up to the clock has been released, so an absence fires only when every source feeding it has
  passed its deadline, and never beyond the last record seen (the v1 rule backtests keep).
- **Chaining.** A chained group (cluster rules taking other groups' warnings) must see the warnings of
  the groups it consumes exactly where a single run makes them, though those groups run ahead of it.
  By default their evaluators hand every warning they chain to the chained group's
  :class:`~rules.run.chain_buffer.ChainBuffer`, with the records they took; the buffer gives the
  chained group both, unsorted and in stream order, once the group's own release passes them: the
  warnings at their single-run places, the records (of kinds its rules do not watch) to move its time
  as a single run's moves, an absence's warning right after the first record past its deadline. With
  ``shadow=True`` the chained group instead runs the rules of the groups it consumes *in shadow*: it is
  fed their records too, at its own slower release, and their own warning changes are dropped (their
  groups report them). Both give the same warnings; the shadow evaluates the consumed rules twice (most
  of the default rulebook), the buffer only steps their records through an engine that watches none.

The final warnings therefore equal one backtest over all records once every source has delivered
(``tests/rules/test_grouped.py``), while a group fed by one source takes its records at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.records import Record
from domain.warnings import Change, Firing, WarningState
from rules.engine.evaluate import ChainHook, Evaluator
from rules.engine.windows import seconds
from rules.run.chain_buffer import ChainBuffer, key_of, upto_clock, upto_record
from rules.run.release_groups import ReleaseGroup, ReleasePlan
from rules.run.shard_run import CLOCK_KIND, SubRulebook

__all__ = ["GroupEvaluator", "GroupedEvaluator", "group_rulebook", "tick"]

_NOWHERE = "000000000000"
"""Region of a tick record (no rule watches its kind, so none reads it)."""


def tick(at: datetime) -> Record:
    """A record no rule watches, sorting after every record at ``at``: moves an engine's watermark there."""
    return Record.model_construct(kind=CLOCK_KIND, source="\uffff", id="", at=at, region=_NOWHERE, attributes={},
                                  late=False)

def group_rulebook(rulebook: Any, plan: ReleasePlan, group: ReleaseGroup, *, shadow: bool = False) -> SubRulebook:
    """The rules ``group``'s evaluator runs — its own and, for a chained group with ``shadow``, those of
    the groups it consumes — in rulebook order, stamped with the full rulebook's version."""
    ids = set(group.rules)
    for name in group.consumes if shadow else ():
        ids |= set(plan.get(name).rules)
    return SubRulebook(tuple(r for r in rulebook.rules if r.id in ids), rulebook.version,
                       getattr(rulebook, "calendars", None))


@dataclass
class GroupEvaluator:
    """One group's evaluator: what it reads and which rules' warnings it reports."""

    group: ReleaseGroup
    evaluator: Evaluator
    kinds: frozenset[str]
    """Record kinds it is fed: its own rules' and, for a chained group, those of the rules it shadows."""
    owned: frozenset[str]
    """Rules whose warning changes it reports (a chained group's shadow rules are reported by their own)."""
    buffer: ChainBuffer | None = None
    """A chained group's buffer of the warnings its producers chain (``None``: not chained, or in shadow)."""
    exports_to: tuple[ChainBuffer, ...] = ()
    """The buffers of the chained groups that take its warnings: they take its records too (their time)."""
    clock_ticks: bool = True
    """Whether ``clock`` moves its engine (a buffered chained group without absences takes its time from
    the producers' records in its buffer instead, the records that move a single run's)."""

    def feed(self, records: Iterable[Record], clock: datetime | None = None) -> list[tuple[WarningState, Change]]:
        """Evaluate ``records`` (of :attr:`kinds`, released: every record of those kinds at or before the
        last of them, or before ``clock``, is in this feed or was in an earlier one) — with a
        :attr:`buffer`, merged with the warnings it releases up to the last record, or ``clock`` — then
        move time to ``clock`` if given; the changes of the owned rules' warnings.

        In a pass, feed every producer group before its chained group: the buffer releases what its
        producers have chained by then."""
        batch = list(records)
        for b in self.exports_to:
            b.saw(batch)
        if self.buffer is not None:
            batch.sort(key=key_of)
            upto = upto_clock(clock) if clock is not None else upto_record(batch[-1]) if batch else None
            held = self.buffer.release(upto) if upto is not None else []
            if held:  # a record sorts before the warnings it chains: its place is their prefix
                mine = [(key_of(r), r) for r in batch]
                batch = [r for _, r in heapq.merge(mine, held, key=lambda x: x[0])]
        wm = getattr(self.evaluator.engine, "watermark", None)
        if self.clock_ticks and clock is not None and (not isinstance(wm, float) or seconds(clock) > wm):
            batch.append(tick(clock))
        if not batch:
            return []
        changes = self.evaluator.feed(batch, in_order=self.buffer is not None)
        if len(self.owned) == len(self.evaluator.rulebook.rules):
            return changes
        return [(w, c) for w, c in changes if w.rule in self.owned]

    def warnings(self) -> list[WarningState]:
        """The open warnings of the owned rules."""
        return [w for w in self.evaluator.warnings() if w.rule in self.owned]


def _fan_out(hooks: Sequence[ChainHook]) -> ChainHook:
    def hook(trigger: Record, warning: Record, firing: Firing) -> None:
        for h in hooks:
            h(trigger, warning, firing)

    return hook


class GroupedEvaluator:
    """One :class:`GroupEvaluator` per group of ``plan``, by group name (plan order).

    ``shadow=False`` (the default): chained groups take their producers' warnings through a
    :class:`~rules.run.chain_buffer.ChainBuffer` each; ``shadow=True``: they re-run the producers' rules
    (see the module). ``snapshots``: from :meth:`snapshots` of a grouped evaluator of the same mode."""

    def __init__(self, rulebook: Any, plan: ReleasePlan, engine: str = "durable",
                 snapshots: Mapping[str, Mapping[str, Any]] | None = None, *, shadow: bool = False) -> None:
        self.plan = plan
        self.shadow = shadow
        self.groups: dict[str, GroupEvaluator] = {}
        buffers: dict[str, ChainBuffer] = {}
        hooks: dict[str, list[ChainBuffer]] = {}
        if not shadow:
            index = {r.id: i for i, r in enumerate(rulebook.rules)}
            absences = [r.id for r in rulebook.rules if r.absence is not None]
            for g in plan.groups:
                if g.chained:
                    buffers[g.name] = ChainBuffer(index, absences, g.kinds)
                    for name in g.consumes:
                        hooks.setdefault(name, []).append(buffers[g.name])
        for g in plan.groups:
            book = group_rulebook(rulebook, plan, g, shadow=shadow)
            got = hooks.get(g.name, [])
            on_chain = None if not got else got[0] if len(got) == 1 else _fan_out(got)
            snap = snapshots.get(g.name) if snapshots else None
            ev = (Evaluator.restore(book, snap, engine=engine, on_chain=on_chain) if snap is not None
                  else Evaluator(book, engine, on_chain=on_chain))
            buffer = buffers.get(g.name)
            if buffer is not None and snap is not None:
                buffer.load_json(snap.get("chain_buffer", {}))
            kinds = frozenset(s.record for r in book.rules for s in r.steps) - {"warning"}
            ticks = buffer is None or any(r.absence is not None for r in book.rules)
            self.groups[g.name] = GroupEvaluator(g, ev, kinds, frozenset(g.rules), buffer,
                                                 tuple(got), ticks)

    def feed(self, name: str, records: Iterable[Record], clock: datetime | None = None
             ) -> list[tuple[WarningState, Change]]:
        """Feed group ``name`` (see :meth:`GroupEvaluator.feed`)."""
        return self.groups[name].feed(records, clock)

    def warnings(self) -> list[WarningState]:
        """Every group's open warnings, oldest first (as :meth:`Evaluator.warnings`)."""
        out = [w for g in self.groups.values() for w in g.warnings()]
        return sorted(out, key=lambda w: (w.first_at, w.fingerprint))

    def snapshots(self) -> dict[str, dict[str, Any]]:
        """Each group's state (:meth:`Evaluator.snapshot`; a chained group's with its buffer under
        ``chain_buffer``), by group name."""
        out = {name: g.evaluator.snapshot() for name, g in self.groups.items()}
        for name, g in self.groups.items():
            if g.buffer is not None:
                out[name]["chain_buffer"] = g.buffer.to_json()
        return out

    def close(self) -> None:
        """Free the engines."""
        for g in self.groups.values():
            g.evaluator.close()
