"""Records and their versions in the store (keyword-only, explicit session); quarantine and source
cursors live in :mod:`integrations.store.intake`, reading records back in
:mod:`integrations.store.record_reads`; both are re-exported here.

``upsert_records`` is the ingest's hot path: it selects the existing rows of a batch in bulk, inserts
new ones in bulk (SQLite: one multi-row statement; PostgreSQL: one ``COPY``), updates changed ones with
one executemany (see :mod:`integrations.store.record_insert`), and never flushes
ORM objects row by row. Every inserted or changed row gets the next arrival ``seq``; evaluation
consumes records by ``seq``, so a changed record is evaluated again as its new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.columns import utcnow
from integrations.store.intake import get_cursor, list_quarantine, quarantine, set_cursor
from integrations.store.models import RecordRow, RecordVersionRow
from integrations.store.prepared import PreparedRecord, prepare
from integrations.store.record_copy import PendingCopy, begin_copy_if_all_new
from integrations.store.record_insert import (
    SEQ_LOCK,
    ConcurrentWrite,
    PendingInsert,
    begin_insert_if_all_new,
    bound_now,
    execute_insert,
    insert_rows,
    max_seq,
)
from integrations.store.record_reads import (
    record_span,
    record_versions,
    records_after_seq,
    records_between,
    seq_records_after,
)
from integrations.store.wakeup import CHANNEL, notify_records

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
_VER: sa.Table = RecordVersionRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500  # keys per IN (...) query: well under every database's bound-parameter limit


@dataclass(frozen=True)
class UpsertStats:
    """What an upsert did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertStats) -> UpsertStats:
        return UpsertStats(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


def content_hash(record: Record) -> str:
    """SHA-256 of what a record says (kind, time, region, attributes): equal hash, same content."""
    return prepare(record).content_hash


def _json_param(name: str, dialect: str) -> Any:
    # The attributes arrive serialised once (the same text is hashed), so bind them as text; PostgreSQL
    # wants the cast to its JSON type, SQLite stores the text as it is.
    param = sa.bindparam(name, type_=sa.Text)
    return sa.cast(param, sa.JSON) if dialect == "postgresql" else param


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]



_VER_KEYS = ("record_id", "version", "attributes", "at", "region", "content_hash", "received_at")


def upsert_records(*, session: Session, records: Sequence[Record]) -> UpsertStats:
    """Insert new records, update changed ones (version + 1, history kept), skip unchanged ones.

    Keyed by (source, id); within the batch the last occurrence of a key wins. Inserted and updated rows
    get consecutive ``seq`` values after the current maximum, in batch order. History: when a record first
    changes, its version 1 and version 2 are written to ``record_version``, and every later version after
    them; a record that never changed has no history rows (its row is its only version), which keeps
    inserts to one statement. :func:`record_versions` hides the difference.
    """
    return upsert_prepared(session=session, records=[prepare(r) for r in records])


def upsert_prepared(*, session: Session, records: Sequence[PreparedRecord], optimistic: bool = False) -> UpsertStats:
    """:func:`upsert_records` of records already prepared (the ingest prepares them while mapping).

    When anything was stored, listeners (the resident evaluator) are told at commit
    (:func:`integrations.store.wakeup.notify_records`).

    With ``optimistic`` (the ingest sets it while its pages bring only new records) the batch is first
    inserted as if every key were new: on SQLite skipping keys that exist (``INSERT OR IGNORE``), on
    PostgreSQL by one ``COPY`` in a savepoint, which an existing key fails. When every row went in, that
    was the whole upsert, without the query for existing keys; when some did not, what the attempt
    wrote is taken back (SQLite: the rows just inserted are deleted; PostgreSQL: the savepoint is
    rolled back) and the batch takes the usual way. The
    outcome is the same either way (``tests/integrations/store/test_upsert_optimistic.py``).
    """
    return begin_upsert(session=session, records=records, optimistic=optimistic).finish()


class PendingUpsert:
    """An upsert begun by :func:`begin_upsert`; :meth:`finish` completes it."""

    def __init__(self, session: Session, records: Sequence[PreparedRecord], new: PendingCopy | PendingInsert | None
                 ) -> None:
        self._session, self._records, self._new = session, records, new

    def finish(self) -> UpsertStats:
        """The rest of the upsert; what it did, listeners told at commit when anything was stored."""
        if self._new is not None:
            inserted = self._new.finish()
            if inserted is not None:
                if not isinstance(self._new, PendingCopy):  # the COPY's NOTIFY went in its savepoint
                    notify_records(self._session)
                return UpsertStats(inserted)
        stats = _upsert_prepared(self._session, self._records)
        if stats.inserted or stats.updated:
            notify_records(self._session)
        return stats


