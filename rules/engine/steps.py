"""Running one rule on one record, for an engine (:class:`EngineParts`): a simple, sequence or
absence rule (:func:`run_rule`), a window rule (:func:`run_window`), and the firing of a pending absence
(:func:`absent_json`). Functions, not methods: an engine's plans hold them and must not hold the engine."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from domain.messages import N_, Message
from domain.records import Record
from domain.warnings import Firing, Level
from rules.engine.baseline_step import run_baseline
from rules.engine.baselines import Baselines
from rules.engine.explain import describe, duration, firing, firing_from_json, firing_to_json, tested, window_reason
from rules.engine.gate import cuts_of, gate_of, places_of
from rules.engine.matching import Matcher
from rules.engine.protocol import Absorb
from rules.engine.quiet import quiet_window_firing
from rules.engine.sample_cap import cap_of
from rules.engine.sequences import Absences, Sequences
from rules.engine.windows import Windows
from rules.language.model import BASELINE_NAMES, Rule


class EngineParts(Protocol):
    """What running a rule reads of its engine (``rules.engine.engines._Engine`` has it): named here,
    so the steps need not import the engine that imports them."""

    @property
    def rules(self) -> Sequence[Rule]:
        """The rulebook's rules, by index."""
        ...

    @property
    def states(self) -> Mapping[int, Windows | Sequences | Absences]:
        """Each stateful rule's state, by rule index."""
        ...

    @property
    def free(self) -> Sequence[frozenset[int]]:
        """Per rule, the levels with no ``when``."""
        ...

    @property
    def matcher(self) -> Matcher:
        """What tests the conditions."""
        ...

    @property
    def version(self) -> str:
        """The rulebook version stamped on firings."""
        ...

    @property
    def watermark(self) -> float:
        """The latest event time seen (epoch seconds)."""
        ...

    @property
    def quiet(self) -> Callable[[str, Level], bool] | None:
        """Whether a firing (fingerprint, level) folds into an open warning without its words (see
        :func:`rules.engine.explain.firing`); None: always build them."""
        ...

    @property
    def absorb(self) -> Absorb | None:
        """Folds a quiet window firing into its warning in place (:data:`rules.engine.protocol.Absorb`);
        None: quiet firings are made and emitted."""
        ...

    def fields(self, r: Record, t: float | None = None) -> dict[str, Any]:
        """Every field a rule may test."""
        ...

    def best(self, rule: Rule, held: set[int] | frozenset[int]) -> int | None:
        """The highest-ranked level of ``held``."""
        ...

__all__ = ["Absent", "EngineParts", "WindowJob", "absent_firing", "absent_json", "run_rule", "run_window"]


class WindowJob:
    """What the hot path needs of one window rule, looked up once."""

    __slots__ = (
        "add",
        "agg",
        "baseline",
        "by",
        "cap",
        "cuts",
        "field",
        "gate",
        "groups",
        "light_group",
        "memo",
        "periods",
        "places",
        "ri",
        "rule",
        "state",
    )

    def __init__(self, ri: int, rule: Rule, state: Windows, periods: bool, baseline: Baselines | None = None) -> None:
        assert rule.window is not None
        self.ri, self.rule, self.state = ri, rule, state
        self.baseline = baseline
        """The rule's history, when it has a ``baseline`` (:mod:`rules.engine.baselines`)."""
        self.add = state.add
        self.by = tuple(rule.window.by)
        self.field = rule.window.aggregate.field or None
        self.agg = rule.window.aggregate.name
        self.periods = periods
        self.memo: dict[Any, int | None] = {}
        """aggregate (and ``periods`` when the levels test it) → the level that holds, if any."""
        self.light_group = False
        """Whether the light fields of the rule's records hold its fingerprint fields (set by the engine):
        then a quiet firing is built from them (:mod:`rules.engine.quiet`)."""
        self.groups: dict[Any, Any] | None = {} if rule.fingerprint_fields == self.by else None
        """Text key → its firings' fingerprint, group and tier region, when the rule groups by its key."""
        self.cuts = cuts_of(rule, self.agg) if baseline is None and self.agg == "sum" else None
        """The numbers the levels compare a sum with, when that is all they test (:func:`rules.engine.gate.cuts_of`):
        the level is remembered by the sum's place among them. Counts take few values: by value."""
        self.gate = gate_of(rule, self.agg) if baseline is not None else None
        """Whether a level could hold on the aggregate alone (:mod:`rules.engine.gate`): asked before the
        baseline's samples are read."""
        self.cap = cap_of(rule, baseline.samples, self.agg) if baseline is not None else None
        """How far a record's samples may add up before no level can hold (:mod:`rules.engine.sample_cap`)."""
        self.places = places_of(rule, (self.agg, *BASELINE_NAMES)) if baseline is not None else None
        """Where a baseline rule's aggregate, expected, spread, ratio and zscore fall among the numbers its
        levels compare them with, when that is all they test: its level is remembered by those places."""


class Absent:
    """The pending firing of an absence rule's ``after`` record, built only when it comes due or the
    state is written (:func:`absent_json`): most are cancelled by their ``missing`` record first,
    and building a firing (fields, explanation, summary) costs more than all the rest of a record."""

    __slots__ = ("li", "r", "ri", "t")

    def __init__(self, ri: int, li: int, r: Record, t: float) -> None:
        self.ri, self.li, self.r, self.t = ri, li, r, t


