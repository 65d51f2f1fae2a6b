"""Where an absence's warning enters the stream, read from the store: the first record of the city past its
deadline (:data:`rules.run.sharded.Clock`).

A year's backtest asks this once per absence that fired: more than half a million times for a city whose
disputes stay open. Two things keep that from being the coordinator's longest step, with one core idle:

- an answer covers every deadline up to the record it found (no record lies between), so a run of
  deadlines between two records costs one query — the store's deadlines come in time order, shard by shard;
- on SQLite the query goes through the driver, one statement and no ORM rows (296 → 20 µs a deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session

from integrations.store.models import RecordRow
from integrations.store.prepared import utc_text
from rules.run.shard_run import Position

__all__ = ["store_clock"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]

_Lookup = Callable[[datetime], tuple[datetime, list[tuple[str, str]]] | None]
"""``lookup(when)``: the ``at`` of the first records after ``when`` (before the clock's end) and their
``(source, id)``, or ``None``."""


def store_clock(session: Session, until: datetime) -> Callable[[float], Position | None]:
    """A :data:`rules.run.sharded.Clock` over the store: the position of the first record with ``at`` after a
    deadline (epoch seconds) and before ``until``; ``None`` if there is none."""
    lookup = _sqlite(session, until) if session.get_bind().dialect.name == "sqlite" else _orm(session, until)
    held: tuple[datetime, datetime, Position] | None = None  # (deadline, at found, its position): one answer

    def clock(after: float) -> Position | None:
        nonlocal held
        when = datetime.fromtimestamp(after, UTC)
        if held is not None and held[0] <= when < held[1]:
            return held[2]  # no record lies between the held deadline and the record it found
        got = lookup(when)
        if got is None:
            return None
        at, keys = got
        # the first in Python's order, whatever the database's collation
        source, sid = min(keys)
        position = (at.timestamp(), source, sid)
        held = (when, at, position)
        return position

    return clock


def _orm(session: Session, until: datetime) -> _Lookup:
    def lookup(when: datetime) -> tuple[datetime, list[tuple[str, str]]] | None:
        first = session.execute(sa.select(sa.func.min(_REC.c.at)).where(_REC.c.at > when, _REC.c.at < until))
        at = first.scalar_one_or_none()
        if at is None:
            return None
        q = sa.select(_REC.c.source, _REC.c.source_id).where(_REC.c.at == at)
        return at, [(row.source, row.source_id) for row in session.execute(q)]

    return lookup


def _sqlite(session: Session, until: datetime) -> _Lookup:
    # The store keeps naive UTC text (integrations.store.prepared.utc_text): compared as text, as the ORM does.
    raw = session.connection().connection.driver_connection
    assert raw is not None
    end = utc_text(until)
    sql = (f"SELECT at, source, source_id FROM {_REC.name} WHERE at = "  # nosec B608  # the table name is a constant; values are bound
           f"(SELECT min(at) FROM {_REC.name} WHERE at > ? AND at < ?)")

    def lookup(when: datetime) -> tuple[datetime, list[tuple[str, str]]] | None:
        rows = raw.execute(sql, (utc_text(when), end)).fetchall()
        if not rows:
            return None
        return datetime.fromisoformat(rows[0][0] + "+00:00"), [(s, i) for _, s, i in rows]

    return lookup
