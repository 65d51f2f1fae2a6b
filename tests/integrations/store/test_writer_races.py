"""Writers that meet on one key: a warning opened by two evaluators at once, a new source's cursor moved
by two ingests at once. Each is one insert-on-conflict statement, never select-then-insert (which failed
on ``warning.open_key`` and ``cursor_pkey``, rescued only by a task retry)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.warnings import Firing, Level, fold
from integrations.store import warnings as store_warnings
from integrations.store.db import open_store, session_scope
from integrations.store.intake import get_cursor, quarantine, set_cursor
from integrations.store.models import QuarantineRow, WarningRow
from integrations.store.warnings import apply_changes

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _opened() -> tuple[object, object]:
    firing = Firing(rule="collective-petition", level=Level.orange, at=T0, group={"street": "510104001000"},
                    region="510104001000", records=("r1",), explanation="people=60 ≥ 50", summary="集体访")
    return fold(None, firing)


def test_a_warning_opened_by_another_writer_between_read_and_insert_is_folded_into(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, change = _opened()
    real = store_warnings._insert_open

    other_process = open_store(engine.url.render_as_string(hide_password=False))  # its own connections

    raced: list[bool] = []

    def other_writer_first(session: Session, row: WarningRow) -> WarningRow | None:
        # The race, made certain: another evaluator commits the same warning after our read.
        if not raced:
            raced.append(True)
            with session_scope(other_process) as other:
                apply_changes(session=other, changes=[(state, change)], now=T0)  # type: ignore[list-item]
        return real(session, row)

    monkeypatch.setattr(store_warnings, "_insert_open", other_writer_first)
    with session_scope(engine) as s:
        report = apply_changes(session=s, changes=[(state, change)], now=T0 + timedelta(seconds=1))  # type: ignore[list-item]
    other_process.dispose()
    assert (report.opened, report.updated, report.to_route) == (0, 1, [])
    with Session(engine) as s:
        assert len(s.exec(select(WarningRow)).all()) == 1


def test_two_ingests_moving_a_new_cursor_at_once_never_collide(engine: sa.Engine) -> None:
    errors: list[BaseException] = []
    for round_ in range(10):
        gate = threading.Barrier(2)

        def move(n: int, round_: int = round_, gate: threading.Barrier = gate) -> None:
            try:
                gate.wait()
                with session_scope(engine) as s:
                    set_cursor(session=s, source=f"new-{round_}", cursor=f"page-{n}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=move, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        with Session(engine) as s:
            assert get_cursor(session=s, source=f"new-{round_}") in ("page-1", "page-2")
    assert errors == []


def test_the_same_bad_item_is_quarantined_once_per_source(engine: sa.Engine) -> None:
    for _ in range(2):  # two ingests of the same page, one after the other or at once
        with session_scope(engine) as s:
            quarantine(session=s, source="xinfang", page="p1", raw='{"id": "XF-1"}', reason="missing field")
            quarantine(session=s, source="xinfang", page="p1", raw='{"id": "XF-2"}', reason="missing field")
            quarantine(session=s, source="mediation", page="p1", raw='{"id": "XF-1"}', reason="missing field")
    with Session(engine) as s:
        rows = s.exec(select(QuarantineRow.source, QuarantineRow.raw)).all()
    assert sorted(rows) == [("mediation", '{"id": "XF-1"}'), ("xinfang", '{"id": "XF-1"}'),
                            ("xinfang", '{"id": "XF-2"}')]


def test_first_deliveries_of_a_new_source_at_once_never_collide_on_its_watermark(engine: sa.Engine) -> None:
    # Two first pushes of one source used to both find no source_watermark row and both insert it: one
    # failed on its key (IntegrityError, a 500 to the department). The row is now inserted on conflict.
    from integrations.store.watermarks import note_delivery, source_marks

    errors: list[BaseException] = []
    for round_ in range(8):
        gate = threading.Barrier(4)

        def deliver(n: int, round_: int = round_, gate: threading.Barrier = gate) -> None:
            try:
                gate.wait()
                with session_scope(engine) as s:
                    note_delivery(session=s, source=f"new-{round_}", ats=[T0 + timedelta(minutes=n)],
                                  complete_up_to=T0, now=T0 + timedelta(hours=1))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        with Session(engine) as s:
            mark = source_marks(session=s)[f"new-{round_}"]  # type: ignore[arg-type]
        assert mark.latest_at == T0 + timedelta(minutes=3) and mark.complete_up_to == T0  # every delivery counted
