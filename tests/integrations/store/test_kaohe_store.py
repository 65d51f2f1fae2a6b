"""The 考核 report read from the store, on SQLite and PostgreSQL: the same figures as the hand count."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from domain.kaohe.compute import Tally
from domain.kaohe.report import make_kaohe_report
from integrations.store.kaohe import load_kaohe_inputs
from tests.kaohe_scenario import EXPECTED, NOW, REGIONS, WEEK, A, B, C, day, store


def test_store_gives_the_hand_counted_figures(engine: sa.Engine) -> None:
    store(engine)
    with Session(engine) as session:
        inputs = load_kaohe_inputs(session=session, period=WEEK)
    # Warning 2's ack_due_at moved to 12:30 with its escalations; the pinned one (open step) is 10:30.
    pinned = {w.id: w.ack_due_at for w in inputs.warnings}
    assert pinned[2] == day(1, 10, 30)
    assert sorted((e.warning_id, e.from_node) for e in inputs.escalations) == [(2, B), (2, "510104002001")]
    assert sorted((t.id, t.done_at is not None) for t in inputs.tasks) == [(1, True), (2, False), (4, True)]
    assert sorted(d.person for d in inputs.dues) == ["p1", "p2", "p3"]
    cases = {c.key.split(":")[1]: c for c in inputs.cases}
    assert cases["x1"].first_at == day(-58, 9) and cases["x1"].concluded_at == day(-2, 9)
    assert cases["x2"].concluded_at is None and cases["d2"].concluded_at == day(4, 9)
    report = make_kaohe_report(inputs, period=WEEK, now=NOW, regions=REGIONS)
    streets = {r.figures.code: r for r in report.streets}
    for code, expected in EXPECTED.items():
        f = streets[code].figures
        got: dict[str, object] = {"received": f.received, "escalated": f.escalated, "score": streets[code].score}
        got |= {k: (getattr(f, k).met, getattr(f, k).breached)
                for k in ("ack", "resolve", "tasks", "visits", "petitions", "disputes")}
        assert got == expected, code
    assert [r.figures.code for r in report.streets] == [A, C, B]


def test_without_tasks_there_are_none(engine: sa.Engine) -> None:
    store(engine, with_tasks=False)
    with Session(engine) as session:
        inputs = load_kaohe_inputs(session=session, period=WEEK)
    assert inputs.tasks == []
    report = make_kaohe_report(inputs, period=WEEK, now=NOW, regions=REGIONS)
    assert all(r.figures.tasks == Tally() for r in report.streets)
    assert len(inputs.warnings) == 5


def test_an_empty_store_reads_nothing(engine: sa.Engine) -> None:
    with Session(engine) as session:
        inputs = load_kaohe_inputs(session=session, period=WEEK)
    assert (inputs.warnings, inputs.escalations, inputs.tasks, inputs.dues, inputs.cases) == ([], [], [], [], [])
