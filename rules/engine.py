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
from domain.warnings import Firing, Level
from rules.explain import describe, duration, firing
from rules.language import Condition, Rule
from rules.matching import DurableMatcher, Matcher, Plan, PythonMatcher
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

    def process(self, records: Sequence[Record], emit: Emit) -> None:
        """Evaluate ``records`` (sorted by ``(at, source, id)``), calling ``emit`` per record that fired."""
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


def firing_to_json(f: Firing) -> dict[str, Any]:
    """A firing as plain JSON."""
    return {"rule": f.rule, "level": f.level.value, "at": f.at.isoformat(), "group": f.group,
            "region": f.region, "records": list(f.records), "explanation": f.explanation,
            "summary": f.summary, "title": f.title, "values": f.values, "version": f.rulebook_version}


def firing_from_json(d: Mapping[str, Any]) -> Firing:
    """The inverse of :func:`firing_to_json`."""
    return Firing(rule=d["rule"], level=Level(d["level"]), at=datetime.fromisoformat(d["at"]),
                  group=dict(d["group"]), region=d["region"], records=tuple(d["records"]),
                  explanation=d["explanation"], summary=d["summary"], title=d["title"],
                  values=dict(d["values"]), rulebook_version=d["version"])


@lru_cache(maxsize=65536)
def _tiers(region: str) -> dict[str, str]:
    return ancestors(region)


def _and(a: Condition, b: Condition | None) -> Condition:
    return a if b is None else Condition(terms=a.terms + b.terms, file=a.file, line=a.line)


