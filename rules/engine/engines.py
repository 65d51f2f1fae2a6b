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
from functools import lru_cache
from typing import Any

from domain.records import Record
from domain.regions import TIERS, ancestors
from domain.warnings import Firing, Level
from rules.engine.baselines import Baselines
from rules.engine.budget import EvaluationError, TextBudget, failed
from rules.engine.conditions import referenced_fields
from rules.engine.count_windows import CountWindows
from rules.engine.distinct_windows import DistinctWindows
from rules.engine.explain import firing_from_json, firing_to_json
from rules.engine.matching import DurableMatcher, Matcher, Plan, PythonMatcher, build_plan
from rules.engine.protocol import Emit, RulebookLike, RuleEngine
from rules.engine.sequences import Absences, Sequences
from rules.engine.steps import WindowJob, absent_json, run_rule, run_window
from rules.engine.windows import Windows, seconds
from rules.language.model import Rule

__all__ = ["DurableEngine", "Emit", "EvaluationError", "ReferenceEngine", "RuleEngine", "RulebookLike",
           "firing_from_json", "firing_to_json"]

BATCH = 4096


@lru_cache(maxsize=65536)
def _tiers(region: str) -> dict[str, str]:
    return ancestors(region)


_COMMON = ("kind", "source", "id", "at", "region")
_Run = Callable[[Any, Any, Record, dict[str, Any], float], "Firing | None"]
"""How :meth:`_Engine._step` runs one rule on a record: ``run(engine, job, record, light fields, t)``."""
_TIER_NAMES = frozenset(t.value for t in TIERS)


class _Needs:
    """The fields the rules watching one record kind test or key on before they fire (see
    :meth:`_Engine.light`): attributes, tiers, common fields, and whether ``periods``."""

    __slots__ = ("attrs", "common", "periods", "regions", "tiers")

    def __init__(self, attrs: tuple[str, ...], tiers: tuple[str, ...], common: tuple[str, ...], periods: bool) -> None:
        self.attrs, self.tiers, self.common, self.periods = attrs, tiers, common, periods
        self.regions: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {}
        """region → the codes of the needed tiers it has, and the needed tiers it lacks (those are read
        from the record's attribute of that name): looked up once per region, not per record."""

    def region(self, region: str) -> tuple[dict[str, str], tuple[str, ...]]:
        """:attr:`regions` for ``region``, worked out and remembered."""
        anc = _tiers(region)
        got = ({n: anc[n] for n in self.tiers if anc.get(n) is not None},
               tuple(n for n in self.tiers if anc.get(n) is None))
        if len(self.regions) >= 65536:
            self.regions.clear()
        self.regions[region] = got
        return got


