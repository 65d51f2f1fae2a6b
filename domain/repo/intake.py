"""What the ingest keeps besides records: quarantined input and where each source's next fetch starts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from domain.models import CursorRow, QuarantineRow, utcnow


def quarantine(
    *, session: Session, source: str, page: str | None, raw: str, reason: str, source_id: str | None = None
) -> None:
    """Keep an input that failed validation, whole (as made safe by the caller), with its reason."""
    session.add(
        QuarantineRow(source=source, source_id=source_id, page=(page or "")[:500] or None, raw=raw, reason=reason)
    )


def list_quarantine(
    *, session: Session, source: str | None = None, limit: int = 100, include_replayed: bool = True
) -> list[QuarantineRow]:
    """Quarantined inputs, oldest first, optionally of one source, optionally only those not replayed."""
    q = select(QuarantineRow).order_by(col(QuarantineRow.id)).limit(limit)
    if source is not None:
        q = q.where(QuarantineRow.source == source)
    if not include_replayed:
        q = q.where(col(QuarantineRow.replayed_at).is_(None))
    return list(session.exec(q))


def get_cursor(*, session: Session, source: str) -> str | None:
    """Where ``source``'s next fetch continues (``None``: from the beginning)."""
    row = session.get(CursorRow, source)
    return row.cursor if row else None


def set_cursor(*, session: Session, source: str, cursor: str | None, complete_until: datetime | None = None) -> None:
    """Move ``source``'s cursor (in the caller's transaction: together with the batch it covers)."""
    row = session.get(CursorRow, source)
    if row is None:
        row = CursorRow(source=source)
    row.cursor = cursor
    if complete_until is not None:
        row.complete_until = complete_until
    row.updated_at = utcnow()
    session.add(row)
