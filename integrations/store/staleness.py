"""Stale warnings in the store: an open warning whose rule's ``resolve_after`` passed in event time with no
new firing turns ``stale`` (audited); with ``auto_resolve`` it resolves itself, the audit entry naming the
rule. Whether a warning is due is decided in the domain (``domain.routing.stale_due``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.messages import N_, Message
from domain.warnings import Status

# The models first: the audit module cannot be the first of the store's modules imported (see silences).
from integrations.store import models as _models  # noqa: F401  isort: skip
from integrations.store.audit import append_audit
from integrations.store.models import WarningRow
from integrations.store.resolution import close_warning
from integrations.store.warnings import STALE

SYSTEM = "system:staleness"


def stale_candidates(session: Session, cutoffs: Mapping[str, datetime]) -> list[WarningRow]:
    """Open or acknowledged (not yet stale) warnings of the rules in ``cutoffs`` whose last firing is at or
    before their rule's cutoff (``event_now`` less its ``resolve_after``), oldest last firing first. Only
    those due are read: a city holds thousands of open warnings, and every evaluation pass sweeps."""
    if not cutoffs:
        return []
    due = sa.or_(*(sa.and_(col(WarningRow.rule) == rule, col(WarningRow.last_at) <= cutoff)
                   for rule, cutoff in sorted(cutoffs.items())))
    query = select(WarningRow).where(col(WarningRow.status).in_([Status.open.value, Status.acknowledged.value]), due)
    return list(session.exec(query.order_by(col(WarningRow.last_at))))


def mark_stale(session: Session, row: WarningRow, *, resolve_after: timedelta, event_now: datetime,
               now: datetime) -> None:
    """Turn ``row`` stale (its holder may close it), audited with its last firing."""
    row.status, row.stale_at = STALE, now
    session.add(row)
    append_audit(session=session, warning_id=row.id, actor=SYSTEM, action="stale", reason=N_("可办结"),
                 detail={"rule": row.rule, "last_at": row.last_at.isoformat(), "event_now": event_now.isoformat(),
                         "resolve_after_s": int(resolve_after.total_seconds())}, at=now)


def resolve_on_behalf(session: Session, row: WarningRow, *, actor: str, reason: str, detail: dict[str, object],
                      now: datetime) -> None:
    """Resolve ``row`` without a responder (a rule's ``auto_resolve``, a source that returned), audited
    under ``actor`` with ``reason`` (:func:`integrations.store.resolution.close_warning`, the one path);
    the next firing of its fingerprint opens a new warning."""
    close_warning(session, row, actor=actor, reason=reason, now=now, detail={"auto": True, **detail})


def auto_resolve(session: Session, row: WarningRow, *, resolve_after: timedelta, now: datetime) -> None:
    """Resolve ``row`` on its rule's behalf (``auto_resolve: true``), the audit entry naming the rule."""
    row.stale_at = row.stale_at or now
    hours = resolve_after.total_seconds() / 3600
    reason = Message(N_("规则 {rule} 设定 auto_resolve：{hours:g} 小时无新情况，自动办结"), rule=row.rule, hours=hours)
    resolve_on_behalf(session, row, actor=f"rule:{row.rule}", reason=reason,
                      detail={"last_at": row.last_at.isoformat()}, now=now)
