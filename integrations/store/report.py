"""What the daily situation report reads from the store: the warnings alive around its day and their audit.

One query for warnings, one for their audit entries; the computation (``domain/situation``) does the rest
in memory. A day's report reads a city's month of warnings, which is small next to the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.situation.compute import TREND_DAYS
from domain.situation.views import AuditView, Day, WarningView
from domain.warnings import Level
from integrations.store.models import AuditRow, WarningRow
from integrations.store.routing import ROUTED

_CHUNK = 500
"""Warning ids per ``IN`` list when reading audit entries (keeps statements small on every backend)."""


@dataclass(frozen=True)
class ReportInputs:
    """The views the situation report of ``day`` needs."""

    day: date
    warnings: list[WarningView]
    audits: list[AuditView]


def load_report_inputs(*, session: Session, day: date, days_back: int = TREND_DAYS) -> ReportInputs:
    """Warnings and audit entries for the report of ``day`` (Asia/Shanghai) and the trend before it.

    Reads every warning opened before the day ended that was still alive in the window (opened in it,
    unresolved, or resolved in it), plus any warning whose deadline fell on the day.
    """
    d = Day(day)
    window_start = d.minus(days_back - 1).start
    alive = sa.and_(
        col(WarningRow.opened_at) < d.end,
        sa.or_(col(WarningRow.resolved_at).is_(None), col(WarningRow.resolved_at) >= window_start),
    )
    due_today = sa.or_(
        sa.and_(col(WarningRow.ack_due_at) >= d.start, col(WarningRow.ack_due_at) < d.end),
        sa.and_(col(WarningRow.resolve_due_at) >= d.start, col(WarningRow.resolve_due_at) < d.end),
    )
    rows = session.exec(select(WarningRow).where(sa.or_(alive, due_today)).order_by(col(WarningRow.id)))
    warnings = [warning_view(r) for r in rows]
    ids = [w.id for w in warnings]
    audits: list[AuditView] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        query = (select(AuditRow).where(col(AuditRow.warning_id).in_(chunk))
                 .where(col(AuditRow.action).in_(("opened", "escalated", "acknowledged", "resolved", ROUTED)))
                 .order_by(col(AuditRow.id)))
        audits.extend(audit_view(a) for a in session.exec(query)
                      if a.action != ROUTED or (a.detail or {}).get("change") == "escalated")
    return ReportInputs(day=day, warnings=warnings, audits=audits)


def warning_view(row: WarningRow) -> WarningView:
    """The report's view of a stored warning (which must have been flushed, so it has an id)."""
    if row.id is None:
        raise ValueError("a warning without an id cannot be reported")
    return WarningView(
        id=row.id, rule=row.rule, title=row.title, level=Level(row.level), status=row.status,
        region=row.region, opened_at=row.opened_at, acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at, ack_due_at=row.ack_due_at, resolve_due_at=row.resolve_due_at,
        escalation_step=row.escalation_step,
    )


def audit_view(row: AuditRow) -> AuditView:
    """The report's view of a stored audit entry (entries without a warning are not reported)."""
    if row.warning_id is None:
        raise ValueError("an audit entry without a warning cannot be reported")
    # The router records an escalation as a routing step whose change is "escalated".
    action = "escalated" if row.action == ROUTED else row.action
    return AuditView(warning_id=row.warning_id, at=row.at, action=action, actor=row.actor)
