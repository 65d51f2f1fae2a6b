"""Live evaluation against the store: continue from the evaluator's checkpoint and the batches committed
after it, consume new records, write the warnings they open or raise, and save the position and a journal
row (:mod:`integrations.store.checkpoint`) — all in one transaction per batch, which the
caller (``integrations.evaluation.evaluate_pending``) also routes the warnings in.

A crash anywhere before the commit leaves the store as it was: the next run consumes the same records
from the same state and produces the same warnings, so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from domain.messages import N_, Message, joined
from domain.records import Record
from domain.regions import ancestors
from domain.warnings import Change, Level, WarningState
from integrations.store.checkpoint import journal_after, last_checkpoint, replay, write_checkpoint
from integrations.store.columns import utcnow
from integrations.store.db import session_scope
from integrations.store.intake import quarantine
from integrations.store.models import EvaluatorStateRow
from integrations.store.rebuild import Rebuilt, audit_rulebook, previous_files, rebuild
from integrations.store.release import Position, next_batch
from integrations.store.warnings import ApplyReport, apply_changes, open_fingerprints
from rules.engine.budget import RULEBOOK_ERROR_RULE, EvaluationError
from rules.engine.evaluate import Evaluator
from rules.engine.state_codec import decode_state
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


def mark_late(session: Session, evaluator: Evaluator, batch: list[tuple[int, Record]]) -> list[Record]:
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


def sync_resolved(session: Session, evaluator: Evaluator) -> list[str]:
    """Warnings resolved by responders since: resolved in the evaluator too (the next firing opens anew).
    Returns their fingerprints: the next batch's journal row records them, so a replay resolves them
    at the same point."""
    open_in_evaluator = [w.fingerprint for w in evaluator.warnings()]
    still_open = open_fingerprints(session=session, fingerprints=open_in_evaluator)
    gone = [fp for fp in open_in_evaluator if fp not in still_open]
    for fp in gone:
        evaluator.resolve(fp)
    return gone


@dataclass
class Loaded:
    """The evaluator as a run continues it: state, position, and how it got there."""

    evaluator: Evaluator
    position: Position
    restarted: bool
    """A new rulebook version: the state was rebuilt from the stored records (:attr:`rebuilt`)."""
    journal_id: int = 0
    """The last journal row the state includes."""
    replayed: int = 0
    """Records fed again after the checkpoint (the journal's batches)."""
    resolved: list[str] = field(default_factory=list)
    """Fingerprints resolved at load (the next journal row records them)."""
    checkpoint_at: datetime | None = None
    """When the checkpoint continued from was written (None: a checkpoint is due now)."""
    rebuilt: Rebuilt | None = None
    """What the rebuild for a new rulebook version replayed."""


def _legacy_position(session: Session, state: EvaluatorStateRow) -> Position:
    upto = state.watermark
    if upto is None and state.consumed_seq:
        # Saved before positions had an event-time part: everything up to its seq was consumed.
        from integrations.store.models import RecordRow

        at = RecordRow.__table__.c.at  # type: ignore[attr-defined]
        upto = session.execute(sa.select(sa.func.max(at)).where(
            RecordRow.__table__.c.seq <= state.consumed_seq)).scalar()  # type: ignore[attr-defined]
    return Position(state.consumed_seq, upto)


def _last_journal_id(session: Session) -> int:
    rows = journal_after(session, STATE_NAME, 0)
    return rows[-1].id or 0 if rows else 0


def _load(session: Session, rulebook: Rulebook, engine_name: str, now: datetime, who: str) -> Loaded:
    state = session.get(EvaluatorStateRow, STATE_NAME)
    ck = last_checkpoint(session, STATE_NAME)
    if ck is not None and ck.rulebook_version == rulebook.version:
        # The usual restart: the checkpoint, then the batches committed after it, fed again.
        evaluator = Evaluator.restore(rulebook, decode_state(ck.state), engine=engine_name)
        done = replay(session, evaluator, Position(ck.consumed_seq, ck.watermark),
                      journal_after(session, STATE_NAME, ck.journal_id), ck.journal_id)
        loaded = Loaded(evaluator, done.position, False, done.last_journal_id, done.records,
                        checkpoint_at=ck.written_at)
    elif ck is None and state is not None and state.rulebook_version == rulebook.version and state.state:
        # A state saved as JSON per batch (before checkpoints): continued, and checkpointed at once.
        evaluator = Evaluator.restore(rulebook, state.state, engine=engine_name)
        loaded = Loaded(evaluator, _legacy_position(session, state), False, _last_journal_id(session))
    elif ck is None and state is None:
        # A store never evaluated; or one whose first checkpoint a crash prevented: its journal from the start.
        evaluator = Evaluator(rulebook, engine=engine_name)
        done = replay(session, evaluator, Position(), journal_after(session, STATE_NAME, 0), 0)
        loaded = Loaded(evaluator, done.position, False, done.last_journal_id, done.records)
        if not done.batches and previous_files(session, rulebook.version) is None:
            # The first version evaluated: its files are recorded, so the first edit can name those it changes.
            audit_rulebook(session, old_version="", rulebook=rulebook, event_at=None, now=now, who=who, rebuilt=None)
    else:
        # A new rulebook version: its state rebuilt from the stored records of its lookback, the open
        # warnings kept, nothing announced again; audited and checkpointed at once (integrations.store.rebuild).
        assert state is not None  # nosec B101  # a checkpoint is never written without a position
        evaluator = Evaluator(rulebook, engine=engine_name)
        position, journal_id = _legacy_position(session, state), _last_journal_id(session)
        rebuilt = rebuild(session, evaluator, rulebook, position)
        old = ck.rulebook_version if ck is not None else state.rulebook_version
        audit_rulebook(session, old_version=old, rulebook=rulebook, event_at=position.upto, now=now, who=who,
                       rebuilt=rebuilt)
        # The journal's batches are behind the position: this checkpoint drops them.
        write_checkpoint(session, STATE_NAME, evaluator, position, journal_id=journal_id, now=now, who=who)
        loaded = Loaded(evaluator, position, True, journal_id, checkpoint_at=now, rebuilt=rebuilt)
    loaded.resolved = sync_resolved(session, evaluator)
    return loaded


def _error_warning(key: str, title: str, summary: str, region: str, at: datetime, version: str,
                   records: tuple[str, ...] = ()) -> tuple[WarningState, Change]:
    fingerprint = hashlib.sha256(f"{RULEBOOK_ERROR_RULE}|{key}".encode()).hexdigest()
    return WarningState(fingerprint=fingerprint, rule=RULEBOOK_ERROR_RULE, level=Level.blue, region=region,
                        first_at=at, last_at=at, occurrences=1, explanation=summary, summary=summary, title=title,
                        records=records, rulebook_version=version), Change.opened


def error_warnings(session: Session, rulebook: Rulebook, errors: Sequence[EvaluationError], records: list[Record],
                   report: EvaluationReport) -> list[tuple[WarningState, Change]]:
    """Quarantine the records the engine left out; warnings for them and (once per run) the failed files."""
    out: list[tuple[WarningState, Change]] = []
    by_ref = {r.ref: r for r in records}
    for error in errors:
        report.errors.append(str(error))
        record = by_ref.get(error.record)
        if record is None:
            continue
        quarantine(session=session, source=record.source, page=None, raw=record.model_dump_json(),
                   reason=f"研判 evaluation: {error}", source_id=record.id)
        city = ancestors(record.region).get("city", record.region)
        title = Message(N_("记录无法研判：规则 {rule}"), rule=error.rule)
        out.append(_error_warning(f"record|{error.record}|{error.rule}", title, str(error), city, record.at,
                                  rulebook.version, (error.record,)))
    if rulebook.failed and records and not report.batches:
        city = ancestors(records[-1].region).get("city", records[-1].region)
        for name in rulebook.failed:
            msgs = joined((str(e) for e in rulebook.errors if e.file == name), Message(N_("；")))
            summary = Message(N_("规则文件 {name} 未加载，其规则未运行（其余规则照常运行）：{msgs}。"
                                 "请修正后运行 fenghuo rules check"), name=name, msgs=msgs)
            title = Message(N_("规则文件加载失败：{name}"), name=name)
            out.append(_error_warning(f"file|{name}|{rulebook.version}", title, summary[:2000], city,
                                      records[-1].at, rulebook.version))
    return out


@dataclass
class Batch:
    """One batch evaluated in the caller's transaction: its records, the warnings written, the position
    after it."""

    records: list[Record]
    applied: ApplyReport
    position: Position


def load_evaluator(engine: sa.Engine, rulebook: Rulebook, engine_name: str, *, now: datetime | None = None,
                   who: str = "") -> Loaded:
    """The evaluator as the last committed batch left it — its checkpoint and the batches after it
    replayed (:mod:`integrations.store.checkpoint`) — or, for a new rulebook version, one rebuilt from
    the stored records (:mod:`integrations.store.rebuild`; audited as done by ``who`` at wall time
    ``now``); warnings resolved in the store since are resolved in the evaluator too."""
    with session_scope(engine) as session:
        return _load(session, rulebook, engine_name, now or utcnow(), who)


def evaluate_batch(session: Session, evaluator: Evaluator, position: Position, *, now: datetime,
                   batch_size: int, bound: datetime | None = None, rulebook: Rulebook | None = None,
                   report: EvaluationReport | None = None) -> Batch | None:
    """Feed the next batch after ``position`` released by ``bound`` (:func:`integrations.store.release.next_batch`)
    and write the warnings it opens or raises (``apply_changes``); None when there is nothing to do. The
    caller routes ``applied.to_route`` and saves the position (:func:`save_position`) in the same transaction."""
    batch, after, _late = next_batch(session, position, bound, limit=batch_size)
    if not batch:
        return None
    records = mark_late(session, evaluator, batch)
    changes = evaluator.feed(records)
    if rulebook is not None and report is not None:
        changes += error_warnings(session, rulebook, evaluator.errors, records, report)
    applied = apply_changes(session=session, changes=changes, now=now)
    return Batch(records, applied, after)


def save_position(session: Session, rulebook: Rulebook, position: Position, now: datetime,
                  name: str = STATE_NAME) -> None:
    """Save the evaluator's position (the state itself goes into checkpoints), in the caller's transaction.
    ``name``: the grouped evaluator's (:mod:`integrations.store.grouped_state`) is the furthest ``seq`` read
    and its slowest group's time, what operators and benches watch. One ``UPDATE`` a pass (the row is
    inserted once); the JSON state of old goes with it, since a checkpoint holds the state now."""
    table: sa.Table = EvaluatorStateRow.__table__  # type: ignore[attr-defined]
    values = {"rulebook_version": rulebook.version, "consumed_seq": position.seq, "watermark": position.upto,
              "state": {}, "updated_at": now}
    if session.execute(sa.update(table).where(table.c.name == name).values(**values)).rowcount == 0:  # type: ignore[attr-defined]
        session.execute(sa.insert(table).values(name=name, **values))
