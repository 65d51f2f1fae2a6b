"""Per-source watermarks in the store (table ``source_watermark``): what each source has delivered.

Written in the transaction of the delivery it describes (an ingest page, an import), so a watermark
never runs ahead of the records it vouches for. The rules about them are pure: :mod:`domain.watermarks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from domain.watermarks import SourceMark, SourceTiming, check_heartbeat, release_bound
from integrations.store.models import SourceWatermarkRow

__all__ = ["current_release_bound", "note_delivery", "quarantined_since", "source_marks"]


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
    may already be inserted, blank.

    ``drained_at``: a pull that reached the end of the source at that instant; the heartbeat moves up to
    it (never back: a pull with an older clock leaves the heartbeat where it is)."""
    # The row is made sure of by one insert-on-conflict, then read (locked on PostgreSQL): two first
    # deliveries of a source at once each found no row and both inserted it (IntegrityError, a 500 to a
    # pushing department). On SQLite the insert also takes the write lock before the read, so the read
    # sees the other writer's delivery and none is lost.
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    session.execute(insert(SourceWatermarkRow).values(source=source).on_conflict_do_nothing(index_elements=["source"]))
    row = session.get(SourceWatermarkRow, source, with_for_update=dialect == "postgresql", populate_existing=True)
    assert row is not None  # inserted above, or there already
    if complete_up_to is not None:
        check_heartbeat(source, row.complete_up_to, complete_up_to, now)
    latest = max(ats, default=None)
    if latest is not None and (row.latest_at is None or latest > row.latest_at):
        row.latest_at = latest
    if complete_up_to is not None:
        row.complete_up_to = complete_up_to
    if drained_at is not None and (row.complete_up_to is None or drained_at > row.complete_up_to):
        row.complete_up_to = drained_at
    row.delivered_at = now
    session.add(row)
    session.flush()
    return SourceMark(source, row.latest_at, row.complete_up_to, row.delivered_at)


def source_marks(*, session: Session) -> dict[str, SourceMark]:
    """Every source's mark, by name."""
    rows = session.execute(sa.select(SourceWatermarkRow)).scalars()
    return {r.source: SourceMark(r.source, r.latest_at, r.complete_up_to, r.delivered_at) for r in rows}


def current_release_bound(
    *, session: Session, timings: Mapping[str, SourceTiming], now: datetime
) -> datetime | None:
    """:func:`domain.watermarks.release_bound` over the stored marks (``None``: nothing holds)."""
    return release_bound(source_marks(session=session), timings, now)


def quarantined_since(*, session: Session, since: datetime) -> dict[str, int]:
    """How many items each source had quarantined since ``since`` (by the time they were received)."""
    from integrations.store.models import QuarantineRow

    q = (sa.select(QuarantineRow.source, sa.func.count())  # type: ignore[call-overload]
         .where(QuarantineRow.received_at >= since).group_by(QuarantineRow.source))
    return {source: int(n) for source, n in session.execute(q)}
