"""Ingest from the simulator into the store: cursors, faults, quarantine, versions, privacy, crashes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import IngestReport, build_sources, ingest_source
from integrations.settings import Settings
from integrations.simulator import DEFAULT_START, Faults, RunningSimulator, start_simulator
from integrations.simulator.feed import item_id
from integrations.sources import DEPARTMENTS, FakeSource, RawItem, RestSource, SourceStalled, SourceUnavailable
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, QuarantineRow, RecordRow, RecordVersionRow
from integrations.store.records import list_quarantine, record_versions

pytestmark = pytest.mark.integration
KEY = "test-key"
DEPARTMENT_NAMES = [c.name for c in DEPARTMENTS]
"""The simulator's departments (sources.yaml also declares the register, read from the store)."""


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with start_simulator(seed=11, days=3, scale=0.3, bad_rate=0.0) as s:
        yield s


def run_all(
    engine: sa.Engine,
    sim: RunningSimulator,
    kinds: RecordKinds,
    *,
    page_size: int = 50,
    sleeps: list[float] | None = None,
) -> dict[str, IngestReport]:
    sources = build_sources(
        Settings(simulator_url=sim.url, http_retries=6), DEPARTMENT_NAMES,
        sleep=(sleeps if sleeps is not None else []).append,
    )
    try:
        return {s.kind: ingest_source(engine, s, kinds=kinds, key=KEY, page_size=page_size) for s in sources}
    finally:
        for s in sources:
            s.close()


def count(engine: sa.Engine, table: type, **where: str) -> int:
    with session_scope(engine) as s:
        q = sa.select(sa.func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(getattr(table, k) == v)
        return int(s.execute(q).scalar_one())


def test_full_ingest_then_only_new_records(engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds) -> None:
    reports = run_all(engine, sim, kinds)
    for cfg in DEPARTMENTS:
        assert reports[cfg.kind].inserted == sim.feed.count(cfg.kind), cfg.kind
        assert count(engine, RecordRow, source=cfg.name) == sim.feed.count(cfg.kind)
    again = run_all(engine, sim, kinds)
    assert all(r.fetched == 0 and r.stored == 0 for r in again.values())
    before = count(engine, RecordRow)
    assert sim.append_days(1) > 0
    added = sum(sim.feed.count(c.kind) for c in DEPARTMENTS) - before
    third = run_all(engine, sim, kinds)
    assert sum(r.inserted for r in third.values()) == added
    assert sum(r.unchanged + r.updated for r in third.values()) == 0
    assert count(engine, RecordRow) == before + added


def test_500s_429s_and_an_outage_are_retried(
    sqlite_engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds
) -> None:
    sim.faults = Faults(down_for_requests=2, fail_rate=0.2, rate_limit_rate=0.2, retry_after_s=3, seed=5)
    sleeps: list[float] = []
    run_all(sqlite_engine, sim, kinds, sleeps=sleeps)
    statuses = {status for _, status in sim.request_log}
    assert {500, 503, 429} <= statuses
    assert 3.0 in sleeps  # Retry-After honoured
    assert count(sqlite_engine, RecordRow) == sum(sim.feed.count(c.kind) for c in DEPARTMENTS)


def test_truncated_pages_are_quarantined_and_ingest_goes_on(
    sqlite_engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds
) -> None:
    sim.faults = Faults(truncate_rate=0.3, seed=2)
    run_all(sqlite_engine, sim, kinds)
    with session_scope(sqlite_engine) as s:
        rows = list_quarantine(session=s, limit=1000)
    assert rows and all("无法解析的 JSON" in r.reason and r.page for r in rows)
    assert count(sqlite_engine, RecordRow) == sum(sim.feed.count(c.kind) for c in DEPARTMENTS)


def test_duplicated_and_shuffled_records_are_stored_once(
    engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds
) -> None:
    sim.faults = Faults(duplicate_rate=0.5, out_of_order=True, seed=3)
    reports = run_all(engine, sim, kinds)
    assert sum(r.fetched for r in reports.values()) > sum(r.stored for r in reports.values())
    assert count(engine, RecordRow) == sum(sim.feed.count(c.kind) for c in DEPARTMENTS)
    assert count(engine, RecordVersionRow) == 0


def test_changed_record_becomes_version_two_with_history(
    engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds
) -> None:
    run_all(engine, sim, kinds)
    target = sim.items("dispute")[0]
    sid = item_id("dispute", target)
    sim.update("dispute", sid, status="resolved" if target["status"] != "resolved" else "failed")
    reports = run_all(engine, sim, kinds)
    assert reports["dispute"].updated == 1 and reports["dispute"].inserted == 0
    with session_scope(engine) as s:
        versions = record_versions(session=s, source="mediation", source_id=sid)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].attributes["status"] == target["status"] != versions[1].attributes["status"]


