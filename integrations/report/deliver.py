"""Handing a made report to the notification channels: outbox rows for the city tier's responders.

The body is the Markdown (every channel can carry text); the payload names the HTML and chart files so a
channel that attaches files (e-mail) can add them. The outbox sweep delivers the rows like any other.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from domain.responders import ResponderDirectory
from integrations.report import text
from integrations.report.make import ReportFiles
from integrations.store.db import session_scope
from integrations.store.report_outbox import queue_report


def queue_report_files(
    engine: sa.Engine, files: ReportFiles, *, directory: ResponderDirectory, now: datetime
) -> int:
    """Queue ``files`` to the city tier; returns how many outbox rows the day's report has."""
    report = files.report
    if report is None:
        raise ValueError("the report's figures are missing: make it with make_report")
    payload = {
        "day": report.day.isoformat(),
        "markdown_path": str(files.markdown_path),
        "html_path": str(files.html_path),
        "charts": [str(p) for p in files.charts],
        "headline": text.headline(report),
        "open_red_orange": [w.id for w in report.open_severe],
    }
    with session_scope(engine) as session:
        rows = queue_report(session=session, day=report.day, subject=text.title(report),
                            body=files.markdown_path.read_text(encoding="utf-8"), payload=payload,
                            directory=directory, now=now)
        return len(rows)
