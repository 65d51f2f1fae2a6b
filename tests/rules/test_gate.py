"""The aggregate gate of baseline rules: a shut gate means no level holds, whatever the baseline says;
an engine without gates gives the same warnings; the catalog's baseline rules have one. A sum rule's
cuts: two sums at the same place among them pass the same levels; an engine without cuts gives the same
warnings."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine.conditions import evaluate
from rules.engine.engines import DurableEngine, ReferenceEngine
from rules.engine.evaluate import Evaluator
from rules.engine.gate import cuts_of, gate_of, places_of
from rules.language.loader import load_rulebook
from rules.language.model import AnyOf, Condition, FieldTest, NotOf, Op
from tests.rules.engine_helpers import book, rec

NAMES = ["count", "ratio", "zscore"]
COMPARE = [Op.gt, Op.gte, Op.lt, Op.lte, Op.eq, Op.ne]

tests_ = st.builds(FieldTest, field=st.sampled_from(NAMES), op=st.sampled_from(COMPARE),
                   value=st.integers(-2, 14))
flat = st.builds(Condition, terms=st.lists(tests_, max_size=3).map(tuple))
terms = st.one_of(tests_, st.builds(AnyOf, options=st.lists(flat, min_size=1, max_size=3).map(tuple)),
                  st.builds(NotOf, condition=flat))
whens = st.one_of(st.none(), st.builds(Condition, terms=st.lists(terms, max_size=4).map(tuple)))
values = st.one_of(st.integers(-3, 16), st.floats(-3, 16, allow_nan=False))


@settings(max_examples=400, deadline=None)
@given(levels=st.lists(whens, min_size=1, max_size=3), total=st.integers(-3, 16),
       others=st.lists(st.fixed_dictionaries({"ratio": values, "zscore": values}), min_size=1, max_size=6))
def test_a_shut_gate_means_no_level_holds_whatever_else_the_levels_test(
        levels: list[Condition | None], total: int, others: list[dict[str, Any]]) -> None:
    rule: Any = SimpleNamespace(levels=[SimpleNamespace(when=w) for w in levels])
    gate = gate_of(rule, "count")
    if gate is None:
        # no gate only when some level holds without conditions or tests no top-level count
        assert any(w is None or not any(isinstance(t, FieldTest) and t.field == "count" for t in w.terms)
                   for w in levels)
        return
    shut = gate.shut(total)
    assert gate.shut(total) is shut  # remembered, the same answer
    for other in others:
        fields = {"count": total, **other}
        if shut:
            assert not any(evaluate(w, fields) for w in levels), (levels, fields)
    # and it shuts exactly when every level has a failing top-level term on the count
    assert shut == all(any(isinstance(t, FieldTest) and t.field == "count" and not evaluate(Condition(terms=(t,)),
                                                                                             {"count": total})
                           for t in w.terms) for w in levels if w is not None)


SURGE = """
- id: surge
  record: hotline
  window: {within: 1h, by: [community], aggregate: count}
  baseline: {samples: 3, every: 1d}
  levels:
    - {level: blue, when: {count: {gte: 3}, zscore: {gte: 1}}}
    - {level: yellow, when: {count: {gte: 5}, ratio: {gte: 2}}}
  summary: "{count} 件，前 3 天同期平均 {expected}，{ratio} 倍"
- id: volume
  record: opinion
  window: {within: 1d, by: [district], aggregate: {sum: volume}}
  baseline: {samples: 2, every: 1d}
  levels:
    - {level: yellow, when: {sum: {gte: 500}, ratio: {gte: 2}}}
  summary: "{sum} 条"
