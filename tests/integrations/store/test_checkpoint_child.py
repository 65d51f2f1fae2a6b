"""The resident evaluator's checkpoints encoded in a child process (:mod:`integrations.store.checkpoint_child`):
the stored state is that of the pass it forked after, a restart from it is the evaluator as it was, and a
child that fails costs nothing but a retry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.records import Record
from integrations.evaluation import live_evaluator
from integrations.live_grouped import GroupedLiveEvaluator
from integrations.store import checkpoint_child
from integrations.store.checkpoint_child import StateChild
from integrations.store.checkpoint_models import EvaluatorBatchRow, EvaluatorCheckpointRow
from integrations.store.db import session_scope
from integrations.store.grouped_state import GROUPED
from integrations.store.records import upsert_records
from rules.language.loader import load_rulebook
from tests.integrations.test_live_order import GROUPS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _petitions(first: int, count: int) -> list[Record]:
    """Petitions over a few streets by a handful of people: windows, repeats and open warnings to carry."""
    return [Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(minutes=7 * i),
                   region=f"51010400{i % 3 + 1}00{i % 2 + 1}", attributes={
                       "people": 6 if i % 4 == 0 else 1, "subject": "征地补偿", "person": f"p_{i % 5:020x}"})
            for i in range(first, first + count)]


def _store(engine: sa.Engine, records: list[Record]) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)


def _checkpoint(engine: sa.Engine) -> EvaluatorCheckpointRow | None:
    with Session(engine) as s:
        return s.get(EvaluatorCheckpointRow, GROUPED)


def _journal_ids(engine: sa.Engine) -> list[int]:
    with Session(engine) as s:
        return sorted(r.id for r in s.exec(select(EvaluatorBatchRow).where(col(EvaluatorBatchRow.name) != "main"))
                      if r.id is not None)


def _live(engine: sa.Engine) -> GroupedLiveEvaluator:
    live = live_evaluator(engine, load_rulebook(), kinds=GROUPS, checkpoint_every=(1e9, 10), batch_size=8,
                          background_checkpoints=True)
    assert isinstance(live, GroupedLiveEvaluator)
    return live


def _until_stored(engine: sa.Engine, live: GroupedLiveEvaluator, journal_id: int, now: datetime) -> None:
    """Run passes (nothing new to evaluate) until the child's checkpoint is stored."""
    deadline = time.monotonic() + 60
    while (ck := _checkpoint(engine)) is None or ck.journal_id <= journal_id:
        assert time.monotonic() < deadline, "the child's checkpoint was never stored"
        live.run(now)
        time.sleep(0.02)


def test_the_state_encoded_in_a_child_is_that_of_its_pass_and_restarts_as_it_was(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    live = _live(engine)
    try:
        before = _checkpoint(engine)
        assert before is not None  # the load pinned the plan
        _store(engine, _petitions(0, 12))
        live.run(now)  # 12 records ≥ 10: due, forked after the last pass committed
        forked_at = _journal_ids(engine)[-1]
        _store(engine, _petitions(12, 5))
        live.run(now)  # the parent goes on while (or after) the child encodes
        _until_stored(engine, live, before.journal_id, now)
        ck = _checkpoint(engine)
        assert ck is not None and ck.journal_id == forked_at  # the moment of the fork, not later
        ids = _journal_ids(engine)
        assert min(ids) == forked_at and len(ids) > 1  # older rows pruned once stored; the later ones kept
        restarted = _live(engine)  # as after kill -9: the child's checkpoint, then the journal after it
        try:
            # what came after the fork, once per group reading petitions (not the 17 since the load)
            assert restarted.replayed == 5 * sum("petition" in g.kinds for g in live.groups.grouped.groups.values())
            assert restarted.groups.snapshot() == live.groups.snapshot()
        finally:
            restarted.close()
    finally:
        live.close()


def test_a_failed_child_loses_nothing_and_the_checkpoint_is_due_again(
        sqlite_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    engine, now = sqlite_engine, datetime.now(UTC)
    live = _live(engine)
    try:
        before = _checkpoint(engine)
        assert before is not None

        def broken(state: object) -> bytes:
            raise MemoryError("the child ran out of memory")

        monkeypatch.setattr(checkpoint_child, "encode_state", broken)
        _store(engine, _petitions(0, 12))
        live.run(now)
        deadline = time.monotonic() + 60
        while "检查点编码子进程失败" not in caplog.text:
            assert time.monotonic() < deadline
            live.run(now)
            time.sleep(0.02)
        ck = _checkpoint(engine)
        assert ck is not None and ck.journal_id == before.journal_id  # nothing stored
        monkeypatch.undo()
        _store(engine, _petitions(12, 1))
        live.run(now)  # due again at once: forks with the state of this pass
        _until_stored(engine, live, before.journal_id, now)
        restarted = _live(engine)
        try:
            assert restarted.groups.snapshot() == live.groups.snapshot()
        finally:
            restarted.close()
    finally:
        live.close()


def test_a_clean_stop_waits_for_a_child_still_encoding(sqlite_engine: sa.Engine) -> None:
    engine, now = sqlite_engine, datetime.now(UTC)
    live = _live(engine)
    _store(engine, _petitions(0, 12))
    live.run(now)
    live.checkpoint(now + timedelta(seconds=1))  # the child's state stored first, then nothing new to write
    live.close()
    ck = _checkpoint(engine)
    assert ck is not None and ck.journal_id == _journal_ids(engine)[-1]
    restarted = _live(engine)
    try:
        assert restarted.replayed == 0
    finally:
        restarted.close()


def test_a_child_sends_back_more_than_a_pipe_holds() -> None:
    child: StateChild[str] = StateChild()
    big = bytes(range(256)) * 40_000  # 10 MB: the parent's reader must drain the pipe while the child writes
    child.start(lambda: big, "note")
    assert child.running
    done = child.take(block=True)
    assert done is not None and done.data == big and done.note == "note"
    assert not child.running and child.take() is None


def test_the_seconds_of_a_child_are_those_of_its_encoding_not_of_the_wait_for_them() -> None:
    import time

    child: StateChild[str] = StateChild()

    def slow() -> bytes:
        time.sleep(0.3)
        return b"state"

    child.start(slow, "note")
    time.sleep(1.0)  # the evaluator's passes meanwhile: not the checkpoint's cost
    done = child.take(block=True)
    assert done is not None and 0.3 <= done.seconds < 0.9


def test_a_child_that_raises_sends_nothing() -> None:
    child: StateChild[int] = StateChild()

    def broken() -> bytes:
        raise ValueError("no")

    child.start(broken, 7)
    done = child.take(block=True)
    assert done is not None and done.data is None and done.note == 7
