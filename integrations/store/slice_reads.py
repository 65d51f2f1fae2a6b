"""One shard's slice of the stored records read back: a range of event time, a district's region codes
and the kinds its rules watch, as ``(position, record)`` pairs in stream order.

The reading half of :mod:`integrations.store.shard_store` (which plans the shards and runs them). On
SQLite the rows are decoded by hand through the driver; elsewhere through SQLAlchemy's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.models import RecordRow
from integrations.store.prepared import utc_text
from integrations.store.stored_records import RECORD_COLUMNS, record_of, stored_record
from rules.engine.gc_pause import gc_paused
from rules.run.shard_run import Position

__all__ = ["position_key", "prefix_range", "read_items", "read_slice"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]

try:  # orjson comes with Prefect; parsing attributes is a large share of reading records back
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads  # type: ignore[assignment]

position_key = itemgetter(0)
"""The sort key of a ``(position, record)`` pair."""


def prefix_range(prefix: str, last: str | None = None) -> tuple[str, str]:
    """Region codes starting with ``prefix`` (or any prefix from ``prefix`` to ``last`` of the same
    length) as a half-open string range."""
    end = last or prefix
    return prefix, end[:-1] + chr(ord(end[-1]) + 1)


def _read_sqlite(session: Session, since: datetime, until: datetime, prefix: str | None,
                 kinds: Sequence[str], last: str | None) -> list[tuple[Position, Record]]:
    """:func:`read_items` on SQLite through the driver: decoding rows by hand (text timestamps, JSON
    attributes) reads twice as fast as the ORM's per-column processors — it is most of a year's cost."""
    # The unary + keeps SQLite off the kind and region indexes: a day of the `at` index is the small
    # range; through the kind index it would scan every day's rows of that kind, every day.
    where = ["at >= ?", "at < ?", f"+kind IN ({', '.join('?' * len(kinds))})"]
    args: list[Any] = [utc_text(since), utc_text(until), *kinds]
    if prefix is not None:
        where += ["+region >= ?", "+region < ?"]
        args += list(prefix_range(prefix, last))
    # No ORDER BY: the rows are sorted below on the engine's key, which the database cannot compute.
    sql = (f"SELECT kind, source, source_id, at, region, attributes, late FROM {_REC.name} "  # nosec B608  # the table name is a constant; values are bound
           f"WHERE {' AND '.join(where)}")
    parse, loads, stored = datetime.fromisoformat, _loads, record_of
    raw = session.connection().connection.driver_connection
    assert raw is not None
    rows = raw.execute(sql, tuple(args)).fetchall()  # the driver's own cursor: no per-row wrapping
    items: list[tuple[Position, Record]] = []
    add = items.append
    for k, s, i, a, r, attrs, late in rows:
        # The store keeps naive UTC text: parsing it with the offset appended is 5x cheaper than
        # datetime.replace(tzinfo=...), which was a quarter of the cost of decoding a row.
        at = parse(a + "+00:00")
        add(((at.timestamp(), s, i), stored(k, s, i, at, r, loads(attrs) if attrs else {}, bool(late))))
    items.sort(key=position_key)
    return items


def read_slice(session: Session, since: datetime, until: datetime, prefix: str | None,
               kinds: Sequence[str], last: str | None = None) -> list[Record]:
    """Records with ``since <= at < until`` of ``kinds`` in the district ``prefix`` (all if ``None``;
    the districts ``prefix`` to ``last`` if ``last`` is given), in the engine's order."""
    with gc_paused():
        return [r for _, r in read_items(session, since, until, prefix, kinds, last)]


def read_items(session: Session, since: datetime, until: datetime, prefix: str | None,
               kinds: Sequence[str], last: str | None = None) -> list[tuple[Position, Record]]:
    """:func:`read_slice` as ``(position, record)`` pairs, sorted by position ``(at, source, id)``:
    Python's order, which the engine and the single run follow whatever the database's collation."""
    with gc_paused():  # a day of rows makes no cycles: do not walk the engine's live state every 700 rows
        if session.get_bind().dialect.name == "sqlite":
            return _read_sqlite(session, since, until, prefix, kinds, last)
        return _read_orm(session, since, until, prefix, kinds, last)


def _read_orm(session: Session, since: datetime, until: datetime, prefix: str | None,
              kinds: Sequence[str], last: str | None) -> list[tuple[Position, Record]]:
    q = sa.select(*RECORD_COLUMNS).where(_REC.c.at >= since, _REC.c.at < until, _REC.c.kind.in_(list(kinds)))
    if prefix is not None:
        lo, hi = prefix_range(prefix, last)
        q = q.where(_REC.c.region >= lo, _REC.c.region < hi)
    items = [((r.at.timestamp(), r.source, r.id), r) for r in map(stored_record, session.execute(q))]
    items.sort(key=position_key)
    return items
