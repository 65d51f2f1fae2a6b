"""The demo's register: a GBK export with a few bad rows imported, visits due over the month, most visited
(that care-visit-missed warns of the others is tested in tests/integrations/test_register_source.py)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import Session, func, select

from flows.demo_register import run_register_demo, summary_line
from flows.store import store_engine
from integrations.simulator.generate import DEFAULT_START
from integrations.store.models import RecordRow


def test_register_demo_imports_generates_and_misses_some() -> None:
    start, until = DEFAULT_START, DEFAULT_START + timedelta(days=30)
    began = time.perf_counter()
    counts = run_register_demo(start=start, until=until)
    took = time.perf_counter() - began
    assert counts["encoding"] == "GBK" and counts["refused"] == counts["bad_rows_written"] == 6
    assert counts["read"] == 306 and counts["kept"] == counts["people"] == 300
    assert set(counts["refused_by_reason"]) == {"unknown_category", "duplicate", "bad_date", "unknown_grid",
                                                "missing_value"}
    assert counts["due"] > 300 and counts["visited_on_time"] > counts["not_visited"] > 0
    with Session(store_engine()) as s:
        due = s.exec(select(func.count()).select_from(RecordRow).where(RecordRow.kind == "care_visit_due")).one()
        visits = s.exec(select(func.count()).select_from(RecordRow).where(RecordRow.kind == "care_visit")).one()
    assert due == counts["due"] and visits == counts["visited_on_time"] + counts["visited_late"]
    line = summary_line(counts)
    assert "导入 300 人" in line and "编码：GBK" in line and "未知类别 1" in line
    # Again: the import changes nothing and the register source, past its window, emits nothing new.
    again = run_register_demo(start=start, until=until)
    assert again["people"] == 300 and again["due"] == 0
    # About a second on a quiet machine (the brief's budget is 3 s); the margin is for loaded, shared cores.
    assert took < 12
