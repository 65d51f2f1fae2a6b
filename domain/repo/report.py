"""What the daily situation report reads from the store: the warnings alive around its day and their audit.

One query for warnings, one for their audit entries; the computation (``domain/situation``) does the rest
in memory. A day's report reads a city's month of warnings, which is small next to the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.models import AuditRow, WarningRow
from domain.situation.compute import TREND_DAYS
from domain.situation.views import AuditView, Day, WarningView

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
    warnings = [WarningView.from_row(r) for r in rows]
    ids = [w.id for w in warnings]
    audits: list[AuditView] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        query = (select(AuditRow).where(col(AuditRow.warning_id).in_(chunk))
                 .where(col(AuditRow.action).in_(("opened", "escalated", "acknowledged", "resolved")))
                 .order_by(col(AuditRow.id)))
        audits.extend(AuditView.from_row(a) for a in session.exec(query))
    return ReportInputs(day=day, warnings=warnings, audits=audits)

