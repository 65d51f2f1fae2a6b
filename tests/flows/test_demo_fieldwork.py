"""The demo's field work (flows/demo_fieldwork.py) on an empty store: reports stored, resent, quarantined,
refused; the gathering and the petition that was never told open their warnings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from flows.console import open_engine
from flows.demo_fieldwork import report_field_matters
from integrations.store.models import WarningRow


def test_field_reports_and_a_missed_deadline_open_warnings() -> None:
    counts = report_field_matters(datetime(2026, 2, 4, 8, 0, tzinfo=UTC))
    assert counts == {"stored": 3, "duplicate": 1, "quarantined": 1, "refused": 1, "warnings": 2}
    with Session(open_engine()) as s:
        opened = sorted((w.rule, w.level, w.region) for w in s.exec(select(WarningRow)))
    assert opened == [("grid-gathering", "orange", "510104001001"),
                      ("petition-acceptance-overdue", "yellow", "510104001002")]
