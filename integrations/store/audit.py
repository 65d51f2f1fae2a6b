"""The audit log: append-only. There is deliberately no function here that updates or deletes a row.

Every change of a warning (opened, routed, escalated, acknowledged, resolved, commented, a refused
attempt) is one row: who (``actor``), when, what (``action``), why (``reason``) and details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from integrations.store.columns import utcnow
from integrations.store.models import AuditRow


def append_audit(
    *,
    session: Session,
    warning_id: int | None,
    actor: str,
    action: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRow:
    """Add one audit row in the caller's transaction (flushed, so it has its id)."""
    row = AuditRow(
        warning_id=warning_id,
        at=at or utcnow(),
        actor=actor[:100],
        action=action[:50],
        reason=reason,
        detail=detail or {},
    )
    session.add(row)
    session.flush()
    return row


def audit_entries(
    *, session: Session, warning_id: int, action: str | None = None, reason: str | None = None
) -> list[AuditRow]:
    """A warning's audit rows, oldest first, optionally only one action (and reason)."""
    query = select(AuditRow).where(AuditRow.warning_id == warning_id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if reason is not None:
        query = query.where(AuditRow.reason == reason)
    return list(session.exec(query.order_by(col(AuditRow.id))))
