"""The bulk insert of new record rows: padded multi-row statements on SQLite store what executemany does."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.records import Record
from integrations.store import record_insert
from integrations.store.db import open_store, session_scope
from integrations.store.prepared import prepare, utc_text
from integrations.store.record_insert import (
    INSERT_COLS,
    ConcurrentWrite,
    bound_now,
    execute_insert,
    insert_rows,
    insert_sql,
)
from integrations.store.records import UpsertStats, upsert_prepared
from tests.record_rows import record_rows

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
_runs = itertools.count()


def _prepared(prefix: str, n: int, *, precomputed: bool = True) -> list:  # type: ignore[type-arg]
    out = []
    for i in range(n):
        at = T0 + timedelta(minutes=i, microseconds=i % 3)
        rec = prepare(Record(kind="petition", source=f"{prefix}s", id=f"{i}", at=at, region="510104001001",
                             attributes={"people": i % 4 + 1, "status": "new"}))
        out.append(rec if precomputed else rec._replace(at_utc=""))
    return out


def _stored(engine: sa.Engine, prefix: str) -> list[tuple[object, ...]]:
    return record_rows(engine, prefix, ", ".join(INSERT_COLS))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    """One store for the module (migrations are slow); each example writes under sources of its own."""
    return open_store(f"sqlite:///{tmp_path_factory.mktemp('insert')}/insert.db")


@settings(max_examples=25, deadline=None)
@given(n=st.one_of(st.integers(1, 70), st.sampled_from([1000, 1024, 1025, 2047, 2048, 2049, 4500])))
def test_padded_statements_store_exactly_what_executemany_stores(store: sa.Engine, n: int) -> None:
    a, b = f"a{next(_runs)}-", f"b{next(_runs)}-"
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with session_scope(store) as s:
        conn = s.connection()
        rows = insert_rows(enumerate(_prepared(a, n), 1_000_000), conn.dialect, bound_now(conn.dialect, now))
        assert execute_insert(conn, rows) == n
        # The reference: one executemany of the same rows, with the event time written at insert time.
        ref = insert_rows(
            enumerate(_prepared(b, n, precomputed=False), 1_000_000), conn.dialect, bound_now(conn.dialect, now)
        )
        conn.exec_driver_sql(insert_sql(conn.dialect), ref)
    mine, theirs = _stored(store, a), _stored(store, b)
    assert len(mine) == n
    assert [r[1:] for r in mine] == [r[1:] for r in theirs]


def test_statement_sizes_stay_few_whatever_the_batch_sizes() -> None:
    # Every batch size from 1 to 5000 is served by the power-of-two statements up to 2048: twelve of them.
    sizes = set()
    for n in range(1, 5001):
        for i in range(0, n, 2048):
            sizes.add(record_insert._size_class(min(2048, n - i)))
    assert sizes == {1 << k for k in range(12)}


def test_the_event_time_text_matches_what_sqlalchemy_writes(store: sa.Engine) -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert utc_text(at) == "2026-03-01 09:30:00.000000"
    assert prepare(Record(kind="petition", source="x", id="1", at=at, region="510104001001")).at_utc == utc_text(at)


def test_an_existing_key_among_rows_thought_new_rolls_the_batch_back(store: sa.Engine) -> None:
    p = f"c{next(_runs)}-"
    records = _prepared(p, 5)
    with session_scope(store) as s:
        upsert_prepared(session=s, records=records[2:3])
    with pytest.raises(ConcurrentWrite, match="另一写入方"), session_scope(store) as s:
        conn = s.connection()
        rows = insert_rows(enumerate(records, 2_000_000), conn.dialect, bound_now(conn.dialect))
        execute_insert(conn, rows)  # as if the lookup had not seen the key another writer just stored
    assert [r[1] for r in _stored(store, p)] == ["2"]  # nothing of the failed batch stayed


def test_if_new_skips_existing_keys_and_says_how_many_went_in(store: sa.Engine) -> None:
    p = f"d{next(_runs)}-"
    records = _prepared(p, 6)
    with session_scope(store) as s:
        upsert_prepared(session=s, records=records[:2])
    with session_scope(store) as s:
        conn = s.connection()
        rows = insert_rows(enumerate(records, 3_000_000), conn.dialect, bound_now(conn.dialect))
        assert execute_insert(conn, rows, if_new=True) == 4


def _stored_in(session: object, prefix: str) -> list[object]:
    conn = session.connection()  # type: ignore[attr-defined]
    return list(conn.exec_driver_sql("SELECT id FROM record WHERE source LIKE ?", (f"{prefix}%",)))


def test_late_is_stored_as_sqlalchemy_stores_a_boolean(store: sa.Engine) -> None:
    from integrations.store.models import RecordRow

    p = f"g{next(_runs)}-"
    records = [r._replace(late=i == 1) for i, r in enumerate(_prepared(p, 2))]
    with session_scope(store) as s:
        conn = s.connection()
        execute_insert(conn, insert_rows(enumerate(records, 5_000_000), conn.dialect, bound_now(conn.dialect)))
    with session_scope(store) as s:
        rows = s.execute(sa.select(RecordRow.source_id, RecordRow.late).where(RecordRow.source == f"{p}s"))
        assert sorted(rows) == [("0", False), ("1", True)]
        typed = s.execute(sa.text("SELECT DISTINCT typeof(late) FROM record WHERE source = :s"), {"s": f"{p}s"})
        assert typed.scalars().all() == ["integer"]


def test_a_database_error_comes_as_sqlalchemy_raises_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(f"sqlite:///{tmp_path}/err.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_rows BEFORE INSERT ON record BEGIN SELECT RAISE(FAIL, 'refused'); END")
    with pytest.raises(sa.exc.DBAPIError, match="refused"), session_scope(engine) as s:
        conn = s.connection()
        execute_insert(conn, insert_rows(enumerate(_prepared("h-", 3), 1), conn.dialect, bound_now(conn.dialect)))
    engine.dispose()


@pytest.mark.postgres
def test_copy_on_postgresql_stores_exactly_what_executemany_stores(pg_url: str) -> None:
    engine = open_store(pg_url)
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    odd = {"q": 'a"b\\c\n\t\x01', "中": "广场舞", "n": None, "f": 1e-07, "big": 2**70, "yes": True}
    records = [
        r._replace(attrs_json=r.attrs_json if i % 3 else prepare(Record(
            kind="petition", source=r.source, id=r.id, at=r.at, region=r.region, attributes=odd)).attrs_json)
        for i, r in enumerate(_prepared("copy-", 300))
    ]
    with session_scope(engine) as s:
        conn = s.connection()
        rows = insert_rows(enumerate(records, 1), conn.dialect, bound_now(conn.dialect, now))
        assert execute_insert(conn, rows) == 300  # COPY
        ref = insert_rows(
            enumerate([r._replace(source="ref-s") for r in records], 1), conn.dialect, bound_now(conn.dialect, now)
        )
        conn.exec_driver_sql(insert_sql(conn.dialect), ref)
    cols = ", ".join(c if c != "attributes" else "attributes::text" for c in INSERT_COLS)
    mine, theirs = record_rows(engine, "copy-", cols), record_rows(engine, "ref-", cols)
    assert len(mine) == 300 and [r[1:] for r in mine] == [r[1:] for r in theirs]
    engine.dispose()


@pytest.mark.postgres
def test_copy_meeting_an_existing_key_raises_the_integrity_error_and_keeps_nothing(pg_url: str) -> None:
    engine = open_store(pg_url)
    records = _prepared("dup-", 5)
    with session_scope(engine) as s:
        upsert_prepared(session=s, records=records[2:3])
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as s:
        conn = s.connection()
        execute_insert(conn, insert_rows(enumerate(records, 100), conn.dialect, bound_now(conn.dialect)))
    assert [r[1] for r in _stored(engine, "dup-")] == ["2"]
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("optimistic", [False, True])
def test_concurrent_upserts_of_the_same_keys_on_postgresql_take_turns(pg_url: str, optimistic: bool) -> None:
    # B starts while A's transaction (holding the writers' lock) is open: B must wait for it before it
    # looks for existing keys, then find A's rows. Looking first, B would miss them and fail on insert.
    engine = open_store(pg_url)
    records = _prepared("race-", 6)
    outcome: dict[str, object] = {}

    def writer_b() -> None:
        try:
            with session_scope(engine) as s:
                outcome["b"] = upsert_prepared(session=s, records=records[2:], optimistic=optimistic)
        except Exception as exc:  # reported below, with the assertion
            outcome["b"] = exc

    b = threading.Thread(target=writer_b)
    with session_scope(engine) as s:
        assert upsert_prepared(session=s, records=records[:4]) == UpsertStats(4)
        b.start()
        deadline = time.monotonic() + 10
        with engine.connect() as watch:  # until B waits for the lock A holds
            while not watch.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).scalar_one():
                assert time.monotonic() < deadline, f"B never waited for the lock: {outcome}"
                time.sleep(0.02)
    b.join(10)
    assert outcome["b"] == UpsertStats(2, 0, 2)
    assert [r[1] for r in _stored(engine, "race-")] == ["0", "1", "2", "3", "4", "5"]
    engine.dispose()