def test_invalid_records_are_quarantined_with_reasons(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    with start_simulator(seed=12, days=3, scale=0.3, bad_rate=0.05) as sim:
        reports = run_all(sqlite_engine, sim, kinds)
        total = sum(sim.feed.count(c.kind) for c in DEPARTMENTS)
    quarantined = sum(r.quarantined for r in reports.values())
    assert quarantined > 10
    assert count(sqlite_engine, RecordRow) + count(sqlite_engine, QuarantineRow) == total
    with session_scope(sqlite_engine) as s:
        reasons = {r.reason.split(" ")[0] for r in list_quarantine(session=s, limit=10_000)}
    assert reasons & {"invalid", "occurred_at", "call_time"}


def test_personal_identifiers_never_reach_the_database(sqlite_engine: sa.Engine, kinds: RecordKinds) -> None:
    with start_simulator(seed=13, days=3, scale=0.3, bad_rate=0.05, faults=Faults(truncate_rate=0.2, seed=4)) as sim:
        run_all(sqlite_engine, sim, kinds)
        raw = {v for k in sim.feed.kinds for i in sim.items(k) for f in ("id_card", "phone") if (v := i.get(f))}
        names = {i["name"] for k in sim.feed.kinds for i in sim.items(k) if "name" in i}
    assert count(sqlite_engine, QuarantineRow) > 0 and len(raw) > 100
    db_path = Path(str(sqlite_engine.url.database))
    sqlite_engine.dispose()
    blob = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    runs = re.findall(rb"[0-9X]{11,}", blob)
    leaked = {r[i : i + n].decode() for r in runs for n in (11, 18) for i in range(len(r) - n + 1)} & raw
    assert leaked == set() and b"p_" in blob
    text = blob.decode("utf-8", errors="ignore")
    assert not [n for n in names if f'"{n}"' in text]


def test_interrupted_run_resumes_exactly_once(engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds) -> None:
    cfg = next(c for c in DEPARTMENTS if c.kind == "hotline")
    expected = sim.feed.count("hotline")

    class Crash(Exception):
        pass

    def crash_after_third(report: IngestReport) -> None:
        if report.pages == 3:
            raise Crash

    settings = Settings(simulator_url=sim.url)
    with RestSource.from_settings(cfg, settings) as src:
        with pytest.raises(Crash):
            ingest_source(engine, src, kinds=kinds, key=KEY, page_size=20, progress=crash_after_third)
        assert count(engine, RecordRow) == 60
        report = ingest_source(engine, src, kinds=kinds, key=KEY, page_size=20)
    assert report.inserted == expected - 60 and report.unchanged == 0
    with session_scope(engine) as s:
        ids = s.execute(sa.select(RecordRow.source_id)).scalars().all()
        cursor = s.get(CursorRow, cfg.name)
        seqs = s.execute(sa.select(RecordRow.seq).order_by(RecordRow.seq)).scalars().all()
    assert len(ids) == len(set(ids)) == expected
    assert seqs == list(range(1, expected + 1))
    with httpx.Client(base_url=sim.url) as client:
        tail = client.get(cfg.path, params={"cursor": cursor.cursor if cursor else ""}).json()
    assert tail["items"] == [] and not tail["has_more"]


def test_fake_source_failure_mid_run_then_rerun_stores_each_record_once(engine: sa.Engine, kinds: RecordKinds) -> None:
    cfg = next(c for c in DEPARTMENTS if c.kind == "incident")

    def incident(i: int) -> dict[str, object]:
        return {
            "id": f"SJ-{i}",
            "occurred_at": f"2026-01-05T{i % 24:02d}:00:00+08:00",
            "region_code": "510104001001001",
            "category": "fire",
            "injured": i % 3,
            "deaths": 0,
        }

    items: list[RawItem] = [incident(i) for i in range(25)]
    items[7] = {**incident(7), "region_code": "999"}
    items[12] = '{"id": "SJ-12", "occ'
    src = FakeSource(cfg, items, fail_on_fetch={3})
    with pytest.raises(SourceUnavailable):
        ingest_source(engine, src, kinds=kinds, key=KEY, page_size=5)
    assert count(engine, RecordRow) == 9  # two pages of five, one of them invalid
    src.append(incident(25))
    report = ingest_source(engine, src, kinds=kinds, key=KEY, page_size=5)
    assert report.inserted == 24 - 9 and report.quarantined == 1
    assert count(engine, RecordRow) == 24 and count(engine, QuarantineRow) == 2
    with session_scope(engine) as s:
        reasons = sorted(r.reason for r in list_quarantine(session=s))
        assert "地区代码无效" in reasons[0] and reasons[1].startswith("无法解析的 JSON"), reasons
        assert s.get(CursorRow, cfg.name).cursor == "26"  # type: ignore[union-attr]


def test_the_collector_runs_every_few_pages_and_is_on_again_after(
    sqlite_engine: sa.Engine, kinds: RecordKinds, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import integrations.ingest.pipeline as ingest_mod

    cfg = next(c for c in DEPARTMENTS if c.kind == "incident")
    items: list[RawItem] = [
        {"id": f"SJ-{i}", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
         "category": "fire"}
        for i in range(40)
    ]
    seen: list[bool] = []
    monkeypatch.setattr(ingest_mod, "_COLLECT_EVERY_PAGES", 4)
    monkeypatch.setattr(gc, "collect", lambda generation=2: seen.append(gc.isenabled()) or 0)
    assert gc.isenabled()
    report = ingest_source(sqlite_engine, FakeSource(cfg, items), kinds=kinds, key=KEY, page_size=2)
    assert report.pages == 20 and seen == [False] * 5  # paused in between; a collection every 4 pages
    assert gc.isenabled()
    with pytest.raises(SourceUnavailable):  # and after a failure too
        ingest_source(sqlite_engine, FakeSource(cfg, items, fail_on_fetch={1}), kinds=kinds, key=KEY, page_size=2)
    assert gc.isenabled()


def test_a_source_that_only_sends_garbage_stalls(sqlite_engine: sa.Engine, kinds: RecordKinds) -> None:
    cfg = DEPARTMENTS[0]
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=b'{"items": [{"id": "XF'))
    with RestSource(cfg, base_url="http://x.test", transport=transport) as src, pytest.raises(SourceStalled):
        ingest_source(sqlite_engine, src, kinds=kinds, key=KEY, max_stalls=2)
    assert count(sqlite_engine, QuarantineRow) == 1  # the same cut page, fetched three times, kept once
    with session_scope(sqlite_engine) as s:
        assert s.get(CursorRow, cfg.name) is None


