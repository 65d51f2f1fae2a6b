"""Rule fields for noise: ``notify_every`` (repeat limit), ``resolve_after`` and ``auto_resolve``
(staleness) — read as durations, with FILE:LINE errors — and what they do in live evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.records import Record
from integrations.evaluation import evaluate_pending
from integrations.route import Routing
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.records import upsert_records
from rules.language.loader import load_rulebook
from tests.escalation_helpers import REGIONS, small_directory

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
RULES = """ruleset: noise
rules:
  - id: petition-repeat
    record: petition
    where: {people: {gte: 5}}
    level: yellow
    group_by: [street]
    notify_every: 6h
  - id: petition-stale
    record: petition
    where: {people: {gte: 5}}
    levels:
      - {level: yellow}
      - {level: orange, when: {people: {gte: 50}}}
    group_by: [street]
    resolve_after: 24h
  - id: petition-auto
    record: petition
    where: {people: {gte: 5}}
    level: yellow
    group_by: [street]
    resolve_after: 24h
    auto_resolve: true
"""


def _book(tmp_path: Path, text: str = RULES):  # type: ignore[no-untyped-def]
    path = tmp_path / "noise.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rulebook([path])


def test_fields_are_read_as_durations(tmp_path: Path) -> None:
    book = _book(tmp_path)
    assert book.ok, book.errors
    rules = {r.id: r for r in book.rules}
    assert rules["petition-repeat"].notify_every == timedelta(hours=6)
    assert rules["petition-stale"].resolve_after == timedelta(hours=24)
    assert not rules["petition-stale"].auto_resolve and rules["petition-auto"].auto_resolve


@pytest.mark.parametrize(("extra", "line", "words"), [
    ("    notify_every: soon\n", 8, "时长须为正数"),
    ("    auto_resolve: true\n", 8, "需要 resolve_after"),
    ("    resolve_after: 1d\n    auto_resolve: yes please\n", 9, "须为 true 或 false"),
    ("    notify_evry: 6h\n", 8, "notify_every"),
])
def test_errors_name_the_file_and_line(tmp_path: Path, extra: str, line: int, words: str) -> None:
    text = "ruleset: t\nrules:\n  - id: a\n    record: petition\n    where: {people: {gte: 5}}\n" \
           "    level: yellow\n    group_by: [street]\n" + extra
    book = _book(tmp_path, text)
    assert [(e.line, words in e.message) for e in book.errors] == [(line, True)], book.errors


def _petition(i: int, hours: float, region: str = "510104001001", people: int = 6) -> Record:
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(hours=hours), region=region,
                  attributes={"people": people, "subject": "征地补偿", "person": f"p_{i:020d}"})


def _run(engine: sa.Engine, book, records: list[Record]) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)
    evaluate_pending(engine, book, now=datetime.now(UTC),
                     routing=Routing(EscalationPolicy(), small_directory(), REGIONS))


def _steps(engine: sa.Engine, rule: str, region: str = "510104001000") -> tuple[str, list[str]]:
    with Session(engine) as s:
        w = s.exec(select(WarningRow).where(WarningRow.rule == rule, WarningRow.region == region)
                   .order_by(col(WarningRow.id).desc())).first()
        assert w is not None
        steps = [o.step for o in s.exec(select(OutboxRow).where(OutboxRow.warning_id == w.id)
                                        .order_by(col(OutboxRow.id)))]
    return w.status, list(dict.fromkeys(steps))


def test_repeat_limit_and_staleness_in_live_evaluation(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    book = _book(tmp_path)
    _run(sqlite_engine, book, [_petition(1, 0), _petition(2, 2)])  # folded 2 h later: no repeat yet
    assert _steps(sqlite_engine, "petition-repeat") == ("open", ["open"])
    _run(sqlite_engine, book, [_petition(3, 7)])  # 7 h after the notified firing: one repeat
    _run(sqlite_engine, book, [_petition(4, 8)])  # 1 h after the repeat: quiet
    assert _steps(sqlite_engine, "petition-repeat") == ("open", ["open", "repeat-1"])
    assert _steps(sqlite_engine, "petition-stale") == ("open", ["open"])
    # A record elsewhere moves event time 32 h past the last firing here: stale, holder told 可办结.
    _run(sqlite_engine, book, [_petition(5, 40, region="510105001001")])
    status, steps = _steps(sqlite_engine, "petition-stale")
    assert (status, steps) == ("stale", ["open", "stale-1"])
    with Session(sqlite_engine) as s:
        notice = s.exec(select(OutboxRow).where(OutboxRow.step == "stale-1")).first()
        assert notice is not None and "可办结" in notice.subject
        auto = s.exec(select(WarningRow).where(WarningRow.rule == "petition-auto",
                                               WarningRow.region == "510104001000")).one()
        assert auto.status == "resolved"
        audit = s.exec(select(AuditRow).where(AuditRow.warning_id == auto.id, AuditRow.action == "resolved")).one()
        assert audit.actor == "rule:petition-auto" and "petition-auto" in audit.reason
    assert _steps(sqlite_engine, "petition-repeat")[0] == "open"  # no resolve_after: never stale
    # The stale warning fires again (a rise): active again, the level only rises.
    _run(sqlite_engine, book, [_petition(6, 41, people=60)])
    status, steps = _steps(sqlite_engine, "petition-stale")
    assert status == "open" and steps[-1] == "raise-orange"
    # The auto-resolved one opens anew on its next firing.
    with Session(sqlite_engine) as s:
        autos = s.exec(select(WarningRow).where(WarningRow.rule == "petition-auto",
                                                WarningRow.region == "510104001000")).all()
        assert sorted(w.status for w in autos) == ["open", "resolved"]