def run_rule(engine: EngineParts, job: tuple[int, list[tuple[int, int]]], r: Record, f: dict[str, Any],
             t: float) -> Firing | None:
    """A simple, sequence or absence rule on a record (``f``: its :meth:`light` fields); ``job``: the
    rule's index and the ``(step, level)`` of its checks that held."""
    ri, hits = job
    rule = engine.rules[ri]
    state = engine.states.get(ri)
    free = engine.free[ri]
    if state is None:  # simple
        li = engine.best(rule, {li for _, li in hits})
        if li is None:
            return None
        f = engine.fields(r, t)
        spec = rule.levels[li]
        return firing(rule, spec.level, r.at, f, (r.ref,), engine.version, values=tested(rule, li, f),
                      reasons=lambda: describe(rule.where, f) + describe(spec.when, f), quiet=engine.quiet)
    if isinstance(state, Sequences):
        key = tuple(f.get(j) for j in rule.join)
        steps = {si for si, li in hits if li == -1}
        if None in key or not steps:
            return None
        done = state.add(key, t, steps, r.ref)
        if done is None:
            return None
        li = engine.best(rule, free | {li for si, li in hits if li >= 0})
        if li is None:
            return None
        f = engine.fields(r, t)
        span = duration(rule.within) if rule.within is not None else ""
        order = " → ".join(s.record for s in rule.steps)
        reasons: list[str] = [Message(N_("{steps}：同一 {join}，{span} 内依次出现"), steps=order,
                                      join=", ".join(rule.join), span=span)]
        reasons += describe(rule.levels[li].when, f)
        return firing(rule, rule.levels[li].level, r.at, f, tuple(done), engine.version,
                      values=tested(rule, li, f), reasons=reasons, quiet=engine.quiet)
    assert isinstance(state, Absences)
    key = tuple(f.get(j) for j in rule.join)
    if None in key:
        return None
    if any(si == 1 and li == -1 for si, li in hits):
        state.missing(key, t)
    if any(si == 0 and li == -1 for si, li in hits):
        li = engine.best(rule, free | {li for si, li in hits if si == 0 and li >= 0})
        if li is not None:
            state.after(key, t, Absent(ri, li, r, t))
    return None


def absent_json(engine: EngineParts, payload: Any) -> Any:
    """A pending absence's payload as JSON: the firing of an :class:`Absent` (built now, the same as
    when its ``after`` record came), or the JSON it was loaded as."""
    if not isinstance(payload, Absent):
        return payload
    return firing_to_json(absent_firing(engine, payload))


def absent_firing(engine: EngineParts, payload: Any) -> Firing:
    """The firing of a pending absence that came due: built from an :class:`Absent`, or read from the JSON
    a snapshot restored (:func:`absent_json`; the two are equal — a year's half a million deadlines once
    made each firing, wrote it as JSON and read it back)."""
    if not isinstance(payload, Absent):
        return firing_from_json(payload)
    rule, li, r = engine.rules[payload.ri], payload.li, payload.r
    assert rule.absence is not None and rule.within is not None
    f = engine.fields(r, payload.t)
    span = duration(rule.within)
    reasons: list[str] = [Message(N_("{after} 之后 {span} 内无 {missing}（{ref} 之后）"),
                                  after=rule.absence.after.record, span=span, missing=rule.absence.missing.record,
                                  ref=r.ref)]
    reasons += describe(rule.levels[li].when, f)
    return firing(rule, rule.levels[li].level, r.at + rule.within, f, (r.ref,), engine.version,
                  values=tested(rule, li, f), reasons=reasons)


def run_window(engine: EngineParts, w: WindowJob, r: Record, f: dict[str, Any], t: float) -> Firing | None:
    """A window rule on a record that passed its ``where`` (``f``: the record's :meth:`light` fields)."""
    by = w.by
    if len(by) == 1:
        k0 = f.get(by[0])
        if k0 is None:
            return None
        key: tuple[Any, ...] = (k0,)
    else:
        key = tuple(map(f.get, by))
        if None in key:
            return None
    value = None
    if w.field is not None:
        value = f.get(w.field)
        if value is None:
            return None
    total = w.add(key, t, value)
    if w.baseline is not None:
        return run_baseline(engine, w, w.baseline, r, f, t, key, value, total)
    # The level depends only on the aggregate (and periods when the levels test them): remembered.
    cuts = w.cuts
    if cuts is not None and total == total:  # a NaN sum has no place: remembered by itself
        mk: Any = (bisect_left(cuts, total), bisect_right(cuts, total))
    else:
        mk = (total, f.get("periods")) if w.periods else total
    memo = w.memo
    li = memo.get(mk, -1)
    if li == -1:
        aggf: dict[str, Any] = {w.agg: total}
        if "periods" in f:
            aggf["periods"] = f["periods"]
        ri = w.ri
        held = engine.matcher.levels(ri, aggf)
        free = engine.free[ri]
        li = engine.best(w.rule, free | held if free else held)
        if len(memo) >= 4096:  # sums take many values; counts few
            memo.clear()
        memo[mk] = li
    if li is None:
        return None
    rule = w.rule
    assert rule.window is not None
    if w.light_group:
        level = rule.levels[li].level
        got = quiet_window_firing(w, level, engine.quiet, r, f, key, {w.agg: total}, engine.version, engine.absorb)
        if got is not None:
            return None if got is True else got
    full = engine.fields(r, t)
    aggf = {w.agg: total}
    if "periods" in full:
        aggf["periods"] = full["periods"]

    def reasons() -> list[str]:
        assert rule.window is not None
        span = duration(rule.window.within)
        return ([window_reason(span, rule.window.by)]
                + (describe(rule.levels[li].when, aggf) or [f"{w.agg}={total}"]))

    full[w.agg] = total
    return firing(rule, rule.levels[li].level, r.at, full, (r.ref,), engine.version,
                  values={w.agg: total}, reasons=reasons, quiet=engine.quiet)
