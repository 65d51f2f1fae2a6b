"""Ingest from the simulator into the store: cursors, quarantine, versions, privacy, crashes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import IngestReport, ingest_source
from integrations.settings import Settings
from integrations.simulator import Faults, RunningSimulator, start_simulator
from integrations.simulator.feed import item_id
from integrations.sources import DEPARTMENTS, FakeSource, RawItem, RestSource, SourceUnavailable
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, QuarantineRow, RecordRow, RecordVersionRow
from integrations.store.records import list_quarantine, record_versions
from tests.integrations.ingest_support import KEY, count, run_all

pytestmark = pytest.mark.integration


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
