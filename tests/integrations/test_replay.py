"""Quarantine replay: after the mapping is fixed, valid payloads flow on as if they had just arrived."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import ingest_source
from integrations.replay import replay_quarantine
from integrations.sources import DEPARTMENTS, FakeSource, RawItem
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow
from integrations.store.records import list_quarantine, max_seq, records_after_seq

PETITION = next(c for c in DEPARTMENTS if c.kind == "petition")
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def petition(i: int, **over: object) -> dict[str, object]:
    # The department renamed "people" to "num_people" (schema drift): every item is refused at first.
    return {"id": f"XF-{i}", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001",
            "id_card": f"51010419900101{i:04d}", "num_people": 3, "subject": "拆迁补偿", **over}


def test_replay_after_fixing_the_mapping(engine: sa.Engine, kinds: RecordKinds) -> None:
    items: list[RawItem] = [petition(i) for i in range(5)]
    items.append(petition(5, region_code="999"))
    ingest_source(engine, FakeSource(PETITION, items), kinds=kinds, key="k", now=NOW)
    with session_scope(engine) as s:
        rows = list_quarantine(session=s)
        before = max_seq(session=s)
    assert len(rows) == 6 and all("缺少字段" in r.reason or "地区" in r.reason for r in rows)
    assert all("51010419900101" not in r.raw for r in rows)  # stored pseudonymised
    fixed = dataclasses.replace(PETITION, fields={**PETITION.fields, "num_people": "people"})
    ids = [r.id for r in rows if r.id is not None]
    report = replay_quarantine(engine, [*ids, 999], configs={"xinfang": fixed}, kinds=kinds, key="k", now=NOW)
    assert len(report.replayed) == 5 and report.inserted == 5
    assert list(report.still_invalid) == [ids[5]] and "地区代码无效" in report.still_invalid[ids[5]]
    assert report.skipped == {999: "没有这条隔离记录"}
    with session_scope(engine) as s:
        new = records_after_seq(session=s, seq=before)
        pending = list_quarantine(session=s, include_replayed=False)
        row5 = s.get(QuarantineRow, ids[5])
    assert sorted(r.id for r in new) == [f"XF-{i}" for i in range(5)]  # fresh seqs: evaluation picks them up
    assert all(r.attributes["people"] == 3 and r.attributes["person"].startswith("p_") for r in new)
    # The pseudonym of a replayed record is the one a normal arrival would have got.
    direct = ingest_source(engine, FakeSource(dataclasses.replace(fixed, name="again"), [petition(0)]), kinds=kinds,
                           key="k", now=NOW)
    assert direct.inserted == 1
    with session_scope(engine) as s:
        people = {r.source: r.attributes["person"] for r in records_after_seq(session=s, seq=before)
                  if r.id == "XF-0"}
    assert people["again"] == people["xinfang"]
    assert [r.id for r in pending] == [ids[5]] and row5 is not None and row5.replayed_at is None
    again = replay_quarantine(engine, None, configs={"xinfang": fixed}, kinds=kinds, key="k", now=NOW)
    assert again.replayed == [] and list(again.still_invalid) == [ids[5]]
    twice = replay_quarantine(engine, ids[:1], configs={"xinfang": fixed}, kinds=kinds, key="k", now=NOW)
    assert twice.replayed == [] and "重放过" in twice.skipped[ids[0]]
