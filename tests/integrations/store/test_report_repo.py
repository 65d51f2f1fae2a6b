"""The 日报 read from the store, on SQLite and PostgreSQL: the same figures as the pure computation."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from domain.situation.compute import Counts, compute_report
from domain.warnings import Level
from integrations.store.report import load_report_inputs
from tests.report_scenario import JINJIANG, NOW, QINGYANG, REGIONS, D, audits, store, warnings


def test_loads_what_the_day_needs(engine: sa.Engine) -> None:
    store(engine)
    with Session(engine) as session:
        inputs = load_report_inputs(session=session, day=D)
    # 8 was resolved 35 days before D: nothing in the report needs it.
    assert [w.id for w in inputs.warnings] == [1, 2, 3, 4, 5, 6, 7, 9]
    assert all(w.opened_at.tzinfo is not None for w in inputs.warnings)
    assert {a.action for a in inputs.audits} == {"opened", "acknowledged", "resolved", "escalated"}
    assert 8 not in {a.warning_id for a in inputs.audits}


def test_report_from_the_store_matches_the_hand_count(engine: sa.Engine) -> None:
    store(engine)
    with Session(engine) as session:
        inputs = load_report_inputs(session=session, day=D)
    r = compute_report(day=D, warnings=inputs.warnings, audits=inputs.audits, now=NOW, regions=REGIONS)
    assert r.totals == Counts(opened=4, acknowledged=3, escalated=1, resolved=2)
    assert r.by_level[Level.orange] == Counts(opened=2, escalated=1, resolved=1)
    assert {d.code: d.counts.opened for d in r.by_district} == {JINJIANG: 2, QINGYANG: 2}
    assert [w.id for w in r.open_severe] == [6, 1, 2, 9]
    assert (r.sla.ack.met, r.sla.ack.breached) == (2, 3)
    # Same answer as from the hand-made views.
    views = [w for w in warnings() if w.id != 8]
    assert r == compute_report(day=D, warnings=views, audits=audits(views), now=NOW, regions=REGIONS)


def test_an_empty_store_reads_nothing(engine: sa.Engine) -> None:
    with Session(engine) as session:
        inputs = load_report_inputs(session=session, day=D)
    assert inputs.warnings == [] and inputs.audits == []
