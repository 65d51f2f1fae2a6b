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


def _other(rid: str, hours: int) -> Record:
    return Record(kind="incident", source="public-safety", id=rid, at=T0 + timedelta(hours=hours),
                  region="510104001001", attributes={"injured": 40, "deaths": 0})


def test_a_release_group_takes_only_its_kinds_with_a_position_of_its_own(engine: sa.Engine) -> None:
    """Two groups over one log: each releases its own kinds up to its own bound, late ones included."""
    _store(engine, _rec("p1", 1), _other("i1", 2), _rec("p2", 5), _other("i2", 6))
    petitions, incidents = {"petition"}, {"incident"}
    with session_scope(engine) as s:
        got, pos_i, _ = next_batch(s, Position(), T0 + timedelta(hours=6), limit=10, kinds=incidents)
        assert _ids(got) == ["i1", "i2"] and pos_i.upto == T0 + timedelta(hours=6)
        assert pending_count(s, Position(), T0 + timedelta(hours=1), kinds=petitions) == (1, 1)
        got, pos_p, _ = next_batch(s, Position(), T0 + timedelta(hours=1), limit=10, kinds=petitions)
        assert _ids(got) == ["p1"] and pending_count(s, pos_p, T0 + timedelta(hours=1), kinds=petitions) == (0, 1)
        assert pending_count(s, pos_i, T0 + timedelta(hours=6), kinds=incidents) == (0, 0)
    _store(engine, _other("i-late", 3), _rec("p-on-time", 4))
    with session_scope(engine) as s:
        got, pos_i, late = next_batch(s, pos_i, T0 + timedelta(hours=6), limit=10, kinds=incidents)
        assert (_ids(got), late) == (["i-late"], True)  # behind the incidents' position: late
        got, pos_p, late = next_batch(s, pos_p, T0 + timedelta(hours=9), limit=10, kinds=petitions)
        assert (_ids(got), late) == (["p-on-time", "p2"], False)  # the petitions' position was at 1 h
        assert next_batch(s, pos_i, None, limit=10, kinds=incidents)[0] == []
