"""A rule edit keeps history (issue 17): the new rulebook's state rebuilt from the stored records, audited.

When the rulebook version differs from the one the evaluator's checkpoint (or legacy state) was built
with, that state cannot be continued. Instead of starting with empty windows, :func:`rebuild` feeds a
fresh evaluator of the new rules the records it has already consumed (``seq <= position.seq`` and
``at <= position.upto``) of each kind's lookback (:func:`rules.engine.lookback.kind_lookbacks`: windows,
baseline history, partial sequences, pending absences, and the producers of chained rules), in the
engine's order. The replay writes no warning and sends nothing:

- the store's open warnings are the evaluator's open warnings from the start — except those a chained
  rule's window may still count, opened since ``ahead`` (:func:`rules.engine.lookback.ahead`) before the
  position, whose opening the replay reproduces — so replayed firings of those fingerprints fold into
  them silently (no chained record either, as in a backtest that had them open);
- a replayed firing that would open or raise a warning belongs to history: it is not written. It does
  feed the chained rules (cluster windows count it, as a backtest would), but after the replay the
  evaluator's open warnings are exactly the store's again (:meth:`Evaluator.adopt`), at the store's
  level. A new rule whose condition still holds therefore opens its warning — and notifies — at its next
  firing after the edit, and a rule whose new levels put an open warning higher raises it (and notifies)
  at its next firing; an open warning is never notified again for what it already said.

So going forward from the edit the live warnings are those of the new rulebook run over the same history
(a backtest), except that nothing before the edit is announced after the fact. Limits: whether a chained
producer's warning was *already open* before the lookback (and so made no chained record) is taken from
the store, not recomputed; warnings resolved by responders inside the lookback are replayed as if open.

The change is audited (one ``rulebook-changed`` row, no warning): old and new version, the files that
changed (by each file's content digest, compared with the previous version's row), event and wall time,
and the process. A fresh checkpoint of the rebuilt state is written in the same transaction, so a restart
neither rebuilds nor audits again.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.messages import N_, Message
from domain.warnings import Change, Level, Status, WarningState
from integrations.store.audit import append_audit
from integrations.store.models import AuditRow, RecordRow, WarningRow
from integrations.store.release import Position
from integrations.store.stored_records import RECORD_COLUMNS, stored_record
from rules.engine.evaluate import Evaluator
from rules.engine.lookback import ahead, kind_lookbacks
from rules.language.loader import Rulebook

__all__ = ["RULEBOOK_CHANGED", "Rebuilt", "audit_rulebook", "previous_files", "rebuild"]

RULEBOOK_CHANGED = "rulebook-changed"
"""Audit action of a rulebook version change seen by the live evaluator (``warning_id`` empty)."""

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
_CHUNK = 20_000


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild replayed: records, from when (per kind), and the firings it kept silent."""

    records: int
    since: dict[str, str]
    """Per kind, the earliest ``at`` replayed (ISO text; the lookback's start)."""
    historic: int
    """Replayed firings that would have opened or raised a warning: history, not written."""


def _state(row: WarningRow) -> WarningState:
    status = Status.acknowledged if row.status == Status.acknowledged.value else Status.open  # stale is open
    return WarningState(fingerprint=row.fingerprint, rule=row.rule, level=Level(row.level), region=row.region,
                        first_at=row.first_at, last_at=row.last_at, occurrences=row.occurrences,
                        explanation=row.explanation, summary=row.summary, title=row.title,
                        records=tuple(row.records), rulebook_version=row.rulebook_version, status=status)


def _open_warnings(session: Session, rulebook: Rulebook) -> list[WarningState]:
    rules = [r.id for r in rulebook.rules]
    q = select(WarningRow).where(col(WarningRow.open_key).is_not(None), col(WarningRow.rule).in_(rules))
    return [_state(row) for row in session.exec(q)]


