"""The reorder buffer of live evaluation: which stored records to evaluate next, in event-time order.

The store is the log and the buffer at once. Live evaluation's position is a pair ``(seq, upto)``: the
records evaluated so far are exactly those with ``seq <= position.seq`` and ``at <= position.upto``
(``upto`` None: none yet). The next batch is, first, any *late* records — arrived after the position
(``seq`` above it) with ``at`` already behind ``upto``: evaluated at once, in arrival order, and marked late
— and then the records that arrived up to the position's ``seq`` with ``at`` in ``(upto, bound]``, in the
engine's order ``(at, source, id)``, where ``bound`` is the release bound of the sources' watermarks
(:mod:`domain.watermarks`). A batch never splits one instant, so the evaluator sees a prefix of the
event-time order of everything released: the same records, in the same order, as a backtest.

``kinds`` narrows all of it to a release group's record kinds (:mod:`rules.run.release_groups`): each
group then keeps a position of its own over the same log, held back only by its own sources' bound.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.models import RecordRow
from integrations.store.stored_records import SEQ_RECORD_COLUMNS, seq_record

__all__ = ["Position", "next_batch", "pending_count"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]

@dataclass(frozen=True)
class Position:
    """How far live evaluation has consumed: records with ``seq <= seq`` and ``at <= upto``."""

    seq: int = 0
    upto: datetime | None = None


def _max_seq(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(_REC.c.seq), 0))).scalar_one())


def _of(kinds: Collection[str] | None) -> sa.ColumnElement[bool]:
    return sa.true() if kinds is None else _REC.c.kind.in_(sorted(kinds))


def next_batch(session: Session, position: Position, bound: datetime | None, *, limit: int,
               kinds: Collection[str] | None = None) -> tuple[list[tuple[int, Record]], Position, bool]:
    """The next batch after ``position`` up to the release ``bound`` (``None``: no bound), the position
    after it, and whether its records are late ones. An empty batch: nothing to evaluate now (the
    returned position is then equivalent to the one given and need not be saved). ``kinds``: only
    records of these kinds (a release group's; ``None``: every kind)."""
    top = _max_seq(session)
    mine = _of(kinds)
    if position.upto is not None and top > position.seq:
        late_q = (sa.select(*SEQ_RECORD_COLUMNS)
                  .where(_REC.c.seq > position.seq, _REC.c.seq <= top, _REC.c.at <= position.upto, mine)
                  .order_by(_REC.c.seq).limit(limit))
        late = [seq_record(r) for r in session.execute(late_q)]
        if len(late) == limit:  # more may follow: the position moves to the last one taken
            return late, Position(late[-1][0], position.upto), True
        position = Position(top, position.upto)
        if late:
            return late, position, True
    position = Position(top, position.upto)
    q = sa.select(*SEQ_RECORD_COLUMNS).where(_REC.c.seq <= position.seq, mine)
    if position.upto is not None:
        q = q.where(_REC.c.at > position.upto)
    if bound is not None:
        q = q.where(_REC.c.at <= bound)
    ordered = q.order_by(_REC.c.at, _REC.c.source, _REC.c.source_id).limit(limit)
    rows = [seq_record(r) for r in session.execute(ordered)]
    if not rows:
        return [], position, False
    last = rows[-1][1].at
    if len(rows) == limit:
        # A batch never splits an instant: the rest of the last one's records come along.
        taken = {seq for seq, _ in rows}
        same = sa.select(*SEQ_RECORD_COLUMNS).where(_REC.c.seq <= position.seq, _REC.c.at == last, mine)
        rows += [r for r in map(seq_record, session.execute(same)) if r[0] not in taken]
        return rows, Position(position.seq, last), False
    return rows, Position(position.seq, bound if bound is not None else last), False


def pending_count(session: Session, position: Position, bound: datetime | None,
                  kinds: Collection[str] | None = None) -> tuple[int, int]:
    """How many stored records (of ``kinds``; ``None``: any) wait: ``(releasable now, held back by the
    watermarks)``."""
    newer = sa.or_(_REC.c.seq > position.seq, _REC.c.at > position.upto) if position.upto is not None else sa.true()
    waiting = sa.select(sa.func.count()).select_from(_REC).where(newer, _of(kinds))
    total = int(session.execute(waiting).scalar_one())
    if bound is None:
        return total, 0
    held = int(session.execute(waiting.where(_REC.c.at > bound)).scalar_one())
    return total - held, held
