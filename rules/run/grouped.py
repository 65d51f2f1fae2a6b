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
- **Chaining.** A chained group (cluster rules taking other groups' warnings) runs, besides its own
  rules, the rules of the groups it consumes, *in shadow*: it is fed their records too, at its own,
  slower release (held by every source upstream), so it sees their warnings exactly where a single run
  makes them; the shadow rules' own warning changes are dropped (their own groups report them, at
  once). The price is evaluating the consumed rules twice; a buffer of the producers' chained records
  (what :mod:`rules.run.sharded` does between layers) would avoid it and is left for later.

The final warnings therefore equal one backtest over all records once every source has delivered
(``tests/rules/test_grouped.py``), while a group fed by one source takes its records at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.records import Record
from domain.warnings import Change, WarningState
from rules.engine.evaluate import Evaluator
from rules.engine.windows import seconds
from rules.run.release_groups import ReleaseGroup, ReleasePlan
from rules.run.shard_run import CLOCK_KIND, SubRulebook

__all__ = ["GroupEvaluator", "GroupedEvaluator", "group_rulebook", "tick"]

_NOWHERE = "000000000000"
"""Region of a tick record (no rule watches its kind, so none reads it)."""


def tick(at: datetime) -> Record:
    """A record no rule watches, sorting after every record at ``at``: moves an engine's watermark there."""
    return Record.model_construct(kind=CLOCK_KIND, source="\uffff", id="", at=at, region=_NOWHERE, attributes={},
                                  late=False)


def group_rulebook(rulebook: Any, plan: ReleasePlan, group: ReleaseGroup) -> SubRulebook:
    """The rules ``group``'s evaluator runs — its own and, for a chained group, those of the groups it
    consumes (in shadow) — in rulebook order, stamped with the full rulebook's version."""
    ids = set(group.rules)
    for name in group.consumes:
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

    def feed(self, records: Iterable[Record], clock: datetime | None = None) -> list[tuple[WarningState, Change]]:
        """Evaluate ``records`` (of :attr:`kinds`, released in event-time order after those fed before),
        then move time to ``clock`` if given; the changes of the owned rules' warnings."""
        batch = list(records)
        wm = getattr(self.evaluator.engine, "watermark", None)
        if clock is not None and (not isinstance(wm, float) or seconds(clock) > wm):
            batch.append(tick(clock))
        if not batch:
            return []
        changes = self.evaluator.feed(batch)
        if len(self.owned) == len(self.evaluator.rulebook.rules):
            return changes
        return [(w, c) for w, c in changes if w.rule in self.owned]

    def warnings(self) -> list[WarningState]:
        """The open warnings of the owned rules."""
        return [w for w in self.evaluator.warnings() if w.rule in self.owned]


class GroupedEvaluator:
    """One :class:`GroupEvaluator` per group of ``plan``, by group name (plan order)."""

    def __init__(self, rulebook: Any, plan: ReleasePlan, engine: str = "durable",
                 snapshots: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.plan = plan
        self.groups: dict[str, GroupEvaluator] = {}
        for g in plan.groups:
            book = group_rulebook(rulebook, plan, g)
            ev = (Evaluator.restore(book, snapshots[g.name], engine=engine) if snapshots and g.name in snapshots
                  else Evaluator(book, engine))
            kinds = frozenset(s.record for r in book.rules for s in r.steps) - {"warning"}
            self.groups[g.name] = GroupEvaluator(g, ev, kinds, frozenset(g.rules))

    def feed(self, name: str, records: Iterable[Record], clock: datetime | None = None
             ) -> list[tuple[WarningState, Change]]:
        """Feed group ``name`` (see :meth:`GroupEvaluator.feed`)."""
        return self.groups[name].feed(records, clock)

    def warnings(self) -> list[WarningState]:
        """Every group's open warnings, oldest first (as :meth:`Evaluator.warnings`)."""
        out = [w for g in self.groups.values() for w in g.warnings()]
        return sorted(out, key=lambda w: (w.first_at, w.fingerprint))

    def snapshots(self) -> dict[str, dict[str, Any]]:
        """Each group's state (:meth:`Evaluator.snapshot`), by group name."""
        return {name: g.evaluator.snapshot() for name, g in self.groups.items()}

    def close(self) -> None:
        """Free the engines."""
        for g in self.groups.values():
            g.evaluator.close()
