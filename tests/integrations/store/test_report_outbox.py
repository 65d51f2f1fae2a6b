"""Queueing the 日报 to the city tier: one row per responder and channel, never twice for a day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.responders import ResponderDirectory
from integrations.report.deliver import queue_report_files
from integrations.report.make import make_report
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow
from integrations.store.report_outbox import queue_report
from tests.report_scenario import NOW, REGIONS, store

DIRECTORY = ResponderDirectory.model_validate({
    "city": "510100000000",
    "leadership": [{"id": "leader", "name": "值班领导", "channels": [{"type": "file", "address": "leader"}]}],
    "nodes": {
        "510100000000": {"responders": [
            {"id": "city-duty", "name": "市值班室", "kind": "unit",
             "channels": [{"type": "file", "address": "city-duty"}, {"type": "email", "address": "d@x.cn"}]},
            {"id": "city-petition", "name": "市信访局", "kind": "unit", "unit": "petition-office",
             "channels": [{"type": "file", "address": "p"}]},
        ]},
        "510104000000": {"responders": [
            {"id": "jj-duty", "name": "锦江区值班室", "channels": [{"type": "file", "address": "jj"}]}]},
    },
})


def test_queued_to_city_duty_once_per_channel_and_idempotent(engine: sa.Engine) -> None:
    for _ in range(2):  # a retried flow queues nothing new
        with session_scope(engine) as session:
            rows = queue_report(session=session, day=date(2026, 1, 20), subject="日报", body="# 日报",
                                payload={"day": "2026-01-20"}, directory=DIRECTORY, now=NOW)
    keys = sorted(r.idempotency_key for r in rows)
    # The city node's general responders only: not the specialist unit, not the districts.
    assert keys == ["report:2026-01-20:city-duty:email", "report:2026-01-20:city-duty:file"]
    with Session(engine) as session:
        stored = list(session.exec(select(OutboxRow)))
    assert len(stored) == 2
    assert all(r.warning_id is None and r.step == "report" and r.status == "pending" for r in stored)
    assert stored[0].payload["kind"] == "situation-report"


def test_made_report_is_queued_with_its_files(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    store(sqlite_engine)
    files = make_report(sqlite_engine, "2026-01-20", tmp_path, now=NOW, regions=REGIONS)
    assert queue_report_files(sqlite_engine, files, directory=DIRECTORY, now=NOW) == 2
    with Session(sqlite_engine) as session:
        row = session.exec(select(OutboxRow).where(OutboxRow.channel == "file")).one()
    assert row.subject == "烽火 社会稳定风险预警日报 — 2026-01-20"
    assert row.body.startswith("# 烽火 社会稳定风险预警日报")
    assert row.payload["html_path"] == str(files.html_path)
    assert row.payload["open_red_orange"] == [6, 1, 2, 9]
