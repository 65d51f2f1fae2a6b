"""The ``report_situation`` flow under Prefect's test harness: makes the files and queues the 日报."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from integrations.settings import get_settings
from integrations.store.db import open_store
from integrations.store.models import OutboxRow
from tests.report_scenario import store


@pytest.mark.integration
def test_report_flow_makes_and_queues(prefect_harness: None) -> None:
    from flows.report import report_situation

    engine = open_store(get_settings().resolved_database_url)
    store(engine)
    result = report_situation(date="2026-01-20")
    assert result["day"] == "2026-01-20"
    assert result["html"].endswith("fenghuo-report-2026-01-20.html")
    assert result["queued"] >= 1
    again = report_situation(date="2026-01-20")
    assert again["queued"] == result["queued"]  # idempotent per day
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxRow).where(OutboxRow.step == "report")))
    assert len(rows) == result["queued"]
    assert {r.recipient for r in rows} == {"cd-duty-office"}  # the city tier of responders.yaml
    engine.dispose()
