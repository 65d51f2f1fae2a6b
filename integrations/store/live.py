"""Live evaluation against the store: continue from the saved evaluator state, consume new records,
write the warnings they open or raise, and save the state — all in one transaction per batch, which the
caller (``integrations.evaluation.evaluate_pending``) also routes the warnings in.

A crash anywhere before the commit leaves the store as it was: the next run consumes the same records
from the same state and produces the same warnings, so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from domain.records import Record
from domain.regions import ancestors
from domain.warnings import Change, Level, WarningState
from integrations.store.db import session_scope
from integrations.store.intake import quarantine
from integrations.store.models import EvaluatorStateRow
from integrations.store.release import Position, next_batch
from integrations.store.warnings import ApplyReport, apply_changes, open_fingerprints
from rules.engine.budget import RULEBOOK_ERROR_RULE
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


def sync_resolved(session: Session, evaluator: Evaluator) -> None:
    """Warnings resolved by responders since: resolved in the evaluator too (the next firing opens anew)."""
    open_in_evaluator = [w.fingerprint for w in evaluator.warnings()]
    still_open = open_fingerprints(session=session, fingerprints=open_in_evaluator)
    for fp in open_in_evaluator:
        if fp not in still_open:
            evaluator.resolve(fp)


def _load(session: Session, rulebook: Rulebook, engine_name: str) -> tuple[Evaluator, Position, bool]:
    state = session.get(EvaluatorStateRow, STATE_NAME)
    if state is not None and state.rulebook_version == rulebook.version and state.state:
        evaluator = Evaluator.restore(rulebook, state.state, engine=engine_name)
        restarted = False
    else:
        # A new rulebook starts with empty windows; its warnings fold into the open ones by fingerprint.
        evaluator = Evaluator(rulebook, engine=engine_name)
        restarted = state is not None
    sync_resolved(session, evaluator)
    if state is None:
        return evaluator, Position(), restarted
    upto = state.watermark
    if upto is None and state.consumed_seq:
        # Saved before positions had an event-time part: everything up to its seq was consumed.
        from integrations.store.models import RecordRow

        at = RecordRow.__table__.c.at  # type: ignore[attr-defined]
        upto = session.execute(sa.select(sa.func.max(at)).where(
            RecordRow.__table__.c.seq <= state.consumed_seq)).scalar()  # type: ignore[attr-defined]
    return evaluator, Position(state.consumed_seq, upto), restarted


def _error_warning(key: str, title: str, summary: str, region: str, at: datetime, version: str,
                   records: tuple[str, ...] = ()) -> tuple[WarningState, Change]:
    fingerprint = hashlib.sha256(f"{RULEBOOK_ERROR_RULE}|{key}".encode()).hexdigest()
    return WarningState(fingerprint=fingerprint, rule=RULEBOOK_ERROR_RULE, level=Level.blue, region=region,
                        first_at=at, last_at=at, occurrences=1, explanation=summary, summary=summary, title=title,
                        records=records, rulebook_version=version), Change.opened


def _error_warnings(session: Session, rulebook: Rulebook, evaluator: Evaluator, records: list[Record],
                    report: EvaluationReport) -> list[tuple[WarningState, Change]]:
    """Quarantine the records the engine left out; warnings for them and (once per run) the failed files."""
    out: list[tuple[WarningState, Change]] = []
    by_ref = {r.ref: r for r in records}
    for error in evaluator.errors:
        report.errors.append(str(error))
        record = by_ref.get(error.record)
        if record is None:
            continue
        quarantine(session=session, source=record.source, page=None, raw=record.model_dump_json(),
                   reason=f"研判 evaluation: {error}", source_id=record.id)
        city = ancestors(record.region).get("city", record.region)
        out.append(_error_warning(f"record|{error.record}|{error.rule}", f"记录无法研判：规则 {error.rule}",
                                  str(error), city, record.at, rulebook.version, (error.record,)))
    if rulebook.failed and records and not report.batches:
        city = ancestors(records[-1].region).get("city", records[-1].region)
        for name in rulebook.failed:
            msgs = "；".join(str(e) for e in rulebook.errors if e.file == name)
            summary = (f"规则文件 {name} 未加载，其规则未运行（其余规则照常运行）：{msgs}。"
                       "请修正后运行 fenghuo rules check")
            out.append(_error_warning(f"file|{name}|{rulebook.version}", f"规则文件加载失败：{name}",
                                      summary[:2000], city, records[-1].at, rulebook.version))
    return out


@dataclass
class Batch:
    """One batch evaluated in the caller's transaction: its records, the warnings written, the position
    after it."""

    records: list[Record]
    applied: ApplyReport
    position: Position


def load_evaluator(engine: sa.Engine, rulebook: Rulebook, engine_name: str) -> tuple[Evaluator, Position, bool]:
    """The evaluator as saved (or a fresh one for a new rulebook), its position, and whether it
    restarted; warnings resolved in the store since are resolved in the evaluator too."""
    with session_scope(engine) as session:
        return _load(session, rulebook, engine_name)


def evaluate_batch(session: Session, evaluator: Evaluator, position: Position, *, now: datetime,
                   batch_size: int, bound: datetime | None = None, rulebook: Rulebook | None = None,
                   report: EvaluationReport | None = None) -> Batch | None:
    """Feed the next batch after ``position`` released by ``bound`` (:func:`integrations.store.release.next_batch`)
    and write the warnings it opens or raises (``apply_changes``); None when there is nothing to do. The
    caller routes ``applied.to_route`` and saves the state (:func:`save_state`) in the same transaction."""
    batch, after, _late = next_batch(session, position, bound, limit=batch_size)
    if not batch:
        return None
    records = _mark_late(session, evaluator, batch)
    changes = evaluator.feed(records)
    if rulebook is not None and report is not None:
        changes += _error_warnings(session, rulebook, evaluator, records, report)
    applied = apply_changes(session=session, changes=changes, now=now)
    return Batch(records, applied, after)


def save_state(session: Session, evaluator: Evaluator, rulebook: Rulebook, position: Position,
               now: datetime) -> None:
    """Save the evaluator's state and its position, in the caller's transaction."""
    state = session.get(EvaluatorStateRow, STATE_NAME) or EvaluatorStateRow(
        name=STATE_NAME, rulebook_version=rulebook.version)
    state.rulebook_version = rulebook.version
    state.consumed_seq = position.seq
    state.watermark = position.upto
    state.state = evaluator.snapshot()
    state.updated_at = now
    session.add(state)
