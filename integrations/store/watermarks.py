"""Per-source watermarks in the store (table ``source_watermark``): what each source has delivered.

Written in the transaction of the delivery it describes (an ingest page, an import), so a watermark
never runs ahead of the records it vouches for. The rules about them are pure: :mod:`domain.watermarks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.watermarks import SourceMark, SourceTiming, check_heartbeat, release_bound
from integrations.store.models import SourceWatermarkRow

__all__ = ["current_release_bound", "note_delivery", "quarantined_since", "source_marks"]

_TABLE: sa.Table = SourceWatermarkRow.__table__  # type: ignore[attr-defined]
_MARKS = ("latest_at", "complete_up_to", "delivered_at")


def _forward(column: str) -> str:
    """The new value of ``column`` where it lies after the stored one (or nothing is stored), else the stored
    one: a mark only moves forward. (Not ``max``: SQLite's two-argument ``max`` is NULL when either is.)"""
    new, old = f"excluded.{column}", f"source_watermark.{column}"
    return f"CASE WHEN {new} IS NOT NULL AND ({old} IS NULL OR {new} > {old}) THEN {new} ELSE {old} END"


@lru_cache(maxsize=4)
def _upsert(dialect: sa.Dialect) -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    """The upsert's SQL for ``dialect`` (SQLite and PostgreSQL share it), and the marks' bind and result
    conversions (the column type's own: naive UTC text on SQLite, aware datetimes back)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # Constant names and placeholders only; every value is bound.
    sql = (
        f"INSERT INTO source_watermark (source, {', '.join(_MARKS)}) VALUES ({', '.join([mark] * 4)}) "  # nosec B608
        f"ON CONFLICT (source) DO UPDATE SET latest_at = {_forward('latest_at')}, "
        f"complete_up_to = {_forward('complete_up_to')}, delivered_at = excluded.delivered_at "
        f"RETURNING {', '.join(_MARKS)}"
    )
    impl = _TABLE.c.latest_at.type.dialect_impl(dialect)
    bind = impl.bind_processor(dialect) or (lambda v: v)
    result = impl.result_processor(dialect, None) or (lambda v: v)
    return sql, bind, result


def note_delivery(
    *,
    session: Session,
    source: str,
    ats: Iterable[datetime] = (),
    complete_up_to: datetime | None = None,
    drained_at: datetime | None = None,
    now: datetime,
) -> SourceMark:
    """Record a delivery of ``source`` at wall time ``now``: the event times of its records and, optionally,
    its heartbeat. Raises :class:`~domain.watermarks.HeartbeatError` for a heartbeat in the future or going
    backwards: the caller's transaction must then roll back (every caller's does), as the source's row
    is already written.

    ``ats`` may be the latest time alone (all that is kept of them): the ingest finds it while mapping.
    ``drained_at``: a pull that reached the end of the source at that instant; the heartbeat moves up to
    it (never back: a pull with an older clock leaves the heartbeat where it is). Given both, the later
    of the two is the new heartbeat and the one checked against the stored one."""
    if complete_up_to is not None:
        check_heartbeat(source, None, complete_up_to, now)  # the future; going backwards is seen below
    # One INSERT … ON CONFLICT DO UPDATE whose marks only move forward, RETURNING the row: the database
    # takes the row's lock for the statement, so two deliveries at once (the first of a new source
    # included) neither collide on the key nor lose one another's marks, in one round trip. Plain SQL
    # through the driver, built once per dialect: the ingest sends it with every page, and building and
    # compiling the statement each time cost more than running it (bench/README.md).
    latest = max(ats, default=None)
    heartbeat = max((t for t in (complete_up_to, drained_at) if t is not None), default=None)
    conn = session.connection()
    sql, bind, result = _upsert(conn.dialect)
    params = (source, *(None if v is None else bind(v) for v in (latest, heartbeat, now)))
    row = tuple(map(result, conn.exec_driver_sql(sql, params).one()))  # nosec B608  # see _upsert: constants
    if complete_up_to is not None and heartbeat is not None and row[1] > heartbeat:
        # The stored heartbeat was later than this one: it went backwards (the caller rolls back).
        check_heartbeat(source, row[1], complete_up_to, now)
    return SourceMark(source, *row)


def source_marks(*, session: Session) -> dict[str, SourceMark]:
    """Every source's mark, by name."""
    rows = session.execute(sa.select(SourceWatermarkRow)).scalars()
    return {r.source: SourceMark(r.source, r.latest_at, r.complete_up_to, r.delivered_at) for r in rows}


def current_release_bound(*, session: Session, timings: Mapping[str, SourceTiming], now: datetime) -> datetime | None:
    """:func:`domain.watermarks.release_bound` over the stored marks (``None``: nothing holds)."""
    return release_bound(source_marks(session=session), timings, now)


def quarantined_since(*, session: Session, since: datetime) -> dict[str, int]:
    """How many items each source had quarantined since ``since`` (by the time they were received)."""
    from integrations.store.models import QuarantineRow

    q = (
        sa.select(QuarantineRow.source, sa.func.count())  # type: ignore[call-overload]
        .where(QuarantineRow.received_at >= since)
        .group_by(QuarantineRow.source)
    )
    return {source: int(n) for source, n in session.execute(q)}
