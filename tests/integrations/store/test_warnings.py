"""Applying the evaluator's changes: the store records warnings and reports what to route (no router here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.warnings import Firing, Level, fold
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.warnings import apply_changes, open_fingerprints

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _firing(level: Level, minutes: int, street: str = "510104001000") -> Firing:
    return Firing(rule="collective-petition", level=level, at=T0 + timedelta(minutes=minutes), group={"street": street},
                  region=street, records=(f"r{minutes}",), explanation="people=60 ≥ 50", summary="集体访")


def test_opened_and_raised_warnings_are_reported_for_routing_and_nothing_is_routed(engine: sa.Engine) -> None:
    state, change = fold(None, _firing(Level.yellow, 0))
    same, folded = fold(state, _firing(Level.yellow, 1))
    raised, up = fold(same, _firing(Level.orange, 2))
    with session_scope(engine) as s:
        first = apply_changes(session=s, changes=[(state, change)], now=T0)
        assert [(w.level, c) for w, c in first.to_route] == [("yellow", "opened")]
        again = apply_changes(session=s, changes=[(same, folded)], now=T0)
        assert (again.updated, again.to_route) == (1, [])
        last = apply_changes(session=s, changes=[(raised, up)], now=T0)
        assert [(w.level, c) for w, c in last.to_route] == [("orange", "raised")]
        assert last.to_route[0][0].id == first.to_route[0][0].id
    with Session(engine) as s:
        assert s.exec(select(OutboxRow)).all() == []  # routing is the caller's, not apply_changes'
        assert open_fingerprints(session=s, fingerprints=[state.fingerprint, "other"]) == {state.fingerprint}
        assert open_fingerprints(session=s, fingerprints=[]) == set()
        assert len(s.exec(select(WarningRow)).all()) == 1


def test_a_batch_of_changes_reads_its_open_warnings_once(engine: sa.Engine) -> None:
    streets = [f"51010400{i}000" for i in range(1, 6)]
    opened = [fold(None, _firing(Level.yellow, 0, street)) for street in streets]
    with session_scope(engine) as s:
        apply_changes(session=s, changes=opened, now=T0)
    batch = []
    for (state, _), street in zip(opened, streets, strict=True):
        same = fold(state, _firing(Level.yellow, 1, street))
        batch += [same, fold(same[0], _firing(Level.orange, 2, street))]
    batch.append(fold(None, _firing(Level.blue, 3, "510104009000")))  # a new one in the same batch
    reads: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM warning" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as s:
            report = apply_changes(session=s, changes=batch, now=T0)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1  # one query for the batch, not one per change
    assert (report.opened, report.updated, report.raised) == (1, 5, 5)
    with Session(engine) as s:
        rows = s.exec(select(WarningRow)).all()
    assert sorted(r.level for r in rows) == ["blue"] + ["orange"] * 5


def test_a_batch_of_folds_is_one_update_and_the_store_equals_the_session(engine: sa.Engine) -> None:
    streets = [f"51010400{i}000" for i in range(1, 5)]
    opened = [fold(None, _firing(Level.yellow, 0, street)) for street in streets]
    with session_scope(engine) as s:
        apply_changes(session=s, changes=opened, now=T0)
        s.exec(select(WarningRow).where(WarningRow.region == streets[0])).one().status = "stale"
    batch = []
    for (state, _), street in zip(opened, streets, strict=True):
        same = fold(state, _firing(Level.yellow, 1, street))
        batch += [same, fold(same[0], _firing(Level.yellow, 2, street))]  # the later fold of a warning wins
    updates: list[tuple[str, bool]] = []

    def count(conn: object, cursor: object, statement: str, params: object, context: object, many: bool) -> None:
        if statement.lstrip().startswith("UPDATE warning"):
            updates.append((statement, many))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as s:
            report = apply_changes(session=s, changes=batch, now=T0)
            seen = {r.region: (r.level, r.last_at, r.occurrences, r.records, r.summary, r.status, r.stale_at)
                    for r in report.folded}
            assert not any(s.is_modified(r) for r in report.folded)  # nothing left for the unit of work
            report.folded[1].tier = "street"  # a router's later change in the same transaction keeps the fold
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [many for _, many in updates[:1]] == [True] and len(updates) == 2  # the folds, then the tier
    assert report.updated == 8 and len(seen) == 4
    with Session(engine) as s:
        stored = {r.region: (r.level, r.last_at, r.occurrences, r.records, r.summary, r.status, r.stale_at)
                  for r in s.exec(select(WarningRow))}
        assert s.exec(select(WarningRow).where(WarningRow.region == report.folded[1].region)).one().tier == "street"
    assert stored == seen
    assert stored[streets[0]][5] == "open"  # the stale one is active again
    assert {v[2] for v in stored.values()} == {3} and {v[1] for v in stored.values()} == {T0 + timedelta(minutes=2)}
    assert {tuple(v[3]) for v in stored.values()} == {("r0", "r1", "r2")}
