"""Plain functions behind ``fenghuo assess`` and the ``assess_decision`` flow (no Prefect here).

Each opens its own transaction on the engine it is given, so the CLI and the flow share them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from domain.assessment import AssessmentIncomplete
from domain.assessment_scheme import Scheme
from domain.assessment_scoring import Score, missing_evidence, score
from domain.regions import RegionDirectory
from integrations.assessment_report import write_report
from integrations.route import Routing, route_changes
from integrations.store.assessment_followup import FollowUpReport, follow_up_in
from integrations.store.assessments import AssessmentBundle, load_bundle, save_score
from integrations.store.db import session_scope
from rules.assessment.schemes import load_named_scheme


def scheme_for(engine: sa.Engine, assessment_id: int, override: str | None = None) -> Scheme:
    """The scheme named on the assessment, or ``override`` (a name or a path)."""
    with session_scope(engine) as s:
        name = override or load_bundle(session=s, assessment_id=assessment_id).row.scheme
    return load_named_scheme(name)


def check_evidence(engine: sa.Engine, assessment_id: int, scheme: Scheme) -> list[str]:
    """What the scheme still misses before it can score (empty: ready)."""
    with session_scope(engine) as s:
        return missing_evidence(load_bundle(session=s, assessment_id=assessment_id).to_input(), scheme)


def score_assessment(engine: sa.Engine, assessment_id: int, scheme: Scheme, now: datetime) -> Score:
    """Score and keep the result; :class:`AssessmentIncomplete` (nothing written) when evidence is missing."""
    with session_scope(engine) as s:
        result = score(load_bundle(session=s, assessment_id=assessment_id).to_input(), scheme)
        save_score(session=s, assessment_id=assessment_id, score=result, now=now)
    return result


def bundle(engine: sa.Engine, assessment_id: int) -> AssessmentBundle:
    """The assessment with all its parts (detached, safe to read after the session)."""
    with session_scope(engine) as s:
        return load_bundle(session=s, assessment_id=assessment_id)


def write_reports(engine: sa.Engine, assessment_id: int, out_dir: Path, *, scheme: Scheme | None = None,
                  names: RegionDirectory | None = None, now: datetime | None = None) -> tuple[Path, Path]:
    """Write the HTML and Markdown reports of one assessment into ``out_dir``."""
    return write_report(bundle(engine, assessment_id), out_dir, scheme=scheme, names=names, now=now)


def default_routing() -> Routing:
    """The routing every warning gets (responsible tier, responders, outbox), for follow-up warnings."""
    from flows.context import RoutingContext
    from integrations.settings import get_settings

    return RoutingContext.load(get_settings()).routing(categories=lambda w: ("ssra", "petition"))


def follow_up_routed(engine: sa.Engine, assessment_id: int, now: datetime, *, scheme: Scheme | None = None,
                     routing: Routing | None = None) -> FollowUpReport:
    """Follow up one assessment; its warning (if any) is routed with ``routing`` (None: left unrouted) in
    the same transaction."""
    with session_scope(engine) as session:
        report = follow_up_in(session, assessment_id, now, scheme=scheme)
        if routing is not None:
            route_changes(session, report.to_route, routing, now)
    return report


def run_follow_up(engine: sa.Engine, assessment_id: int, now: datetime, *, route: bool = True) -> FollowUpReport:
    """Follow up one assessment; its warning (if any) is routed like any other when ``route``."""
    return follow_up_routed(engine, assessment_id, now, routing=default_routing() if route else None)


__all__ = [
    "AssessmentIncomplete",
    "FollowUpReport",
    "bundle",
    "check_evidence",
    "default_routing",
    "follow_up_routed",
    "run_follow_up",
    "scheme_for",
    "score_assessment",
    "write_reports",
]
