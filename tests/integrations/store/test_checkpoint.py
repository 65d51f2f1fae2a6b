"""Cheap durability of live evaluation (issue 17), on SQLite and PostgreSQL: each batch commits only its
position and a journal row; a restart restores the last checkpoint and replays the journal's batches from
the stored records, and comes back as the evaluator that never stopped — late records and responders'
resolutions included — writing nothing while it replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.records import Record
from integrations.evaluation import LiveEvaluator
from integrations.store.checkpoint_models import EvaluatorBatchRow, EvaluatorCheckpointRow
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.records import upsert_records
from rules.engine.state_codec import encode_state
from rules.language.loader import load_rulebook
from rules.run.backtest import backtest

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _petition(i: int, people: int, hours: float, region: str = "510104001001") -> Record:
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(hours=hours), region=region,
                  attributes={"people": people, "subject": "征地补偿", "person": f"p_{i % 3:020d}"})


@pytest.fixture(scope="module")
def rulebook():  # type: ignore[no-untyped-def]
    return load_rulebook()


def _state(live: LiveEvaluator) -> bytes:
    return encode_state(live.evaluator.snapshot(), compress=False)


def _warnings(engine: sa.Engine) -> list[tuple[str, str, str, int, str]]:
    with Session(engine) as s:
        return sorted((w.rule, w.level, w.region, w.occurrences, w.status) for w in s.exec(select(WarningRow)))


def test_restore_and_replay_equal_the_evaluator_that_never_stopped(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    chunks = [[_petition(i, 3 + i % 5, i * 0.7, f"51010400100{1 + i % 2}") for i in range(0, 8)],
              [_petition(i, 9, i * 0.7) for i in range(8, 14)] + [_petition(90, 40, 1.0)],  # p90: late
              [_petition(i, 2 + i % 7, i * 0.7, "510105001001") for i in range(14, 25)]]
    # Checkpoint every 10 records, batches of 3: most restarts have batches to replay after the checkpoint.
    live = LiveEvaluator(engine, rulebook, batch_size=3, checkpoint_every=(1e9, 10))
    replayed = []
    try:
        for n, chunk in enumerate(chunks):
            with session_scope(engine) as s:
                upsert_records(session=s, records=chunk)
            live.run(NOW)
            if n == 1:  # a responder resolves a warning between batches: the journal says so
                with session_scope(engine) as s:
                    row = s.exec(select(WarningRow).where(WarningRow.status == "open")).first()
                    assert row is not None
                    row.status, row.open_key = "resolved", None
                    s.add(row)
            before = (_warnings(engine), _outbox(engine))
            restarted = LiveEvaluator(engine, rulebook, batch_size=3, checkpoint_every=(1e9, 10))  # as after kill -9
            try:
                replayed.append(restarted.replayed)
                assert restarted.position == live.position
                # The resolution is applied by the next batch's sync in `live`; the restarted one has it at load.
                live.run(NOW)
                assert _state(restarted) == _state(live)
                assert (_warnings(engine), _outbox(engine)) == before  # the replay wrote nothing
            finally:
                restarted.close()
    finally:
        live.close()
    assert any(replayed), replayed  # not every restart found a fresh checkpoint: replay was exercised
    with Session(engine) as s:
        assert s.get(EvaluatorCheckpointRow, "main") is not None
        assert len(list(s.exec(select(EvaluatorBatchRow)))) < 12  # the journal is cut at each checkpoint


def _outbox(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        return sorted(str(r.id) for r in s.exec(select(OutboxRow)))


def test_a_clean_stop_checkpoints_and_the_next_start_replays_nothing(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        upsert_records(session=s, records=[_petition(i, 6, i) for i in range(6)])
    live = LiveEvaluator(engine, rulebook, batch_size=2, checkpoint_every=(1e9, 10**9))
    live.run(NOW)
    assert LiveEvaluator(engine, rulebook, checkpoint_every=(1e9, 10**9)).replayed == 4  # 1st batch checkpointed
    written = live.checkpoint(NOW)
    assert written is not None and written.size_bytes > 0
    assert live.checkpoint(NOW) is None  # nothing since
    again = LiveEvaluator(engine, rulebook, checkpoint_every=(1e9, 10**9))
    try:
        assert again.replayed == 0 and _state(again) == _state(live)
    finally:
        again.close()
        live.close()


def test_live_warnings_with_checkpoints_equal_the_backtest(engine: sa.Engine, rulebook) -> None:  # type: ignore[no-untyped-def]
    records = [_petition(i, 2 + i % 9, i * 0.5, f"51010400100{1 + i % 3}") for i in range(30)]
    for start in range(0, 30, 7):  # a restart (checkpoint + replay) after every delivery
        with session_scope(engine) as s:
            upsert_records(session=s, records=records[start:start + 7])
        live = LiveEvaluator(engine, rulebook, batch_size=4, checkpoint_every=(1e9, 9))
        try:
            live.run(NOW)
        finally:
            live.close()
    expected = sorted((w["rule"], w["level"], w["region"], w["occurrences"], "open")
                      for w in backtest(rulebook, records))
    assert _warnings(engine) == expected


def test_a_batch_of_a_release_group_is_replayed_with_its_kinds_only(engine: sa.Engine) -> None:
    """A group's journal row counts only its kinds: the replay feeds those, not the other groups' records."""
    from integrations.store.checkpoint import consumed_between
    from integrations.store.release import Position

    incident = Record(kind="incident", source="public-safety", id="i1", at=T0 + timedelta(hours=1),
                      region="510104001001", attributes={"injured": 40, "deaths": 0})
    with session_scope(engine) as s:
        upsert_records(session=s, records=[_petition(1, 1, 0.5), incident, _petition(2, 1, 2)])
    with session_scope(engine) as s:
        after = Position(10**9, T0 + timedelta(hours=1))
        assert [r.id for r in consumed_between(s, Position(), after)] == ["p1", "i1"]
        assert [r.id for r in consumed_between(s, Position(), after, kinds={"petition"})] == ["p1"]
        assert consumed_between(s, Position(), after, kinds=set()) == []


def test_the_records_between_two_positions_are_those_one_consumed_and_the_other_not(sqlite_engine: sa.Engine) -> None:
    """The replay's read (two index ranges) against its definition, over many pairs of positions."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from integrations.store.checkpoint import consumed_between
    from integrations.store.models import RecordRow
    from integrations.store.release import Position

    records = [_petition(i, 1, (i * 7) % 13 / 2) for i in range(26)]  # arrival order is not time order
    with session_scope(sqlite_engine) as s:
        upsert_records(session=s, records=records)
    with Session(sqlite_engine) as s:
        stored = [(r.seq, r.at, r.source_id) for r in s.exec(select(RecordRow))]

    def consumed(p: Position, seq: int, at: datetime) -> bool:
        return p.upto is not None and seq <= p.seq and at <= p.upto

    hours = st.none() | st.integers(min_value=-1, max_value=14).map(lambda h: T0 + timedelta(hours=h / 2))

    @settings(max_examples=60, deadline=None)
    @given(st.integers(0, 28), hours, st.integers(0, 28), hours)
    def check(seq_a: int, up_a: datetime | None, seq_b: int, up_b: datetime | None) -> None:
        # positions only move forward: ``after`` is at or past ``before`` in both
        ups = sorted([u for u in (up_a, up_b) if u is not None])
        before = Position(min(seq_a, seq_b), None if up_a is None or up_b is None else ups[0])
        after = Position(max(seq_a, seq_b), ups[-1] if ups else None)
        expected = sorted(i for seq, at, i in stored if consumed(after, seq, at) and not consumed(before, seq, at))
        with Session(sqlite_engine) as s:
            assert sorted(r.id for r in consumed_between(s, before, after)) == expected

    check()
