"""Live evaluation per release group (issue 17): a rule fed by one department takes its records at once.

Releasing every record by one global bound — the slowest live source's watermark — made a serious
incident wait for the civil-affairs department. Here the rules are split into release groups
(:mod:`rules.run.release_groups`), each with its own evaluator (:mod:`rules.run.grouped`) and its own
reorder buffer, released by the watermarks of the sources that feed it alone:

- **One read of the log per pass.** The records committed since the last pass (``seq`` above the one
  read) are read once and handed to every group whose kinds they are: a record already behind the
  group's position is *late* for it — evaluated at once and marked late, as before; the others wait in
  the group's buffer (a heap in event-time order).
- **Release per group.** Each group takes from its buffer every record up to its *clock*: the release
  bound of its own sources (:func:`domain.watermarks.release_bound`) but never beyond the latest ``at``
  stored (the v1 rule of backtests). The clock also moves the group's time, so an absence fires only
  once every source feeding it has passed its deadline. Producer groups are fed before the chained
  group, which takes their warnings at their single-run places (:mod:`rules.run.chain_buffer`).
- **One transaction per pass.** Every group's warnings, their routing and outbox rows, and one journal
  row per group that moved commit together; the state is checkpointed every few minutes or so many
  records, all groups at once (:mod:`integrations.store.grouped_state`). A crash loses nothing: the next
  start restores the checkpoint, replays the journal and reads the buffers back from the store.

Within their declared lateness the warnings therefore equal one backtest over all records, whatever the
order and timing of the deliveries (``tests/integrations/test_live_order.py``).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from domain.records import Record
from domain.watermarks import SourceMark, SourceTiming
from integrations.evaluation import LiveEvaluator, _sweep_stale
from integrations.i18n import _
from integrations.live_lane import Lane
from integrations.route import Routing, route_changes, route_repeats
from integrations.store.checkpoint import CheckpointWritten, journal_lanes
from integrations.store.checkpoint_child import CAN_FORK, GroupsChild
from integrations.store.columns import utcnow
from integrations.store.db import session_scope
from integrations.store.grouped_state import GROUPED, AllGroups, load_grouped, write_grouped_checkpoint
from integrations.store.live import EvaluationReport, error_warnings, save_position
from integrations.store.models import RecordRow
from integrations.store.record_reads import earliest_at_after_seq
from integrations.store.release import Position
from integrations.store.resolved_watch import ResolvedWatch
from integrations.store.stored_records import SEQ_RECORD_COLUMNS, seq_record
from integrations.store.warnings import apply_changes
from integrations.store.watermarks import source_marks
from rules.engine.windows import seconds
from rules.language.loader import Rulebook
from rules.run.chain_buffer import key_of
from rules.run.release_groups import plan_release

__all__ = ["GroupedLiveEvaluator"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
log = logging.getLogger(__name__)


class GroupedLiveEvaluator(LiveEvaluator):
    """The live evaluator with one evaluator per release group (see the module). ``kinds``: each record
    kind's sources (:func:`rules.run.release_groups.kind_sources` of ``sources.yaml``); the rest as
    :class:`~integrations.evaluation.LiveEvaluator`; ``background_checkpoints``: encode the periodic checkpoints
    beside the evaluator (:mod:`integrations.store.checkpoint_child`), as the resident evaluator does."""

    def __init__(self, engine: sa.Engine, rulebook: Rulebook, kinds: Mapping[str, frozenset[str]], *,
                 routing: Routing | None = None, timings: Mapping[str, SourceTiming] | None = None,
                 batch_size: int = 20_000, engine_name: str = "durable", watch_sources: bool = False,
                 checkpoint_every: tuple[float, int] | None = None, who: str = "",
                 background_checkpoints: bool = False) -> None:
        self._configure(engine, rulebook, routing=routing, timings=timings, batch_size=batch_size,
                        watch_sources=watch_sources, checkpoint_every=checkpoint_every, who=who)
        # The resident evaluator encodes its checkpoints in a child process (its state is tens of MB).
        self._child = GroupsChild() if background_checkpoints and CAN_FORK else None
        self._fork_due = False
        self.plan = plan_release(rulebook.rules, kinds)
        with session_scope(engine) as session:
            loaded = load_grouped(session, rulebook, self.plan, engine_name, now=utcnow(), who=who)
            self.groups: AllGroups = loaded.groups
            self._watch_resolved = ResolvedWatch()
            self._resolved = self._watch_resolved.sync(session, self.groups, utcnow())
            self._lanes = self._buffers(session)
        self._by_group = {ln.group: ln for ln in self._lanes}
        self.restarted, self.rebuilt, self.replayed = loaded.restarted, loaded.rebuilt, loaded.replayed
        self._journal_id, self._checkpoint_at, self._since = loaded.journal_id, loaded.checkpoint_at, loaded.replayed
        self.last_checkpoint: CheckpointWritten | None = None
        self._fresh, self._stop_writes = True, loaded.fresh

    def _buffers(self, session: Session) -> list[Lane]:
        """The lanes at their positions, their buffers read back from the store: the records each has not
        consumed up to the furthest ``seq`` any has."""
        positions = self.groups.positions
        self._seq = max((p.seq for p in positions.values()), default=0)
        at = _REC.c.at
        self._latest: datetime | None = session.execute(sa.select(sa.func.max(at)).where(
            _REC.c.seq <= self._seq)).scalar()
        evs = self.groups.grouped.groups
        lanes = [Lane(lane, name, evs[name].kinds, evs[name].group.sources, Position(self._seq, positions[lane].upto),
                       evs[name].group.consumes)
                 for lane, name in self.groups.lanes.items()]
        ups = [ln.position.upto for ln in lanes]
        kinds = sorted(set().union(*(ln.kinds for ln in lanes)))
        q = sa.select(*SEQ_RECORD_COLUMNS).where(_REC.c.seq <= self._seq, _REC.c.kind.in_(kinds))
        if ups and all(u is not None for u in ups):
            q = q.where(at > min(u for u in ups if u is not None))
        for row in session.execute(q):
            seq, record = seq_record(row)
            for ln in lanes:
                if record.kind in ln.kinds and (ln.position.upto is None or record.at > ln.position.upto):
                    ln.held.append((key_of(record), seq, record))
        for ln in lanes:
            heapq.heapify(ln.held)
        return lanes

    @property
    def position(self) -> Position:  # type: ignore[override]
        """The slowest group's position (what logs show as evaluated up to)."""
        ups = [ln.position.upto for ln in self._lanes if ln.position.upto is not None]
        return Position(self._seq, min(ups) if ups else None)

    def pending(self, now: datetime) -> tuple[int, int]:
        """Records read but held: ``(releasable now, held back by their groups' watermarks)``, each counted once."""
        with session_scope(self.engine) as session:
            marks = source_marks(session=session)
        ready: set[int] = set()
        held: set[int] = set()
        for ln in self._lanes:
            clock = ln.clock(marks, self.timings, now, self._latest)
            top = seconds(clock) if clock is not None else float("-inf")
            for key, seq, _record in ln.held:
                (ready if key[0] <= top else held).add(seq)
        return len(ready), len(held - ready)

    def _read(self, session: Session) -> list[tuple[int, Record]]:
        q = sa.select(*SEQ_RECORD_COLUMNS).where(_REC.c.seq > self._seq).order_by(_REC.c.seq).limit(self.batch_size)
        return [seq_record(r) for r in session.execute(q)]

    def _unread(self, session: Session) -> datetime | None:
        """Just before the earliest ``at`` of the records not read yet (None: there are none)."""
        first = earliest_at_after_seq(session, self._seq)
        return None if first is None else first - timedelta(microseconds=1)

    def run(self, now: datetime, progress: Callable[[int], None] | None = None) -> EvaluationReport:
        """Evaluate what every group may take now, pass by pass; route what opens or rises."""
        report = EvaluationReport(rulebook_version=self.rulebook.version, restarted=self.restarted)
        event_now: datetime | None = None
        while True:
            with session_scope(self.engine) as session:
                self._store_encoded(session)
                if not self._fresh:
                    self._resolved += self._watch_resolved.sync(session, self.groups, now)
                self._fresh = False
                fresh = self._read(session)
                fed, latest, more = self._pass(session, fresh, source_marks(session=session), now, report)
                if latest is not None and (event_now is None or latest > event_now):
                    event_now = latest
                if not more:
                    # The last pass of the run sweeps in its own transaction: an empty pass after it would
                    # cost a transaction and a read for nothing (records committed meanwhile start the next run).
                    if event_now is not None:
                        _sweep_stale(session, self.rulebook, self.routing, event_now, now)
                    self._watch(session, now)
            if self._fork_due:  # after the commit: the state of a committed pass
                self._fork(now)
            if fed and progress is not None:
                progress(fed)
            if not more:
                return report

    def _pass(self, session: Session, fresh: list[tuple[int, Record]], marks: Mapping[str, SourceMark],
              now: datetime, report: EvaluationReport) -> tuple[int, datetime | None, bool]:
        """One pass in the caller's transaction: ``(records fed, their latest at, more)``; ``more``: a pass
        right after this one could take more now (the read or a group's release stopped at the batch size)."""
        if fresh:
            self._seq = fresh[-1][0]
            top = max(r.at for _, r in fresh)
            self._latest = top if self._latest is None or top > self._latest else self._latest
        late_seqs: set[int] = set()
        changes: list[Any] = []
        errors: list[Any] = []
        fed: dict[str, Record] = {}
        journal: list[tuple[str, Position, list[str], int]] = []
        # A clock never passes a record not yet read (a backlog longer than a pass reads): it stops just
        # before the earliest of them, so they are not taken for late ones and the heaps stay small.
        more = len(fresh) == self.batch_size
        unread = self._unread(session) if more else None
        for ln in self._lanes:
            late: list[Record] = []
            for seq, record in fresh:
                if record.kind not in ln.kinds:
                    continue
                if ln.position.upto is not None and record.at <= ln.position.upto:
                    late_seqs.add(seq)
                    late.append(record if record.late else record.model_copy(update={"late": True}))
                else:
                    heapq.heappush(ln.held, (key_of(record), seq, record))
            clock = ln.clock(marks, self.timings, now, self._latest)
            if clock is not None and unread is not None:
                clock = min(clock, unread)
            if clock is not None and ln.consumes:
                # A chained group never passes its producers: what they have yet to chain may lie behind it.
                ups = [self._by_group[name].position.upto for name in ln.consumes]
                clock = None if any(u is None for u in ups) else min([clock, *(u for u in ups if u is not None)])
            released: list[Record] = []
            upto = ln.position.upto
            if clock is not None and (upto is None or clock > upto):
                released, upto = ln.release(clock, self.batch_size)
                more = more or upto != clock
            batch = sorted(late, key=key_of) + released
            if not batch and upto == ln.position.upto:
                ln.position = Position(self._seq, upto)
                continue
            changes += self.groups.grouped.feed(ln.group, batch, upto if upto != ln.position.upto else None)
            errors += self.groups.grouped.groups[ln.group].evaluator.errors
            ln.position = self.groups.positions[ln.lane] = Position(self._seq, upto)
            journal.append((ln.lane, ln.position, [] if journal else self._resolved, len(batch)))
            fed.update((r.ref, r) for r in batch)
        wrote = bool(journal)
        if wrote:
            self._journal_id = journal_lanes(session, journal, now=now)
        if fresh or wrote:
            save_position(session, self.rulebook, self.position, now, name=GROUPED)
        if not wrote:
            return 0, None, more
        if late_seqs:
            session.execute(sa.update(RecordRow).where(col(RecordRow.seq).in_(sorted(late_seqs))).values(late=True))
        records = list(fed.values())
        changes += error_warnings(session, self.rulebook, errors, records, report)
        applied = apply_changes(session=session, changes=changes, now=now)
        if self.routing is not None:
            route_changes(session, applied.to_route, self.routing, now)
            route_repeats(session, applied.folded, self.routing, self.every, now)
        self._resolved = []
        due = self._checkpoint_due(len(records), now)
        if due and self._child is not None:
            self._fork_due = True
            due = False
        self._checkpointed(self._write_checkpoint(session, now) if due else None, len(records), now)
        report.add(applied)
        report.records += len(records)
        report.late += len(late_seqs)
        report.batches += 1
        return len(records), max((r.at for r in records), default=None), more

    def _write_checkpoint(self, session: Session, now: datetime) -> CheckpointWritten:
        """Every group's state and position at once."""
        return write_grouped_checkpoint(session, self.groups, journal_id=self._journal_id, now=now, who=self.who)

    def _fork(self, now: datetime) -> None:
        """Encode the state in a child (one at a time: while one runs, the checkpoint stays due)."""
        assert self._child is not None  # nosec B101  # only set with a child
        if self._child.start(self.groups, self._journal_id, now):
            self._fork_due, self._checkpoint_at, self._since = False, now, 0

    def _store_encoded(self, session: Session, *, block: bool = False) -> None:
        """Store what a child encoded, once it has ended (in the caller's transaction)."""
        if self._child is None:
            return
        done = self._child.store(session, version=self.rulebook.version, who=self.who, block=block)
        if done is False:
            log.error(_("检查点编码子进程失败；下一批次重试（上一检查点与批次日志仍完整，不丢数据）"))
            self._checkpoint_at = None  # due again at the next pass
        elif done is not None:
            self.last_checkpoint = done

    def checkpoint(self, now: datetime) -> CheckpointWritten | None:
        """A clean stop: a child still encoding is waited for, then the state written now if it moved since."""
        if self._child is not None and self._child.running:
            with session_scope(self.engine) as session:
                self._store_encoded(session, block=True)
        return super().checkpoint(now)

    def close(self) -> None:
        """Free the engines (after a child still encoding has ended)."""
        if self._child is not None:
            self._child.discard()
        self.groups.grouped.close()
