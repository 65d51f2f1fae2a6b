"""The sample cap of count baselines: once the samples read add up to the cap, no level holds whatever
the rest; the cap is the smallest such sum; an engine without caps gives the same warnings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine.baselines import Baselines, measure
from rules.engine.conditions import evaluate
from rules.engine.evaluate import Evaluator
from rules.engine.sample_cap import cap_of
from rules.language.model import AnyOf, Condition, FieldTest, NotOf, Op
from tests.rules.engine_helpers import book, rec
from tests.rules.test_gate import SURGE, _stream

COMPARE = [Op.gt, Op.gte, Op.lt, Op.lte, Op.eq, Op.ne]
numbers = st.one_of(st.integers(-2, 12), st.sampled_from([0.5, 1.5, 2.25, 3.0]))
tests_ = st.builds(FieldTest, field=st.sampled_from(["count", "ratio", "zscore", "expected", "spread"]),
                   op=st.sampled_from(COMPARE), value=numbers)
floors = st.builds(FieldTest, field=st.sampled_from(["ratio", "zscore"]), op=st.sampled_from([Op.gte, Op.gt]),
                   value=numbers)
flat = st.builds(Condition, terms=st.lists(tests_, max_size=2).map(tuple))
others = st.one_of(tests_, st.builds(AnyOf, options=st.lists(flat, min_size=1, max_size=2).map(tuple)),
                   st.builds(NotOf, condition=flat))
whens = st.builds(lambda floor, rest: Condition(terms=(floor, *rest)), floors, st.lists(others, max_size=3))


@settings(max_examples=500, deadline=None)
@given(levels=st.lists(st.one_of(whens, st.builds(Condition, terms=st.lists(others, max_size=3).map(tuple))),
                       min_size=1, max_size=3),
       value=st.integers(0, 40), samples=st.lists(st.integers(0, 30), min_size=4, max_size=4))
def test_a_reached_cap_means_no_level_holds_whatever_the_rest(
        levels: list[Condition], value: int, samples: list[int]) -> None:
    rule: Any = SimpleNamespace(levels=[SimpleNamespace(when=w) for w in levels])
    cap = cap_of(rule, 4, "count")
    if cap is None:
        return
    limit = cap.cap(value)
    assert cap.cap(value) == limit  # remembered
    fields = {"count": value, **measure(value, samples)}
    if sum(samples[:1]) >= limit or sum(samples) >= limit:
        assert not any(evaluate(w, fields) for w in levels), (levels, fields, limit)
    if 0 < limit < float("inf"):  # the smallest such sum
        assert cap.settled(value, int(limit)) and not cap.settled(value, int(limit) - 1)


def test_a_cap_only_for_counts_whose_every_level_has_a_positive_floor() -> None:
    def rule(*whens: Condition | None) -> Any:
        return SimpleNamespace(levels=[SimpleNamespace(when=w) for w in whens])

    ratio = FieldTest(field="ratio", op=Op.gte, value=4)
    count = FieldTest(field="count", op=Op.gte, value=12)
    assert cap_of(rule(Condition(terms=(count, ratio))), 4, "count") is not None
    assert cap_of(rule(Condition(terms=(count, ratio))), 4, "sum") is None  # a sum's samples can be negative
    assert cap_of(rule(Condition(terms=(count, ratio)), Condition(terms=(count,))), 4, "count") is None
    assert cap_of(rule(Condition(terms=(count, ratio)), None), 4, "count") is None
    negative = FieldTest(field="zscore", op=Op.gte, value=-1)
    assert cap_of(rule(Condition(terms=(count, negative))), 4, "count") is None
    inside = Condition(terms=(AnyOf(options=(Condition(terms=(ratio,)),)),))  # not a top-level floor
    assert cap_of(rule(inside), 4, "count") is None


def test_samples_stop_at_the_cap() -> None:
    b = Baselines(within=10.0, every=100.0, samples=3, aggregate="count")
    for t in (95.0, 96.0, 195.0, 196.0, 197.0):
        b.remember(("k",), t, None, t)
    floor = b.remember(("k",), 300.0, None, 300.0)
    assert b.samples_at(("k",), 300.0, floor) == [3, 2, 0]
    assert b.samples_at(("k",), 300.0, floor, cap=6) == [3, 2, 0]
    assert b.samples_at(("k",), 300.0, floor, cap=5) is None
    assert b.samples_at(("k",), 300.0, floor, cap=3) is None


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_the_engine_gives_the_same_warnings_without_its_caps(engine: str) -> None:
    records = _stream() + [rec("hotline", 4 * 1440 + 700 + i, region="510104001001", id=f"late-{i}")
                           for i in range(12)]
    capped, plain = Evaluator(book(SURGE), engine), Evaluator(book(SURGE), engine)
    try:
        (surge,) = [j for j in capped.engine._windows.values() if j.rule.id == "surge"]  # type: ignore[attr-defined]
        assert surge.cap is not None
        stopped = []
        read = surge.baseline.samples_at

        def spy(*args: Any) -> Any:
            got = read(*args)
            stopped.append(got is None)
            return got

        surge.baseline.samples_at = spy
        for job in plain.engine._windows.values():  # type: ignore[attr-defined]
            job.cap = None
        a, b = capped.feed(records), plain.feed(records)
        assert [(s, c) for s, c in a] == [(s, c) for s, c in b]
        assert capped.warnings() == plain.warnings() != []
        assert capped.last_values == plain.last_values
        assert capped.snapshot() == plain.snapshot()
        assert any(stopped) and not all(stopped)  # the cap stopped some records' samples, not all
    finally:
        capped.close()
        plain.close()
