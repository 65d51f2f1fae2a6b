"""Follow-up of a decision being implemented: link what happens around it, warn when it heats up.

While an assessment is ``implementing`` (or already in ``reassessment``), petitions and disputes in the
decision's region subtree since implementation began, and warnings there, are linked to it when they
are about its subject: a configured keyword occurs in their text, or a configured category equals their
type. When linked items within a window cross a threshold of the scheme (e.g. ≥ 5 petitions in 7 days)
an ``ssra-follow-up`` warning is opened (or refreshed while open) and the assessment goes back to
``reassessment``: the office assesses again; people are not acted against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.assessment_scheme import FollowUpThreshold, Scheme
from domain.messages import N_, Message, joined
from domain.regions import is_within
from domain.warnings import LEVELS, Level, fingerprint
from integrations.store.assessment_models import AssessmentLinkRow, AssessmentRow, AssessmentStatus
from integrations.store.assessments import _event, get_assessment, region_prefix
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, RecordRow, WarningRow

RULE_ID = "ssra-follow-up"
"""The rule id of the warnings follow-up raises."""

RECORD_KINDS = ("petition", "dispute")
"""Record kinds follow-up links."""

TEXT_FIELDS = ("subject", "title", "summary", "content", "description", "reason")
"""Record attributes searched for keywords."""

TYPE_FIELDS = ("type", "category", "dispute_type", "petition_type", "subject")
"""Record attributes compared with categories."""

@dataclass
class FollowUpReport:
    """What one follow-up pass did."""

    assessment_id: int
    status: str
    linked_records: int = 0
    linked_warnings: int = 0
    total_links: int = 0
    crossed: list[str] = field(default_factory=list)
    warning_id: int | None = None
    reopened: bool = False
    to_route: list[tuple[WarningRow, str]] = field(default_factory=list, repr=False)
    """The warning opened or raised (with the change), for the caller to route in the same transaction."""


def match(attributes: dict[str, Any], keywords: Iterable[str], categories: Iterable[str]) -> str | None:
    """What makes a record about the subject (``keyword:拆迁``, ``category:demolition``), or None."""
    cats = set(categories)
    for name in TYPE_FIELDS:
        value = attributes.get(name)
        if isinstance(value, str) and value in cats:
            return f"category:{value}"
    texts = [str(attributes[n]) for n in TEXT_FIELDS if isinstance(attributes.get(n), str)]
    for word in keywords:
        if word and any(word in t for t in texts):
            return f"keyword:{word}"
    return None


def _link_records(session: Session, row: AssessmentRow, since: datetime, now: datetime,
                  known: set[int]) -> int:
    assert row.id is not None
    in_tree = col(RecordRow.region).startswith(region_prefix(row.region))
    q = (select(RecordRow).where(col(RecordRow.kind).in_(RECORD_KINDS), RecordRow.at >= since,
                                 RecordRow.at <= now, in_tree)
         .order_by(col(RecordRow.at)))
    n = 0
    for rec in session.exec(q):
        assert rec.id is not None
        if rec.id in known or not is_within(rec.region, row.region):
            continue
        why = match(rec.attributes, row.keywords, row.categories)
        if why:
            session.add(AssessmentLinkRow(assessment_id=row.id, record_id=rec.id, kind=rec.kind, at=rec.at,
                                          matched=why, linked_at=now))
            n += 1
    return n


def _link_warnings(session: Session, row: AssessmentRow, since: datetime, now: datetime,
                   known: set[int]) -> int:
    assert row.id is not None
    q = select(WarningRow).where(WarningRow.rule != RULE_ID, WarningRow.last_at >= since,
                                 WarningRow.first_at <= now,
                                 col(WarningRow.region).startswith(region_prefix(row.region)))
    n = 0
    for w in session.exec(q):
        assert w.id is not None
        if w.id in known or not is_within(w.region, row.region):
            continue
        why = match({"title": w.title, "summary": w.summary, "description": w.explanation,
                     "category": w.rule}, row.keywords, row.categories)
        if why:
            session.add(AssessmentLinkRow(assessment_id=row.id, warning_id=w.id, kind="warning",
                                          at=max(w.first_at, since), matched=why, linked_at=now))
            n += 1
    return n


def _crossed(links: list[AssessmentLinkRow], thresholds: Iterable[FollowUpThreshold],
             now: datetime) -> list[tuple[FollowUpThreshold, list[AssessmentLinkRow]]]:
    out = []
    for t in thresholds:
        start = now - timedelta(days=t.within_days)
        hits = [k for k in links if start < k.at <= now and (t.kind == "any" or k.kind == t.kind)]
        if len(hits) >= t.at_least:
            out.append((t, hits))
    return out


def _refs(session: Session, links: Iterable[AssessmentLinkRow]) -> list[str]:
    ids = [k.record_id for k in links if k.record_id is not None]
    recs = {r.id: r for r in session.exec(select(RecordRow).where(col(RecordRow.id).in_(ids)))} if ids else {}
    out = []
    for k in sorted(links, key=lambda k: k.at):
        rec = recs.get(k.record_id) if k.record_id is not None else None
        out.append(f"{rec.source}/{rec.source_id}" if rec else f"warning/{k.warning_id}")
    return out


def _raise_warning(session: Session, row: AssessmentRow, crossed: list[tuple[FollowUpThreshold,
                   list[AssessmentLinkRow]]], now: datetime, report: FollowUpReport) -> WarningRow:
    assert row.id is not None
    level = max((Level(t.level) for t, _ in crossed), key=LEVELS.index)
    hits = sorted({k.id: k for _, ks in crossed for k in ks}.values(), key=lambda k: k.at)
    refs = _refs(session, hits)
    # Stored text read by officials: Chinese first, as Messages (the store knows no language).
    lines = joined((Message(N_("{days} 天内 {kind} ≥{at_least}：关联 {n} 条"), days=t.within_days, kind=t.kind,
                            at_least=t.at_least, n=len(ks)) for t, ks in crossed), Message(N_("；")))
    explanation = Message(
        N_("实施中的决策《{title}》（评估 {id}，采取措施后风险等级 {level}）所在地区的相关事项超过跟踪阈值：{lines}。"
           "关联事项：{linked}。请重新评估该决策的社会稳定风险。"),
        title=row.title, id=row.id, level=row.level_after, lines=lines,
        linked=", ".join(f"{r} ({k.matched}, {k.at:%Y-%m-%d})" for r, k in zip(refs, hits, strict=True)))
    fp = fingerprint(RULE_ID, {"assessment": row.id})
    w = session.exec(select(WarningRow).where(WarningRow.open_key == fp)).first()
    change = "opened"
    if w is None:
        w = WarningRow(fingerprint=fp, open_key=fp, rule=RULE_ID,
                       title=Message(N_("重大决策实施跟踪预警：{title}"), title=row.title),
                       level=level.value, status="open", region=row.region, first_at=hits[0].at,
                       last_at=hits[-1].at,
                       summary=Message(N_("《{title}》实施期间关联事项 {n} 条"), title=row.title, n=len(hits)),
                       explanation=explanation, records=refs[-50:], opened_at=now)
        session.add(w)
    else:
        change = "raised" if LEVELS.index(level) > LEVELS.index(Level(w.level)) else "updated"
        w.level = level.value if change == "raised" else w.level
        w.last_at, w.explanation, w.records = max(w.last_at, hits[-1].at), explanation, refs[-50:]
        w.occurrences += 1
    session.flush()
    session.add(AuditRow(warning_id=w.id, at=now, actor=f"system:{RULE_ID}", action=change,
                         detail={"assessment": row.id, "level": w.level}))
    if change != "updated":
        report.to_route.append((w, change))
    return w


def follow_up(engine: sa.Engine, assessment_id: int, now: datetime, *, scheme: Scheme | None = None) -> FollowUpReport:
    """:func:`follow_up_in` in a transaction of its own (its warning, if any, left unrouted)."""
    with session_scope(engine) as session:
        return follow_up_in(session, assessment_id, now, scheme=scheme)


def follow_up_in(session: Session, assessment_id: int, now: datetime, *,
                 scheme: Scheme | None = None) -> FollowUpReport:
    """Link related records and warnings to a decision being implemented; warn and re-open it when a
    threshold of the scheme is crossed, in the caller's transaction (which routes ``report.to_route``).
    ``scheme`` defaults to the assessment's own (by name)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    row = get_assessment(session=session, assessment_id=assessment_id)
    report = FollowUpReport(assessment_id=assessment_id, status=row.status)
    if row.status not in (AssessmentStatus.implementing, AssessmentStatus.reassessment):
        return report
    if scheme is None:
        from rules.assessment.schemes import load_named_scheme  # lazy: the store needs no YAML otherwise

        scheme = load_named_scheme(row.scheme)
    since = row.implementation_from or row.decided_at or row.created_at
    links = list(session.exec(select(AssessmentLinkRow).where(AssessmentLinkRow.assessment_id == row.id)))
    report.linked_records = _link_records(session, row, since, now, {k.record_id for k in links
                                                                      if k.record_id is not None})
    report.linked_warnings = _link_warnings(session, row, since, now, {k.warning_id for k in links
                                                                        if k.warning_id is not None})
    session.flush()
    links = list(session.exec(select(AssessmentLinkRow).where(AssessmentLinkRow.assessment_id == row.id)))
    report.total_links = len(links)
    crossed = _crossed(links, scheme.follow_up.thresholds, now)
    report.crossed = [Message(N_("{days} 天内 {kind} ≥{at_least}：关联 {n} 条"), days=t.within_days, kind=t.kind,
                              at_least=t.at_least, n=len(ks)) for t, ks in crossed]
    if report.linked_records or report.linked_warnings:
        _event(session, row, "follow-up", now, detail={"records": report.linked_records,
                                                       "warnings": report.linked_warnings})
    if crossed:
        w = _raise_warning(session, row, crossed, now, report)
        report.warning_id = w.id
        if row.status == AssessmentStatus.implementing:
            row.status, row.reopened_at, row.updated_at = AssessmentStatus.reassessment, now, now
            report.reopened = True
            _event(session, row, "reopened", now, f"system:{RULE_ID}", "; ".join(report.crossed),
                   {"warning": w.id})
    report.status = row.status
    return report
