"""Cheap durability of the live evaluator: a checkpoint now and then, a journal row per batch, replay.

Writing the full state per batch cost seconds once it held weeks of windows (a 40 MB JSON document).
Now each batch commits, with its warnings and outbox, only its position and one journal row
(:class:`~integrations.store.checkpoint_models.EvaluatorBatchRow`); the state is written every few minutes
or so many records (settings ``checkpoint_every_s`` / ``checkpoint_every_records``) and on a clean stop,
as msgpack + zlib bytes (:mod:`rules.engine.state_codec`).

The store is the log. The records a position has consumed are exactly ``seq <= position.seq`` and
``at <= position.upto`` (:mod:`integrations.store.release`), so each journal row says exactly which
records its batch fed: those consumed by its position and not by the one before. A restart restores
the checkpoint and feeds those records again, batch by batch, resolving first what the row says was
resolved before it: the evaluator comes back as it was after the last committed batch. The replay writes
nothing — the warnings and notifications of those batches were committed with them — so nothing is sent
twice, and the records after the last committed batch are evaluated as new, once.

Limitation: a record changed after it was evaluated (a new version, a new ``seq``) has lost its old
version; a replay across that change feeds the new version where the old one was (a backtest would too).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.records import Record
from integrations.store.checkpoint_models import EvaluatorBatchRow, EvaluatorCheckpointRow
from integrations.store.models import RecordRow
from integrations.store.release import Position
from integrations.store.stored_records import RECORD_COLUMNS, stored_record
from rules.engine.evaluate import Evaluator
from rules.engine.state_codec import encode_state

__all__ = ["CheckpointWritten", "Replayed", "consumed_between", "journal_after", "journal_batch", "journal_lanes",
           "last_checkpoint", "replay", "store_checkpoint", "write_checkpoint"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckpointWritten:
    """A checkpoint just written: its size and how long encoding and writing took (wall seconds)."""

    size_bytes: int
    seconds: float
    journal_id: int


@dataclass(frozen=True)
class Replayed:
    """What a restore replayed: batches and records after the checkpoint, and the position reached."""

    batches: int
    records: int
    position: Position
    last_journal_id: int


def _consumed(position: Position) -> sa.ColumnElement[bool]:
    if position.upto is None:
        return sa.false()
    return sa.and_(_REC.c.seq <= position.seq, _REC.c.at <= position.upto)


def consumed_between(session: Session, before: Position, after: Position,
                     kinds: Collection[str] | None = None) -> list[Record]:
    """The records ``after`` has consumed and ``before`` had not: one batch's records, from the store
    (``kinds``: of a release group's kinds only, as its positions count them; ``None``: every kind)."""
    mine = sa.true() if kinds is None else _REC.c.kind.in_(sorted(kinds))
    if after.upto is None:
        return []  # consumed nothing
    if before.upto is None:
        part = [_consumed(after)]
    else:
        # Two disjoint ranges, each on an index, instead of "consumed by one and not the other", which the
        # planner answered by walking every record up to the time (a restart replaying a few thousand
        # records spent 40 s in these reads against a month of history): the records that came after
        # ``before`` read them (a ``seq`` range), and those it had read but held back (an ``at`` range).
        part = [sa.and_(_REC.c.seq > before.seq, _REC.c.seq <= after.seq, _REC.c.at <= after.upto),
                sa.and_(_REC.c.seq <= before.seq, _REC.c.seq <= after.seq, _REC.c.at > before.upto,
                        _REC.c.at <= after.upto)]
    parts = [sa.select(*RECORD_COLUMNS).where(p, mine) for p in part]
    union = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    sub = union.subquery()
    q = sa.select(*sub.c).order_by(sub.c.at, sub.c.source, sub.c.source_id)
    return [stored_record(row) for row in session.execute(q)]


def journal_batch(session: Session, name: str, position: Position, *, resolved: Sequence[str], records: int,
                  now: datetime) -> int:
    """Append the journal row of a batch (in the caller's transaction); its id."""
    row = EvaluatorBatchRow(name=name, consumed_seq=position.seq, watermark=position.upto, resolved=list(resolved),
                            records=records, committed_at=now)
    session.add(row)
    session.flush()
    assert row.id is not None  # nosec B101  # flushed: the database gave it one
    return row.id


def journal_lanes(session: Session, rows: Sequence[tuple[str, Position, Sequence[str], int]], *, now: datetime) -> int:
    """Append the journal rows of one pass of the grouped evaluator — ``(name, position, resolved, records)``
    in the order its groups were fed — in one statement (in the caller's transaction); the last one's id
    (the highest the statement returned: one round trip, no second read of the table)."""
    table: sa.Table = EvaluatorBatchRow.__table__  # type: ignore[attr-defined]
    ids = session.execute(sa.insert(table).returning(table.c.id), [
        {"name": name, "consumed_seq": position.seq, "watermark": position.upto, "resolved": list(resolved),
         "records": records, "committed_at": now} for name, position, resolved, records in rows]).scalars()
    return int(max(ids))


def journal_after(session: Session, name: str, journal_id: int) -> list[EvaluatorBatchRow]:
    """The journal rows after ``journal_id``, in commit order."""
    q = (select(EvaluatorBatchRow).where(EvaluatorBatchRow.name == name, col(EvaluatorBatchRow.id) > journal_id)
         .order_by(col(EvaluatorBatchRow.id)))
    return list(session.exec(q))


def last_checkpoint(session: Session, name: str) -> EvaluatorCheckpointRow | None:
    """The checkpoint of evaluator ``name``, if one was written."""
    return session.get(EvaluatorCheckpointRow, name)


def write_checkpoint(session: Session, name: str, evaluator: Evaluator, position: Position, *, journal_id: int,
                     now: datetime, who: str = "", journal_names: Collection[str] = ()) -> CheckpointWritten:
    """Write the full state at ``position`` (which includes journal rows up to ``journal_id``) in the
    caller's transaction, and drop the journal rows it makes unnecessary (those of ``name``, and of
    ``journal_names``: the lanes of the grouped evaluator, :mod:`integrations.store.grouped_state`)."""
    start = time.perf_counter()
    data = encode_state(evaluator.snapshot())
    store_checkpoint(session, name, data, evaluator.rulebook.version, position, journal_id=journal_id, now=now,
                     who=who, journal_names=journal_names)
    return CheckpointWritten(len(data), time.perf_counter() - start, journal_id)


def store_checkpoint(session: Session, name: str, data: bytes, version: str, position: Position, *,
                     journal_id: int, now: datetime, who: str = "", journal_names: Collection[str] = ()) -> None:
    """Store a state already encoded (:func:`rules.engine.state_codec.encode_state`) as
    :func:`write_checkpoint` does (a state encoded beside the evaluator: :mod:`integrations.store.checkpoint_child`)."""
    row = session.get(EvaluatorCheckpointRow, name) or EvaluatorCheckpointRow(name=name, rulebook_version=version)
    row.rulebook_version = version
    row.consumed_seq, row.watermark, row.journal_id = position.seq, position.upto, journal_id
    row.state, row.size_bytes, row.written_at, row.written_by = data, len(data), now, who[:200]
    session.add(row)
    _prune_journal(session, [name, *journal_names], journal_id)
    session.flush()


def _prune_journal(session: Session, names: Collection[str], journal_id: int) -> None:
    """Drop the journal rows of ``names`` that a checkpoint including ``journal_id`` makes unnecessary."""
    # The row ``journal_id`` itself stays: SQLite numbers a new row after the highest one left, and ids
    # must keep growing past the checkpoint's.
    session.execute(sa.delete(EvaluatorBatchRow).where(col(EvaluatorBatchRow.name).in_(list(names)),
                                                       col(EvaluatorBatchRow.id) < journal_id))


def replay(session: Session, evaluator: Evaluator, start: Position, rows: Sequence[EvaluatorBatchRow],
           start_journal_id: int) -> Replayed:
    """Feed ``evaluator`` (at ``start``) the batches of the journal ``rows`` again, from the stored records,
    resolving before each what was resolved before it then. Writes nothing (see the module)."""
    position, records, last = start, 0, start_journal_id
    for row in rows:
        for fingerprint in row.resolved:
            evaluator.resolve(fingerprint)
        after = Position(row.consumed_seq, row.watermark)
        batch = consumed_between(session, position, after)
        if batch:
            evaluator.feed(batch)
        records += len(batch)
        position = after
        last = row.id if row.id is not None else last
    return Replayed(len(rows), records, position, last)
