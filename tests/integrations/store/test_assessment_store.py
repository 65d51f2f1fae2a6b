"""Assessments in the store: create, evidence, factors, score, decide, list; CSV imports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.assessment import AssessmentIncomplete, Decision, DecisionKind, DecisionOutcome, Dimension
from domain.assessment_scoring import score
from integrations.store.assessment_csv import CsvImportError, import_factors_csv, import_survey_csv
from integrations.store.assessment_models import AssessmentStatus
from integrations.store.assessments import (
    AssessmentNotFound,
    AssessmentStateError,
    add_factor,
    create_assessment,
    decide,
    get_assessment,
    list_assessments,
    load_bundle,
    save_score,
)
from integrations.store.db import session_scope
from tests.ssra_helpers import DISTRICT, NOW, default_scheme, seed_complete


@pytest.fixture
def store(engine: sa.Engine) -> sa.Engine:
    return engine


def test_lifecycle_score_and_decide(store: sa.Engine) -> None:
    aid = seed_complete(store)
    with session_scope(store) as s:
        b = load_bundle(session=s, assessment_id=aid)
        assert [e.ref for e in b.evidence] == ["E1", "E2", "E3"] and [f.ref for f in b.factors] == ["F1", "F2"]
        with pytest.raises(AssessmentStateError, match="请先评分"):
            decide(session=s, assessment_id=aid, outcome=DecisionOutcome.implement, decided_by="常务会议", now=NOW)
        result = score(b.to_input(), default_scheme())
        save_score(session=s, assessment_id=aid, score=result, now=NOW)
    with session_scope(store) as s:
        b = load_bundle(session=s, assessment_id=aid)
        assert b.row.status == AssessmentStatus.scored
        assert (b.row.level_before, b.row.level_after) == ("medium", "low")
        assert b.score == result  # the whole score survives the round trip through JSON
        row = decide(session=s, assessment_id=aid, outcome=DecisionOutcome.implement_after_mitigation,
                     decided_by="区政府常务会议", now=NOW + timedelta(days=1))
        assert row.status == AssessmentStatus.implementing and row.implementation_from == NOW + timedelta(days=1)
    with session_scope(store) as s:
        assert [r.id for r in list_assessments(session=s, status="implementing")] == [aid]
        assert [r.id for r in list_assessments(session=s, within="510104001000")] == []
        assert [r.id for r in list_assessments(session=s, within="510100000000")] == [aid]
        actions = [e.action for e in load_bundle(session=s, assessment_id=aid).events]
        assert actions[0] == "opened" and actions[-2:] == ["scored", "decided"]


def test_rejecting_does_not_start_follow_up(store: sa.Engine) -> None:
    aid = seed_complete(store)
    with session_scope(store) as s:
        save_score(session=s, assessment_id=aid, now=NOW,
                   score=score(load_bundle(session=s, assessment_id=aid).to_input(), default_scheme()))
        row = decide(session=s, assessment_id=aid, outcome=DecisionOutcome.reject, decided_by="会议", now=NOW)
        assert row.status == AssessmentStatus.decided and row.implementation_from is None


def test_unknown_assessment_and_unknown_evidence(store: sa.Engine) -> None:
    with session_scope(store) as s, pytest.raises(AssessmentNotFound):
        get_assessment(session=s, assessment_id=999)
    aid = seed_complete(store)
    with pytest.raises(ValueError, match="E7"), session_scope(store) as s:
        add_factor(session=s, assessment_id=aid, title="x", dimension=Dimension.safety, probability=1, impact=1,
                   evidence=("E7",), now=NOW)


def test_incomplete_assessment_is_not_scored(store: sa.Engine) -> None:
    with session_scope(store) as s:
        row = create_assessment(session=s, now=NOW, decision=Decision(title="政策调整", region=DISTRICT,
                                                                      kind=DecisionKind.policy_change))
        assert row.id is not None
        with pytest.raises(AssessmentIncomplete) as exc:
            score(load_bundle(session=s, assessment_id=row.id).to_input(), default_scheme())
    assert any("没有公示" in r for r in exc.value.reasons)
    assert any("专家组只有 0 人" in r for r in exc.value.reasons)


# --- CSV ----------------------------------------------------------------------------------------------------

def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_import_survey_long_wide_and_counted(store: sa.Engine, tmp_path: Path) -> None:
    aid = seed_complete(store)
    long = _csv(tmp_path, "long.csv", "respondent,answer\n1,support\n2,强烈反对\n3,Support\n4,neutral\n")
    counted = _csv(tmp_path, "counted.csv", "answer,count\nstrongly_support,10\noppose,5\n")
    wide = _csv(tmp_path, "wide.csv", "community,非常支持,支持,中立,反对,强烈反对\nA,1,2,3,4,5\nB,1,1,1,1,1\n")
    with session_scope(store) as s:
        a = import_survey_csv(session=s, assessment_id=aid, path=long, now=NOW)
        b = import_survey_csv(session=s, assessment_id=aid, path=counted, now=NOW)
        c = import_survey_csv(session=s, assessment_id=aid, path=wide, now=NOW, title="分社区问卷")
    assert (a.ref, a.support, a.strongly_oppose, a.neutral, a.source) == ("E4", 2, 1, 1, "long.csv")
    assert (b.strongly_support, b.oppose, b.support) == (10, 5, 0)
    assert (c.title, c.strongly_support, c.support, c.neutral, c.oppose, c.strongly_oppose) == \
        ("分社区问卷", 2, 3, 4, 5, 6)


def test_survey_csv_errors_name_file_and_line(store: sa.Engine, tmp_path: Path) -> None:
    aid = seed_complete(store)
    bad = _csv(tmp_path, "bad.csv", "answer\nsupport\nmaybe\nsupport\n")
    with pytest.raises(CsvImportError) as exc, session_scope(store) as s:
        import_survey_csv(session=s, assessment_id=aid, path=bad, now=NOW)
    assert exc.value.errors == [f"{bad}:3: 未知的答案 'maybe'；请用 strongly_support, support, "
                                "neutral, oppose, strongly_oppose 之一"]
    with pytest.raises(CsvImportError, match="须有 answer 列"), session_scope(store) as s:
        import_survey_csv(session=s, assessment_id=aid, path=_csv(tmp_path, "x.csv", "a,b\n1,2\n"), now=NOW)
    with session_scope(store) as s:
        assert len(load_bundle(session=s, assessment_id=aid).evidence) == 3  # nothing half-imported


FACTORS = """title,dimension,probability,impact,people,mitigation,residual_probability,residual_impact,failure,evidence
补偿标准争议,合理性,3,3,640,第三方评估,2,2,no,E2 E3
施工安全,safety,2,3,300,围挡,1,3,,E1
审批文件,legality,1,3,,,,,否,
"""


def test_import_factor_register(store: sa.Engine, tmp_path: Path) -> None:
    aid = seed_complete(store)
    with session_scope(store) as s:
        rows = import_factors_csv(session=s, assessment_id=aid, path=_csv(tmp_path, "f.csv", FACTORS), now=NOW)
    assert [r.ref for r in rows] == ["F3", "F4", "F5"]
    assert (rows[0].dimension, rows[0].people, rows[0].evidence, rows[0].residual_impact) == \
        ("rationality", 640, ["E2", "E3"], 2)
    assert rows[2].residual_probability is None and rows[2].failure is False


def test_factor_csv_is_all_or_nothing(store: sa.Engine, tmp_path: Path) -> None:
    aid = seed_complete(store)
    text = FACTORS + "坏的,morality,3,3,,,,,,\n过高,safety,2,2,,,3,,,\n未知依据,safety,2,2,,,,,,E9\n"
    path = _csv(tmp_path, "f.csv", text)
    with pytest.raises(CsvImportError) as exc, session_scope(store) as s:
        import_factors_csv(session=s, assessment_id=aid, path=path, now=NOW)
    assert exc.value.errors[0].startswith(f"{path}:5: 未知的维度 'morality'")
    assert exc.value.errors[1].startswith(f"{path}:6: ") and "化解措施不能抬高风险" in exc.value.errors[1]
    path2 = _csv(tmp_path, "g.csv", FACTORS + "未知依据,safety,2,2,,,,,,E9\n")
    with pytest.raises(CsvImportError) as exc2, session_scope(store) as s:
        import_factors_csv(session=s, assessment_id=aid, path=path2, now=NOW)
    assert exc2.value.errors == [f"{path2}:5: 引用了不存在的依据：E9"]
    with session_scope(store) as s:
        assert len(load_bundle(session=s, assessment_id=aid).factors) == 2


def test_csv_errors_speak_english_on_request(store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.i18n import translate
    from integrations.settings import get_settings

    aid = seed_complete(store)
    bad = _csv(tmp_path, "bad.csv", "answer\nsupport\nmaybe\n")
    with pytest.raises(CsvImportError) as exc, session_scope(store) as s:
        import_survey_csv(session=s, assessment_id=aid, path=bad, now=NOW)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert [translate(e) for e in exc.value.errors] == [
        f"{bad}:3: unknown answer 'maybe'; use one of strongly_support, support, neutral, oppose, strongly_oppose"]
