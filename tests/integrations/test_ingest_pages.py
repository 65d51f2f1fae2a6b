"""Ingest page by page: new, repeated and mixed pages counted, a failed store stops the run, read-ahead equal."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import build_sources, ingest_source
from integrations.settings import Settings
from integrations.simulator import Faults, RunningSimulator
from integrations.sources import DEPARTMENTS, FakeSource, RawItem
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, RecordRow
from integrations.store.records import record_versions
from tests.integrations.ingest_support import DEPARTMENT_NAMES, KEY, count

pytestmark = pytest.mark.integration


def test_pages_all_new_repeated_and_mixed_are_counted_and_sequenced(engine: sa.Engine, kinds: RecordKinds) -> None:
    # Pages all new, repeated whole, mixed, with a duplicate inside: the figures, the arrival order (seq)
    # and the history must hold whatever each page holds.
    cfg = next(c for c in DEPARTMENTS if c.kind == "incident")

    def incident(i: int, injured: int = 0) -> dict[str, object]:
        return {
            "id": f"SJ-{i}",
            "occurred_at": f"2026-01-05T{i % 24:02d}:00:00+08:00",
            "region_code": "510104001001001",
            "category": "fire",
            "injured": injured,
            "deaths": 0,
        }

    items: list[RawItem] = [incident(i) for i in range(10)]  # pages 1-2: all new
    items += [incident(i) for i in range(5)]  # page 3: page 1 again, unchanged
    items += [incident(10), incident(5, 2), incident(11), incident(6), incident(12)]  # page 4: mixed
    items += [incident(i) for i in range(13, 18)]  # page 5: all new again
    items += [incident(18), incident(19), incident(18, 4), incident(20), incident(0, 1)]  # page 6: a duplicate
    report = ingest_source(engine, FakeSource(cfg, items), kinds=kinds, key=KEY, page_size=5)
    assert (report.inserted, report.updated, report.unchanged) == (21, 2, 6)
    with session_scope(engine) as s:
        rows = s.execute(sa.select(RecordRow.source_id, RecordRow.seq, RecordRow.version).order_by(RecordRow.seq))
        got = [(sid, seq, v) for sid, seq, v in rows]
        assert [v.version for v in record_versions(session=s, source=cfg.name, source_id="SJ-5")] == [1, 2]
        assert [v.version for v in record_versions(session=s, source=cfg.name, source_id="SJ-0")] == [1, 2]
    order = [f"SJ-{i}" for i in [1, 2, 3, 4, 6, 7, 8, 9, 10, 5, 11, 12, *range(13, 18), 19, 18, 20, 0]]
    assert [sid for sid, _, _ in got] == order
    assert [seq for _, seq, _ in got] == [2, 3, 4, 5, *range(7, 24)]  # 1 and 6: SJ-0 and SJ-5 changed since
    assert {sid: v for sid, _, v in got if v > 1} == {"SJ-5": 2, "SJ-0": 2}


def test_a_page_that_fails_to_store_stops_the_run_after_the_pages_before_it(
    sqlite_engine: sa.Engine, kinds: RecordKinds, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next page's mapping waits for this page's commit to begin; a failure before it must release
    # that wait (else the run would hang on its helper thread) and leave the pages before committed.
    from integrations.ingest.pipeline import IngestPipeline

    cfg = next(c for c in DEPARTMENTS if c.kind == "incident")
    items: list[RawItem] = [
        {
            "id": f"SJ-{i}",
            "occurred_at": "2026-01-05T01:00:00+08:00",
            "region_code": "510104001001001",
            "category": "fire",
            "injured": 0,
            "deaths": 0,
        }
        for i in range(20)
    ]
    real = IngestPipeline.store
    calls = []

    def failing(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(IngestPipeline, "store", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_source(sqlite_engine, FakeSource(cfg, items), kinds=kinds, key=KEY, page_size=5)
    assert count(sqlite_engine, RecordRow) == 10
    with session_scope(sqlite_engine) as s:
        assert s.get(CursorRow, cfg.name).cursor == "10"  # type: ignore[union-attr]


def test_reading_ahead_stores_what_the_plain_ingest_stores(
    sim: RunningSimulator, kinds: RecordKinds, tmp_path: Path
) -> None:
    # The read-ahead (fetching two pages ahead, mapping during the write, the UTC text written while
    # mapping, one multi-row statement per page) is only a schedule: row for row, the same store.
    from integrations.store.db import open_store

    sim.faults = Faults(duplicate_rate=0.1, out_of_order=True)
    stored = []
    for prefetch in (True, False):
        engine = open_store(f"sqlite:///{tmp_path}/{prefetch}.db")
        sources = build_sources(Settings(simulator_url=sim.url), DEPARTMENT_NAMES)
        try:
            for s in sources:
                ingest_source(engine, s, kinds=kinds, key=KEY, page_size=37, prefetch=prefetch)
        finally:
            for s in sources:
                s.close()
        with engine.connect() as conn:
            stored.append(
                conn.exec_driver_sql(
                    "SELECT source, source_id, kind, at, region, attributes, content_hash, version, late "
                    "FROM record ORDER BY source, source_id"
                ).fetchall()
            )
        engine.dispose()
    assert stored[0] and stored[0] == stored[1]
