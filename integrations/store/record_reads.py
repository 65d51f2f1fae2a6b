"""Reading stored records back: by arrival ``seq`` (live evaluation), by event time (backtests, rebuilds),
their time span, and one record's versions (keyword-only, explicit session).

The writing side is :mod:`integrations.store.records`, which re-exports these.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.columns import AwareDateTime
from integrations.store.models import RecordRow, RecordVersionRow
from integrations.store.stored_records import SEQ_RECORD_COLUMNS, seq_record, stored_record

__all__ = ["earliest_at_after_seq", "record_span", "record_versions", "records_after_seq", "records_between",
           "seq_records_after"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
_VER: sa.Table = RecordVersionRow.__table__  # type: ignore[attr-defined]


def seq_records_after(*, session: Session, seq: int, limit: int = 10_000) -> list[tuple[int, Record]]:
    """``(seq, record)`` pairs of the latest versions with ``seq`` above ``seq``, in seq order."""
    q = sa.select(*SEQ_RECORD_COLUMNS).where(_REC.c.seq > seq).order_by(_REC.c.seq).limit(limit)
    return [seq_record(row) for row in session.execute(q)]


def earliest_at_after_seq(session: Session, seq: int) -> datetime | None:
    """The earliest ``at`` of the records after ``seq`` (None: there are none).

    Not a bare ``min(at)``: SQLite and PostgreSQL both answer that by walking the ``at`` index from the
    oldest record until one is past ``seq`` — all of them, since the unread records are the newest (0.9 and
    1.1 s against a month of a city's records, on every pass of a backlog). The expression hides the column
    from that index, so the few records after ``seq`` are read by ``seq``."""
    at = _REC.c.at
    hidden = (sa.literal_column("+record.at") if session.get_bind().dialect.name == "sqlite"
              else at + sa.text("interval '0 seconds'"))
    first = session.execute(sa.select(sa.type_coerce(sa.func.min(hidden), AwareDateTime())).where(
        _REC.c.seq > seq)).scalar()
    return first if isinstance(first, datetime) else None


def records_after_seq(*, session: Session, seq: int, limit: int = 10_000) -> list[Record]:
    """Records (latest versions) that arrived after ``seq``, in arrival order."""
    return [r for _, r in seq_records_after(session=session, seq=seq, limit=limit)]


def records_between(*, session: Session, since: datetime, until: datetime) -> list[Record]:
    """Records with ``since <= at < until``, in the engine's order (at, source, id)."""
    q = (
        sa.select(*SEQ_RECORD_COLUMNS)
        .where(_REC.c.at >= since, _REC.c.at < until)
        .order_by(_REC.c.at, _REC.c.source, _REC.c.source_id)
    )
    return [stored_record(row) for row in session.execute(q)]


def record_span(*, session: Session, since: datetime, until: datetime | None) -> tuple[datetime, datetime] | None:
    """The first and last ``at`` of the records with ``since <= at < until`` (``None``: there are none)."""
    q = sa.select(sa.func.min(_REC.c.at), sa.func.max(_REC.c.at)).where(_REC.c.at >= since)
    if until is not None:
        q = q.where(_REC.c.at < until)
    first, last = session.execute(q).one()
    return None if first is None else (first, last)


def record_versions(*, session: Session, source: str, source_id: str) -> list[RecordVersionRow]:
    """Every version of one record, oldest first (``[]`` if unknown; one unsaved row if never changed)."""
    q = (
        sa.select(RecordVersionRow)
        .join(_REC, _REC.c.id == _VER.c.record_id)
        .where(_REC.c.source == source, _REC.c.source_id == source_id)
        .order_by(_VER.c.version)
    )
    rows = list(session.execute(q).scalars())
    if rows:
        return rows
    cur = (
        session.execute(sa.select(RecordRow).where(_REC.c.source == source, _REC.c.source_id == source_id))
        .scalars()
        .first()
    )
    if cur is None or cur.id is None:
        return []
    return [
        RecordVersionRow(
            record_id=cur.id,
            version=cur.version,
            attributes=cur.attributes,
            at=cur.at,
            region=cur.region,
            content_hash=cur.content_hash,
            received_at=cur.received_at,
        )
    ]
