"""What the 考核 report reads from the store: warnings and their routing, tasks, care visits, cases.

Warnings come with their ``routed`` audit rows: the ``open`` step's acknowledgement deadline is the one
pinned when the warning opened (later steps move the warning's own ``ack_due_at`` forward), and each
``escalated`` step names the node the warning escalated away from. Tasks are the tasks feature's
(``TaskRow``): only their node, status and times are read. Petitions and
disputes come with their versions, to find when each first appeared and when its status was concluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.kaohe.compute import Deadlines, KaoheInputs
from domain.kaohe.period import Period
from domain.kaohe.views import CaseFacts, CaseKind, Escalation, TaskFacts, Visit, VisitDue, WarningFacts
from integrations.store.models import AuditRow, RecordRow, RecordVersionRow, WarningRow
from integrations.store.task_models import TaskRow

_CHUNK = 500
"""Ids per ``IN`` list (keeps statements small on every backend)."""
CONCLUDED = frozenset({"resolved", "concluded", "closed"})
"""Statuses that conclude a petition or dispute (办结)."""
CASE_KINDS: tuple[CaseKind, ...] = ("petition", "dispute")
TASK: sa.Table = TaskRow.__table__  # type: ignore[attr-defined]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(column >= start, column < end)


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def load_warning_facts(*, session: Session, period: Period) -> tuple[list[WarningFacts], list[Escalation]]:
    """Warnings alive in the period (opened before its end, not resolved before its start, or with a
    deadline in it) with their pinned acknowledgement deadline, and their escalations in the period."""
    start, end = period.start, period.end
    alive = sa.and_(col(WarningRow.opened_at) < end,
                    sa.or_(col(WarningRow.resolved_at).is_(None), col(WarningRow.resolved_at) >= start))
    due = sa.or_(_in(col(WarningRow.ack_due_at), start, end), _in(col(WarningRow.resolve_due_at), start, end))
    rows = list(session.exec(select(WarningRow).where(sa.or_(alive, due)).order_by(col(WarningRow.id))))
    pinned: dict[int, datetime] = {}
    escalations: list[Escalation] = []
    ids = [r.id for r in rows if r.id is not None]
    for chunk in _chunks(ids):
        query = (select(AuditRow).where(col(AuditRow.warning_id).in_(chunk), col(AuditRow.action) == "routed")
                 .order_by(col(AuditRow.id)))
        for a in session.exec(query):
            assert a.warning_id is not None
            detail = a.detail or {}
            at = _when(detail.get("ack_due_at")) if a.reason == "open" else None
            if at is not None and a.warning_id not in pinned:
                pinned[a.warning_id] = at
            source = detail.get("from") or {}
            if detail.get("change") == "escalated" and isinstance(source, dict) and source.get("node"):
                escalations.append(Escalation(a.warning_id, a.at, str(source["node"])))
    warnings = [
        WarningFacts(id=r.id, region=r.region, opened_at=r.opened_at, acknowledged_at=r.acknowledged_at,
                     resolved_at=r.resolved_at, ack_due_at=pinned.get(r.id, r.ack_due_at),
                     resolve_due_at=r.resolve_due_at)
        for r in rows if r.id is not None
    ]
    return warnings, escalations


def load_task_facts(*, session: Session, period: Period) -> list[TaskFacts]:
    """Tasks due or done in the period (not those withdrawn when their warning was resolved first)."""
    c = TASK.c
    query = (sa.select(c.id, c.region, c.status, c.due_at, c.done_at)
             .where(c.status != "withdrawn")  # its warning was resolved first: nobody's deadline any more
             .where(sa.or_(_in(c.due_at, period.start, period.end), _in(c.done_at, period.start, period.end)))
             .order_by(c.id))
    return [TaskFacts(id=r.id, region=r.region, due_at=r.due_at, done_at=r.done_at if r.status == "done" else None)
            for r in session.execute(query)]


def load_visits(*, session: Session, period: Period, within: timedelta) -> tuple[list[VisitDue], list[Visit]]:
    """Care visits due in the period, and the visits made from its start to ``within`` after its end."""
    q = select(RecordRow).where(col(RecordRow.kind) == "care_visit_due", _in(col(RecordRow.at), period.start,
                                                                             period.end))
    dues = [VisitDue(str(r.attributes.get("person", "")), r.region, r.at) for r in session.exec(q)
            if r.attributes.get("person")]
    q = select(RecordRow).where(col(RecordRow.kind) == "care_visit",
                                _in(col(RecordRow.at), period.start, period.end + within))
    visits = [Visit(str(r.attributes.get("person", "")), r.at) for r in session.exec(q)
              if r.attributes.get("person")]
    return dues, visits


def load_cases(*, session: Session, period: Period, deadlines: Deadlines) -> list[CaseFacts]:
    """Petitions and disputes whose deadline or conclusion can fall in the period, with their versions.

    A record's latest ``at`` is no earlier than its first one, so a record whose latest version is older
    than the period's start less the longer limit can neither be concluded nor fall due in the period.
    """
    since = period.start - max(deadlines.petition, deadlines.dispute)
    q = (select(RecordRow).where(col(RecordRow.kind).in_(CASE_KINDS), col(RecordRow.at) >= since)
         .order_by(col(RecordRow.id)))
    records = {r.id: r for r in session.exec(q) if r.id is not None}
    history: dict[int, list[RecordVersionRow]] = {}
    for chunk in _chunks(list(records)):
        vq = (select(RecordVersionRow).where(col(RecordVersionRow.record_id).in_(chunk))
              .order_by(col(RecordVersionRow.record_id), col(RecordVersionRow.version)))
        for v in session.exec(vq):
            history.setdefault(v.record_id, []).append(v)
    out = []
    for rid, r in records.items():
        # A record that never changed has no history rows: its row is its only version.
        versions: list[tuple[datetime, dict[str, Any]]] = (
            [(v.at, v.attributes) for v in history[rid]] if rid in history else [(r.at, r.attributes)])
        concluded = next((at for at, attrs in versions if str(attrs.get("status", "")).lower() in CONCLUDED), None)
        kind: CaseKind = "petition" if r.kind == "petition" else "dispute"
        out.append(CaseFacts(kind=kind, key=f"{r.source}:{r.source_id}", region=r.region,
                             first_at=versions[0][0], concluded_at=concluded))
    return out


def load_kaohe_inputs(*, session: Session, period: Period, deadlines: Deadlines | None = None) -> KaoheInputs:
    """Everything the 考核 report of ``period`` computes from."""
    limits = deadlines or Deadlines()
    warnings, escalations = load_warning_facts(session=session, period=period)
    dues, visits = load_visits(session=session, period=period, within=limits.visit)
    return KaoheInputs(warnings=warnings, escalations=escalations,
                       tasks=load_task_facts(session=session, period=period), dues=dues, visits=visits,
                       cases=load_cases(session=session, period=period, deadlines=limits))
