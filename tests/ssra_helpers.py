"""Shared data for the assessment (SSRA) tests: a complete assessment, in memory and in a store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

import integrations.store.models  # noqa: F401  (registers every table, the assessment ones included)
from domain.assessment import (
    AssessmentInput,
    Decision,
    DecisionKind,
    Dimension,
    Evidence,
    EvidenceKind,
    Expert,
    PublicNotice,
    RiskFactor,
    SurveyCounts,
)
from domain.assessment_scheme import Scheme
from integrations.store.assessments import add_evidence, add_expert, add_factor, create_assessment
from integrations.store.db import session_scope
from rules.assessment.schemes import DEFAULT_SCHEME, load_scheme

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DISTRICT = "510104000000"


def default_scheme() -> Scheme:
    """The shipped default scheme."""
    return load_scheme(DEFAULT_SCHEME)


def notice(days: int = 15) -> Evidence:
    """A public notice of ``days`` days."""
    start = date(2026, 1, 5)
    return Evidence(ref="E1", kind=EvidenceKind.public_notice, title="公示",
                    notice=PublicNotice(start=start, end=date.fromordinal(start.toordinal() + days - 1)))


def complete_input(factors: tuple[RiskFactor, ...] | None = None, *, survey: SurveyCounts | None = None,
                   investment: float = 3.8e8, region: str = DISTRICT, experts: int = 3) -> AssessmentInput:
    """A demolition assessment with everything the default scheme requires."""
    return AssessmentInput(
        decision=Decision(title="拆迁安置", region=region, kind=DecisionKind.demolition,
                          investment_yuan=investment, affected_people=1200),
        evidence=(notice(),
                  Evidence(ref="E2", kind=EvidenceKind.survey, title="问卷",
                           survey=survey or SurveyCounts(strongly_support=100, support=200, neutral=50,
                                                         oppose=40, strongly_oppose=10)),
                  Evidence(ref="E3", kind=EvidenceKind.hearing, title="听证会", participants=80)),
        experts=tuple(Expert(name=f"专家{i}") for i in range(experts)),
        factors=factors if factors is not None else (
            RiskFactor(ref="F1", title="补偿争议", dimension=Dimension.controllability, probability=3, impact=4,
                       residual_probability=2, residual_impact=2, evidence=("E2",)),
            RiskFactor(ref="F2", title="过渡房源", dimension=Dimension.feasibility, probability=2, impact=3,
                       residual_probability=1, residual_impact=2, evidence=("E3",)),
        ))


def seed_complete(engine: sa.Engine, *, region: str = DISTRICT, keywords: tuple[str, ...] = ("拆迁",),
                  categories: tuple[str, ...] = ("demolition",)) -> int:
    """Store a complete demolition assessment (medium before, low after); returns its id."""
    inp = complete_input(region=region)
    with session_scope(engine) as s:
        row = create_assessment(session=s, decision=inp.decision, now=NOW, keywords=keywords,
                                categories=categories, plan="问卷、听证、公示、专家论证")
        assert row.id is not None
        for e in inp.evidence:
            add_evidence(session=s, assessment_id=row.id, kind=e.kind, title=e.title, notice=e.notice,
                         survey=e.survey, participants=e.participants, now=NOW)
        for x in inp.experts:
            add_expert(session=s, assessment_id=row.id, name=x.name, field="法律", now=NOW)
        for f in inp.factors:
            add_factor(session=s, assessment_id=row.id, title=f.title, dimension=f.dimension,
                       probability=f.probability, impact=f.impact, residual_probability=f.residual_probability,
                       residual_impact=f.residual_impact, evidence=f.evidence, people=100,
                       mitigation="一户一策", now=NOW)
        return row.id