def test_simulated_clock_reveals_the_month_bit_by_bit(sqlite_engine: sa.Engine, kinds: RecordKinds) -> None:
    start = DEFAULT_START
    with start_simulator(seed=14, days=3, scale=0.3, bad_rate=0.0, reveal_until=start) as sim:
        total = sum(sim.feed.count(c.kind) for c in DEPARTMENTS)
        seen = 0
        for hours in (12, 30, 200):
            sim.reveal_until(start + timedelta(hours=hours))
            reports = run_all(sqlite_engine, sim, kinds)
            assert all(r.unchanged == 0 for r in reports.values())
            seen += sum(r.inserted for r in reports.values())
            with session_scope(sqlite_engine) as s:
                latest = s.execute(sa.select(sa.func.max(RecordRow.at))).scalar_one()
            assert latest <= start + timedelta(hours=hours)
        assert seen == total == count(sqlite_engine, RecordRow)


def test_schema_drift_is_quarantined_as_missing_field(
    sqlite_engine: sa.Engine, sim: RunningSimulator, kinds: RecordKinds
) -> None:
    sim.faults = Faults(rename_fields={"people": "num_people"})
    cfg = next(c for c in DEPARTMENTS if c.kind == "petition")
    with RestSource.from_settings(cfg, Settings(simulator_url=sim.url)) as src:
        report = ingest_source(sqlite_engine, src, kinds=kinds, key=KEY)
    assert report.inserted == 0 and report.reasons == {"missing_field": sim.feed.count("petition")}


