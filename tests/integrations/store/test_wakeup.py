"""Waking the resident evaluator: a commit that stores records wakes a PostgreSQL listener at once; a
rolled-back one never does; SQLite polls."""

from __future__ import annotations

import time
from contextlib import nullcontext
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from domain.records import Record
from integrations.store.db import open_store, session_scope
from integrations.store.records import upsert_records
from integrations.store.wakeup import Listening, Polling, wakeup_for

AT = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def _store(engine: sa.Engine, rid: str, *, fail: bool = False) -> None:
    record = Record(kind="petition", source="xinfang", id=rid, at=AT, region="510104001001",
                    attributes={"people": 3})
    with pytest.raises(RuntimeError) if fail else nullcontext(), session_scope(engine) as s:
        upsert_records(session=s, records=[record])
        if fail:
            raise RuntimeError("the transaction fails after storing")


@pytest.mark.postgres
def test_a_commit_wakes_the_listener_and_a_rollback_does_not(pg_url: str) -> None:
    engine = open_store(pg_url)
    wake = wakeup_for(engine)
    try:
        assert isinstance(wake, Listening)
        assert wake.tells  # what lets the resident evaluator wait straight after a run (flows.live.follow)
        assert wake.wait(0.2) is False  # nothing yet: the timeout passes
        _store(engine, "r1", fail=True)
        assert wake.wait(0.5) is False
        _store(engine, "r2")  # committed before the wait (as while the evaluator runs): told at once
        t0 = time.monotonic()
        assert wake.wait(5.0) is True
        assert time.monotonic() - t0 < 1.0
        _store(engine, "r2")  # unchanged: nothing stored, nobody woken
        assert wake.wait(0.3) is False
    finally:
        wake.close()
        engine.dispose()


def test_sqlite_polls(sqlite_engine: sa.Engine) -> None:
    wake = wakeup_for(sqlite_engine)
    assert isinstance(wake, Polling)
    assert not wake.tells  # a poller looks again after a run that found records
    t0 = time.monotonic()
    assert wake.wait(0.05) is False and time.monotonic() - t0 >= 0.05
    wake.close()


@pytest.mark.postgres
def test_the_notification_rides_the_copy_s_transaction_and_skips_sqlalchemy(pg_url: str) -> None:
    from integrations.store.prepared import prepare
    from integrations.store.records import upsert_prepared

    engine = open_store(pg_url)
    wake = wakeup_for(engine)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        rows = [prepare(Record(kind="petition", source="xinfang", id=f"c{i}", at=AT, region="510104001001",
                               attributes={"people": i})) for i in range(3)]
        with pytest.raises(RuntimeError), session_scope(engine) as s:  # the ingest's path: one COPY
            assert upsert_prepared(session=s, records=rows, optimistic=True).inserted == 3
            raise RuntimeError("rolled back after the COPY")
        assert wake.wait(0.5) is False
        with session_scope(engine) as s:
            assert upsert_prepared(session=s, records=rows, optimistic=True).inserted == 3
        assert wake.wait(5.0) is True
        assert not [st for st in statements if "NOTIFY" in st.upper()]  # sent through the driver itself
    finally:
        wake.close()
        engine.dispose()
