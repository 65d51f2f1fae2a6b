"""The ingest as four steps of one object: fetch, map, store, advance; and when the read-ahead maps."""

from __future__ import annotations

import dataclasses
import time

import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.pipeline import IngestPipeline, MappedPage
from integrations.sources import DEPARTMENTS, FakeSource, RawItem
from integrations.store.db import session_scope
from integrations.store.records import get_cursor, list_quarantine, records_after_seq

KEY = "test-key"
CFG = next(c for c in DEPARTMENTS if c.kind == "incident")


def _items(n: int, bad: frozenset[int] = frozenset()) -> list[RawItem]:
    return [
        {
            "id": f"SJ-{i}",
            "occurred_at": "2026-01-05T01:00:00+08:00",
            "region_code": "5101" if i in bad else "510104001001001",
            "category": "fire",
        }
        for i in range(n)
    ]


def test_a_page_goes_through_the_four_steps(engine: sa.Engine, kinds: RecordKinds) -> None:
    pipeline = IngestPipeline(engine, FakeSource(CFG, _items(7, bad=frozenset({3}))), kinds=kinds, key=KEY, page_size=5)
    page = pipeline.fetch(None)
    mapped = pipeline.map(page)
    assert [r.id for r in mapped.records] == ["SJ-0", "SJ-1", "SJ-2", "SJ-4"]
    assert [r.code for r in mapped.rejections] == ["invalid_region"]
    with session_scope(engine) as s:
        stats = pipeline.store(s, mapped, optimistic=True)
        pipeline.advance(s, page.next_cursor)
    assert stats.inserted == 4 and pipeline.stored_cursor() == page.next_cursor
    with session_scope(engine) as s:
        assert [r.id for r in records_after_seq(session=s, seq=0)] == ["SJ-0", "SJ-1", "SJ-2", "SJ-4"]
        assert [q.source_id for q in list_quarantine(session=s)] == ["SJ-3"]
    report = pipeline.run()  # from the stored cursor on: the rest
    assert (report.pages, report.inserted, report.cursor) == (1, 2, "7")


@pytest.mark.parametrize("prefetch", [True, False])
def test_the_next_page_is_mapped_only_once_this_one_has_advanced(
    sqlite_engine: sa.Engine, kinds: RecordKinds, monkeypatch: pytest.MonkeyPatch, prefetch: bool
) -> None:
    # The read-ahead maps page n+1 while page n is written, never earlier: mapped sooner, it would hold
    # the GIL while this page's rows are built (see integrations.ingest.ahead).
    events: list[tuple[str, str]] = []
    real_map, real_advance = IngestPipeline.map, IngestPipeline.advance

    def map_(self: IngestPipeline, page: object) -> MappedPage:
        events.append(("map", page.items[0]["id"]))  # type: ignore[attr-defined]
        return real_map(self, page)  # type: ignore[arg-type]

    def advance(self: IngestPipeline, session: object, cursor: str | None) -> None:
        time.sleep(0.02)  # time for a helper that did not wait to map the next page first
        real_advance(self, session, cursor)  # type: ignore[arg-type]
        events.append(("advance", str(cursor)))

    monkeypatch.setattr(IngestPipeline, "map", map_)
    monkeypatch.setattr(IngestPipeline, "advance", advance)
    pipeline = IngestPipeline(sqlite_engine, FakeSource(CFG, _items(20)), kinds=kinds, key=KEY, page_size=5)
    report = pipeline.run(prefetch=prefetch)
    assert report.inserted == 20 and report.cursor == "20"
    for k in range(1, 4):  # page k (items 5k…) is mapped after the cursor moved past page k-1
        assert events.index(("map", f"SJ-{5 * k}")) > events.index(("advance", str(5 * k)))
    with session_scope(sqlite_engine) as s:
        assert get_cursor(session=s, source=CFG.name) == "20"


def _at_items(times: list[str]) -> list[RawItem]:
    return [{"id": f"SJ-{i}", "occurred_at": t, "region_code": "510104001001001", "category": "fire"}
            for i, t in enumerate(times)]


@pytest.mark.parametrize(
    ("zone", "times"),
    [
        # offsets of their own, UTC among them; two equal instants (the first of them is the latest)
        (None, ["2026-01-05T01:00:00+08:00", "2026-01-05T09:00:00+08:00", "2026-01-05T01:00:00Z",
                "2026-01-05T03:00:00-05:00", "2026-01-05T16:00:00+08:00", "2026-01-04T22:00:00.5-05:00"]),
        (None, ["2026-01-05T01:00:00.000001+00:00", "2026-01-05T09:00:00.000001+08:00"]),  # equal instants
        # naive times in a zone with rules: in the spring gap wall order and instant order differ
        ("Europe/Berlin", ["2026-03-29T02:30:00", "2026-03-29T03:10:00", "2026-03-29T01:59:59"]),
    ],
)
def test_the_pages_latest_time_is_max_of_its_times(
    engine: sa.Engine, kinds: RecordKinds, zone: str | None, times: list[str]
) -> None:
    cfg = dataclasses.replace(CFG, timezone=zone)
    pipeline = IngestPipeline(engine, FakeSource(cfg, _at_items(times)), kinds=kinds, key=KEY, page_size=50)
    mapped = pipeline.map(pipeline.fetch(None))
    assert len(mapped.records) == len(times)
    assert mapped.latest is max(r.at for r in mapped.records)  # the very object max finds
    assert pipeline._latest([]) is None
