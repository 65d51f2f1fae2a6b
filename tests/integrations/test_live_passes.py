"""The passes of a resident evaluator's run (:class:`integrations.live_grouped.GroupedLiveEvaluator`): a run
goes on pass after pass while a pass stopped at the batch size (the read, or a group's release of what its
watermarks held), and ends with the pass that took everything it could — without a further empty pass, a
transaction and a read of the log that the per-batch cost of issue 17 paid for nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from domain.records import Record
from integrations.evaluation import live_evaluator
from integrations.sources.config import DEFAULT_SOURCES_FILE, load_sources
from integrations.store.db import session_scope
from integrations.store.records import upsert_records
from integrations.store.watermarks import note_delivery
from rules.language.loader import load_rulebook
from tests.integrations.test_live_order import GROUPS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMINGS = dict(load_sources(DEFAULT_SOURCES_FILE).timings)


def _petition(i: int) -> Record:
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(hours=i), region="510104001001",
                  attributes={"people": 8, "subject": "征地补偿", "person": f"p_{i:020x}"})


def _deliver(engine: sa.Engine, now: datetime, records: list[Record], **complete: datetime) -> None:
    """Store ``records`` and the heartbeats ``complete`` (source → complete up to), as deliveries do."""
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)
        for source, upto in complete.items():
            note_delivery(session=s, source=source, complete_up_to=upto, now=now)


@contextmanager
def _log_reads(engine: sa.Engine) -> Iterator[list[str]]:
    """The reads of the record log (``seq >`` the position) while inside."""
    reads: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM record" in statement and "record.seq >" in statement and "ORDER BY record.seq" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield reads
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def test_a_run_that_takes_everything_reads_the_log_once(engine: sa.Engine) -> None:
    live = live_evaluator(engine, load_rulebook(), kinds=GROUPS, checkpoint_every=(1e9, 10**9))
    try:
        now = datetime.now(UTC)
        _deliver(engine, now, [_petition(i) for i in range(3)])
        with _log_reads(engine) as reads:
            report = live.run(now)
        assert (report.records, report.batches, len(reads)) == (3, 1, 1)
        assert report.opened >= 1
        _deliver(engine, now, [_petition(3)])  # committed after the run: the next run's
        with _log_reads(engine) as reads:
            assert live.run(now + timedelta(seconds=1)).records == 1
        assert len(reads) == 1
    finally:
        live.close()


def test_a_run_goes_on_while_the_read_or_a_release_stops_at_the_batch_size(engine: sa.Engine) -> None:
    """Batches of 2: a backlog of 5 takes three passes of one run; then 5 records a group held for 调解's
    watermark, released at once by its heartbeat, take three passes again — and nothing is left held."""
    live = live_evaluator(engine, load_rulebook(), kinds=GROUPS, timings=TIMINGS, batch_size=2,
                          checkpoint_every=(1e9, 10**9))
    try:
        now = datetime.now(UTC)
        _deliver(engine, now, [_petition(i) for i in range(5)], xinfang=T0 + timedelta(days=2),
                 mediation=T0 - timedelta(days=1))
        with _log_reads(engine) as reads:
            first = live.run(now)
        assert first.records == 5 and len(reads) == 3
        assert live.pending(now) == (0, 5)  # held by the groups that wait for 调解 too
        _deliver(engine, now, [], mediation=T0 + timedelta(days=2))
        with _log_reads(engine) as reads:
            second = live.run(now + timedelta(seconds=1))
        assert (second.records, second.batches, len(reads)) == (5, 3, 3)
        assert live.pending(now) == (0, 0)
    finally:
        live.close()
