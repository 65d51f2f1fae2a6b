"""What the ingest keeps besides records: quarantined input and where each source's next fetch starts."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from integrations.store.columns import utcnow
from integrations.store.models import CursorRow, QuarantineRow
from integrations.store.record_insert import bind_conversion

_CURSOR: sa.Table = CursorRow.__table__  # type: ignore[attr-defined]


def quarantine(
    *, session: Session, source: str, page: str | None, raw: str, reason: str, source_id: str | None = None
) -> None:
    """Keep an input that failed validation, whole (as made safe by the caller), with its reason; once per
    (source, payload): fetched again, by a re-run or by two ingests at once, it is not kept twice."""
    table = QuarantineRow.__table__  # type: ignore[attr-defined]
    values = {"source": source, "source_id": source_id, "page": (page or "")[:500] or None, "raw": raw,
              "reason": reason, "item_hash": hashlib.sha256(raw.encode("utf-8")).hexdigest(),
              "received_at": utcnow()}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=["source", "item_hash"]))


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
    if session.identity_map or session.new:
        # Objects in the session: the ORM's read, which flushes them first and sees a loaded row as loaded.
        row = session.get(CursorRow, source)
        return row.cursor if row else None
    # An empty session (each ingest's first read): one SELECT through the driver, the value bound. The
    # ORM's read would configure every mapper of the store the first time a process reads through it,
    # a one-off cost on the ingest's path that grows with the models (bench/README.md, ingest seam).
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found = conn.exec_driver_sql(f'SELECT "cursor" FROM "cursor" WHERE source = {mark}', (source,)).first()  # nosec B608  # constant SQL; the value is bound
    cursor: str | None = None if found is None else found[0]
    return cursor


def set_cursor(*, session: Session, source: str, cursor: str | None, complete_until: datetime | None = None) -> None:
    """Move ``source``'s cursor (in the caller's transaction: together with the batch it covers)."""
    # One UPDATE in plain SQL, not the ORM's SELECT then UPDATE at the next flush (nor a statement built
    # per call): the ingest moves the cursor with every page, while its helper threads want the GIL.
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    cols = ['"cursor"', "updated_at"]
    params = [cursor, bind_conversion(dialect, _CURSOR.c.updated_at)(utcnow())]
    if complete_until is not None:
        cols.append("complete_until")
        params.append(bind_conversion(dialect, _CURSOR.c.complete_until)(complete_until))
    # One upsert (SQLite and PostgreSQL share the syntax): two writers moving a new source's cursor at once
    # never collide on its key, as an UPDATE-then-INSERT would.
    marks = ", ".join([mark] * (len(cols) + 1))
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
    conn.exec_driver_sql(
        f'INSERT INTO "cursor" (source, {", ".join(cols)}) VALUES ({marks}) '  # nosec B608  # column names are ours; values are bound
        f"ON CONFLICT (source) DO UPDATE SET {sets}", (source, *params))
    if session.identity_map:  # a row read earlier in this session: read it again when next asked
        loaded = session.identity_map.get(session.identity_key(CursorRow, source))
        if loaded is not None:
            session.expire(loaded)
