"""Rule engines: records in, :class:`~domain.warnings.Firing` out, in event time.

:class:`RuleEngine` is the interface. Both engines share the event-time machinery (watermark, windows,
sequences, absences — :mod:`rules.engine.windows`) and differ only in who tests the conditions:

- :class:`ReferenceEngine`: plain Python (:mod:`rules.engine.conditions`) — the oracle, written for clarity;
- :class:`DurableEngine`: durable_rules (:class:`rules.engine.matching.DurableMatcher`) tests every ``where`` and
  every level's ``when``, batch by batch, one ruleset per record kind.

Records must come in the engine's order ``(at, source, id)``. For each record the engine first moves
the watermark (the latest ``at`` seen) and fires the absences it passes, then applies the record to the
rules it passes. ``emit(record, firings)`` is called with the firings each record caused and returns the
records to process right after it (chained warnings), before the next record.

A record over the evaluation budget, or one on which a rule raises, is left out and reported in
:attr:`_Engine.errors` (:mod:`rules.engine.budget`); the others go on. The interface is in
:mod:`rules.engine.protocol`, running one rule on one record in :mod:`rules.engine.steps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from domain.messages import N_, Message
from domain.records import Record
from domain.warnings import Firing, Level
from rules.engine.baselines import Baselines
from rules.engine.budget import EvaluationError, TextBudget, failed
from rules.engine.count_windows import CountWindows
from rules.engine.distinct_windows import DistinctWindows
from rules.engine.explain import firing_from_json, firing_to_json
from rules.engine.matching import DurableMatcher, Matcher, Plan, PythonMatcher, build_plan
from rules.engine.protocol import Absorb, Emit, RulebookLike, RuleEngine
from rules.engine.record_fields import RecordFields
from rules.engine.sequences import Absences, Sequences
from rules.engine.steps import WindowJob, absent_firing, absent_json, run_rule, run_window
from rules.engine.windows import Windows, seconds, sweep_pace
from rules.language.model import Rule

__all__ = ["DurableEngine", "Emit", "EvaluationError", "ReferenceEngine", "RuleEngine", "RulebookLike",
           "firing_from_json", "firing_to_json"]

BATCH = 4096

_Run = Callable[[Any, Any, Record, dict[str, Any], float], "Firing | None"]
"""How :meth:`_Engine._step` runs one rule on a record: ``run(engine, job, record, light fields, t)``."""


class _Engine(RecordFields):
    """The event-time machinery shared by both engines; subclasses choose the :class:`Matcher`. The
    fields of records (:meth:`fields`, :meth:`light`) are :class:`~rules.engine.record_fields.RecordFields`'."""

    def __init__(self, rulebook: RulebookLike, make_matcher: Callable[[Plan], Matcher]) -> None:
        self.rules = list(rulebook.rules)
        self.version = rulebook.version
        self.plan = plan = build_plan(self.rules)
        self.info = plan.info
        self.states: dict[int, Windows | Sequences | Absences] = {}
        self.baselines: dict[int, Baselines] = {}
        """Per window rule with a ``baseline``, the history of its keys (:mod:`rules.engine.baselines`)."""
        for ri, rule in enumerate(self.rules):
            within = rule.within.total_seconds() if rule.within is not None else 0.0
            if rule.window is not None:
                span, aggregate = rule.window.within.total_seconds(), rule.window.aggregate.kind
                # Counts and distincts — most of a city's window state — keep one-record keys compact.
                self.states[ri] = (CountWindows(span) if aggregate == "count" else DistinctWindows(span)
                                   if aggregate == "distinct" else Windows(span, aggregate))
                if rule.baseline is not None:
                    self.baselines[ri] = Baselines(span, rule.baseline.every.total_seconds(),
                                                   rule.baseline.samples, aggregate)
            elif rule.sequence is not None:
                self.states[ri] = Sequences(len(rule.sequence), within)
            elif rule.absence is not None:
                self.states[ri] = Absences(within)
        self.free = [frozenset(li for li, s in enumerate(r.levels) if s.when is None) for r in self.rules]
        self.ranks = {r.id: [s.level.rank for s in r.levels] for r in self.rules}
        self.watched = frozenset(plan.checks)
        self.absences = [(ri, s) for ri, s in self.states.items() if isinstance(s, Absences)]
        # each state forgets what it no longer needs every quarter of its `within` (at most a day) of event time
        self.swept: list[Windows | Sequences | Absences | Baselines] = [*self.states.values(),
                                                                         *self.baselines.values()]
        self.sweep_at = [float("-inf")] * len(self.swept)
        self.next_sweep = float("-inf")
        self.watermark = float("-inf")
        self.matcher = make_matcher(plan)
        self.errors: list[EvaluationError] = []
        self.quiet: Callable[[str, Level], bool] | None = None
        """Set by the evaluator: whether a firing folds into an open warning without its words."""
        self.absorb: Absorb | None = None
        """Set by an evaluator that keeps no updates: folds a quiet window firing in place (no firing)."""
        self._budget = TextBudget(plan.checks, plan.info, self.rules)
        RecordFields.__init__(self, self.rules, plan, rulebook)
        self._windows: dict[int, WindowJob] = {}
        for ri, state in self.states.items():
            if isinstance(state, Windows):
                levels = [s.when for s in self.rules[ri].levels if s.when is not None]
                tests_periods = any(t.field == "periods" for c in levels for t in c.walk())
                job = self._windows[ri] = WindowJob(ri, self.rules[ri], state, tests_periods, self.baselines.get(ri))
                names = self.rules[ri].fingerprint_fields
                job.light_group = job.agg not in names and self.carries(self.rules[ri].firing_record, names)
        self._plans: dict[frozenset[int], list[tuple[_Run, Any]]] = {}

    def process(self, records: Sequence[Record], emit: Emit, times: Sequence[float] | None = None) -> None:
        """See :meth:`RuleEngine.process`."""
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            ts = times[start : start + BATCH] if times is not None else [seconds(r.at) for r in chunk]
            light = self.light
            items = [(r.kind, light(r, t)) for r, t in zip(chunk, ts, strict=True)]
            if self._budget.kinds:
                chunk, ts, items = self._within_budget(chunk, ts, items)
            matched = self._match(chunk, items)
            step = self._step
            for r, t, (_, f), m in zip(chunk, ts, items, matched, strict=True):
                if m is None:
                    continue  # the matcher failed on it: reported
                out = step(r, t, f, m)
                if out:
                    self._emitted(r, out, emit)

    def _within_budget(self, chunk: Sequence[Record], ts: Sequence[float], items: list[tuple[str, dict[str, Any]]]
                       ) -> tuple[Sequence[Record], Sequence[float], list[tuple[str, dict[str, Any]]]]:
        """The records within the text budget (:mod:`rules.engine.budget`); the others reported."""
        over, kinds = self._budget.over, self._budget.kinds
        bad: set[int] = set()
        for i, (r, (kind, f)) in enumerate(zip(chunk, items, strict=True)):
            if kind in kinds and (error := over(kind, r.ref, f)) is not None:
                self.errors.append(error)
                bad.add(i)
        if not bad:
            return chunk, ts, items
        keep = [i for i in range(len(chunk)) if i not in bad]
        return [chunk[i] for i in keep], [ts[i] for i in keep], [items[i] for i in keep]

    def _match(self, chunk: Sequence[Record], items: list[tuple[str, dict[str, Any]]]
               ) -> Sequence[AbstractSet[int] | None]:
        """The matcher's answers; should it fail on the batch, record by record, ``None`` (reported) for
        a record it fails on: one bad record must not stop the others."""
        try:
            return self.matcher.match(items)
        except Exception:
            out: list[AbstractSet[int] | None] = []
            for r, item in zip(chunk, items, strict=True):
                try:
                    out.append(self.matcher.match([item])[0])
                except Exception as exc:
                    self.errors.append(failed(r.ref, Message(N_("{kind} 类规则"), kind=r.kind), exc))
                    out.append(None)
            return out

    def _emitted(self, r: Record, out: list[Firing], emit: Emit) -> None:
        """Hand ``r``'s firings to ``emit``; process the records it returns (chained), depth first."""
        for w in emit(r, out):
            tw = seconds(w.at)
            fw = self.light(w, tw)
            again = self._step(w, tw, fw, self.matcher.match([(w.kind, fw)])[0])
            if again:
                self._emitted(w, again, emit)

    def _step(self, r: Record, t: float, f: dict[str, Any], checks: AbstractSet[int]) -> list[Firing]:
        out: list[Firing] = []
        if t > self.watermark:
            self.watermark = t
            if self.absences:
                due: list[tuple[float, int, Any]] = []
                for ri, pending in self.absences:
                    if pending.heap and pending.heap[0][0] < t:
                        due.extend((d, ri, p) for d, p in pending.due(t))
                if due:
                    due.sort(key=lambda x: (x[0], x[1]))
                    out.extend(absent_firing(self, p) for _, _, p in due)
            if t >= self.next_sweep:
                for i, state in enumerate(self.swept):
                    if t >= self.sweep_at[i]:
                        state.sweep(t)
                        self.sweep_at[i] = t + sweep_pace(state.within)
                self.next_sweep = min(self.sweep_at, default=float("inf"))
        if not checks:
            return out
        key = frozenset(checks)  # the same object when it is one (DurableMatcher's answers)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key)
        for run, job in plan:
            try:
                got = run(self, job, r, f, t)
            except Exception as exc:
                rule = job.rule if isinstance(job, WindowJob) else self.rules[job[0]]
                self.errors.append(failed(r.ref, rule.id, exc))
                continue
            if got is not None:
                out.append(got)
        return out

    def _plan(self, checks: frozenset[int]) -> list[tuple[_Run, Any]]:
        """What to run, per rule in rule order, for a record whose checks ``checks`` held: a window
        rule's :meth:`_window`, else :meth:`_rule` with ``(rule index, [(step, level)…])``. Matchers
        answer with few distinct sets, so this is worked out once per set."""
        per_rule: dict[int, list[tuple[int, int]]] = {}
        for cid in sorted(checks):  # check ids follow rule order
            ri, si, li = self.info[cid]
            per_rule.setdefault(ri, []).append((si, li))
        if len(self._plans) >= 4096:
            self._plans.clear()
        windows = self._windows  # the functions, not bound methods: a plan must not hold the engine (a cycle)
        plan: list[tuple[_Run, Any]] = [(run_window, windows[ri]) if ri in windows
                                        else (run_rule, (ri, hits)) for ri, hits in per_rule.items()]
        self._plans[checks] = plan
        return plan

    def best(self, rule: Rule, held: set[int] | frozenset[int]) -> int | None:
        return max(held, key=self.ranks[rule.id].__getitem__) if held else None

    def absent_json(self, payload: Any) -> Any:
        """See :func:`rules.engine.steps.absent_json`."""
        return absent_json(self, payload)

    # -- state -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """See :meth:`RuleEngine.snapshot`."""
        states = {self.rules[ri].id: s.to_json(self.absent_json) if isinstance(s, Absences) else s.to_json()
                  for ri, s in self.states.items()}
        out: dict[str, Any] = {"watermark": self.watermark if self.watermark != float("-inf") else None,
                               "states": states}
        if self.baselines:
            out["baselines"] = {self.rules[ri].id: b.to_json() for ri, b in self.baselines.items()}
        # When each state sweeps next is state too: a sweep forgets what a late record would still count,
        # so an engine restored without it sweeps at its first record and then counts differently.
        out["sweeps"] = [None if t == float("-inf") else t for t in self.sweep_at]
        return out

    def load(self, data: Mapping[str, Any]) -> None:
        """See :meth:`RuleEngine.load`."""
        wm = data.get("watermark")
        self.watermark = float("-inf") if wm is None else float(wm)
        states = data.get("states", {})
        for ri, s in self.states.items():
            if self.rules[ri].id in states:
                s.load_json(states[self.rules[ri].id])
        history = data.get("baselines", {})
        for ri, b in self.baselines.items():
            if self.rules[ri].id in history:
                b.load_json(history[self.rules[ri].id])
        # in the order of `swept` (the same rulebook's); a snapshot without them sweeps at its first record
        sweeps = data.get("sweeps") or []
        if len(sweeps) == len(self.swept):
            self.sweep_at = [float("-inf") if t is None else float(t) for t in sweeps]
        self.next_sweep = min(self.sweep_at, default=float("inf"))

    def close(self) -> None:
        """See :meth:`RuleEngine.close`."""
        self.matcher.close()


class ReferenceEngine(_Engine):
    """Conditions tested in plain Python: the oracle."""

    def __init__(self, rulebook: RulebookLike) -> None:
        super().__init__(rulebook, PythonMatcher)


class DurableEngine(_Engine):
    """Conditions tested by durable_rules, batch by batch."""

    def __init__(self, rulebook: RulebookLike) -> None:
        super().__init__(rulebook, DurableMatcher)
