"""Figures of the 考核 report per district and per street, from plain views (pure).

A node is judged by what happened in its jurisdiction (属地): a warning, a visit due or a case counts for
the district and the street its region lies in; a task for those of its assignee node. A deadline is
*judged* in the period when it fell in the period or the thing was done in it; it was *met* when done by
the deadline, *breached* when done late or not done by the time the report looks (``cutoff``), and is
*pending* otherwise. Escalations suffered count distinct warnings escalated in the period away from a node
within the jurisdiction (the node itself or a community or grid below it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.kaohe.period import Period
from domain.kaohe.views import CaseFacts, Escalation, TaskFacts, Visit, VisitDue, WarningFacts
from domain.regions import RegionCodeError, RegionDirectory, Tier, ancestor, is_within, tier_of
from domain.situation.sla import DeadlineStats

NODE_TIERS: tuple[Tier, ...] = (Tier.district, Tier.street)
"""The tiers the report judges."""


@dataclass(frozen=True)
class Deadlines:
    """Time limits the report judges against (defaults: 信访工作条例 60 days to conclude a petition; a local
    30 days for a dispute's mediation; a care visit within 72 hours of falling due, as rules/catalog/care)."""

    petition: timedelta = timedelta(days=60)
    dispute: timedelta = timedelta(days=30)
    visit: timedelta = timedelta(hours=72)

    def for_case(self, kind: str) -> timedelta:
        """The limit of a petition or a dispute."""
        return self.petition if kind == "petition" else self.dispute


@dataclass(frozen=True)
class Tally(DeadlineStats):
    """Deadlines met, breached, and still pending: the daily report's counts, which add up."""

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.met + other.met, self.breached + other.breached, self.pending + other.pending)

    def add(self, outcome: str) -> Tally:
        """This tally with one more ``met``, ``breached`` or ``pending``."""
        return replace(self, **{outcome: getattr(self, outcome) + 1})


@dataclass(frozen=True)
class NodeFigures:
    """One district's or street's figures in the period."""

    code: str
    name: str
    tier: Tier
    received: int = 0
    ack: Tally = field(default_factory=Tally)
    resolve: Tally = field(default_factory=Tally)
    escalated: int = 0
    tasks: Tally = field(default_factory=Tally)
    visits: Tally = field(default_factory=Tally)
    petitions: Tally = field(default_factory=Tally)
    disputes: Tally = field(default_factory=Tally)

    @property
    def cases(self) -> Tally:
        """Petitions and disputes together."""
        return self.petitions + self.disputes


@dataclass(frozen=True)
class KaoheInputs:
    """Everything the figures are computed from."""

    warnings: Sequence[WarningFacts] = ()
    escalations: Sequence[Escalation] = ()
    tasks: Sequence[TaskFacts] = ()
    dues: Sequence[VisitDue] = ()
    visits: Sequence[Visit] = ()
    cases: Sequence[CaseFacts] = ()


def outcome(due: datetime, done: datetime | None, cutoff: datetime) -> str:
    """``met``, ``breached`` or ``pending`` of a deadline, as the report sees it at ``cutoff``."""
    if done is not None and done < cutoff:
        return "met" if done <= due else "breached"
    return "breached" if due < cutoff else "pending"


def _nodes_of(code: str) -> list[str]:
    """The district and street codes a region lies in (fewer for a region above them or a bad code)."""
    try:
        return [a for tier in NODE_TIERS if (a := ancestor(code, tier)) is not None]
    except RegionCodeError:
        return []


def _within(code: str, node: str) -> bool:
    try:
        return is_within(code, node)
    except RegionCodeError:
        return False


Tallies = dict[str, dict[str, Tally]]


def _judge(tallies: Tallies, figure: str, region: str, due: datetime | None, done: datetime | None,
           period: Period, cutoff: datetime) -> None:
    if due is None or not (period.contains(due) or (done is not None and period.contains(done))):
        return
    result = outcome(due, done, cutoff)
    for node in _nodes_of(region):
        tallies[node][figure] = tallies[node].get(figure, Tally()).add(result)


def _visit_done(due: VisitDue, visits: dict[str, list[datetime]], within: timedelta) -> datetime | None:
    return next((at for at in visits.get(due.person, []) if due.at <= at <= due.at + within), None)


def _tallies(inputs: KaoheInputs, period: Period, cutoff: datetime, deadlines: Deadlines) -> Tallies:
    tallies: Tallies = defaultdict(dict)
    # What had not happened by the cutoff is not known to the report (a period still running).
    for w in (w for w in inputs.warnings if w.opened_at < cutoff):
        _judge(tallies, "ack", w.region, w.ack_due_at, w.acknowledged_at, period, cutoff)
        _judge(tallies, "resolve", w.region, w.resolve_due_at, w.resolved_at, period, cutoff)
    for t in inputs.tasks:
        _judge(tallies, "tasks", t.region, t.due_at, t.done_at, period, cutoff)
    visits: dict[str, list[datetime]] = defaultdict(list)
    for v in sorted(inputs.visits, key=lambda v: v.at):
        visits[v.person].append(v.at)
    for d in inputs.dues:
        if period.contains(d.at) and d.at < cutoff:
            done = _visit_done(d, visits, deadlines.visit)
            for node in _nodes_of(d.region):
                tallies[node]["visits"] = tallies[node].get("visits", Tally()).add(
                    outcome(d.at + deadlines.visit, done, cutoff))
    for c in (c for c in inputs.cases if c.first_at < cutoff):
        figure = "petitions" if c.kind == "petition" else "disputes"
        _judge(tallies, figure, c.region, c.first_at + deadlines.for_case(c.kind), c.concluded_at, period,
               cutoff)
    return tallies


def _counts(items: Iterable[str], key: Callable[[str], Iterable[str]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        for node in key(item):
            out[node] += 1
    return out


def compute_figures(
    inputs: KaoheInputs, *, period: Period, now: datetime, regions: RegionDirectory,
    deadlines: Deadlines | None = None,
) -> list[NodeFigures]:
    """Figures of every named district and street (and any other one the inputs touch), by code.

    ``now`` is when the report looks: deadlines after it (within a period not yet over) are pending.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    cutoff = min(period.end, now)
    tallies = _tallies(inputs, period, cutoff, deadlines or Deadlines())
    received = _counts((w.region for w in inputs.warnings if period.contains(w.opened_at) and w.opened_at < cutoff),
                       _nodes_of)
    # Distinct warnings per node: a warning escalated twice within a street counts once there.
    escalated_from: dict[int, set[str]] = defaultdict(set)
    for e in inputs.escalations:
        if period.contains(e.at) and e.at < cutoff:
            escalated_from[e.warning_id].add(e.from_node)
    codes = {c for c in regions.names if _tier(c) in NODE_TIERS} | set(tallies) | set(received)
    codes |= {n for froms in escalated_from.values() for f in froms for n in _nodes_of(f)}
    out = []
    for code in sorted(codes):
        t = tallies.get(code, {})
        escalated = sum(1 for froms in escalated_from.values() if any(_within(f, code) for f in froms))
        out.append(NodeFigures(
            code=code, name=regions.name(code), tier=tier_of(code), received=received.get(code, 0),
            ack=t.get("ack", Tally()), resolve=t.get("resolve", Tally()), escalated=escalated,
            tasks=t.get("tasks", Tally()), visits=t.get("visits", Tally()),
            petitions=t.get("petitions", Tally()), disputes=t.get("disputes", Tally()),
        ))
    return out


def _tier(code: str) -> Tier | None:
    try:
        return tier_of(code)
    except RegionCodeError:
        return None