def begin_upsert(*, session: Session, records: Sequence[PreparedRecord], optimistic: bool = False) -> PendingUpsert:
    """:func:`upsert_prepared` in two plain steps, for a writer that has other work to start in between.

    With ``optimistic``, every round trip and all the Python work of the insert happen here — on
    PostgreSQL the writers' lock, the savepoint, the seq numbers with its notification and each row handed to
    the driver; on SQLite the seq numbers and the statements' parameters — and
    :meth:`PendingUpsert.finish` only ends the ``COPY`` or runs SQLite's statements, which the driver
    does without the GIL: the ingest maps its next page meanwhile. (When some key was there already,
    the checked way runs at :meth:`~PendingUpsert.finish`; without ``optimistic`` everything does.)
    """
    new: PendingCopy | PendingInsert | None = None
    dialect = session.get_bind().dialect.name
    # A key repeated within the batch is skipped like an existing one: the checked way sorts it out.
    if optimistic and records and dialect == "postgresql":
        new = begin_copy_if_all_new(session, list(records), notify=CHANNEL)
    elif optimistic and records and dialect == "sqlite":
        new = begin_insert_if_all_new(session, list(records))
    return PendingUpsert(session, records, new)


def _upsert_prepared(session: Session, records: Sequence[PreparedRecord]) -> UpsertStats:
    if not records:
        return UpsertStats()
    dialect = session.get_bind().dialect.name
    latest = {(r[0], r[1]): r for r in records}
    if len(latest) < len(records):  # a key repeated: order the batch by the last occurrences
        latest = {}
        for r in records:
            k = (r[0], r[1])
            latest.pop(k, None)
            latest[k] = r
    by_source: dict[str, list[str]] = {}
    for source, sid in latest:
        ids = by_source.get(source)
        if ids is None:
            ids = by_source[source] = []
        ids.append(sid)
    existing: dict[tuple[str, str], tuple[int, str, int]] = {}
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    pg = dialect == "postgresql"
    if pg:
        # Writers take turns from here to their commit (seq allocation needs it anyway): taken before the
        # lookup, no other writer can store one of these keys between it and the insert (READ COMMITTED:
        # each statement sees what the writer before committed), so concurrent ingests never collide.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (SEQ_LOCK,))
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            if pg:
                # One array parameter joined to the table: psycopg prepares a statement run five times, and
                # the generic plan of "source_id IN ($2, …, $501)" tested every row of the source against
                # the whole list (half a second a page at 30,000 rows); a join probes or hashes instead.
                sql = (
                    f"SELECT r.id, r.source_id, r.content_hash, r.version FROM unnest(%s::text[]) AS k(sid) "  # nosec B608  # the table name is a constant; values are bound
                    f"JOIN {_REC.name} r ON r.source = %s AND r.source_id = k.sid"
                )
                params: tuple[Any, ...] = (list(chunk), source)
            else:
                # Plain SQL: compiling an expanding IN of 500 parameters costs more than running it.
                sql = (
                    f"SELECT id, source_id, content_hash, version FROM {_REC.name} "  # nosec B608  # the table name is a constant; values are bound
                    f"WHERE source = {mark} AND source_id IN ({', '.join([mark] * len(chunk))})"
                )
                params = (source, *chunk)
            for row_id, sid, h, version in conn.exec_driver_sql(sql, params):
                existing[(source, sid)] = (row_id, h, version)
    seq = max_seq(session=session)
    now = utcnow()
    fresh: list[tuple[int, PreparedRecord]] = []
    updates: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    unchanged = 0
    for key, r in latest.items():
        attrs_json, h = r.attrs_json, r.content_hash
        ex = existing.get(key)
        if ex is None:
            seq += 1
            fresh.append((seq, r))
            continue
        if ex[1] == h:
            unchanged += 1
            continue
        seq += 1
        updates.append(
            dict(
                _id=ex[0],
                version=ex[2] + 1,
                kind=r.kind,
                at=r.at,
                region=r.region,
                attrs_json=attrs_json,
                content_hash=h,
                late=r.late,
                received_at=now,
                seq=seq,
            )
        )
        versions.append(dict(zip(_VER_KEYS, (ex[0], ex[2] + 1, r.attributes, r.at, r.region, h, now), strict=True)))
    inserts = insert_rows(fresh, conn.dialect, bound_now(conn.dialect, now))
    if inserts:
        # New rows need no ids back (no history row until they change): see integrations.store.record_insert.
        execute_insert(conn, inserts)
    if updates:
        first = [u["_id"] for u in updates if u["version"] == 2]
        for chunk in _chunks(first):
            old = (_REC.c.attributes, _REC.c.at, _REC.c.region, _REC.c.content_hash, _REC.c.received_at)
            q = sa.select(_REC.c.id, *old).where(_REC.c.id.in_(chunk))
            versions.extend(dict(zip(_VER_KEYS, (rid, 1, *rest), strict=True)) for rid, *rest in session.execute(q))
        cols = ("kind", "at", "region", "content_hash", "late", "received_at", "seq", "version")
        values: dict[str, Any] = {c: sa.bindparam(c) for c in cols}
        values["attributes"] = _json_param("attrs_json", dialect)
        upd = sa.update(_REC).where(_REC.c.id == sa.bindparam("_id")).values(values)
        session.connection().execute(upd, updates)
    if versions:
        session.execute(sa.insert(_VER), versions)
    return UpsertStats(len(inserts), len(updates), unchanged)


__all__ = [
    "ConcurrentWrite",
    "PendingUpsert",
    "PreparedRecord",
    "UpsertStats",
    "begin_upsert",
    "content_hash",
    "get_cursor",
    "list_quarantine",
    "max_seq",
    "quarantine",
    "record_span",
    "record_versions",
    "records_after_seq",
    "records_between",
    "seq_records_after",
    "set_cursor",
    "upsert_prepared",
    "upsert_records",
]
