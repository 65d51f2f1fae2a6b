"""Assessments in the store: open, gather evidence and factors, score, decide, note follow-up.

Every function is keyword-only and works in the caller's session (and transaction). Inputs are checked
with the domain models of :mod:`domain.assessment` before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from domain.assessment import (
    AssessmentInput,
    Decision,
    DecisionKind,
    DecisionOutcome,
    Dimension,
    Evidence,
    EvidenceKind,
    Expert,
    PublicNotice,
    RiskFactor,
    SurveyCounts,
)
from domain.assessment_scoring import Score
from domain.messages import N_, Message
from domain.regions import ancestor, is_within, tier_of
from integrations.store.assessment_models import (
    AssessmentEventRow,
    AssessmentEvidenceRow,
    AssessmentExpertRow,
    AssessmentFactorRow,
    AssessmentLinkRow,
    AssessmentRow,
    AssessmentStatus,
)

_STATUS = {"draft": N_("材料收集中"), "scored": N_("已评分"), "decided": N_("已决策"), "implementing": N_("实施中"),
           "reassessment": N_("待重新评估"), "closed": N_("已关闭")}
"""An assessment's status by its Chinese name, for refusals (integrations.labels.ASSESSMENT_STATUS names the same)."""


class AssessmentNotFound(LookupError):
    """No assessment has this id."""


class AssessmentStateError(ValueError):
    """The assessment is not in a state that allows this step (e.g. deciding before scoring)."""


def _event(session: Session, row: AssessmentRow, action: str, now: datetime, actor: str = "system",
           note: str = "", detail: dict[str, Any] | None = None) -> None:
    assert row.id is not None
    session.add(AssessmentEventRow(assessment_id=row.id, at=now, actor=actor, action=action, note=note,
                                   detail=detail or {}))


