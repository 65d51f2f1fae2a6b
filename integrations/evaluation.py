"""Live evaluation with routing: evaluate → record warnings → route (pure) → record routing, per batch.

Each batch is one transaction: the warnings, their outbox rows and audit rows, and the evaluator's state
with its position commit together. A crash anywhere before the commit leaves the store as it was: the
next run consumes the same records from the same state and produces the same warnings, so nothing is
lost or doubled.

Records are released to the evaluator by the sources' watermarks (:mod:`domain.watermarks`,
:mod:`integrations.store.release`): a record is evaluated once every live source has delivered past its
``at``, in event-time order, so the warnings do not depend on the order in which departments deliver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.watermarks import SourceTiming
from integrations.route import Routing, route_changes, route_repeats
from integrations.source_watch import sweep_sources
from integrations.staleness import Staleness, stale_sweep
from integrations.store.checkpoint import CheckpointWritten, journal_batch, write_checkpoint
from integrations.store.db import session_scope
from integrations.store.live import (
    STATE_NAME,
    EvaluationReport,
    evaluate_batch,
    load_evaluator,
    save_position,
    sync_resolved,
)
from integrations.store.release import pending_count
from integrations.store.watermarks import current_release_bound
from rules.language.loader import Rulebook

__all__ = ["SOURCE_CHECK", "LiveEvaluator", "evaluate_pending", "live_evaluator"]

SOURCE_CHECK = timedelta(seconds=30)
"""How often (wall time) a resident evaluator looks for sources gone silent or back."""


class LiveEvaluator:
    """The evaluator of the store at ``engine``, loaded once and kept in memory between runs (the
    resident evaluator keeps one; ``evaluate_pending`` makes one per run). Only one may run per store:
    the caller holds the lease (:mod:`integrations.store.lease`)."""

    def __init__(self, engine: sa.Engine, rulebook: Rulebook, *, routing: Routing | None = None,
                 timings: Mapping[str, SourceTiming] | None = None, batch_size: int = 20_000,
                 engine_name: str = "durable", watch_sources: bool = False,
                 checkpoint_every: tuple[float, int] | None = None, who: str = "") -> None:
        self._configure(engine, rulebook, routing=routing, timings=timings, batch_size=batch_size,
                        watch_sources=watch_sources, checkpoint_every=checkpoint_every, who=who)
        loaded = load_evaluator(engine, rulebook, engine_name, who=who)
        self.evaluator, self.position, self.restarted = loaded.evaluator, loaded.position, loaded.restarted
        self.replayed = loaded.replayed
        """Records fed again at load: the batches committed after the checkpoint."""
        self.rebuilt = loaded.rebuilt
        """For a new rulebook version: what rebuilding its state replayed (:mod:`integrations.store.rebuild`)."""
        self._journal_id = loaded.journal_id
        self._checkpoint_at = loaded.checkpoint_at  # None: due at the next batch
        self._since = loaded.replayed  # records since the checkpoint: what a restart would replay
        self._resolved = list(loaded.resolved)  # resolved since the last journal row
        self.last_checkpoint: CheckpointWritten | None = None
        self._fresh = True

    def _configure(self, engine: sa.Engine, rulebook: Rulebook, *, routing: Routing | None,
                   timings: Mapping[str, SourceTiming] | None, batch_size: int, watch_sources: bool,
                   checkpoint_every: tuple[float, int] | None, who: str) -> None:
        """What every live evaluator keeps of its configuration (the grouped one too)."""
        self.engine, self.rulebook, self.routing = engine, rulebook, routing
        # Live operation (not a replay) also watches the sources: a silent one raises ``source-stale``.
        self.watch_sources = watch_sources and routing is not None
        self._sources_checked: datetime | None = None
        self.timings = dict(timings or {})
        self.batch_size, self.who = batch_size, who
        if checkpoint_every is None:
            from integrations.settings import get_settings

            settings = get_settings()
            checkpoint_every = (settings.checkpoint_every_s, settings.checkpoint_every_records)
        self.every_s, self.every_records = checkpoint_every
        # Rules whose folded firings notify again, at most once per their ``notify_every``.
        self.every = {r.id: r.notify_every for r in rulebook.rules if r.notify_every is not None}
        self._stop_writes = False  # a clean stop writes a checkpoint even with nothing new since the last

    def bound(self, now: datetime) -> datetime | None:
        """The release bound of the sources' watermarks at wall time ``now`` (``None``: nothing holds)."""
        with session_scope(self.engine) as session:
            return current_release_bound(session=session, timings=self.timings, now=now)

    def pending(self, now: datetime) -> tuple[int, int]:
        """Stored records waiting: ``(releasable now, held back by the watermarks)``."""
        bound = self.bound(now)
        with session_scope(self.engine) as session:
            return pending_count(session, self.position, bound)

    def run(self, now: datetime, progress: Callable[[int], None] | None = None) -> EvaluationReport:
        """Evaluate every released record, batch by batch; route what opens or rises with the routing."""
        report = EvaluationReport(rulebook_version=self.rulebook.version, restarted=self.restarted)
        bound = self.bound(now)
        event_now: datetime | None = None
        while True:
            # If a batch fails, the exception ends the run and the next run starts from the saved state.
            with session_scope(self.engine) as session:
                if not self._fresh:
                    self._resolved += sync_resolved(session, self.evaluator)  # responders may have resolved some
                self._fresh = False
                batch = evaluate_batch(session, self.evaluator, self.position, now=now, batch_size=self.batch_size,
                                       bound=bound, rulebook=self.rulebook, report=report)
                if batch is None:
                    if event_now is not None:
                        _sweep_stale(session, self.rulebook, self.routing, event_now, now)
                    self._watch(session, now)
                    return report
                if self.routing is not None:
                    route_changes(session, batch.applied.to_route, self.routing, now)
                    route_repeats(session, batch.applied.folded, self.routing, self.every, now)
                latest = max((r.at for r in batch.records), default=None)
                if latest is not None and (event_now is None or latest > event_now):
                    event_now = latest
                save_position(session, self.rulebook, batch.position, now)
                journal_id = journal_batch(session, STATE_NAME, batch.position, resolved=self._resolved,
                                           records=len(batch.records), now=now)
                self.position, self._journal_id = batch.position, journal_id
                due = self._checkpoint_due(len(batch.records), now)
                written = self._write_checkpoint(session, now) if due else None
            self._resolved = []
            self._checkpointed(written, len(batch.records), now)
            report.add(batch.applied)
            report.records += len(batch.records)
            report.late += sum(1 for r in batch.records if r.late)
            report.batches += 1
            if progress is not None:
                progress(len(batch.records))

    def _checkpoint_due(self, records: int, now: datetime) -> bool:
        """Whether the last checkpoint is old enough, or enough records came since (``records`` with this batch)."""
        return (self._checkpoint_at is None or (now - self._checkpoint_at).total_seconds() >= self.every_s
                or self._since + records >= self.every_records)

    def _write_checkpoint(self, session: Session, now: datetime) -> CheckpointWritten:
        """The full state at :attr:`position`, including the journal up to the last row written."""
        return write_checkpoint(session, STATE_NAME, self.evaluator, self.position, journal_id=self._journal_id,
                                now=now, who=self.who)

    def _checkpointed(self, written: CheckpointWritten | None, records: int, now: datetime) -> None:
        """After a committed batch of ``records``: the checkpoint written with it, if one was."""
        if written is not None:
            self.last_checkpoint, self._checkpoint_at, self._since = written, now, 0
        else:
            self._since += records

    def checkpoint(self, now: datetime) -> CheckpointWritten | None:
        """Write the full state now if batches were committed since the last checkpoint (a clean stop)."""
        if self._checkpoint_at is not None and self._since == 0 and not self._resolved and not self._stop_writes:
            return None
        with session_scope(self.engine) as session:
            written = self._write_checkpoint(session, now)
        self.last_checkpoint, self._checkpoint_at, self._since, self._resolved = written, now, 0, []
        self._stop_writes = False
        return written

    def _watch(self, session: Session, now: datetime) -> None:
        """At most every :data:`SOURCE_CHECK` of wall time: the ``source-stale`` warnings."""
        if not self.watch_sources or (self._sources_checked is not None and now - self._sources_checked < SOURCE_CHECK):
            return
        assert self.routing is not None
        sweep_sources(session, self.timings, self.routing, now=now, version=self.rulebook.version)
        self._sources_checked = now

    def close(self) -> None:
        """Free the engine."""
        self.evaluator.close()


