"""The reorder buffer (integrations/store/release.py) on SQLite and PostgreSQL: released in the engine's
order up to the bound, never splitting an instant, late arrivals first and once, held records counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from domain.records import Record
from integrations.store.db import session_scope
from integrations.store.records import upsert_records
from integrations.store.release import Position, next_batch, pending_count

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _rec(rid: str, hours: int, source: str = "xinfang") -> Record:
    return Record(kind="petition", source=source, id=rid, at=T0 + timedelta(hours=hours), region="510104001001",
                  attributes={"people": 1})


def _store(engine: sa.Engine, *records: Record) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=list(records))


def _ids(batch: list[tuple[int, Record]]) -> list[str]:
    return [r.id for _, r in batch]


def test_release_in_order_up_to_the_bound_then_late_ones(engine: sa.Engine) -> None:
    _store(engine, _rec("c", 3), _rec("a", 1), _rec("b1", 2, "mediation"), _rec("b2", 2), _rec("d", 9))
    with session_scope(engine) as s:
        assert pending_count(s, Position(), T0 + timedelta(hours=3)) == (4, 1)
        first, pos, late = next_batch(s, Position(), T0 + timedelta(hours=3), limit=2)
        # Two asked for, three given: the instant of the second (2 h) comes whole.
        assert (_ids(first), late) == (["a", "b1", "b2"], False)
        assert pos.upto == T0 + timedelta(hours=2)
        second, pos, _ = next_batch(s, pos, T0 + timedelta(hours=3), limit=2)
        assert _ids(second) == ["c"] and pos.upto == T0 + timedelta(hours=3)
        assert next_batch(s, pos, T0 + timedelta(hours=3), limit=2)[0] == []  # "d" is held
    _store(engine, _rec("late", 0))  # behind what was released
    with session_scope(engine) as s:
        batch, pos, late = next_batch(s, pos, T0 + timedelta(hours=3), limit=10)
        assert (_ids(batch), late) == (["late"], True)
        assert next_batch(s, pos, T0 + timedelta(hours=3), limit=10)[0] == []  # once only
        rest, pos, _ = next_batch(s, pos, None, limit=10)  # nothing holds any more
        assert _ids(rest) == ["d"] and pending_count(s, pos, None) == (0, 0)
