"""The store's tables of the social stability risk assessment (社会稳定风险评估).

An ``assessment`` row holds the decision, the level and recommendation last scored and the collective
decision; its evidence, expert panel, risk factors, follow-up links and history are rows of their own.
Same conventions as :mod:`integrations.store.models`: UTC-aware datetimes, JSON for small lists.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from integrations.store.columns import _dt, _json, utcnow


class AssessmentStatus:
    """Lifecycle of an assessment (plain strings in the store)."""

    draft = "draft"  # evidence being gathered
    scored = "scored"  # a level and recommendation exist, no decision yet
    decided = "decided"  # decided not to implement (or to redesign)
    implementing = "implementing"  # decided to implement: follow-up watches it
    reassessment = "reassessment"  # follow-up crossed a threshold: assess again
    closed = "closed"


class AssessmentRow(SQLModel, table=True):
    """One assessment of one major decision."""

    __tablename__ = "assessment"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    body: str = Field(default="", max_length=200, description="The body responsible for the decision.")
    region: str = Field(index=True, max_length=15)
    kind: str = Field(max_length=30)
    affected_people: int = 0
    investment_yuan: float = 0.0
    plan: str = Field(default="", description="The assessment plan: scope, method, schedule.")
    status: str = Field(default=AssessmentStatus.draft, index=True, max_length=20)
    scheme: str = Field(default="default", max_length=100)
    keywords: list[str] = _json(default_factory=list, description="Follow-up: words in a record's text.")
    categories: list[str] = _json(default_factory=list, description="Follow-up: a record's type or category.")
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)
    # The last scoring.
    scored_at: datetime | None = _dt(default=None, nullable=True)
    score_before: float | None = None
    score_after: float | None = None
    level_before: str | None = Field(default=None, max_length=10)
    level_after: str | None = Field(default=None, max_length=10)
    recommendation: str | None = Field(default=None, max_length=40)
    score_detail: dict[str, Any] = _json(default_factory=dict)
    # The collective decision (humans decide; the recommendation only advises).
    decided_at: datetime | None = _dt(default=None, nullable=True)
    decision: str | None = Field(default=None, max_length=40)
    decided_by: str = Field(default="", max_length=200)
    decision_note: str = ""
    implementation_from: datetime | None = _dt(default=None, nullable=True)
    reopened_at: datetime | None = _dt(default=None, nullable=True)


class AssessmentEvidenceRow(SQLModel, table=True):
    """An evidence item (``E1``, ``E2`` … within its assessment)."""

    __tablename__ = "assessment_evidence"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "ref", name="uq_assessment_evidence_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    ref: str = Field(max_length=10)
    kind: str = Field(max_length=30)
    title: str = Field(max_length=300)
    summary: str = ""
    held_on: date | None = Field(default=None, sa_type=sa.Date)
    notice_start: date | None = Field(default=None, sa_type=sa.Date)
    notice_end: date | None = Field(default=None, sa_type=sa.Date)
    participants: int | None = None
    strongly_support: int | None = None
    support: int | None = None
    neutral: int | None = None
    oppose: int | None = None
    strongly_oppose: int | None = None
    source: str = Field(default="", max_length=300, description="Where it came from, e.g. the CSV imported.")
    created_at: datetime = _dt(default_factory=utcnow)


class AssessmentExpertRow(SQLModel, table=True):
    """A member of the assessment's expert panel."""

    __tablename__ = "assessment_expert"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    name: str = Field(max_length=100)
    field: str = Field(default="", max_length=100)
    affiliation: str = Field(default="", max_length=200)


class AssessmentFactorRow(SQLModel, table=True):
    """A risk factor of the register (``F1``, ``F2`` … within its assessment)."""

    __tablename__ = "assessment_factor"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "ref", name="uq_assessment_factor_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    ref: str = Field(max_length=10)
    title: str = Field(max_length=300)
    dimension: str = Field(max_length=20)
    probability: int
    impact: int
    people: int = 0
    mitigation: str = ""
    residual_probability: int | None = None
    residual_impact: int | None = None
    failure: bool = False
    evidence: list[str] = _json(default_factory=list)


class AssessmentLinkRow(SQLModel, table=True):
    """A record (petition, dispute) or warning linked to an assessment by follow-up."""

    __tablename__ = "assessment_link"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "record_id", name="uq_assessment_link_record"),
        sa.UniqueConstraint("assessment_id", "warning_id", name="uq_assessment_link_warning"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    record_id: int | None = Field(default=None, foreign_key="record.id", index=True)
    warning_id: int | None = Field(default=None, foreign_key="warning.id", index=True)
    kind: str = Field(max_length=50, description="petition, dispute … or warning.")
    at: datetime = _dt(description="Event time of the record (first_at of a warning).")
    matched: str = Field(default="", max_length=300, description="What matched: keyword or category.")
    linked_at: datetime = _dt(default_factory=utcnow)


class AssessmentEventRow(SQLModel, table=True):
    """Append-only history of an assessment: opened, scored, decided, follow-up notes, re-opened."""

    __tablename__ = "assessment_event"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    at: datetime = _dt(default_factory=utcnow)
    actor: str = Field(default="system", max_length=100)
    action: str = Field(max_length=50)
    note: str = ""
    detail: dict[str, Any] = _json(default_factory=dict)