class _Engine:
    """The event-time machinery shared by both engines; subclasses choose the :class:`Matcher`."""

    def __init__(self, rulebook: RulebookLike, make_matcher: Callable[[Plan], Matcher]) -> None:
        self.rules = list(rulebook.rules)
        self.version = rulebook.version
        self.calendars = rulebook.calendars
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
        self.periods_kinds = plan.periods_kinds
        self.watched = frozenset(plan.checks)
        self.absences = [(ri, s) for ri, s in self.states.items() if isinstance(s, Absences)]
        # each state forgets what it no longer needs every quarter of its `within` (at most a day) of event time
        self.swept: list[Windows | Sequences | Absences | Baselines] = [*self.states.values(),
                                                                         *self.baselines.values()]
        self.sweep_at = [float("-inf")] * len(self.swept)
        self.next_sweep = float("-inf")
        self.watermark = float("-inf")
        self._periods: dict[int, tuple[str, ...]] = {}
        self.matcher = make_matcher(plan)
        self.errors: list[EvaluationError] = []
        self.quiet: Callable[[str, Level], bool] | None = None
        """Set by the evaluator: whether a firing folds into an open warning without its words."""
        self._budget = TextBudget(plan.checks, plan.info, self.rules)
        # The fields each watched kind's records need before any rule fires: what its checks test, the
        # windows' keys and summed or distinct fields, the joins. A firing builds every field (`fields`).
        needs: dict[str, set[str]] = {kind: set() for kind in plan.checks}
        for kind, checks in plan.checks.items():
            for _, cond in checks:
                needs[kind] |= referenced_fields(cond)
        for rule in self.rules:
            for step in rule.steps:
                extra = set(rule.join)
                if rule.window is not None:
                    extra.update(rule.window.by)
                    if rule.window.aggregate.field:
                        extra.add(rule.window.aggregate.field)
                needs.setdefault(step.record, set()).update(extra)
        self._needs: dict[str, _Needs] = {}
        for kind, names in needs.items():
            names.discard("periods")
            self._needs[kind] = _Needs(
                tuple(sorted(n for n in names if n not in _TIER_NAMES and n not in _COMMON)),
                tuple(sorted(n for n in names if n in _TIER_NAMES)),
                tuple(n for n in _COMMON if n in names),
                kind in self.periods_kinds and self.calendars is not None,
            )
        self._windows: dict[int, WindowJob] = {}
        for ri, state in self.states.items():
            if isinstance(state, Windows):
                levels = [s.when for s in self.rules[ri].levels if s.when is not None]
                tests_periods = any(t.field == "periods" for c in levels for t in c.walk())
                self._windows[ri] = WindowJob(ri, self.rules[ri], state, tests_periods, self.baselines.get(ri))
        self._plans: dict[frozenset[int], list[tuple[_Run, Any]]] = {}

    # -- records ---------------------------------------------------------------------------------

    def fields(self, r: Record, t: float | None = None) -> dict[str, Any]:
        """Every field a rule may test (docs/rules-language.md#fields): the record's own, common ones, tiers, periods
        (``t``: ``r.at`` in epoch seconds, if known)."""
        f = {k: v for k, v in r.attributes.items() if v is not None}
        f.update(_tiers(r.region))
        f["kind"], f["source"], f["id"], f["at"], f["region"] = r.kind, r.source, r.id, r.at, r.region
        if r.kind in self.periods_kinds and self.calendars is not None:
            f["periods"] = self._periods_at(r, t)
        return f

    def _periods_at(self, r: Record, t: float | None) -> tuple[str, ...]:
        day = int(((seconds(r.at) if t is None else t) + 28800) // 86400)
        got = self._periods.get(day)
        if got is None:
            assert self.calendars is not None
            got = self._periods[day] = tuple(self.calendars.periods_at(r.at))
        return got

    def light(self, r: Record, t: float) -> dict[str, Any]:
        """The fields of :meth:`fields` that the rules watching ``r.kind`` test or key on before they
        fire (the same values: a tier code over an attribute of its name, the common fields over both)."""
        need = self._needs.get(r.kind)
        if need is None:
            return {}
        a = r.attributes
        if need.tiers:
            region = r.region
            got = need.regions.get(region)
            if got is None:
                got = need.region(region)
            f: dict[str, Any] = got[0].copy()
            for n in got[1]:
                v = a.get(n)
                if v is not None:
                    f[n] = v
        else:
            f = {}
        for n in need.attrs:
            v = a.get(n)
            if v is not None:
                f[n] = v
        if need.common:
            for n in need.common:
                f[n] = getattr(r, n)
        if need.periods:
            f["periods"] = self._periods_at(r, t)
        return f

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
                    self.errors.append(failed(r.ref, f"{r.kind} 类规则", exc))
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
                    out.extend(firing_from_json(self.absent_json(p)) for _, _, p in due)
            if t >= self.next_sweep:
                for i, state in enumerate(self.swept):
                    if t >= self.sweep_at[i]:
                        state.sweep(t)
                        self.sweep_at[i] = t + max(60.0, min(state.within / 4, 86400.0))
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
        out = {"watermark": self.watermark if self.watermark != float("-inf") else None,
               "states": {self.rules[ri].id: s.to_json(self.absent_json) if isinstance(s, Absences) else s.to_json()
                          for ri, s in self.states.items()}}
        if self.baselines:
            out["baselines"] = {self.rules[ri].id: b.to_json() for ri, b in self.baselines.items()}
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
