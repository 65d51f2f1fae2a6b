"""The engines: interface, firings, durable_rules use, and agreement on hand-picked cases."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from domain.records import Record
from domain.warnings import Firing, Level
from rules.engine.compile import compile_kind
from rules.engine.engines import DurableEngine, ReferenceEngine, RuleEngine
from rules.engine.explain import firing_from_json, firing_to_json
from rules.engine.matching import DurableMatcher, build_plan
from rules.language.model import parse_condition
from tests.rules.engine_helpers import book, rec

RULES = """
- id: big
  title: 大
  record: petition
  where: {people: {gte: 5}, not: {subject: {matches: ".*测试.*"}}}
  levels:
    - {level: yellow}
    - {level: red, when: {people: {gte: 300}}}
  summary: "{people} 人：{subject}"
- id: care
  absence:
    after: {record: care_visit_due}
    missing: {record: care_visit}
  join: [person]
  within: 1h
  level: blue
"""


def run(engine: RuleEngine, records: list[Record]) -> list[tuple[str, list[Firing]]]:
    out: list[tuple[str, list[Firing]]] = []

    def emit(r: Record, firings: list[Firing]) -> list[Record]:
        out.append((r.ref, firings))
        return []

    engine.process(sorted(records, key=lambda r: r.key), emit)
    return out


@pytest.mark.parametrize("cls", [ReferenceEngine, DurableEngine])
def test_firing_carries_explanation_values_and_version(cls: type[DurableEngine]) -> None:
    engine = cls(book(RULES))
    try:
        got = run(engine, [rec("petition", 0, people=400, subject="征地", id="x"),
                           rec("petition", 1, people=400, subject="测试数据")])
    finally:
        engine.close()
    assert len(got) == 1
    ref, (f,) = got[0]
    assert ref == "test/x" and f.level is Level.red and f.title == "大"
    assert f.values == {"people": 400, "subject": "征地"}
    assert f.summary == "400 人：征地" and f.rulebook_version == "test-version"
    assert "people=400 ≥ 300" in f.explanation and "红色" in f.explanation and "test/x" in f.explanation
    assert firing_from_json(firing_to_json(f)) == f


@pytest.mark.parametrize("cls", [ReferenceEngine, DurableEngine])
def test_absence_fires_before_the_record_that_moves_the_watermark(cls: type[DurableEngine]) -> None:
    engine = cls(book(RULES))
    try:
        got = run(engine, [rec("care_visit_due", 0, person="p", id="due"), rec("petition", 61, people=9, id="late")])
    finally:
        engine.close()
    (ref, firings), = got
    assert ref == "test/late"
    assert [f.rule for f in firings] == ["care", "big"]
    assert firings[0].records == ("test/due",) and firings[0].at == rec("x", 60).at


def test_durable_engine_starts_no_threads_and_frees_rulesets() -> None:
    before = threading.active_count()
    engine = DurableEngine(book(RULES))
    assert threading.active_count() == before  # no durable.engine.Host timer threads
    assert isinstance(engine.matcher, DurableMatcher) and set(engine.matcher.kinds) == {
        "petition", "care_visit_due", "care_visit"}
    engine.close()
    assert engine.matcher.kinds == {}


def test_negated_regex_is_compiled_as_probes() -> None:
    plan = build_plan(book(RULES).rules)
    compiled = compile_kind("petition", plan.checks["petition"])
    assert compiled.probes and all(name.startswith("c") for name in compiled.definition)
    plain = compile_kind("petition", [(0, parse_condition({"people": {"ne": 3}}))])
    assert plain.definition == {"c0": {"all": [{"m": {"$and": [{"$ex": {"people": 1}}, {"$neq": {"people": 3}}]}}]}}


def test_snapshot_of_pending_absence_survives_json() -> None:
    import json

    first = DurableEngine(book(RULES))
    run(first, [rec("care_visit_due", 0, person="p")])
    snap = json.loads(json.dumps(first.snapshot()))
    first.close()
    second = ReferenceEngine(book(RULES))
    second.load(snap)
    got = run(second, [rec("hotline", 120)])
    assert [f.rule for _, fs in got for f in fs] == ["care"]
    assert got[0][1][0].at - rec("x", 0).at == timedelta(hours=1)
