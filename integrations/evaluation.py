"""Live evaluation with routing: evaluate → record warnings → route (pure) → record routing, per batch.

Each batch is one transaction: the warnings, their outbox rows and audit rows, and the evaluator's state
commit together. A crash anywhere before the commit leaves the store as it was: the next run consumes
the same records from the same state and produces the same warnings, so nothing is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from integrations.route import Routing, route_changes, route_repeats
from integrations.staleness import Staleness, stale_sweep
from integrations.store.db import session_scope
from integrations.store.live import EvaluationReport, evaluate_batch, load_evaluator, save_state
from rules.language.loader import Rulebook


def evaluate_pending(
    engine: sa.Engine,
    rulebook: Rulebook,
    *,
    now: datetime,
    routing: Routing | None = None,
    batch_size: int = 20_000,
    engine_name: str = "durable",
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """Evaluate every record that arrived since the last run, batch by batch; route the warnings opened
    or raised with ``routing`` (None: record them unrouted) in each batch's transaction."""
    report = EvaluationReport(rulebook_version=rulebook.version)
    evaluator, consumed, report.restarted = load_evaluator(engine, rulebook, engine_name)
    every = {r.id: r.notify_every for r in rulebook.rules if r.notify_every is not None}
    event_now: datetime | None = None
    while True:
        # If a batch fails, the exception ends the run and the next run starts from the saved state.
        with session_scope(engine) as session:
            batch = evaluate_batch(session, evaluator, consumed, now=now, batch_size=batch_size,
                                   rulebook=rulebook, report=report)
            if batch is None:
                if event_now is not None:
                    _sweep_stale(session, rulebook, routing, event_now, now)
                return report
            if routing is not None:
                route_changes(session, batch.applied.to_route, routing, now)
                route_repeats(session, batch.applied.folded, routing, every, now)
            latest = max((r.at for r in batch.records), default=None)
            event_now = latest if event_now is None or (latest and latest > event_now) else event_now
            consumed = batch.consumed
            save_state(session, evaluator, rulebook, consumed, now)
        report.add(batch.applied)
        report.records += len(batch.records)
        report.late += sum(1 for r in batch.records if r.late)
        report.batches += 1
        if progress is not None:
            progress(len(batch.records))


def _sweep_stale(session: Session, rulebook: Rulebook, routing: Routing | None, event_now: datetime,
                 now: datetime) -> None:
    """After a run that advanced event time: the warnings of rules with ``resolve_after`` quiet long enough
    turn stale (or resolve themselves with ``auto_resolve``)."""
    rules = {r.id: Staleness(r.resolve_after, r.auto_resolve) for r in rulebook.rules if r.resolve_after}
    if rules:
        stale_sweep(session, rules, routing=routing, event_now=event_now, now=now)
