"""Follow-up: linking related records and warnings, the threshold warning, re-opening the assessment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.assessment import DecisionOutcome
from domain.assessment_scoring import score
from domain.warnings import fingerprint
from integrations.store.assessment_followup import RULE_ID, follow_up, match
from integrations.store.assessment_models import AssessmentLinkRow, AssessmentStatus
from integrations.store.assessments import decide, get_assessment, load_bundle, save_score
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, RecordRow, WarningRow
from tests.ssra_helpers import NOW, default_scheme, seed_complete

START = NOW + timedelta(days=10)  # implementation starts


@pytest.fixture
def store(engine: sa.Engine) -> sa.Engine:
    return engine


def _implementing(engine: sa.Engine) -> int:
    aid = seed_complete(engine)
    with session_scope(engine) as s:
        save_score(session=s, assessment_id=aid, now=NOW,
                   score=score(load_bundle(session=s, assessment_id=aid).to_input(), default_scheme()))
        decide(session=s, assessment_id=aid, outcome=DecisionOutcome.implement_after_mitigation,
               decided_by="区政府常务会议", now=NOW, implement_from=START)
    return aid


def _record(s: Session, n: int, at: datetime, region: str = "510104002001003", kind: str = "petition",
            **attributes: object) -> None:
    s.add(RecordRow(source="xf", source_id=f"p{n}", kind=kind, at=at, region=region, content_hash=str(n),
                    attributes=attributes))


def test_match_by_keyword_or_category() -> None:
    assert match({"subject": "拆迁安置补偿"}, ["拆迁"], []) == "keyword:拆迁"
    assert match({"dispute_type": "demolition"}, [], ["demolition"]) == "category:demolition"
    assert match({"subject": "物业纠纷"}, ["拆迁"], ["demolition"]) is None


def test_links_related_items_and_warns_past_threshold(store: sa.Engine) -> None:
    aid = _implementing(store)
    day = START + timedelta(days=20)
    with session_scope(store) as s:
        for n in range(4):  # related, inside the region, inside the window
            _record(s, n, day + timedelta(hours=n), subject="拆迁安置")
        _record(s, 10, day, subject="物业纠纷")  # unrelated subject
        _record(s, 11, day, region="510105001001001", subject="拆迁安置")  # another district
        _record(s, 12, START - timedelta(days=1), subject="拆迁安置")  # before implementation
        _record(s, 13, day, kind="dispute", dispute_type="demolition")  # related by category
        s.add(WarningRow(fingerprint="w1", open_key="w1", rule="petition-surge", title="拆迁上访增多",
                         level="yellow", region="510104002000", first_at=day, last_at=day))
    now = day + timedelta(days=1)
    rep = follow_up(store, aid, now)
    assert (rep.linked_records, rep.linked_warnings, rep.crossed, rep.warning_id) == (5, 1, [], None)
    assert rep.status == AssessmentStatus.implementing and not rep.reopened
    with session_scope(store) as s:  # a fifth petition crosses "≥ 5 petitions in 7 days"
        _record(s, 4, now - timedelta(hours=2), subject="拆迁补偿不公")
    rep = follow_up(store, aid, now)
    routed = [f"{w.rule}:{change}" for w, change in rep.to_route]
    assert rep.linked_records == 1 and rep.reopened and rep.status == AssessmentStatus.reassessment
    assert rep.crossed == ["7 天内 petition ≥5：关联 5 条"] and routed == [f"{RULE_ID}:opened"]
    with Session(store) as s:
        w = s.exec(select(WarningRow).where(WarningRow.rule == RULE_ID)).one()
        assert (w.status, w.level, w.region, w.open_key) == ("open", "orange", "510104000000", w.fingerprint)
        assert w.fingerprint == fingerprint(RULE_ID, {"assessment": aid})
        assert all(f"xf/p{n}" in w.explanation for n in range(5)) and "xf/p10" not in w.explanation
        assert w.records == [f"xf/p{n}" for n in range(5)]
        assert s.exec(select(AuditRow).where(AuditRow.warning_id == w.id)).one().action == "opened"
        assert get_assessment(session=s, assessment_id=aid).reopened_at == now
    # Running again links nothing twice and keeps one open warning.
    rep = follow_up(store, aid, now + timedelta(minutes=5))
    assert (rep.linked_records, rep.linked_warnings, rep.reopened, rep.total_links) == (0, 0, False, 7)
    with Session(store) as s:
        assert len(s.exec(select(WarningRow).where(WarningRow.rule == RULE_ID)).all()) == 1
        assert len(s.exec(select(AssessmentLinkRow)).all()) == 7


def test_nothing_happens_before_a_decision_to_implement(store: sa.Engine) -> None:
    aid = seed_complete(store)
    with session_scope(store) as s:
        for n in range(8):
            _record(s, n, NOW + timedelta(hours=n), subject="拆迁")
    rep = follow_up(store, aid, NOW + timedelta(days=1))
    assert (rep.status, rep.total_links, rep.warning_id) == ("draft", 0, None)


def test_naive_now_is_refused(store: sa.Engine) -> None:
    with pytest.raises(ValueError, match="timezone"):
        follow_up(store, 1, datetime(2026, 1, 1))