def test_a_slow_department_times_out_into_source_unavailable(
    sim: RunningSimulator, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    sim.faults = Faults(latency_s=0.3)
    sleeps: list[float] = []
    src = RestSource(DEPARTMENTS[0], base_url=sim.url, timeout_s=0.05, retries=1, sleep=sleeps.append)
    with src, pytest.raises(SourceUnavailable, match="超时"):
        ingest_source(sqlite_engine, src, kinds=kinds, key=KEY)
    assert len(sleeps) == 1 and count(sqlite_engine, RecordRow) == 0


def test_every_fault_at_once_interrupted_and_drifted_leaves_exactly_the_valid_records(
    engine: sa.Engine, kinds: RecordKinds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's proof: all faults on, a crash inside a page's transaction, schema drift for a while,
    then replay after the mapping is fixed: the N valid records are stored once each, every invalid one
    is in quarantine with a reason, and the cursor is at the end."""
    import dataclasses
    from datetime import UTC, datetime

    import integrations.ingest.pipeline as ingest_mod
    from domain.records import Record
    from integrations.replay import replay_quarantine
    from integrations.sources import map_item

    cfg = next(c for c in DEPARTMENTS if c.kind == "hotline")
    faults = Faults(latency_s=0.001, fail_rate=0.15, rate_limit_rate=0.1, retry_after_s=2, slow_rate=0.05,
                    slow_s=0.4, truncate_rate=0.1, duplicate_rate=0.3, out_of_order=True, down_for_requests=3, seed=7)
    sleeps: list[float] = []

    class Crash(Exception):
        pass

    def source() -> RestSource:
        return RestSource(cfg, base_url=sim.url, timeout_s=0.2, retries=12, sleep=sleeps.append)

    with start_simulator(seed=21, days=3, scale=0.3, bad_rate=0.05) as sim:
        now = datetime.now(UTC)
        oracle = {item_id("hotline", i): map_item(i, cfg, kinds, KEY, now=now) for i in sim.items("hotline")}
        valid = {k for k, m in oracle.items() if isinstance(m, Record)}
        invalid = set(oracle) - valid
        assert len(valid) > 200 and invalid
        sim.faults = faults
        # 1. Interrupted mid-page: the third page's transaction fails after its upsert, before its commit.
        real_set_cursor, calls = ingest_mod.set_cursor, []

        def set_cursor_then_crash(**kw: object) -> None:
            calls.append(1)
            if len(calls) == 3:
                raise Crash
            real_set_cursor(**kw)  # type: ignore[arg-type]

        monkeypatch.setattr(ingest_mod, "set_cursor", set_cursor_then_crash)
        with source() as src, pytest.raises(Crash):
            ingest_source(engine, src, kinds=kinds, key=KEY, page_size=25, now=now)
        monkeypatch.setattr(ingest_mod, "set_cursor", real_set_cursor)
        assert count(engine, RecordRow) <= 50

        # 2. Schema drift for two pages (category renamed), then the department reverts it.
        def stop_after_two(report: IngestReport) -> None:
            if report.pages == 2 and report.reasons.get("missing_field"):
                raise Crash

        sim.faults = dataclasses.replace(faults, rename_fields={"category": "cat"}, truncate_rate=0.0)
        with source() as src, pytest.raises(Crash):
            ingest_source(engine, src, kinds=kinds, key=KEY, page_size=25, now=now, progress=stop_after_two)
        # 3. Back to normal (every other fault still on), to the end.
        sim.faults = faults
        with source() as src:
            ingest_source(engine, src, kinds=kinds, key=KEY, page_size=25, now=now)
        # 4. The mapping learns the drifted name; the drifted items are replayed.
        fixed = dataclasses.replace(cfg, fields={**cfg.fields, "cat": "category"})
        replayed = replay_quarantine(engine, None, configs={cfg.name: fixed}, kinds=kinds, key=KEY, now=now)
        assert len(replayed.replayed) >= 25
        statuses = {status for _, status in sim.request_log}
        sim.faults = Faults()
        with httpx.Client(base_url=sim.url) as client, session_scope(engine) as s:
            cursor = s.get(CursorRow, cfg.name)
            assert cursor is not None
            tail = client.get(cfg.path, params={"cursor": cursor.cursor}).json()
    assert tail["items"] == [] and not tail["has_more"]  # the cursor is at the end
    assert {500, 503, 429, 200} <= statuses and 2.0 in sleeps
    with session_scope(engine) as s:
        stored = s.execute(sa.select(RecordRow.source_id)).scalars().all()
        pending = list_quarantine(session=s, limit=10_000, include_replayed=False)
    assert len(stored) == len(set(stored)) == len(valid) and set(stored) == valid
    assert count(engine, RecordVersionRow) == 0  # duplicates and re-deliveries changed nothing
    assert {q.source_id for q in pending if q.source_id} == invalid
    assert all(q.reason for q in pending)
    assert any(q.source_id is None and "无法解析的 JSON" in q.reason for q in pending)  # truncated pages


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
