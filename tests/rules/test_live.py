"""Live evaluation against the store: continues across runs, crash-safe, late records marked, resolved
warnings respected. Compared with the backtest of the same records (the oracle of "same warnings")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.records import Record
from integrations.evaluation import evaluate_pending
from integrations.route import Routing
from integrations.store.db import session_scope
from integrations.store.models import RecordRow, WarningRow
from integrations.store.records import upsert_records
from rules.language.loader import load_rulebook
from rules.run.backtest import backtest
from tests.escalation_helpers import REGIONS, small_directory

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _petition(i: int, people: int, hours: float, region: str = "510104001001") -> Record:
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(hours=hours), region=region,
                  attributes={"people": people, "subject": "征地补偿", "person": f"p_{i:020d}"})


def _store(engine: sa.Engine, records: list[Record]) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)


def _warnings(engine: sa.Engine) -> list[tuple[str, str, str, int]]:
    with Session(engine) as s:
        return sorted((w.rule, w.level, w.region, w.occurrences) for w in s.exec(select(WarningRow)))


@pytest.fixture(scope="module")
def rulebook():  # type: ignore[no-untyped-def]
    return load_rulebook()


def test_two_runs_give_the_backtest_warnings(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    records = [_petition(1, 6, 0), _petition(2, 60, 5, "510104001002"), _petition(3, 320, 30),
               _petition(4, 7, 40, "510105001001")]
    _store(engine, records[:2])
    first = evaluate_pending(engine, rulebook, now=NOW)
    _store(engine, records[2:])
    second = evaluate_pending(engine, rulebook, now=NOW)
    assert (first.records, second.records) == (2, 2)
    expected = sorted((w["rule"], w["level"], w["region"], w["occurrences"]) for w in backtest(rulebook, records))
    assert _warnings(engine) == expected
    # Nothing new: a third run changes nothing.
    assert evaluate_pending(engine, rulebook, now=NOW).records == 0
    assert _warnings(engine) == expected


def test_a_crash_before_commit_loses_nothing_and_doubles_nothing(engine: sa.Engine, rulebook, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _store(engine, [_petition(1, 6, 0), _petition(2, 60, 5)])

    def broken_render(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed while routing")

    monkeypatch.setattr("integrations.route.warning_context", broken_render)
    with pytest.raises(RuntimeError):
        evaluate_pending(engine, rulebook, now=NOW, routing=Routing(EscalationPolicy(), small_directory(), REGIONS))
    monkeypatch.undo()
    assert _warnings(engine) == []  # the warning, its routing and the evaluator's state roll back together
    evaluate_pending(engine, rulebook, now=NOW)
    assert _warnings(engine) == [("collective-petition", "orange", "510104001000", 2)]


def test_a_record_behind_the_watermark_is_evaluated_and_marked_late(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    _store(engine, [_petition(1, 6, 10)])
    evaluate_pending(engine, rulebook, now=NOW)
    _store(engine, [_petition(2, 60, 1)])  # happened before what was already evaluated
    report = evaluate_pending(engine, rulebook, now=NOW)
    assert (report.records, report.late) == (1, 1)
    with Session(engine) as s:
        late = s.exec(select(RecordRow.source_id).where(RecordRow.late == True)).all()  # noqa: E712
    assert late == ["p2"]
    assert _warnings(engine) == [("collective-petition", "orange", "510104001000", 2)]


def test_after_a_resolve_the_next_firing_opens_a_new_warning(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    _store(engine, [_petition(1, 6, 0)])
    evaluate_pending(engine, rulebook, now=NOW)
    with session_scope(engine) as s:
        row = s.exec(select(WarningRow)).one()
        row.status, row.open_key = "resolved", None
        s.add(row)
    _store(engine, [_petition(2, 8, 3)])
    evaluate_pending(engine, rulebook, now=NOW)
    with Session(engine) as s:
        rows = s.exec(select(WarningRow).order_by(WarningRow.id)).all()
    assert [(r.status, r.occurrences) for r in rows] == [("resolved", 1), ("open", 1)]


def _hotline(i: int, at: datetime, region: str) -> Record:
    return Record(kind="hotline", source="12345", id=f"h{i}", at=at, region=region,
                  attributes={"person": f"p_{i % 4:020d}", "category": ["noise", "parking", "water"][i % 3]})


def test_a_baseline_history_carries_across_live_runs(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    """hotline-community-surge (baseline: the same day of the past 4 weeks): the history stored by the
    first run decides the second. Community A had 1 complaint on each of those days, B had 4: twelve today
    is a surge in A (12×) and not in B (3×) — B would fire too were the history lost between runs."""
    a, b = "510104001001", "510104001002"
    today = datetime(2026, 4, 10, 1, 0, tzinfo=UTC)
    history = [_hotline(i, today - timedelta(days=7 * w, minutes=-i), region)
               for w in range(1, 5) for region, n in ((a, 1), (b, 4)) for i in range(n)]
    history = [r.model_copy(update={"id": f"old-{j}"}) for j, r in enumerate(history)]
    now_ = [_hotline(i, today + timedelta(minutes=i), region) for region in (a, b) for i in range(12)]
    now_ = [r.model_copy(update={"id": f"new-{j}"}) for j, r in enumerate(now_)]
    _store(engine, history)
    assert evaluate_pending(engine, rulebook, now=NOW).records == len(history)
    _store(engine, now_)
    evaluate_pending(engine, rulebook, now=NOW)
    expected = sorted((w["rule"], w["level"], w["region"], w["occurrences"])
                      for w in backtest(rulebook, history + now_))
    assert expected == [("hotline-community-surge", "blue", a, 1)]
    assert _warnings(engine) == expected
    with Session(engine) as s:
        [row] = s.exec(select(WarningRow)).all()
    assert row.summary == "24 小时内本社区热线投诉 12 件，过去 4 周同期平均 1 件（12 倍）"
    assert "[1, 1, 1, 1]" in row.explanation
