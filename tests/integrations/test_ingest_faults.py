"""Ingest under departments' faults: garbage, a simulated clock, schema drift, slowness, all at once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import IngestReport, ingest_source
from integrations.settings import Settings
from integrations.simulator import DEFAULT_START, Faults, RunningSimulator, start_simulator
from integrations.simulator.feed import item_id
from integrations.sources import DEPARTMENTS, RestSource, SourceStalled, SourceUnavailable
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, QuarantineRow, RecordRow, RecordVersionRow
from integrations.store.records import list_quarantine
from tests.integrations.ingest_support import KEY, count, run_all

pytestmark = pytest.mark.integration


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
