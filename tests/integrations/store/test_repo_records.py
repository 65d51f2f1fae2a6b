"""The records repository: upsert, versions, seq, quarantine, cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.db import session_scope
from integrations.store.models import CursorRow
from integrations.store.records import (
    get_cursor,
    list_quarantine,
    max_seq,
    quarantine,
    record_versions,
    records_after_seq,
    records_between,
    seq_records_after,
    set_cursor,
    upsert_records,
)

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def rec(i: int, source: str = "s", **attrs: object) -> Record:
    return Record(
        kind="petition",
        source=source,
        id=f"r{i}",
        at=T0 + timedelta(minutes=i % 7),
        region="510104001001001",
        attributes={"people": 1, **attrs},
    )


def test_insert_then_unchanged_then_update_keeps_history(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        stats = upsert_records(session=s, records=[rec(i) for i in range(10)])
    assert (stats.inserted, stats.updated, stats.unchanged) == (10, 0, 0)
    with session_scope(engine) as s:
        stats = upsert_records(session=s, records=[rec(i) for i in range(10)])
        assert max_seq(session=s) == 10
    assert (stats.inserted, stats.updated, stats.unchanged) == (0, 0, 10)
    with session_scope(engine) as s:
        stats = upsert_records(session=s, records=[rec(3, people=7), rec(10)])
    assert (stats.inserted, stats.updated, stats.unchanged) == (1, 1, 0)
    with session_scope(engine) as s:
        versions = record_versions(session=s, source="s", source_id="r3")
        assert [(v.version, v.attributes["people"]) for v in versions] == [(1, 1), (2, 7)]
        assert [v.version for v in record_versions(session=s, source="s", source_id="r4")] == [1]
        after = seq_records_after(session=s, seq=10)
        assert [(q, r.id) for q, r in after] == [(11, "r3"), (12, "r10")]
        assert after[0][1].attributes["people"] == 7
    with session_scope(engine) as s:
        upsert_records(session=s, records=[rec(3, people=9)])
        assert [v.version for v in record_versions(session=s, source="s", source_id="r3")] == [1, 2, 3]


def test_duplicates_in_one_batch_are_stored_once_last_wins(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        stats = upsert_records(session=s, records=[rec(1), rec(2), rec(1, people=3)])
    assert stats.inserted == 2
    with session_scope(engine) as s:
        got = records_after_seq(session=s, seq=0)
    assert [(r.id, r.attributes["people"]) for r in got] == [("r2", 1), ("r1", 3)]


def test_same_id_in_two_sources_are_two_records(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        assert upsert_records(session=s, records=[rec(1, "a"), rec(1, "b")]).inserted == 2


def test_records_between_in_engine_order_and_aware(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=[rec(i, src) for i in range(14) for src in ("b", "a")])
    with session_scope(engine) as s:
        got = records_between(session=s, since=T0, until=T0 + timedelta(minutes=3))
    assert [r.key for r in got] == sorted(r.key for r in got)
    assert len(got) == 12 and all(r.at.tzinfo is not None for r in got)


def test_quarantine_and_cursor(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        assert get_cursor(session=s, source="x") is None
        set_cursor(session=s, source="x", cursor="c1")
        quarantine(session=s, source="x", page="p1", raw="{", reason="unparseable", source_id=None)
    with session_scope(engine) as s:
        set_cursor(session=s, source="x", cursor="c2")
    with session_scope(engine) as s:
        assert get_cursor(session=s, source="x") == "c2"
        rows = list_quarantine(session=s, source="x")
        assert [(r.page, r.raw, r.reason) for r in rows] == [("p1", "{", "unparseable")]


def test_cursor_moves_within_a_session_and_keeps_complete_until(engine: sa.Engine) -> None:
    until = datetime(2026, 3, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        set_cursor(session=s, source="y", cursor="c1", complete_until=until)
        held = s.get(CursorRow, "y")  # loaded, and kept in the session while held
        assert held is not None and held.cursor == "c1"
        set_cursor(session=s, source="y", cursor="c2")
        assert get_cursor(session=s, source="y") == "c2" and held.cursor == "c2"  # not stale
    with session_scope(engine) as s:
        row = s.get(CursorRow, "y")
        assert row is not None and (row.cursor, row.complete_until) == ("c2", until)
        assert row.updated_at.tzinfo is not None


def _orm_cursor(session: Session, source: str) -> str | None:
    """The cursor as the ORM reads it (what ``get_cursor`` always did)."""
    row = session.get(CursorRow, source)
    return row.cursor if row else None


def test_cursor_read_in_plain_sql_equals_the_orm_read(engine: sa.Engine) -> None:
    cursors = {"a": "c1", "b": None, "c": "页-2026-03-01T00:00:00+08:00|7", "d": "x" * 400}
    for source, cursor in cursors.items():
        with session_scope(engine) as s:
            set_cursor(session=s, source=source, cursor=cursor)
    with session_scope(engine) as s:  # "b" moved again, in another transaction
        set_cursor(session=s, source="b", cursor="b2")
    for source in [*cursors, "never"]:
        with session_scope(engine) as s:
            got = get_cursor(session=s, source=source)
        with session_scope(engine) as s:
            assert got == _orm_cursor(s, source), source
    assert got is None  # "never"


def test_empty_session_reads_the_cursor_without_the_orm(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as s:
        set_cursor(session=s, source="x", cursor="c1")

    def no_orm(*_: object, **__: object) -> None:
        raise AssertionError("the ORM read configures every mapper on the ingest's path")

    monkeypatch.setattr(Session, "get", no_orm)
    with session_scope(engine) as s:
        assert get_cursor(session=s, source="x") == "c1"
        assert get_cursor(session=s, source="y") is None


def test_cursor_read_sees_the_sessions_unflushed_objects(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        set_cursor(session=s, source="held", cursor="c1")
    with session_scope(engine) as s:
        s.add(CursorRow(source="pending", cursor="p1"))  # not flushed yet
        assert get_cursor(session=s, source="pending") == "p1"
    with session_scope(engine) as s:
        held = s.get(CursorRow, "held")
        assert held is not None
        held.cursor = "c2"  # changed in the session, not flushed
        assert get_cursor(session=s, source="held") == "c2"
    with session_scope(engine) as s:
        assert (get_cursor(session=s, source="pending"), get_cursor(session=s, source="held")) == ("p1", "c2")


def test_a_record_exactly_on_a_range_bound_is_found(engine: sa.Engine) -> None:
    # The bulk insert must store times exactly as SQLAlchemy binds them (SQLite compares them as text).
    with session_scope(engine) as s:
        upsert_records(session=s, records=[rec(0), rec(1)])
    with session_scope(engine) as s:
        on_bound = records_between(session=s, since=T0, until=T0 + timedelta(minutes=1))
    assert [r.id for r in on_bound] == ["r0"]


def test_the_earliest_time_after_a_seq_is_read_by_seq_not_by_time(engine: sa.Engine) -> None:
    from integrations.store.record_reads import earliest_at_after_seq

    with session_scope(engine) as s:
        upsert_records(session=s, records=[rec(i) for i in range(1, 15)])  # times not in arrival order
    with Session(engine) as s:
        stored = sorted(seq_records_after(session=s, seq=0, limit=100))
        for cut in range(0, 16):
            later = [r.at for q, r in stored if q > cut]
            assert earliest_at_after_seq(s, cut) == (min(later) if later else None)
    if engine.dialect.name == "sqlite":
        # its plan reads by the seq index (a bare min(at) walks the at index from the oldest record)
        seen: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        with Session(engine) as s:
            earliest_at_after_seq(s, 3)
            plan = s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + seen[-1], (3,)).all()
        assert "ix_record_seq" in " ".join(str(r) for r in plan), plan
