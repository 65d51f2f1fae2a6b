"""Per-source watermarks in the store: one upsert whose marks only move forward, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from domain.watermarks import HeartbeatError, SourceMark
from integrations.store.db import session_scope
from integrations.store.watermarks import note_delivery, source_marks

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 6, 8, 0, tzinfo=UTC)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _mark(engine: sa.Engine, source: str = "xinfang") -> SourceMark:
    with Session(engine) as s:
        return source_marks(session=s)[source]


def test_the_first_delivery_writes_the_row_and_returns_it(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        got = note_delivery(session=s, source="xinfang", ats=[_h(2), _h(1)], now=NOW)
    assert got == SourceMark("xinfang", _h(2), None, NOW)
    assert _mark(engine) == got


def test_marks_only_move_forward_and_the_delivery_time_always(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[_h(5)], complete_up_to=_h(4), now=NOW)
    with session_scope(engine) as s:  # older records, no heartbeat: latest_at and the heartbeat stay
        got = note_delivery(session=s, source="xinfang", ats=[_h(1)], now=NOW + timedelta(minutes=1))
    assert got == SourceMark("xinfang", _h(5), _h(4), NOW + timedelta(minutes=1))
    with session_scope(engine) as s:  # a pull that drained the source at an older clock: no step back
        got = note_delivery(session=s, source="xinfang", drained_at=_h(3), now=NOW + timedelta(minutes=2))
    assert got.complete_up_to == _h(4)
    with session_scope(engine) as s:  # later records and a later drain: both move
        got = note_delivery(
            session=s, source="xinfang", ats=[_h(7), _h(6)], drained_at=_h(8), now=NOW + timedelta(minutes=3)
        )
    assert got == SourceMark("xinfang", _h(7), _h(8), NOW + timedelta(minutes=3))
    assert _mark(engine) == got
    with session_scope(engine) as s:  # an empty delivery only says the source spoke
        got = note_delivery(session=s, source="xinfang", now=NOW + timedelta(minutes=4))
    assert got == SourceMark("xinfang", _h(7), _h(8), NOW + timedelta(minutes=4))


def test_an_equal_heartbeat_is_accepted(engine: sa.Engine) -> None:
    for minute in (0, 1):
        with session_scope(engine) as s:
            note_delivery(session=s, source="xinfang", complete_up_to=_h(4), now=NOW + timedelta(minutes=minute))
    assert _mark(engine).complete_up_to == _h(4)


def test_a_heartbeat_going_backwards_is_refused_and_nothing_of_it_kept(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[_h(1)], complete_up_to=_h(4), now=NOW)
    with pytest.raises(HeartbeatError, match="不能倒退"), session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[_h(9)], complete_up_to=_h(3), now=NOW + timedelta(hours=1))
    assert _mark(engine) == SourceMark("xinfang", _h(1), _h(4), NOW)  # rolled back with its transaction


def test_a_heartbeat_in_the_future_is_refused_before_anything_is_written(engine: sa.Engine) -> None:
    with pytest.raises(HeartbeatError, match="未来"), session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", complete_up_to=NOW + timedelta(hours=1), now=NOW)
    with Session(engine) as s:
        assert source_marks(session=s) == {}


def test_sources_are_kept_apart(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[_h(5)], now=NOW)
        note_delivery(session=s, source="mediation", ats=[_h(1)], complete_up_to=_h(1), now=NOW)
    with Session(engine) as s:
        marks = source_marks(session=s)
    assert marks == {
        "xinfang": SourceMark("xinfang", _h(5), None, NOW),
        "mediation": SourceMark("mediation", _h(1), _h(1), NOW),
    }


def test_a_delivery_is_one_statement(engine: sa.Engine) -> None:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[_h(1)], now=NOW)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as s:
            note_delivery(session=s, source="xinfang", ats=[_h(2)], complete_up_to=_h(1), now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [st for st in seen if "source_watermark" in st] == seen[-1:] and "ON CONFLICT" in seen[-1]