def create_assessment(*, session: Session, decision: Decision, now: datetime, plan: str = "",
                      scheme: str = "default", keywords: Sequence[str] = (), categories: Sequence[str] = (),
                      actor: str = "system") -> AssessmentRow:
    """Open an assessment of ``decision`` (status draft)."""
    row = AssessmentRow(title=decision.title, body=decision.body, region=decision.region,
                        kind=decision.kind.value, affected_people=decision.affected_people,
                        investment_yuan=decision.investment_yuan,
                        plan=plan, scheme=scheme, keywords=list(keywords), categories=list(categories),
                        created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    _event(session, row, "opened", now, actor, detail={"kind": row.kind, "region": row.region})
    return row


def get_assessment(*, session: Session, assessment_id: int) -> AssessmentRow:
    """The assessment, or :class:`AssessmentNotFound`."""
    row = session.get(AssessmentRow, assessment_id)
    if row is None:
        raise AssessmentNotFound(Message(N_("没有评估 {id}"), id=assessment_id))
    return row


def list_assessments(*, session: Session, status: str | None = None, within: str | None = None,
                     limit: int = 100) -> list[AssessmentRow]:
    """Assessments, newest first; optionally by status and within a region's subtree."""
    q = select(AssessmentRow).order_by(col(AssessmentRow.id).desc())
    if status:
        q = q.where(AssessmentRow.status == status)
    if within:
        # The code prefix narrows in SQL; is_within decides.
        q = q.where(col(AssessmentRow.region).startswith(within[: tier_of(within).digits]))
    rows = [r for r in session.exec(q) if within is None or is_within(r.region, within)]
    return rows[:limit]


def _next_ref(session: Session, table: type[AssessmentEvidenceRow] | type[AssessmentFactorRow],
              assessment_id: int, prefix: str) -> str:
    refs = session.exec(select(table.ref).where(table.assessment_id == assessment_id)).all()
    numbers = [int(r[1:]) for r in refs if r[1:].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def add_evidence(*, session: Session, assessment_id: int, kind: EvidenceKind, title: str, now: datetime,
                 summary: str = "", held_on: date | None = None, notice: PublicNotice | None = None,
                 survey: SurveyCounts | None = None, participants: int | None = None,
                 source: str = "") -> AssessmentEvidenceRow:
    """Add an evidence item; it gets the next ``E`` reference of its assessment."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    ref = _next_ref(session, AssessmentEvidenceRow, assessment_id, "E")
    ev = Evidence(ref=ref, kind=kind, title=title, summary=summary, on=held_on, participants=participants,
                  notice=notice, survey=survey)  # validates before writing
    counts = ev.survey.model_dump() if ev.survey else {}
    item = AssessmentEvidenceRow(
        assessment_id=assessment_id, ref=ref, kind=kind.value, title=title, summary=summary, held_on=held_on,
        notice_start=notice.start if notice else None, notice_end=notice.end if notice else None,
        participants=participants, source=source, created_at=now, **counts)
    session.add(item)
    row.updated_at = now
    _event(session, row, "evidence", now, detail={"ref": ref, "kind": kind.value})
    session.flush()
    return item


def add_expert(*, session: Session, assessment_id: int, name: str, now: datetime, field: str = "",
               affiliation: str = "") -> AssessmentExpertRow:
    """Add a member to the expert panel."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    Expert(name=name, field=field, affiliation=affiliation)
    item = AssessmentExpertRow(assessment_id=assessment_id, name=name, field=field, affiliation=affiliation)
    session.add(item)
    row.updated_at = now
    _event(session, row, "expert", now, detail={"name": name})
    session.flush()
    return item


def add_factor(*, session: Session, assessment_id: int, title: str, dimension: Dimension, probability: int,
               impact: int, now: datetime, people: int = 0, mitigation: str = "",
               residual_probability: int | None = None, residual_impact: int | None = None,
               failure: bool = False, evidence: Sequence[str] = ()) -> AssessmentFactorRow:
    """Add a risk factor; it gets the next ``F`` reference. Cited evidence must exist."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    ref = _next_ref(session, AssessmentFactorRow, assessment_id, "F")
    factor = RiskFactor(ref=ref, title=title, dimension=dimension, probability=probability, impact=impact,
                        people=people, mitigation=mitigation, residual_probability=residual_probability,
                        residual_impact=residual_impact, failure=failure, evidence=tuple(evidence))
    known = set(session.exec(select(AssessmentEvidenceRow.ref)
                             .where(AssessmentEvidenceRow.assessment_id == assessment_id)).all())
    unknown = [r for r in factor.evidence if r not in known]
    if unknown:
        raise ValueError(Message(N_("风险因素引用了不存在的依据：{refs}"), refs=", ".join(unknown)))
    item = AssessmentFactorRow(assessment_id=assessment_id, ref=ref, title=title, dimension=dimension.value,
                               probability=probability, impact=impact, people=people, mitigation=mitigation,
                               residual_probability=residual_probability, residual_impact=residual_impact,
                               failure=failure, evidence=list(factor.evidence))
    session.add(item)
    row.updated_at = now
    _event(session, row, "factor", now, detail={"ref": ref, "dimension": dimension.value})
    session.flush()
    return item


@dataclass
class AssessmentBundle:
    """An assessment with everything attached: what ``show`` and the report read."""

    row: AssessmentRow
    evidence: list[AssessmentEvidenceRow]
    experts: list[AssessmentExpertRow]
    factors: list[AssessmentFactorRow]
    links: list[AssessmentLinkRow]
    events: list[AssessmentEventRow]

    def to_input(self) -> AssessmentInput:
        """The domain view scoring reads."""
        return to_input(self)

    @property
    def score(self) -> Score | None:
        """The last score kept, if any."""
        return Score.model_validate(self.row.score_detail) if self.row.score_detail else None


def _by_ref(ref: str) -> tuple[int, str]:
    return (int(ref[1:]) if ref[1:].isdigit() else 0, ref)


def load_bundle(*, session: Session, assessment_id: int) -> AssessmentBundle:
    """The assessment and all its parts, in reference order."""
    row = get_assessment(session=session, assessment_id=assessment_id)

    def rows(table: Any) -> list[Any]:
        return list(session.exec(select(table).where(table.assessment_id == assessment_id)
                                 .order_by(col(table.id))).all())

    return AssessmentBundle(
        row=row,
        evidence=sorted(rows(AssessmentEvidenceRow), key=lambda e: _by_ref(e.ref)),
        experts=rows(AssessmentExpertRow),
        factors=sorted(rows(AssessmentFactorRow), key=lambda f: _by_ref(f.ref)),
        links=rows(AssessmentLinkRow), events=rows(AssessmentEventRow))


def to_input(bundle: AssessmentBundle) -> AssessmentInput:
    """Convert stored rows to the :class:`AssessmentInput` that scoring reads."""
    r = bundle.row
    decision = Decision(title=r.title, body=r.body, region=r.region, affected_people=r.affected_people,
                        kind=DecisionKind(r.kind), investment_yuan=r.investment_yuan)
    evidence = []
    for e in bundle.evidence:
        counts = [e.strongly_support, e.support, e.neutral, e.oppose, e.strongly_oppose]
        survey = (SurveyCounts(strongly_support=e.strongly_support or 0, support=e.support or 0,
                               neutral=e.neutral or 0, oppose=e.oppose or 0,
                               strongly_oppose=e.strongly_oppose or 0)
                  if any(c is not None for c in counts) else None)
        notice = (PublicNotice(start=e.notice_start, end=e.notice_end)
                  if e.notice_start is not None and e.notice_end is not None else None)
        evidence.append(Evidence(ref=e.ref, kind=EvidenceKind(e.kind), title=e.title, summary=e.summary,
                                 on=e.held_on, participants=e.participants, notice=notice, survey=survey))
    factors = [RiskFactor(ref=f.ref, title=f.title, dimension=Dimension(f.dimension),
                          probability=f.probability, impact=f.impact, people=f.people,
                          mitigation=f.mitigation,
                          residual_probability=f.residual_probability, residual_impact=f.residual_impact,
                          failure=f.failure, evidence=tuple(f.evidence)) for f in bundle.factors]
    experts = [Expert(name=x.name, field=x.field, affiliation=x.affiliation) for x in bundle.experts]
    return AssessmentInput(decision=decision, evidence=tuple(evidence), experts=tuple(experts),
                           factors=tuple(factors))


def save_score(*, session: Session, assessment_id: int, score: Score, now: datetime,
               actor: str = "system") -> AssessmentRow:
    """Keep ``score`` on the assessment. Scoring again (e.g. in re-assessment) replaces the last score."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    if row.status in (AssessmentStatus.closed, AssessmentStatus.implementing):
        raise AssessmentStateError(Message(N_("评估 {id} 处于{status}状态，现在不能评分"), id=assessment_id,
                                           status=Message(_STATUS.get(row.status, row.status))))
    row.score_before, row.score_after = score.score_before, score.score_after
    row.level_before, row.level_after = score.level_before.value, score.level_after.value
    row.recommendation = score.recommendation.value
    row.score_detail = score.model_dump(mode="json")
    row.scored_at = row.updated_at = now
    row.status = AssessmentStatus.scored
    _event(session, row, "scored", now, actor, detail={
        "before": row.level_before, "after": row.level_after, "recommendation": row.recommendation})
    session.flush()
    return row


def decide(*, session: Session, assessment_id: int, outcome: DecisionOutcome, decided_by: str, now: datetime,
           note: str = "", implement_from: datetime | None = None) -> AssessmentRow:
    """Record the collective decision. Implementing it starts follow-up (from ``implement_from``)."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    if row.status != AssessmentStatus.scored:
        raise AssessmentStateError(Message(N_("评估 {id} 处于{status}状态；只有已评分的评估才能决策（请先评分）"),
                                           id=assessment_id, status=Message(_STATUS.get(row.status, row.status))))
    if not decided_by.strip():
        raise ValueError(Message(N_("集体决策须写明决策主体（例如 区政府常务会议）")))
    row.decision, row.decided_by, row.decision_note = outcome.value, decided_by, note
    row.decided_at = row.updated_at = now
    if outcome.implements:
        row.status = AssessmentStatus.implementing
        row.implementation_from = implement_from or now
    else:
        row.status = AssessmentStatus.decided
    _event(session, row, "decided", now, decided_by, note, {"outcome": outcome.value,
                                                            "recommendation": row.recommendation})
    session.flush()
    return row


def add_follow_up_note(*, session: Session, assessment_id: int, note: str, now: datetime,
                       actor: str = "system") -> AssessmentEventRow:
    """Note a follow-up observation (visit, meeting, measure carried out) in the history."""
    row = get_assessment(session=session, assessment_id=assessment_id)
    assert row.id is not None
    item = AssessmentEventRow(assessment_id=row.id, at=now, actor=actor, action="follow-up-note", note=note)
    session.add(item)
    session.flush()
    return item


def region_prefix(code: str) -> str:
    """The code prefix every region in ``code``'s subtree shares (for a SQL ``LIKE``)."""
    tier = tier_of(code)
    anc = ancestor(code, tier) or code
    return anc[: tier.digits]
