"""End to end: the simulator on loopback → run_pipeline (Prefect, test harness) → warnings, outbox, files."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from flows.store import store_engine
from integrations.settings import get_settings
from integrations.simulator.generate import DEFAULT_START
from integrations.simulator.server import start_simulator
from integrations.store.models import AuditRow, OutboxRow, QuarantineRow, RecordRow, WarningRow

pytestmark = pytest.mark.integration


def _counts() -> tuple[int, int, int, int]:
    with Session(store_engine()) as s:
        return (s.exec(select(func.count()).select_from(RecordRow)).one(),
                s.exec(select(func.count()).select_from(WarningRow)).one(),
                s.exec(select(func.count()).select_from(OutboxRow)).one(),
                s.exec(select(func.count()).select_from(AuditRow)).one())


def test_pipeline_routes_warnings_at_every_level_and_reruns_change_nothing(prefect_harness: None) -> None:
    from flows.pipeline import run_pipeline

    end = DEFAULT_START + timedelta(days=30)
    with start_simulator(seed=7) as sim:
        get_settings().simulator_url = sim.url
        result = run_pipeline(now=end)
        assert sum(i["inserted"] for i in result["ingested"]) > 1000
        assert result["evaluated"]["opened"] > 0
        first = _counts()
        # Run again with nothing new at the sources but one item whose well-formed region code the directory
        # does not know (one run for both: each costs seconds): nothing new anywhere (no duplicate warning or
        # notification, no record), and that item quarantined with its reason: kept, not stored as a record,
        # and its ID-card number pseudonymised even there.
        sim.append("petition", [{"id": "X-UNKNOWN", "occurred_at": (end - timedelta(days=1)).isoformat(),
                                 "region_code": "510104099099", "people": 3, "id_card": "510104199001011234",
                                 "subject": "测试", "channel": "visit", "status": "open"}])
        run_pipeline(now=end)
        assert _counts() == first
        with Session(store_engine()) as s:
            kept = s.exec(select(QuarantineRow).where(QuarantineRow.source_id == "X-UNKNOWN")).one()
            assert s.exec(select(RecordRow).where(RecordRow.source_id == "X-UNKNOWN")).first() is None
        assert "未知地区" in kept.reason and "510104199001011234" not in kept.raw
    with Session(store_engine()) as s:
        held = s.exec(select(OutboxRow).where(OutboxRow.status == "pending")).all()
    # Blue and yellow wait for their digest window (orange and red never do); a sweep after it sends them.
    assert held and {o.level for o in held} <= {"blue", "yellow"}
    from flows.escalate import escalate_warnings

    escalate_warnings(now=end + timedelta(minutes=10))

    with Session(store_engine()) as s:
        warnings = s.exec(select(WarningRow)).all()
        sent = s.exec(select(OutboxRow).where(OutboxRow.status == "sent")).all()
        pending = s.exec(select(OutboxRow).where(OutboxRow.status != "sent")).all()
    assert {w.level for w in warnings} == {"blue", "yellow", "orange", "red"}
    # Routed by level to the responsible tier, and every warning explains itself.
    tiers = {"blue": "community", "yellow": "street", "orange": "district", "red": "city"}
    ORDER = ["grid", "community", "street", "district", "city", "leadership"]
    for w in warnings:
        assert w.explanation and w.rulebook_version and w.records
        # At the level's tier or above (a street-wide blue warning, say, goes to the street).
        assert ORDER.index(w.tier) >= ORDER.index(tiers[w.level]), (w.level, w.tier)
        assert w.route_region
    assert sent
    # What is not sent is held by a cluster still open (a default inhibition: the cluster's message names
    # it); nothing else waits.
    unsent = [p for p in pending if p.channel == "file"]
    open_ids = {w.id for w in warnings if w.status != "resolved"}
    assert all(p.status == "held" and p.payload.get("inhibitor") in open_ids for p in unsent)
    clusters = {w.id: w for w in warnings if w.rule in ("street-cluster", "district-cluster")}
    assert {p.payload["inhibitor"] for p in unsent} <= set(clusters)
    keys = [o.idempotency_key for o in sent]
    assert len(keys) == len(set(keys))
    # The file channel wrote each notification once, with its idempotency key (a digest's for the rows
    # that went in one), masked.
    lines = [json.loads(line) for f in get_settings().resolved_outbox_dir.glob("*.jsonl")
             for line in f.read_text(encoding="utf-8").splitlines()]
    file_keys = [entry["idempotency_key"] for entry in lines]
    expected = {o.payload.get("digest_key") or o.idempotency_key for o in sent if o.channel == "file"}
    assert sorted(file_keys) == sorted(expected)
    assert any(k.startswith("digest:") for k in file_keys)
    raw_id = "510104"  # a raw ID-card number starts with a district code; pseudonyms never do
    assert not any(raw_id + "19" in json.dumps(entry, ensure_ascii=False) for entry in lines)
