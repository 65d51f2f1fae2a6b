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
