"""The evaluator: folding, levels, resolve, chaining, snapshots, tests in rule files, backtest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.warnings import Change, fingerprint
from rules.engine.evaluate import Evaluator
from rules.language.loader import load_rulebook
from rules.run.backtest import backtest, parse_jsonl
from rules.run.testing import format_results, run_tests
from tests.rules.engine_helpers import book, rec
from tests.rules.rulebook_samples import GOOD

PETITION = """
- id: collective-petition
  title: 集体访
  record: petition
  where: {people: {gte: 5}}
  levels:
    - {level: yellow}
    - {level: orange, when: {people: {gte: 50}}}
    - {level: red, when: {people: {gte: 300}}}
  group_by: [street]
  summary: "{people} 人集体访：{subject}"
"""
CLUSTER = """
- id: street-cluster
  record: warning
  where: {rule: {ne: street-cluster}, level: {in: [yellow, orange]}}
  window: {within: 7d, by: [street], aggregate: count}
  levels: [{level: orange, when: {count: {gte: 2}}}]
"""
ENGINES = ["reference", "durable"]


@pytest.mark.parametrize("engine", ENGINES)
def test_level_rises_and_never_falls(engine: str) -> None:
    ev = Evaluator(book(PETITION), engine)
    changes = ev.feed([rec("petition", 0, people=5, subject="a"), rec("petition", 1, people=60, subject="b"),
                       rec("petition", 2, people=6, subject="c")])
    assert [(c, w.level.value, w.occurrences) for w, c in changes] == [
        (Change.opened, "yellow", 1), (Change.raised, "orange", 2), (Change.updated, "orange", 3)]
    w = changes[-1][0]
    assert w.region == "510104001000"  # the street: finest tier in group_by
    assert w.fingerprint == fingerprint("collective-petition", {"street": "510104001000"})
    assert w.summary == "60 人集体访：b"
    assert "people=60 ≥ 50" in w.explanation and "collective-petition（集体访）" in w.explanation
    assert "test/" in w.explanation and w.rulebook_version == "test-version"


@pytest.mark.parametrize("engine", ENGINES)
def test_resolved_then_new_warning(engine: str) -> None:
    ev = Evaluator(book(PETITION), engine)
    (w, _), = ev.feed([rec("petition", 0, people=5)])
    assert ev.resolve(w.fingerprint) and ev.warnings() == []
    (again, change), = ev.feed([rec("petition", 1, people=5)])
    assert change is Change.opened and again.occurrences == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_default_fingerprint_is_region(engine: str) -> None:
    ev = Evaluator(book(PETITION.replace("  group_by: [street]\n", "")), engine)
    changes = ev.feed([rec("petition", 0, people=5, region="510104001001"),
                       rec("petition", 1, people=5, region="510104001002")])
    assert [c for _, c in changes] == [Change.opened, Change.opened]
    assert changes[1][0].region == "510104001002"


@pytest.mark.parametrize("engine", ENGINES)
def test_chaining_once_per_open_and_raise(engine: str) -> None:
    ev = Evaluator(book(PETITION + CLUSTER), engine)
    # yellow opens (1 warning record), update (none), orange raise (2nd): the cluster counts 2 -> fires
    changes = ev.feed([rec("petition", 0, people=5), rec("petition", 1, people=5),
                       rec("petition", 2, people=70)])
    rules = [(w.rule, c.value) for w, c in changes]
    assert rules == [("collective-petition", "opened"), ("collective-petition", "updated"),
                     ("collective-petition", "raised"), ("street-cluster", "opened")]
    cluster = changes[-1][0]
    assert cluster.first_at == changes[2][0].last_at
    assert ev.last_values[cluster.fingerprint] == {"count": 2}
    # the red raise chains again (but red is not taken by the cluster's where)
    assert [w.rule for w, _ in ev.feed([rec("petition", 3, people=400)])] == ["collective-petition"]


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_restore_continues(engine: str) -> None:
    rules = PETITION + CLUSTER + """
- id: care
  absence:
    after: {record: care_visit_due}
    missing: {record: care_visit}
  join: [person]
  within: 1h
  level: yellow
- id: seq
  sequence: [{record: dispute}, {record: petition}]
  join: [person]
  within: 1d
  level: blue
"""
    b = book(rules)
    recs = [rec("petition", 0, people=5, person="x"), rec("care_visit_due", 1, person="p"),
            rec("dispute", 2, person="x"), rec("petition", 30, people=60, person="x"),
            rec("care_visit_due", 31, person="q"), rec("care_visit", 40, person="q"), rec("hotline", 200)]
    whole = Evaluator(b, engine)
    expected = [(w, c) for w, c in whole.feed(recs)]
    first = Evaluator(b, engine)
    got = first.feed(recs[:3])
    snap = json.loads(json.dumps(first.snapshot()))
    second = Evaluator.restore(b, snap, engine=engine)
    got += second.feed(recs[3:])
    assert got == expected
    assert second.warnings() == whole.warnings()


def test_rule_file_tests_run(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(GOOD, encoding="utf-8")
    rulebook = load_rulebook([tmp_path], rulebook=Path(__file__).resolve().parents[2] / "rules" / "catalog")
    for engine in ENGINES:
        results = run_tests(rulebook, engine)
        assert [r.passed for r in results] == [True]
        assert format_results(results).splitlines()[-1] == "1 条通过，0 条未通过"


def test_rule_file_test_failure_is_reported(tmp_path: Path) -> None:
    bad = GOOD.replace("- {rule: collective-petition, level: yellow}", "- {rule: collective-petition, level: red}")
    (tmp_path / "p.yaml").write_text(bad, encoding="utf-8")
    rulebook = load_rulebook([tmp_path], rulebook=Path(__file__).resolve().parents[2] / "rules" / "catalog")
    text = format_results(run_tests(rulebook))
    assert text.endswith("0 条通过，1 条未通过") and "未通过" in text


def test_backtest_over_jsonl() -> None:
    lines = [
        json.dumps({"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001", "people": 7}),
        "",
        json.dumps({"kind": "petition", "at": "2026-01-05T10:00:00+08:00", "region": "510104001001",
                    "people": 70, "id": "x"}),
    ]
    rows = backtest(book(PETITION), parse_jsonl(lines))
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"rule", "level", "fingerprint", "region", "first_at", "last_at", "occurrences",
                        "explanation"}
    assert (row["level"], row["occurrences"], row["last_at"]) == ("orange", 2, "2026-01-05T10:00:00+08:00")
    with pytest.raises(ValueError, match="line 1"):
        list(parse_jsonl(['{"kind": "petition"}']))