"""


def _stream() -> list[Any]:
    out = []
    for day in range(5):
        for i in range(40 + 30 * day):  # busier day by day: counts cross the thresholds from day 2 on
            minute = day * 1440 + (i * 37) % 600
            community = f"5101040010{i % 4 + 1:02d}"
            out.append(rec("hotline", minute, region=community, id=f"h{day}-{i}"))
            if i % 3 == 0:
                out.append(rec("opinion", minute, region=community, id=f"o{day}-{i}", volume=10 * (i % 7) + day * 20,
                               topic="拆迁", platform="weibo", sentiment=-0.5))
    return out


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_the_engine_gives_the_same_warnings_without_its_gates(engine: str) -> None:
    records = _stream()
    gated, open_ = Evaluator(book(SURGE), engine), Evaluator(book(SURGE), engine)
    try:
        jobs = list(gated.engine._windows.values())  # type: ignore[attr-defined]
        assert all(job.gate is not None for job in jobs)
        assert all(job.places is not None for job in jobs)
        for job in open_.engine._windows.values():  # type: ignore[attr-defined]
            job.gate = job.places = None
        a, b = gated.feed(records), open_.feed(records)
        assert [(s, c) for s, c in a] == [(s, c) for s, c in b]
        assert gated.warnings() == open_.warnings() != []
        assert gated.last_values == open_.last_values
        assert gated.snapshot() == open_.snapshot()
        # the gate did shut on this stream, and let through what fired
        assert all(any(job.gate.memo.values()) and not all(job.gate.memo.values()) for job in jobs)
    finally:
        gated.close()
        open_.close()


@pytest.mark.parametrize("make", [DurableEngine, ReferenceEngine])
def test_every_baseline_rule_of_the_catalog_has_a_gate(make: Any) -> None:
    engine = make(load_rulebook())
    try:
        jobs = [job for job in engine._windows.values() if job.baseline is not None]
        assert len(jobs) >= 3
        assert all(job.gate is not None for job in jobs), [job.rule.id for job in jobs if job.gate is None]
        assert all(job.places is not None for job in jobs), [job.rule.id for job in jobs if job.places is None]
    finally:
        engine.close()


sums = st.one_of(st.integers(-5, 30), st.floats(-5, 30, allow_nan=False), st.sampled_from([-2.5, 0, 7, 7.0, 14]))
sum_tests = st.builds(FieldTest, field=st.just("sum"), op=st.sampled_from(COMPARE),
                      value=st.one_of(st.integers(-2, 14), st.sampled_from([-2.5, 7.0, 13.5])))
sum_flat = st.builds(Condition, terms=st.lists(sum_tests, max_size=3).map(tuple))
sum_terms = st.one_of(sum_tests, st.builds(AnyOf, options=st.lists(sum_flat, min_size=1, max_size=3).map(tuple)),
                      st.builds(NotOf, condition=sum_flat))
sum_whens = st.one_of(st.none(), st.builds(Condition, terms=st.lists(sum_terms, max_size=4).map(tuple)))


@settings(max_examples=400, deadline=None)
@given(levels=st.lists(sum_whens, min_size=1, max_size=3), a=sums, b=sums)
def test_sums_at_the_same_place_among_the_cuts_pass_the_same_levels(
        levels: list[Condition | None], a: float, b: float) -> None:
    rule: Any = SimpleNamespace(levels=[SimpleNamespace(when=w) for w in levels])
    cuts = cuts_of(rule, "sum")
    assert cuts is not None and list(cuts) == sorted(cuts)
    if (bisect_left(cuts, a), bisect_right(cuts, a)) == (bisect_left(cuts, b), bisect_right(cuts, b)):
        assert [w is None or evaluate(w, {"sum": a}) for w in levels] == [
            w is None or evaluate(w, {"sum": b}) for w in levels]


def test_cuts_only_when_the_levels_compare_the_aggregate_with_numbers() -> None:
    def rule(*whens: Condition | None) -> Any:
        return SimpleNamespace(levels=[SimpleNamespace(when=w) for w in whens])

    gte = FieldTest(field="sum", op=Op.gte, value=10)
    assert cuts_of(rule(Condition(terms=(gte,)), None), "sum") == (10,)
    assert cuts_of(rule(Condition(terms=(gte, FieldTest(field="periods", op=Op.contains, value="两会")))),
                   "sum") is None
    assert cuts_of(rule(Condition(terms=(FieldTest(field="sum", op=Op.in_, value=[1, 2]),))), "sum") is None
    assert cuts_of(rule(Condition(terms=(FieldTest(field="sum", op=Op.eq, value="10"),))), "sum") is None


WAGES = """
- id: wages
  record: dispute
  where: {type: {eq: wage_arrears}}
  window: {within: 2d, by: [district], aggregate: {sum: amount}}
  levels:
    - {level: blue, when: {sum: {gt: 1000}}}
    - {level: yellow, when: {any: [{sum: {gte: 5000}}, {sum: {eq: 777}}]}}
    - {level: orange, when: {sum: {gte: 20000}, not: {sum: {gt: 40000}}}}
  summary: "欠薪 {sum} 元"
"""


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_the_engine_gives_the_same_warnings_without_its_cuts(engine: str) -> None:
    records = [rec("dispute", i * 17, region=f"5101{i % 3 + 4:02d}001001", id=f"d{i}", type="wage_arrears",
                   amount=[777, 150, 2500.5, 4000, 90][i % 5] * (1 + i // 40), people=2, status="open")
               for i in range(300)]
    cut, plain = Evaluator(book(WAGES), engine), Evaluator(book(WAGES), engine)
    try:
        (job,) = cut.engine._windows.values()  # type: ignore[attr-defined]
        assert job.cuts == (777, 1000, 5000, 20000, 40000)
        for other in plain.engine._windows.values():  # type: ignore[attr-defined]
            other.cuts = None
        a, b = cut.feed(records), plain.feed(records)
        assert [(s, c) for s, c in a] == [(s, c) for s, c in b]
        assert set(job.memo.values()) >= {0, 1, 2}  # every level held somewhere on this stream
        assert cut.warnings() == plain.warnings()
        assert cut.last_values == plain.last_values
        # remembered by place: far fewer entries than the sums it saw
        assert 0 < len(job.memo) <= 2 * len(job.cuts) + 1 < len({r.attributes["amount"] for r in records}) + 10
    finally:
        cut.close()
        plain.close()


measures = st.fixed_dictionaries({"count": st.integers(-3, 16), "ratio": values, "zscore": values})


@settings(max_examples=400, deadline=None)
@given(levels=st.lists(whens, min_size=1, max_size=3), a=measures, b=measures)
def test_values_at_the_same_places_pass_the_same_levels(
        levels: list[Condition | None], a: dict[str, Any], b: dict[str, Any]) -> None:
    rule: Any = SimpleNamespace(levels=[SimpleNamespace(when=w) for w in levels])
    places = places_of(rule, ("count", "expected", "spread", "ratio", "zscore"))
    assert places is not None  # the generated levels compare only these names with numbers
    assert {name for name, _ in places.cuts} == {t.field for w in levels if w is not None for t in w.walk()}
    if places.key(a) == places.key(b):
        assert [w is None or evaluate(w, a) for w in levels] == [w is None or evaluate(w, b) for w in levels]
    assert places.key({**a, "ratio": float("nan")}) is None or "ratio" not in dict(places.cuts)
    assert places_of(rule, ("count",)) is None or all(t.field == "count" for w in levels if w for t in w.walk())
