"""Per-source watermarks in the store (table ``source_watermark``): what each source has delivered.

Written in the transaction of the delivery it describes (an ingest page, an import), so a watermark
never runs ahead of the records it vouches for. The rules about them are pure: :mod:`domain.watermarks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from domain.watermarks import SourceMark, SourceTiming, check_heartbeat, release_bound
from integrations.store.models import SourceWatermarkRow

__all__ = ["current_release_bound", "note_delivery", "quarantined_since", "source_marks"]


def _forward(column: sa.Column[Any], new: Any) -> Any:
    """``new`` where it lies after the stored value (or nothing is stored), else the stored value: a
    mark only moves forward. (Not ``max``: SQLite's two-argument ``max`` is NULL when either is.)"""
    return sa.case((sa.and_(new.is_not(None), sa.or_(column.is_(None), new > column)), new), else_=column)


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

    ``drained_at``: a pull that reached the end of the source at that instant; the heartbeat moves up to
    it (never back: a pull with an older clock leaves the heartbeat where it is). Given both, the later
    of the two is the new heartbeat and the one checked against the stored one."""
    if complete_up_to is not None:
        check_heartbeat(source, None, complete_up_to, now)  # the future; going backwards is seen below
    # One INSERT … ON CONFLICT DO UPDATE whose marks only move forward, RETURNING the row: the database
    # takes the row's lock for the statement, so two deliveries at once (the first of a new source
    # included) neither collide on the key nor lose one another's marks, in one round trip.
    latest = max(ats, default=None)
    heartbeat = max((t for t in (complete_up_to, drained_at) if t is not None), default=None)
    table: sa.Table = SourceWatermarkRow.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    values = insert(table).values(source=source, latest_at=latest, complete_up_to=heartbeat, delivered_at=now)
    statement = values.on_conflict_do_update(
        index_elements=[table.c.source],
        set_={
            "latest_at": _forward(table.c.latest_at, values.excluded.latest_at),
            "complete_up_to": _forward(table.c.complete_up_to, values.excluded.complete_up_to),
            "delivered_at": values.excluded.delivered_at,
        },
    ).returning(table.c.latest_at, table.c.complete_up_to, table.c.delivered_at)
    row = session.execute(statement).one()
    if complete_up_to is not None and heartbeat is not None and row.complete_up_to > heartbeat:
        # The stored heartbeat was later than this one: it went backwards (the caller rolls back).
        check_heartbeat(source, row.complete_up_to, complete_up_to, now)
    return SourceMark(source, row.latest_at, row.complete_up_to, row.delivered_at)


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
