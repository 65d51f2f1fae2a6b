"""``report_situation``: the daily situation report (日报), made and queued to the city tier.

Scheduled at 08:00 Asia/Shanghai, it reports the day that just ended (yesterday); ``date`` picks another
day. The outbox sweep of ``escalate_warnings`` delivers it through the city responders' channels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.guard import ADMIN_HOOKS, require_safe_settings
from flows.store import store_engine
from integrations.i18n import _
from integrations.report.make import ReportFiles, make_report, parse_day
from integrations.settings import get_settings


@task(name="make-report", cache_policy=NONE)
def make_report_files(day: str, now: datetime) -> ReportFiles:
    """Read the store and write the report's Markdown, HTML and charts under ``home/reports``."""
    return make_report(store_engine(), day, get_settings().home / "reports", now=now)


@task(name="queue-report", cache_policy=NONE, retries=2, retry_delay_seconds=10)
def queue_to_city(files: ReportFiles, now: datetime) -> int:
    """Queue the report to the city tier's responders in the outbox (idempotent per day)."""
    from domain.responders import ResponderDirectory
    from integrations.report.deliver import queue_report_files

    directory = ResponderDirectory.load(get_settings().responders)
    return queue_report_files(store_engine(), files, directory=directory, now=now)


@flow(name="report_situation", log_prints=True, **ADMIN_HOOKS)
def report_situation(date: str | None = None) -> dict[str, Any]:
    """Make the situation report of ``date`` (YYYY-MM-DD; default yesterday in Beijing) and queue it."""
    require_safe_settings()
    now = datetime.now(UTC)
    day = parse_day(date) if date else parse_day(None, now=now) - timedelta(days=1)
    files = make_report_files(day.isoformat(), now)
    queued = queue_to_city(files, now)
    get_run_logger().info(_("{day} 的报告：{path}；已向市级排队 {n} 条通知").format(
        day=day, path=files.html_path, n=queued))
    return {"day": day.isoformat(), "markdown": str(files.markdown_path), "html": str(files.html_path),
            "charts": [str(p) for p in files.charts], "queued": queued}
