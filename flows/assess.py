"""``assess_decision``: validate an assessment's evidence, score it, write its report files.

Thin: each task wraps one plain function of :mod:`flows.assess_ops`. When required evidence is missing
the report is still written (it says what is missing) and the flow fails with that list: an assessment
never gets a level silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from domain.assessment import AssessmentIncomplete
from domain.regions import RegionDirectory
from flows import assess_ops
from flows.guard import ADMIN_HOOKS, require_safe_settings
from flows.store import store_engine
from integrations.i18n import _
from integrations.labels import label
from integrations.settings import get_settings


@task(name="validate-evidence", cache_policy=NONE)
def validate_evidence(assessment_id: int, scheme_name: str | None) -> list[str]:
    """What the scheme still misses (empty: ready to score)."""
    engine = store_engine()
    return assess_ops.check_evidence(engine, assessment_id, assess_ops.scheme_for(engine, assessment_id, scheme_name))


@task(name="score-assessment", cache_policy=NONE)
def score_task(assessment_id: int, scheme_name: str | None, now: datetime) -> dict[str, Any]:
    """Score and keep the result; returns the levels and recommendation."""
    engine = store_engine()
    result = assess_ops.score_assessment(engine, assessment_id,
                                         assess_ops.scheme_for(engine, assessment_id, scheme_name), now)
    return {"level_before": result.level_before.value, "level_after": result.level_after.value,
            "recommendation": result.recommendation.value, "score_before": result.score_before,
            "score_after": result.score_after}


@task(name="write-report", cache_policy=NONE)
def report_task(assessment_id: int, out_dir: str, scheme_name: str | None, now: datetime) -> list[str]:
    """Write the HTML and Markdown reports; returns their paths."""
    engine = store_engine()
    paths = assess_ops.write_reports(engine, assessment_id, Path(out_dir),
                                     scheme=assess_ops.scheme_for(engine, assessment_id, scheme_name),
                                     names=RegionDirectory.load(get_settings().regions), now=now)
    return [str(p) for p in paths]


@flow(name="assess_decision", log_prints=True)
def assess_decision(assessment_id: int, out_dir: str | None = None, scheme: str | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Validate evidence, score, write the report files of assessment ``assessment_id``."""
    require_safe_settings()
    at = now or datetime.now(UTC)
    folder = out_dir or str(get_settings().home / "reports")
    missing = validate_evidence(assessment_id, scheme)
    if missing:
        paths = report_task(assessment_id, folder, scheme, at)
        get_run_logger().warning(_("评估 {id} 未评分；报告 {path}").format(id=assessment_id, path=paths[0]))
        raise AssessmentIncomplete(missing)
    result = score_task(assessment_id, scheme, at)
    result["reports"] = report_task(assessment_id, folder, scheme, at)
    get_run_logger().info(_("评估 {id}：{before} → {after}，{recommendation}").format(
        id=assessment_id, before=label("ssra_level", result["level_before"]),
        after=label("ssra_level", result["level_after"]),
        recommendation=label("ssra_recommendation", result["recommendation"])))
    return result


@task(name="follow-up-assessment", cache_policy=NONE)
def follow_up_task(assessment_id: int, now: datetime) -> dict[str, Any]:
    """Link new petitions, disputes and warnings to one implemented decision; warn on a rise."""
    rep = assess_ops.run_follow_up(store_engine(), assessment_id, now)
    return {"assessment": assessment_id, "linked_records": rep.linked_records,
            "linked_warnings": rep.linked_warnings, "warning_id": rep.warning_id, "status": rep.status}


@flow(name="follow_up_assessments", log_prints=True, **ADMIN_HOOKS)
def follow_up_assessments(now: datetime | None = None) -> list[dict[str, Any]]:
    """The weekly follow-up of every decision being implemented (and of those already re-opened)."""
    require_safe_settings()
    from integrations.store.assessments import list_assessments
    from integrations.store.db import session_scope

    at = now or datetime.now(UTC)
    with session_scope(store_engine()) as session:
        ids = [a.id for status in ("implementing", "reassessment")
               for a in list_assessments(session=session, status=status, limit=10_000) if a.id is not None]
    return [follow_up_task(i, at) for i in ids]
