"""The register in the store, on SQLite and PostgreSQL: entries listed by category and region subtree,
closed once (audited, kept), dates and times round-trip, and the entries that may have visits in a window."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from integrations.store.db import session_scope
from integrations.store.models import AuditRow
from integrations.store.registers import (
    REGISTER_CLOSED,
    RegisterClosed,
    RegisterPersonRow,
    add_entries,
    close_entry,
    entries_due_between,
    list_entries,
    open_entries,
)

NOW = datetime(2026, 1, 5, 2, tzinfo=UTC)


def _add(engine: sa.Engine) -> list[int]:
    rows = [("p_" + "a" * 20, "living_alone_elderly", "510104001001001", date(2026, 1, 1), None),
            ("p_" + "b" * 20, "left_behind_children", "510104001002001", date(2025, 6, 1), date(2025, 12, 31)),
            ("p_" + "c" * 20, "living_alone_elderly", "510105001001001", date(2026, 3, 1), None)]
    with session_scope(engine) as s:
        return add_entries(s, [{"person": p, "category": c, "grid": g, "start_date": st, "end_date": e,
                                 "source_file": "台账.csv", "source_line": i + 2}
                                for i, (p, c, g, st, e) in enumerate(rows)], now=NOW)


def test_list_by_category_region_and_state(engine: sa.Engine) -> None:
    a, b, c = _add(engine)
    with Session(engine) as s:
        assert [r.id for r in list_entries(s)] == [a, b, c]
        assert [r.id for r in list_entries(s, category="living_alone_elderly")] == [a, c]
        assert [r.id for r in list_entries(s, grid="510104000000")] == [a, b]  # a district's whole subtree
        assert [r.id for r in list_entries(s, grid="510104001002")] == [b]  # a community's
        assert [r.id for r in list_entries(s, grid="510104001001001")] == [a]  # one grid
        assert [r.id for r in list_entries(s, limit=1)] == [a]
        row = s.get(RegisterPersonRow, a)
        assert row is not None and (row.start_date, row.end_date, row.created_at) == (date(2026, 1, 1), None, NOW)
        assert (row.source_file, row.source_line) == ("台账.csv", 2)


def test_close_once_audited_and_kept(engine: sa.Engine) -> None:
    a, b, c = _add(engine)
    with session_scope(engine) as s:
        assert close_entry(s, a, reason="迁出本市", actor="gw-1", now=NOW) is not None
        assert close_entry(s, 999, reason="x", actor="gw-1", now=NOW) is None
    with session_scope(engine) as s, pytest.raises(RegisterClosed, match="无需再次注销"):
        close_entry(s, a, reason="again", actor="gw-1", now=NOW)
    with Session(engine) as s:
        assert [r.id for r in list_entries(s)] == [b, c]
        assert next(r.id for r in list_entries(s, include_closed=True)) == a
        assert set(open_entries(s)) == {("p_" + "b" * 20, "left_behind_children"),
                                        ("p_" + "c" * 20, "living_alone_elderly")}
        assert open_entries(s, set()) == {}
        audit = s.exec(select(AuditRow).where(AuditRow.action == REGISTER_CLOSED)).one()
        assert (audit.actor, audit.reason, audit.detail["register"], audit.warning_id) == ("gw-1", "迁出本市", a, None)


def test_entries_that_may_have_visits_in_a_window(engine: sa.Engine) -> None:
    a, b, c = _add(engine)
    with Session(engine) as s:
        assert [r.id for r in entries_due_between(s, date(2026, 1, 1), date(2026, 2, 1))] == [a]
        assert [r.id for r in entries_due_between(s, date(2025, 12, 31), date(2026, 1, 1))] == [b]
        assert [r.id for r in entries_due_between(s, date(2026, 1, 1), date(2026, 3, 2))] == [a, c]