def evaluate_pending(
    engine: sa.Engine,
    rulebook: Rulebook,
    *,
    now: datetime,
    routing: Routing | None = None,
    batch_size: int = 20_000,
    engine_name: str = "durable",
    progress: Callable[[int], None] | None = None,
    timings: Mapping[str, SourceTiming] | None = None,
    watch_sources: bool = False,
    who: str = "",
    kinds: Mapping[str, frozenset[str]] | None = None,
) -> EvaluationReport:
    """Evaluate every record released since the last run, batch by batch; route the warnings opened
    or raised with ``routing`` (None: record them unrouted) in each batch's transaction. ``timings``:
    the sources' declared timing (default: :data:`domain.watermarks.DEFAULT_TIMING` for each);
    ``watch_sources``: also open or resolve the ``source-stale`` warnings (live operation, with routing);
    ``who``: the process, as checkpoints and a rule edit's audit name it; ``kinds``: each record kind's
    sources, to release per rule group (:func:`live_evaluator`)."""
    live = live_evaluator(engine, rulebook, kinds=kinds, routing=routing, timings=timings, batch_size=batch_size,
                          engine_name=engine_name, watch_sources=watch_sources, who=who)
    try:
        return live.run(now, progress)
    finally:
        live.close()


def live_evaluator(engine: sa.Engine, rulebook: Rulebook, *, kinds: Mapping[str, frozenset[str]] | None,
                   **options: Any) -> LiveEvaluator:
    """The live evaluator of the store: with ``kinds`` (each record kind's sources, ``sources.yaml``) one
    evaluator per release group, each released by its own sources' watermarks
    (:class:`integrations.live_grouped.GroupedLiveEvaluator`); without, the single evaluator released by
    every source (tests and benches of the single path)."""
    if kinds is None:
        return LiveEvaluator(engine, rulebook, **options)
    from integrations.live_grouped import GroupedLiveEvaluator

    return GroupedLiveEvaluator(engine, rulebook, kinds, **options)


def _sweep_stale(session: Session, rulebook: Rulebook, routing: Routing | None, event_now: datetime,
                 now: datetime) -> None:
    """After a run that advanced event time: the warnings of rules with ``resolve_after`` quiet long enough
    turn stale (or resolve themselves with ``auto_resolve``)."""
    rules = {r.id: Staleness(r.resolve_after, r.auto_resolve) for r in rulebook.rules if r.resolve_after}
    if rules:
        stale_sweep(session, rules, routing=routing, event_now=event_now, now=now)