def rebuild(session: Session, evaluator: Evaluator, rulebook: Rulebook, position: Position) -> Rebuilt:
    """Rebuild fresh ``evaluator``'s state (of ``rulebook``) at ``position`` from the stored records of
    the lookback, writing nothing (see the module)."""
    open_now = _open_warnings(session, rulebook)
    lookbacks = {k: span for k, span in kind_lookbacks(rulebook.rules).items() if span > timedelta(0)}
    if position.upto is None or not lookbacks:
        evaluator.adopt(open_now)
        return Rebuilt(0, {}, 0)
    upto = position.upto
    # An open warning whose opening the replay may not reproduce faithfully is open from the start: its
    # replayed firings fold into it, and no chained record says it opened when it had not.
    faithful = ahead(rulebook.rules)
    evaluator.adopt(w for w in open_now if w.first_at <= upto - faithful.get(w.rule, timedelta(0)))
    per_kind = sa.or_(*(sa.and_(_REC.c.kind == k, _REC.c.at > upto - span) for k, span in sorted(lookbacks.items())))
    q = (sa.select(*RECORD_COLUMNS).where(_REC.c.seq <= position.seq, _REC.c.at <= upto, per_kind)
         .order_by(_REC.c.at, _REC.c.source, _REC.c.source_id).execution_options(yield_per=_CHUNK))
    records = historic = 0
    for part in session.execute(q).partitions():
        batch = [stored_record(row) for row in part]
        changes = evaluator.feed(batch)
        historic += sum(1 for _, change in changes if change is not Change.updated)
        records += len(batch)
    evaluator.errors = []  # a record the new rules leave out is told when it is evaluated live, not here
    evaluator.adopt(open_now)
    return Rebuilt(records, {k: (upto - span).isoformat() for k, span in sorted(lookbacks.items())}, historic)


def previous_files(session: Session, version: str) -> dict[str, str] | None:
    """The per-file digests the audit recorded for ``version`` (None: never recorded)."""
    q = (select(AuditRow).where(AuditRow.action == RULEBOOK_CHANGED, col(AuditRow.warning_id).is_(None))
         .order_by(col(AuditRow.id).desc()).limit(50))
    for row in session.exec(q):
        if row.detail.get("new_version") == version and isinstance(row.detail.get("files"), dict):
            return {str(k): str(v) for k, v in row.detail["files"].items()}
    return None


def audit_rulebook(session: Session, *, old_version: str, rulebook: Rulebook, event_at: datetime | None,
                   now: datetime, who: str, rebuilt: Rebuilt | None) -> AuditRow:
    """Audit a rulebook version change (``old_version`` empty: the first one this store evaluates)."""
    files = dict(rulebook.digests)
    before = previous_files(session, old_version) if old_version else {}
    detail: dict[str, Any] = {"old_version": old_version, "new_version": rulebook.version, "files": files,
                              "event_at": event_at.isoformat() if event_at else None, "wall_at": now.isoformat(),
                              "process": who, "host": socket.gethostname(), "pid": os.getpid()}
    if before is None:
        detail["changed"] = None  # the previous version's files were never recorded (before this audit existed)
    else:
        detail["changed"] = sorted(n for n in files if n in before and before[n] != files[n])
        detail["added"] = sorted(set(files) - set(before))
        detail["removed"] = sorted(set(before) - set(files))
    if rebuilt is not None:
        detail.update(replayed=rebuilt.records, replayed_since=rebuilt.since, historic_firings=rebuilt.historic)
    if rulebook.failed:
        detail["failed"] = list(rulebook.failed)
    changed = detail["changed"]
    names = ("、".join(changed + detail["added"] + detail["removed"]) or Message(N_("（内容未变）"))
             if changed is not None else Message(N_("（旧版本文件未记录）")))
    reason = Message(N_("规则库版本变更 {old} → {new}：{names}；按新规则重放 {n} 条历史记录重建窗口，历史触发不再通知"),
                     old=old_version[:12] or Message(N_("（无）")), new=rulebook.version[:12], names=names,
                     n=rebuilt.records if rebuilt else 0)
    return append_audit(session=session, warning_id=None, actor=f"system:evaluator {who}".strip(),
                        action=RULEBOOK_CHANGED, reason=reason, detail=detail, at=now)
