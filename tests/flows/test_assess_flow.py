"""The ``assess_decision`` flow under Prefect's test harness; and the demo's worked example."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from domain.assessment import AssessmentIncomplete
from integrations.settings import get_settings
from integrations.store.db import open_store
from integrations.store.models import WarningRow
from tests.ssra_helpers import seed_complete


@pytest.mark.integration
def test_assess_decision_scores_and_writes_reports(prefect_harness: None, tmp_path: Path) -> None:
    from flows.assess import assess_decision

    engine = open_store(get_settings().resolved_database_url)
    aid = seed_complete(engine)
    result = assess_decision(aid, out_dir=str(tmp_path))
    assert (result["level_before"], result["level_after"]) == ("medium", "low")
    assert [Path(p).name for p in result["reports"]] == [f"assessment-{aid}.html", f"assessment-{aid}.md"]
    engine.dispose()


@pytest.mark.integration
def test_assess_decision_fails_on_missing_evidence(prefect_harness: None, tmp_path: Path) -> None:
    from domain.assessment import Decision
    from flows.assess import assess_decision
    from flows.assess_ops import bundle
    from integrations.store.assessments import create_assessment
    from integrations.store.db import session_scope

    engine = open_store(get_settings().resolved_database_url)
    with session_scope(engine) as s:
        aid = create_assessment(session=s, now=datetime(2026, 1, 1, tzinfo=UTC),
                                decision=Decision(title="x", region="510104000000")).id
    assert aid is not None
    with pytest.raises(AssessmentIncomplete, match="没有公示"):
        assess_decision(aid, out_dir=str(tmp_path))
    assert (tmp_path / f"assessment-{aid}.html").exists()  # the report says what is missing
    assert bundle(engine, aid).row.scored_at is None
    engine.dispose()


def test_demo_example_is_medium_low_then_reopened() -> None:
    from flows.assess_demo import seed_demo_assessment

    engine = open_store(get_settings().resolved_database_url)
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    demo = seed_demo_assessment(engine, "510104000000", now=now)
    assert (demo.level_before, demo.level_after, demo.recommendation) == \
        ("medium", "low", "implement_after_mitigation")
    assert demo.status == "reassessment" and demo.warning_id is not None
    again = seed_demo_assessment(engine, "510104000000", now=now)
    assert (again.assessment_id, again.warning_id, again.petitions) == (demo.assessment_id, demo.warning_id,
                                                                         demo.petitions)
    with Session(engine) as s:
        w = s.exec(select(WarningRow).where(WarningRow.id == demo.warning_id)).one()
    assert (w.rule, w.status, w.region) == ("ssra-follow-up", "open", "510104000000")
    engine.dispose()