class _Engine:
    """The event-time machinery shared by both engines; subclasses choose the :class:`Matcher`."""

    def __init__(self, rulebook: RulebookLike, make_matcher: Callable[[Plan], Matcher]) -> None:
        self.rules = list(rulebook.rules)
        self.version = rulebook.version
        self.calendars = rulebook.calendars
        self.info: list[tuple[int, int, int]] = []  # check id -> (rule, step, level or -1 for where)
        plan = Plan()
        self.states: dict[int, Windows | Sequences | Absences] = {}
        periods_kinds: set[str] = set()

        def check(kind: str, ri: int, si: int, li: int, cond: Condition) -> None:
            plan.checks.setdefault(kind, []).append((len(self.info), cond))
            self.info.append((ri, si, li))
            if any(t.field == "periods" for t in cond.walk()):
                periods_kinds.add(kind)

        for ri, rule in enumerate(self.rules):
            steps = rule.steps
            if rule.window is not None:
                w = rule.window
                check(steps[0].record, ri, 0, -1, steps[0].where)
                plan.aggregates[ri] = [(li, s.when) for li, s in enumerate(rule.levels) if s.when is not None]
                if any(t.field == "periods" for _, c in plan.aggregates[ri] for t in c.walk()):
                    periods_kinds.add(steps[0].record)
                self.states[ri] = Windows(w.within.total_seconds(), w.aggregate.kind)
                continue
            fire_step = 0 if rule.sequence is None else len(steps) - 1
            for si, step in enumerate(steps):
                if rule.kind == "simple":
                    for li, spec in enumerate(rule.levels):
                        check(step.record, ri, si, li, _and(step.where, spec.when))
                    continue
                check(step.record, ri, si, -1, step.where)
                if si == fire_step:
                    for li, spec in enumerate(rule.levels):
                        if spec.when is not None:
                            check(step.record, ri, si, li, _and(step.where, spec.when))
            within = rule.within.total_seconds() if rule.within is not None else 0.0
            if rule.sequence is not None:
                self.states[ri] = Sequences(len(steps), within)
            elif rule.absence is not None:
                self.states[ri] = Absences(within)
        self.plan = plan
        self.periods_kinds = frozenset(periods_kinds)
        self.watched = frozenset(plan.checks)
        self.absence_rules = [ri for ri, s in self.states.items() if isinstance(s, Absences)]
        withins = [s.within for s in self.states.values()]
        self.sweep_every = max(60.0, min(withins) / 2) if withins else float("inf")
        self.next_sweep = float("-inf")
        self.watermark = float("-inf")
        self._periods: dict[int, list[str]] = {}
        self.matcher = make_matcher(plan)

    # -- records ---------------------------------------------------------------------------------

    def fields(self, r: Record) -> dict[str, Any]:
        """Every field a rule may test (RULES.md): the record's own, common ones, tiers, periods."""
        f = {k: v for k, v in r.attributes.items() if v is not None}
        f.update(_tiers(r.region))
        f["kind"], f["source"], f["id"], f["at"], f["region"] = r.kind, r.source, r.id, r.at, r.region
        if r.kind in self.periods_kinds and self.calendars is not None:
            day = int((r.at.timestamp() + 28800) // 86400)
            got = self._periods.get(day)
            if got is None:
                got = self._periods[day] = list(self.calendars.periods_at(r.at))
            f["periods"] = got
        return f

    def process(self, records: Sequence[Record], emit: Emit) -> None:
        """See :meth:`RuleEngine.process`."""
        for start in range(0, len(records), BATCH):
            chunk = [r for r in records[start : start + BATCH]]
            items = [(r.kind, self.fields(r)) for r in chunk]
            matched = self.matcher.match(items)
            for r, (_, f), m in zip(chunk, items, matched, strict=True):
                self._one(r, f, m, emit)

    def _one(self, r: Record, f: dict[str, Any], checks: set[int], emit: Emit) -> None:
        out = self._step(r, f, checks)
        if out:
            for w in emit(r, out):
                fw = self.fields(w)
                self._one(w, fw, self.matcher.match([(w.kind, fw)])[0], emit)

    def _step(self, r: Record, f: dict[str, Any], checks: set[int]) -> list[Firing]:
        t = r.at.timestamp()
        out: list[Firing] = []
        if t > self.watermark:
            self.watermark = t
            if self.absence_rules:
                due: list[tuple[float, int, Any]] = []
                for ri in self.absence_rules:
                    state = self.states[ri]
                    assert isinstance(state, Absences)
                    due.extend((d, ri, p) for d, p in state.due(t))
                due.sort(key=lambda x: (x[0], x[1]))
                out.extend(firing_from_json(p) for _, _, p in due)
            if t >= self.next_sweep:
                for state in self.states.values():
                    state.sweep(t)
                self.next_sweep = t + self.sweep_every
        if not checks:
            return out
        per_rule: dict[int, list[tuple[int, int]]] = {}
        for cid in checks:
            ri, si, li = self.info[cid]
            per_rule.setdefault(ri, []).append((si, li))
        for ri in sorted(per_rule):
            got = self._rule(ri, r, f, t, per_rule[ri])
            if got is not None:
                out.append(got)
        return out

    def _best(self, rule: Rule, held: set[int]) -> int | None:
        return max(held, key=lambda li: rule.levels[li].level.rank) if held else None

    def _rule(
        self, ri: int, r: Record, f: dict[str, Any], t: float, hits: list[tuple[int, int]]
    ) -> Firing | None:
        rule = self.rules[ri]
        state = self.states.get(ri)
        free = {li for li, s in enumerate(rule.levels) if s.when is None}
        if state is None:  # simple
            li = self._best(rule, {li for _, li in hits})
            if li is None:
                return None
            reasons = describe(rule.where, f) + describe(rule.levels[li].when, f)
            return firing(rule, rule.levels[li].level, r.at, f, (r.ref,), self.version,
                          values=_tested(rule, li, f), reasons=reasons)
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
                          values=_tested(rule, li, f), reasons=reasons)
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
                                 values=_tested(rule, li, f), reasons=reasons)
                state.after(key, t, firing_to_json(pending))
        return None

    def _window(self, ri: int, rule: Rule, state: Windows, r: Record, f: dict[str, Any], t: float,
                free: set[int]) -> Firing | None:
        assert rule.window is not None
        agg = rule.window.aggregate
        key = tuple(f.get(b) for b in rule.window.by)
        value = f.get(agg.field) if agg.field else None
        if None in key or (agg.field and value is None):
            return None
        total = state.add(key, t, value)
        aggf: dict[str, Any] = {agg.name: total}
        if "periods" in f:
            aggf["periods"] = f["periods"]
        li = self._best(rule, free | self.matcher.levels(ri, aggf))
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


def _tested(rule: Rule, li: int, f: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the fields the firing step's conditions and the level's ``when`` test."""
    names = [t.field for step in rule.steps for t in step.where.walk()]
    when = rule.levels[li].when
    names += [t.field for t in when.walk()] if when is not None else []
    return {n: f[n] for n in dict.fromkeys(names) if n in f and n not in ("at",)}


class ReferenceEngine(_Engine):
    """Conditions tested in plain Python: the oracle."""

    def __init__(self, rulebook: RulebookLike) -> None:
        super().__init__(rulebook, PythonMatcher)


class DurableEngine(_Engine):
    """Conditions tested by durable_rules, batch by batch."""

    def __init__(self, rulebook: RulebookLike) -> None:
        super().__init__(rulebook, DurableMatcher)
