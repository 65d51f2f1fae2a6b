"""Quiet window folds (rules.engine.quiet) against the plain path (rules.engine.explain.firing): the
same firings, field by field, and the same warnings, for windows keyed and grouped every way."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.warnings import Change, Firing
from rules.engine.engines import WindowJob
from rules.engine.evaluate import Evaluator
from tests.rules.engine_helpers import CHAIN_RULE, book, rec


@st.composite
def window_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        agg = draw(st.sampled_from(["count", {"sum": "people"}, {"distinct": "person"}]))
        name = agg if isinstance(agg, str) else next(iter(agg))
        rule: dict[str, Any] = {
            "id": f"w{i}", "title": draw(st.sampled_from(["", "窗口"])), "record": "petition",
            "where": draw(st.sampled_from([{}, {"people": {"gte": 1}}, {"subject": {"eq": "a"}}])),
            "window": {"within": draw(st.sampled_from(["30m", "2h", "1d"])), "aggregate": agg,
                       "by": draw(st.sampled_from([["community"], ["person"], [], ["street", "person"], ["grid"]]))},
            "levels": [{"level": "blue", "when": {name: {"gte": draw(st.integers(1, 3))}}},
                       {"level": "orange", "when": {name: {"gte": draw(st.integers(3, 8))}}}],
            "summary": f"{{{name}}} 件",
        }
        if draw(st.booleans()):  # rule language 1.1: a baseline, tested beside the aggregate
            rule["baseline"] = {"samples": draw(st.integers(1, 3)), "every": draw(st.sampled_from(["20m", "1h"]))}
            rule["levels"].append({"level": "yellow", "when": {"ratio": {"gte": draw(st.sampled_from([0, 1, 1.5]))}}})
        group = draw(st.sampled_from([None, ["street"], ["subject"], [name], ["region"], ["community", "person"]]))
        if group is not None:
            rule["group_by"] = group
        out.append(rule)
    if draw(st.booleans()):  # a window over the warnings: quiet folds on chained records too
        out.append(CHAIN_RULE)
    return out


@st.composite
def records(draw: st.DrawFn) -> list[Any]:
    out = []
    for _ in range(draw(st.integers(0, 60))):
        attrs: dict[str, Any] = {}
        if draw(st.integers(0, 3)):
            attrs["person"] = draw(st.sampled_from(["p1", "p2", "p3"]))
        if draw(st.integers(0, 3)):
            attrs["people"] = draw(st.integers(0, 5))
        if draw(st.booleans()):
            attrs["subject"] = draw(st.sampled_from(["a", "b"]))
        region = draw(st.sampled_from(["510104001001", "510104001002", "510104002001", "510104001001007"]))
        out.append(rec("petition", draw(st.integers(0, 600)), region=region, **attrs))
    return out


def _spied(ev: Evaluator, seen: list[Firing]) -> Evaluator:
    """``ev`` with every firing its engine emits appended to ``seen``."""
    process = ev.engine.process

    def spy(records: Any, emit: Any, times: Any = None) -> None:
        def emit_seen(r: Any, firings: list[Firing]) -> Any:
            seen.extend(firings)
            return emit(r, firings)

        process(records, emit_seen, times)

    ev.engine.process = spy  # type: ignore[method-assign]
    return ev


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window_rules(), records(), st.sampled_from(["durable", "reference"]))
def test_quiet_folds_equal_the_plain_path(rule_list: list[dict[str, Any]], recs: list[Any], engine: str) -> None:
    b = book(yaml.safe_dump(rule_list, allow_unicode=True))
    fast_seen: list[Firing] = []
    plain_seen: list[Firing] = []
    fast, plain = _spied(Evaluator(b, engine), fast_seen), _spied(Evaluator(b, engine), plain_seen)
    jobs = [j for j in plain.engine._windows.values() if isinstance(j, WindowJob)]  # type: ignore[attr-defined]
    for job in jobs:
        job.light_group = False  # every firing through rules.engine.explain.firing
    try:
        recs = sorted(recs, key=lambda r: r.key)
        half = len(recs) // 2
        for chunk in (recs[:half], recs[half:]):
            assert fast.feed(chunk) == plain.feed(chunk)
        assert fast_seen == plain_seen
        assert [f.fingerprint for f in fast_seen] == [f.fingerprint for f in plain_seen]
        assert fast.warnings() == plain.warnings()
        assert fast.last_values == plain.last_values
    finally:
        fast.close()
        plain.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window_rules(), records(), st.sampled_from(["durable", "reference"]))
def test_folding_in_place_gives_the_warnings_of_the_plain_path(rule_list: list[dict[str, Any]], recs: list[Any],
                                                               engine: str) -> None:
    """An evaluator that keeps no updates (the backtest's: quiet window firings folded into their warnings
    in place, never made) ends with the warnings and values of one that builds every firing's words, and
    returns the same openings and raisings, in order."""
    b = book(yaml.safe_dump(rule_list, allow_unicode=True))
    inplace, plain = Evaluator(b, engine, updates=False), Evaluator(b, engine)
    for job in plain.engine._windows.values():  # type: ignore[attr-defined]
        job.light_group = False
    try:
        recs = sorted(recs, key=lambda r: r.key)
        half = len(recs) // 2
        for chunk in (recs[:half], recs[half:]):
            got = [(w.fingerprint, w.level, c) for w, c in inplace.feed(chunk)]
            want = [(w.fingerprint, w.level, c) for w, c in plain.feed(chunk) if c is not Change.updated]
            assert got == want
        assert inplace.warnings() == plain.warnings()
        assert [w.__dict__ for w in inplace.warnings()] == [w.__dict__ for w in plain.warnings()]
        assert inplace.last_values == plain.last_values
        assert inplace.snapshot() == plain.snapshot()
    finally:
        inplace.close()
        plain.close()


def test_folding_in_place_leaves_adopted_warnings_alone() -> None:
    """Warnings adopted from outside are copied before anything is folded into them in place."""
    b = book(yaml.safe_dump([{"id": "w", "title": "激增", "record": "petition",
                              "window": {"within": "1d", "by": ["community"], "aggregate": "count"},
                              "levels": [{"level": "blue", "when": {"count": {"gte": 1}}}], "summary": "{count} 件"}],
                            allow_unicode=True))
    first, ev = Evaluator(b), Evaluator(b, updates=False)
    try:
        first.feed([rec("petition", 0)])
        (held,) = first.warnings()
        ev.adopt([held])
        ev.feed([rec("petition", m) for m in range(1, 4)])
        (w,) = ev.warnings()
        assert w.occurrences == 4 and held.occurrences == 1
    finally:
        first.close()
        ev.close()


def test_the_shortcut_is_taken_and_words_survive() -> None:
    """A window over its threshold: the first firing opens the warning with its words, the next ones fold
    quietly (taken: no words), the one that raises the level brings the raised words."""
    b = book(yaml.safe_dump([{
        "id": "w", "title": "激增", "record": "petition",
        "window": {"within": "1d", "by": ["community"], "aggregate": "count"},
        "levels": [{"level": "blue", "when": {"count": {"gte": 2}}},
                   {"level": "orange", "when": {"count": {"gte": 5}}}],
        "summary": "{count} 件"}], allow_unicode=True))
    seen: list[Firing] = []
    ev = _spied(Evaluator(b, "durable"), seen)
    try:
        ev.feed([rec("petition", m) for m in range(6)])
        jobs = list(ev.engine._windows.values())  # type: ignore[attr-defined]
        assert all(j.light_group for j in jobs)
        assert [f.explanation != "" for f in seen] == [True, False, False, True, False]
        (w,) = ev.warnings()
        assert w.occurrences == 5 and w.level.value == "orange" and w.summary == "5 件"
        assert "count=5 ≥ 5" in w.explanation
    finally:
        ev.close()
