"""Rule engines: records in, :class:`~domain.warnings.Firing` out, in event time.

:class:`RuleEngine` is the interface. Both engines share the event-time machinery (watermark, windows,
sequences, absences — :mod:`rules.windows`) and differ only in who tests the conditions:

- :class:`ReferenceEngine`: plain Python (:mod:`rules.conditions`) — the oracle, written for clarity;
- :class:`DurableEngine`: durable_rules (:class:`rules.matching.DurableMatcher`) tests every ``where`` and
  every level's ``when``, batch by batch, one ruleset per record kind.

Records must come in the engine's order ``(at, source, id)``. For each record the engine first moves
the watermark (the latest ``at`` seen) and fires the absences it passes, then applies the record to the
rules it passes. ``emit(record, firings)`` is called with the firings each record caused and returns the
records to process right after it (chained warnings), before the next record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from domain.records import Record
from domain.regions import ancestors
from domain.warnings import Firing
from rules.explain import describe, duration, firing, firing_from_json, firing_to_json, tested
from rules.language import Rule
from rules.matching import DurableMatcher, Matcher, Plan, PythonMatcher, build_plan
from rules.windows import Absences, Sequences, Windows

__all__ = ["DurableEngine", "Emit", "ReferenceEngine", "RuleEngine", "RulebookLike", "firing_from_json",
           "firing_to_json"]

Emit = Callable[[Record, list[Firing]], Sequence[Record]]
BATCH = 4096


class _Calendars(Protocol):
    def periods_at(self, at: datetime) -> tuple[str, ...]: ...


class RulebookLike(Protocol):
    """What the engines need of a rulebook (:class:`rules.loader.Rulebook` has it)."""

    @property
    def rules(self) -> Sequence[Rule]: ...
    @property
    def version(self) -> str: ...
    @property
    def calendars(self) -> _Calendars | None: ...


class RuleEngine(Protocol):
    """Evaluates a rulebook over records in event time."""

    watched: frozenset[str]
    """Record kinds some rule watches (``warning`` among them when rules chain)."""

    def process(self, records: Sequence[Record], emit: Emit, times: Sequence[float] | None = None) -> None:
        """Evaluate ``records`` (sorted by ``(at, source, id)``), calling ``emit`` per record that fired.
        ``times`` are the records' ``at`` as epoch seconds, when the caller has them already."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The event-time state as plain JSON."""
        ...

    def load(self, data: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` of an engine of the same rulebook."""
        ...

    def close(self) -> None:
        """Free the engine's resources."""
        ...


@lru_cache(maxsize=65536)
def _tiers(region: str) -> dict[str, str]:
    return ancestors(region)


class _Engine:
    """The event-time machinery shared by both engines; subclasses choose the :class:`Matcher`."""

    def __init__(self, rulebook: RulebookLike, make_matcher: Callable[[Plan], Matcher]) -> None:
        self.rules = list(rulebook.rules)
        self.version = rulebook.version
        self.calendars = rulebook.calendars
        self.plan = plan = build_plan(self.rules)
        self.info = plan.info
        self.states: dict[int, Windows | Sequences | Absences] = {}
        for ri, rule in enumerate(self.rules):
            within = rule.within.total_seconds() if rule.within is not None else 0.0
            if rule.window is not None:
                self.states[ri] = Windows(rule.window.within.total_seconds(), rule.window.aggregate.kind)
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
        self.swept = list(self.states.values())
        self.sweep_at = [float("-inf")] * len(self.swept)
        self.next_sweep = float("-inf")
        self.watermark = float("-inf")
        self._periods: dict[int, tuple[str, ...]] = {}
        self.matcher = make_matcher(plan)

    # -- records ---------------------------------------------------------------------------------

    def fields(self, r: Record, t: float | None = None) -> dict[str, Any]:
        """Every field a rule may test (RULES.md): the record's own, common ones, tiers, periods
        (``t``: ``r.at`` in epoch seconds, if known)."""
        f = {k: v for k, v in r.attributes.items() if v is not None}
        f.update(_tiers(r.region))
        f["kind"], f["source"], f["id"], f["at"], f["region"] = r.kind, r.source, r.id, r.at, r.region
        if r.kind in self.periods_kinds and self.calendars is not None:
            day = int(((r.at.timestamp() if t is None else t) + 28800) // 86400)
            got = self._periods.get(day)
            if got is None:
                got = self._periods[day] = tuple(self.calendars.periods_at(r.at))
            f["periods"] = got
        return f

    def process(self, records: Sequence[Record], emit: Emit, times: Sequence[float] | None = None) -> None:
        """See :meth:`RuleEngine.process`."""
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            ts = times[start : start + BATCH] if times is not None else [r.at.timestamp() for r in chunk]
            items = [(r.kind, self.fields(r, t)) for r, t in zip(chunk, ts, strict=True)]
            matched = self.matcher.match(items)
            for r, t, (_, f), m in zip(chunk, ts, items, matched, strict=True):
                self._one(r, t, f, m, emit)

    def _one(self, r: Record, t: float, f: dict[str, Any], checks: set[int], emit: Emit) -> None:
        out = self._step(r, t, f, checks)
        if out:
            for w in emit(r, out):
                tw = w.at.timestamp()
                fw = self.fields(w, tw)
                self._one(w, tw, fw, self.matcher.match([(w.kind, fw)])[0], emit)

    def _step(self, r: Record, t: float, f: dict[str, Any], checks: set[int]) -> list[Firing]:
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
                    out.extend(firing_from_json(p) for _, _, p in due)
            if t >= self.next_sweep:
                for i, state in enumerate(self.swept):
                    if t >= self.sweep_at[i]:
                        state.sweep(t)
                        self.sweep_at[i] = t + max(60.0, min(state.within / 4, 86400.0))
                self.next_sweep = min(self.sweep_at, default=float("inf"))
        if not checks:
            return out
        info = self.info
        if len(checks) == 1:
            for cid in checks:
                ri, si, li = info[cid]
                got = self._rule(ri, r, f, t, [(si, li)])
                if got is not None:
                    out.append(got)
            return out
        per_rule: dict[int, list[tuple[int, int]]] = {}
        for cid in sorted(checks):  # check ids follow rule order
            ri, si, li = info[cid]
            per_rule.setdefault(ri, []).append((si, li))
        for ri, hits in per_rule.items():
            got = self._rule(ri, r, f, t, hits)
            if got is not None:
                out.append(got)
        return out

    def _best(self, rule: Rule, held: set[int] | frozenset[int]) -> int | None:
        return max(held, key=self.ranks[rule.id].__getitem__) if held else None

    def _rule(
        self, ri: int, r: Record, f: dict[str, Any], t: float, hits: list[tuple[int, int]]
    ) -> Firing | None:
        rule = self.rules[ri]
        state = self.states.get(ri)
        free = self.free[ri]
        if state is None:  # simple
            li = self._best(rule, {li for _, li in hits})
            if li is None:
                return None
            reasons = describe(rule.where, f) + describe(rule.levels[li].when, f)
            return firing(rule, rule.levels[li].level, r.at, f, (r.ref,), self.version,
                          values=tested(rule, li, f), reasons=reasons)
        if isinstance(state, Windows):
            return self._window(ri, rule, state, r, f, t, free)
        if isinstance(state, Sequences):
            key = tuple(f.get(j) for j in rule.join)
            steps = {si for si, li in hits if li == -1}
            if None in key or not steps:
                return None
            done = state.add(key, t, steps, r.ref)
            if done is None:
                return None
            li = self._best(rule, free | {li for si, li in hits if li >= 0})
            if li is None:
                return None
            span = duration(rule.within) if rule.within is not None else ""
            reasons = [f"{' → '.join(s.record for s in rule.steps)}: 同一 same {', '.join(rule.join)}, "
                       f"{span} 内依次出现 in order within {span}"]
            reasons += describe(rule.levels[li].when, f)
            return firing(rule, rule.levels[li].level, r.at, f, tuple(done), self.version,
                          values=tested(rule, li, f), reasons=reasons)
        assert isinstance(state, Absences)
        key = tuple(f.get(j) for j in rule.join)
        if None in key:
            return None
        if any(si == 1 and li == -1 for si, li in hits):
            state.missing(key, t)
        if any(si == 0 and li == -1 for si, li in hits):
            li = self._best(rule, free | {li for si, li in hits if si == 0 and li >= 0})
            if li is not None:
                assert rule.absence is not None and rule.within is not None
                span = duration(rule.within)
                reasons = [f"{rule.absence.after.record} 之后 {span} 内无 {rule.absence.missing.record} "
                           f"(no {rule.absence.missing.record} within {span} after {r.ref})"]
                reasons += describe(rule.levels[li].when, f)
                pending = firing(rule, rule.levels[li].level, r.at + rule.within, f, (r.ref,), self.version,
                                 values=tested(rule, li, f), reasons=reasons)
                state.after(key, t, firing_to_json(pending))
        return None

    def _window(self, ri: int, rule: Rule, state: Windows, r: Record, f: dict[str, Any], t: float,
                free: frozenset[int]) -> Firing | None:
        assert rule.window is not None
        agg = rule.window.aggregate
        key = tuple(map(f.get, rule.window.by))
        value = f.get(agg.field) if agg.field else None
        if None in key or (agg.field and value is None):
            return None
        total = state.add(key, t, value)
        aggf: dict[str, Any] = {agg.name: total}
        if "periods" in f:
            aggf["periods"] = f["periods"]
        held = self.matcher.levels(ri, aggf)
        li = self._best(rule, free | held if free else held)
        if li is None:
            return None
        span = duration(rule.window.within)
        reasons = [f"{span} 内 within {span}, by {', '.join(rule.window.by) or '-'}"]
        reasons += describe(rule.levels[li].when, aggf) or [f"{agg.name}={total}"]
        return firing(rule, rule.levels[li].level, r.at, {**f, agg.name: total}, (r.ref,), self.version,
                      values={agg.name: total}, reasons=reasons)

    # -- state -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """See :meth:`RuleEngine.snapshot`."""
        return {"watermark": self.watermark if self.watermark != float("-inf") else None,
                "states": {self.rules[ri].id: s.to_json() for ri, s in self.states.items()}}

    def load(self, data: Mapping[str, Any]) -> None:
        """See :meth:`RuleEngine.load`."""
        wm = data.get("watermark")
        self.watermark = float("-inf") if wm is None else float(wm)
        states = data.get("states", {})
        for ri, s in self.states.items():
            if self.rules[ri].id in states:
                s.load_json(states[self.rules[ri].id])

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
