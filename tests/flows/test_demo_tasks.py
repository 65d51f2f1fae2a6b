"""The demo's simulated grid workers: they take and finish tasks through the same actions, and the counts
they return agree with the store."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from flows.console import open_engine
from flows.demo_tasks import simulate_grid_work, summary_line
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.store.task_models import TaskRow

MONDAY_10_BJ = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_grid_workers_take_and_finish_tasks_and_the_counts_agree() -> None:
    with session_scope(open_engine()) as s:
        for i in range(12):
            w = WarningRow(fingerprint=f"fp-{i}", open_key=f"fp-{i}", rule="collective-petition", level="yellow",
                           region="510104001001001", tier="street", route_region="510104001000",
                           first_at=MONDAY_10_BJ, last_at=MONDAY_10_BJ, records=[])
            s.add(w)
            s.flush()
            s.add(TaskRow(warning_id=w.id or 0, kind="verify", region="510104001001001", tier="grid",
                          created_at=MONDAY_10_BJ, due_at=MONDAY_10_BJ + timedelta(hours=4)))
    counts = Counter(simulate_grid_work(MONDAY_10_BJ))
    with Session(open_engine()) as s:
        rows = s.exec(select(TaskRow)).all()
    by_outcome = Counter(r.outcome for r in rows if r.outcome)
    assert counts["accepted"] == sum(1 for r in rows if r.accepted_by) > 0
    assert {k: counts[k] for k in by_outcome} == dict(by_outcome) and sum(by_outcome.values()) > 0
    assert counts["left"] == sum(1 for r in rows if r.status == "accepted")
    assert all(r.done_by == "jj-c001001-grid-lead" for r in rows if r.done_by)  # the community's grid lead
    assert "网格任务" in summary_line(counts)
