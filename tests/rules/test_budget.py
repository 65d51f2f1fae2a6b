"""The per-record evaluation budget: a record over it, or one a rule raises on, is reported (record,
rule, reason) and left out; the other records are evaluated as before, by both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.records import Record
from rules.engine.budget import MAX_MATCH_TEXT
from rules.engine.evaluate import Evaluator
from rules.language.loader import load_rulebook
from tests.rules.conftest import RULEBOOK
from tests.rules.test_hardening import RULE, Write


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_record_over_the_budget_is_reported_not_evaluated(bounded: None, write: Write, engine: str) -> None:
    rulebook = load_rulebook([write("slow.yaml", RULE.format(pattern="a+"))], rulebook=RULEBOOK)
    at = datetime(2026, 4, 1, tzinfo=UTC)
    long_one = Record(kind="hotline", source="t", id="long", at=at, region="510104001001",
                      attributes={"category": "a" * (MAX_MATCH_TEXT + 1)})
    fine = Record(kind="hotline", source="t", id="fine", at=at, region="510104001001",
                  attributes={"category": "aaa"})
    evaluator = Evaluator(rulebook, engine=engine)
    try:
        changes = evaluator.feed([long_one, fine])
    finally:
        evaluator.close()
    assert [w.records for w, _ in changes] == [(fine.ref,)]
    (error,) = evaluator.errors
    assert (error.record, error.rule) == (long_one.ref, "slow-text") and str(MAX_MATCH_TEXT) in error.reason


def test_a_rule_raising_reports_the_record_and_goes_on(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    from rules.engine import engines

    rulebook = load_rulebook([write("slow.yaml", RULE.format(pattern="a+"))], rulebook=RULEBOOK)
    at = datetime(2026, 4, 1, tzinfo=UTC)
    records = [Record(kind="hotline", source="t", id=i, at=at, region="510104001001",
                      attributes={"category": "aaa"}) for i in ("x", "y")]
    real = engines.run_rule

    def boom(engine: object, job: object, r: Record, f: object, t: float) -> object:
        if r.id == "x":
            raise RecursionError("too deep")
        return real(engine, job, r, f, t)  # type: ignore[arg-type]

    monkeypatch.setattr(engines, "run_rule", boom)
    evaluator = Evaluator(rulebook, engine="reference")
    changes = evaluator.feed(records)
    assert [w.records for w, _ in changes] == [(records[1].ref,)]
    (error,) = evaluator.errors
    assert (error.record, error.rule) == (records[0].ref, "slow-text") and "RecursionError" in error.reason
