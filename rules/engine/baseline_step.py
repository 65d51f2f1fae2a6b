"""A window rule with a ``baseline`` (language 1.1) on one record: :func:`run_baseline`, the baseline half
of :func:`rules.engine.steps.run_window`. The record joins its key's history
(:class:`rules.engine.baselines.Baselines`); unless the rule's aggregate gate (:mod:`rules.engine.gate`)
says no level can hold, its samples are read — until they rule out every level
(:mod:`rules.engine.sample_cap`) — and the levels tested against them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from domain.messages import N_, Message
from domain.records import Record
from domain.warnings import Firing
from rules.engine.baselines import Baselines, measure, shown
from rules.engine.explain import describe, duration, firing, window_reason
from rules.engine.quiet import quiet_window_firing

if TYPE_CHECKING:  # steps imports this module
    from rules.engine.steps import EngineParts, WindowJob

__all__ = ["run_baseline"]


def run_baseline(engine: EngineParts, w: WindowJob, b: Baselines, r: Record, f: dict[str, Any], t: float,
                  key: tuple[Any, ...], value: Any, total: float | int) -> Firing | None:
    """:func:`rules.engine.steps.run_window` for a rule with a ``baseline``: the levels test the aggregate,
    ``periods`` and the baseline's ``expected``, ``spread``, ``ratio``, ``zscore`` (unrounded); the summary and the
    explanation show them rounded (:func:`rules.engine.baselines.shown`), with the samples."""
    floor = b.remember(key, t, value, engine.watermark)
    gate = w.gate
    if gate is not None and gate.shut(total):
        return None  # no level can hold on this aggregate: its samples would be read by nobody
    cap = w.cap
    samples = b.samples_at(key, t, floor, cap.cap(total) if cap is not None else math.inf)
    if samples is None:
        return None  # the samples read already rule out every level (rules.engine.sample_cap)
    m = measure(total, samples)
    aggf: dict[str, Any] = {w.agg: total, **m}
    # ratio and zscore follow from the aggregate, expected and spread: those (and periods) decide the level,
    # or, when the levels only compare them with numbers, where they fall among those numbers
    places = w.places
    mk: Any = places.key(aggf) if places is not None else None
    if mk is None:
        mk = (total, m["expected"], m["spread"], f.get("periods") if w.periods else None)
    memo = w.memo
    li = memo.get(mk, -1)
    if li == -1:
        if "periods" in f:
            aggf["periods"] = f["periods"]
        held = engine.matcher.levels(w.ri, aggf)
        free = engine.free[w.ri]
        li = engine.best(w.rule, free | held if free else held)
        if len(memo) >= 4096:
            memo.clear()
        memo[mk] = li
    if li is None:
        return None
    rule = w.rule
    assert rule.window is not None and rule.baseline is not None

    def made() -> dict[str, Any]:
        return {w.agg: total, **{k: shown(v) for k, v in m.items()}, "samples": [shown(s) for s in samples]}

    if w.light_group:  # rounded only if read: a quiet firing's values are mostly replaced unread
        got = quiet_window_firing(w, rule.levels[li].level, engine.quiet, r, f, key, made, engine.version,
                                  engine.absorb)
        if got is not None:
            return None if got is True else got
    values = made()
    rounded = {k: values[k] for k in m}
    shown_samples = values["samples"]
    full = engine.fields(r, t)
    nice: dict[str, Any] = {w.agg: total, **rounded}
    if "periods" in full:
        nice["periods"] = full["periods"]
    span, every = duration(rule.window.within), duration(rule.baseline.every)
    reasons: list[str] = [window_reason(span, rule.window.by)]
    reasons += describe(rule.levels[li].when, nice) or [f"{w.agg}={total}"]
    reasons.append(Message(N_("基线：前 {n} 个同期样本（每隔 {every}）[{samples}] → 期望 {expected}，离散 {spread}，"
                              "倍数 {ratio}，标准分 {zscore}"), n=len(samples), every=every,
                           samples=", ".join(map(str, shown_samples)), expected=nice["expected"],
                           spread=nice["spread"], ratio=nice["ratio"], zscore=nice["zscore"]))
    full.update(values)
    return firing(rule, rule.levels[li].level, r.at, full, (r.ref,), engine.version,
                  values=values, reasons=reasons, quiet=engine.quiet)
