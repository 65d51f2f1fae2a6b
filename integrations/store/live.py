"""Live evaluation against the store: continue from the saved evaluator state, consume new records,
write the warnings they open or raise, and save the state — all in one transaction.

A crash anywhere before the commit leaves the store as it was: the next run consumes the same records
from the same state and produces the same warnings, so nothing is lost and nothing is doubled.

What could not be evaluated reaches the administrators as a blue warning of the reserved rule
``rulebook-error`` at the city root (:func:`_error_warnings`): a rule file that failed to load (its
rules do not run; the others do) and each record the engine left out (:mod:`rules.engine.budget`),
which is also quarantined with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.records import Record
from domain.regions import ancestors
from domain.warnings import Change, Level, WarningState
from integrations.store.db import session_scope
from integrations.store.intake import quarantine
from integrations.store.models import EvaluatorStateRow, WarningRow
from integrations.store.records import seq_records_after
from integrations.store.warnings import ApplyReport, Router, apply_changes
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

    A late record is still evaluated at once (docs/design.md#event-time); only late records can make a live run
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
    if open_in_evaluator:
        still_open = set(session.exec(
            select(WarningRow.fingerprint).where(col(WarningRow.open_key).in_(open_in_evaluator))))
        for fp in open_in_evaluator:
            if fp not in still_open:
                evaluator.resolve(fp)
    return evaluator, (state.consumed_seq if state else 0), restarted


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


def evaluate_pending(
    engine: sa.Engine,
    rulebook: Rulebook,
    *,
    now: datetime,
    router: Router | None = None,
    batch_size: int = 20_000,
    engine_name: str = "durable",
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """Evaluate every record that arrived since the last run, batch by batch (one transaction each)."""
    report = EvaluationReport(rulebook_version=rulebook.version)
    with session_scope(engine) as session:
        evaluator, consumed, report.restarted = _load(session, rulebook, engine_name)
    while True:
        # One transaction per batch: the warnings, their outbox rows and the evaluator's state commit
        # together. If it fails, the exception ends the run and the next run starts from this state.
        with session_scope(engine) as session:
            batch = seq_records_after(session=session, seq=consumed, limit=batch_size)
            if not batch:
                return report
            records = _mark_late(session, evaluator, batch)
            changes = evaluator.feed(records)
            changes += _error_warnings(session, rulebook, evaluator, records, report)
            report.add(apply_changes(session=session, changes=changes, now=now, router=router))
            consumed = batch[-1][0]
            state = session.get(EvaluatorStateRow, STATE_NAME) or EvaluatorStateRow(
                name=STATE_NAME, rulebook_version=rulebook.version)
            state.rulebook_version = rulebook.version
            state.consumed_seq = consumed
            state.state = evaluator.snapshot()
            state.updated_at = now
            session.add(state)
        report.records += len(records)
        report.late += sum(1 for r in records if r.late)
        report.batches += 1
        if progress is not None:
            progress(len(records))
