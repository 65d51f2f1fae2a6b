"""Live evaluation against the store: continue from the saved evaluator state, consume new records,
write the warnings they open or raise, and save the state — all in one transaction per batch, which the
caller (``integrations.evaluation.evaluate_pending``) also routes the warnings in.

A crash anywhere before the commit leaves the store as it was: the next run consumes the same records
from the same state and produces the same warnings, so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from domain.records import Record
from integrations.store.db import session_scope
from integrations.store.models import EvaluatorStateRow
from integrations.store.records import seq_records_after
from integrations.store.warnings import ApplyReport, apply_changes, open_fingerprints
from rules.engine.evaluate import Evaluator
from rules.language.loader import Rulebook

STATE_NAME = "main"


@dataclass
class EvaluationReport:
    """What one live evaluation did."""

    records: int = 0
    late: int = 0
    opened: int = 0
    updated: int = 0
    raised: int = 0
    rulebook_version: str = ""
    batches: int = 0
    restarted: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, applied: ApplyReport) -> None:
        """Fold one batch's counts in."""
        self.opened += applied.opened
        self.updated += applied.updated
        self.raised += applied.raised


def _mark_late(session: Session, evaluator: Evaluator, batch: list[tuple[int, Record]]) -> list[Record]:
    """The batch's records, those behind the watermark marked late (here and in the store).

    A late record is still evaluated at once (DESIGN decision 1); only late records can make a live run
    and a backtest differ, so they are marked and counted.
    """
    from integrations.store.models import RecordRow

    watermark = getattr(evaluator.engine, "watermark", None)
    if not isinstance(watermark, float) or watermark == float("-inf"):
        return [r for _, r in batch]
    out: list[Record] = []
    late_seqs: list[int] = []
    for seq, record in batch:
        if record.at.timestamp() < watermark and not record.late:
            record = record.model_copy(update={"late": True})
            late_seqs.append(seq)
        out.append(record)
    if late_seqs:
        session.execute(sa.update(RecordRow).where(col(RecordRow.seq).in_(late_seqs)).values(late=True))
    return out


def _load(session: Session, rulebook: Rulebook, engine_name: str) -> tuple[Evaluator, int, bool]:
    state = session.get(EvaluatorStateRow, STATE_NAME)
    if state is not None and state.rulebook_version == rulebook.version and state.state:
        evaluator = Evaluator.restore(rulebook, state.state, engine=engine_name)
        restarted = False
    else:
        # A new rulebook starts with empty windows; its warnings fold into the open ones by fingerprint.
        evaluator = Evaluator(rulebook, engine=engine_name)
        restarted = state is not None
    # Warnings resolved by responders since the last run: the next firing must open a new one.
    open_in_evaluator = [w.fingerprint for w in evaluator.warnings()]
    still_open = open_fingerprints(session=session, fingerprints=open_in_evaluator)
    for fp in open_in_evaluator:
        if fp not in still_open:
            evaluator.resolve(fp)
    return evaluator, (state.consumed_seq if state else 0), restarted


@dataclass
class Batch:
    """One batch evaluated in the caller's transaction: its records, the warnings written, the last seq."""

    records: list[Record]
    applied: ApplyReport
    consumed: int


def load_evaluator(engine: sa.Engine, rulebook: Rulebook, engine_name: str) -> tuple[Evaluator, int, bool]:
    """The evaluator as saved (or a fresh one for a new rulebook), the last consumed seq, and whether it
    restarted; warnings resolved in the store since are resolved in the evaluator too."""
    with session_scope(engine) as session:
        return _load(session, rulebook, engine_name)


def evaluate_batch(session: Session, evaluator: Evaluator, consumed: int, *, now: datetime,
                   batch_size: int) -> Batch | None:
    """Feed the records after ``consumed`` (up to ``batch_size``) and write the warnings they open or raise
    (``apply_changes``); None when there is nothing new. The caller routes ``applied.to_route`` and saves
    the state (:func:`save_state`) in the same transaction."""
    batch = seq_records_after(session=session, seq=consumed, limit=batch_size)
    if not batch:
        return None
    records = _mark_late(session, evaluator, batch)
    applied = apply_changes(session=session, changes=evaluator.feed(records), now=now)
    return Batch(records, applied, batch[-1][0])


def save_state(session: Session, evaluator: Evaluator, rulebook: Rulebook, consumed: int, now: datetime) -> None:
    """Save the evaluator's state and the last consumed seq, in the caller's transaction."""
    state = session.get(EvaluatorStateRow, STATE_NAME) or EvaluatorStateRow(
        name=STATE_NAME, rulebook_version=rulebook.version)
    state.rulebook_version = rulebook.version
    state.consumed_seq = consumed
    state.state = evaluator.snapshot()
    state.updated_at = now
    session.add(state)
