"""The audit log: append-only. There is deliberately no function here that updates or deletes a row.

Every change of a warning (opened, routed, escalated, acknowledged, resolved, commented, a refused
attempt) is one row: who (``actor``), when, what (``action``), why (``reason``) and details.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from integrations.store.columns import utcnow
from integrations.store.deferral import deferring
from integrations.store.models import AuditRow

_DEFERRED = "audit-deferred"
"""Session info key: the audit rows appended inside :func:`deferred_audit`, not yet written."""


@contextmanager
def deferred_audit(session: Session) -> Iterator[None]:
    """Inside, the audit rows appended (:func:`append_audit`, :func:`add_audit`) are kept and written
    together when the block ends: one multi-row insert for a batch's warnings instead of one round trip
    each. Same rows, same order (ids ascend in append order), same transaction; a read of the audit log
    through :func:`audit_entries` or :func:`flush_audit` writes the kept rows first. Nested blocks write at
    the outermost one's end. An exception leaves them unwritten (the transaction is rolled back anyway)."""
    with deferring(session, _DEFERRED, flush_audit):
        yield


def flush_audit(session: Session) -> None:
    """Write the audit rows kept by :func:`deferred_audit` now (one statement; nothing if none are kept)."""
    kept: list[AuditRow] | None = session.info.get(_DEFERRED)
    if not kept:
        return
    rows = list(kept)
    kept.clear()
    if session.get_bind().dialect.name == "sqlite":
        # SQLite cannot return a multi-row insert's ids in order, so the ORM would insert row by row: the
        # rows go as one executemany instead (ids ascend in order; the kept rows themselves get none).
        session.execute(sa.insert(AuditRow), [r.model_dump(exclude={"id"}) for r in rows])
    else:
        session.add_all(rows)  # one multi-row INSERT … RETURNING, ids in order
        session.flush()


def add_audit(session: Session, row: AuditRow) -> None:
    """Add ``row`` to the caller's transaction: kept for the end of a :func:`deferred_audit` block, else
    added to the session (written at its next flush)."""
    kept: list[AuditRow] | None = session.info.get(_DEFERRED)
    if kept is not None:
        kept.append(row)
    else:
        session.add(row)


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
    """Add one audit row in the caller's transaction (flushed, so it has its id; inside
    :func:`deferred_audit` kept for the block's end, and without an id until then)."""
    row = AuditRow(
        warning_id=warning_id,
        at=at or utcnow(),
        actor=actor[:100],
        action=action[:50],
        reason=reason,
        detail=detail or {},
    )
    if _DEFERRED in session.info:
        session.info[_DEFERRED].append(row)
    else:
        session.add(row)
        session.flush()
    return row


def audit_entries(
    *, session: Session, warning_id: int, action: str | None = None, reason: str | None = None
) -> list[AuditRow]:
    """A warning's audit rows, oldest first, optionally only one action (and reason)."""
    flush_audit(session)
    query = select(AuditRow).where(AuditRow.warning_id == warning_id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if reason is not None:
        query = query.where(AuditRow.reason == reason)
    return list(session.exec(query.order_by(col(AuditRow.id))))
