"""``report_kaohe``: the 考核 report of the last complete month (or week), as HTML, Excel and charts.

Scheduled on the 1st of each month at 08:00 Asia/Shanghai for the month that just ended; ``period`` and
``date`` pick another. The files are written under ``home/reports`` for the offices that file them; the
report is not queued to a channel (the daily report is; this one is filed, not read on a phone).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from domain.kaohe.period import Period, PeriodKind, last_complete, period_containing
from flows.guard import ADMIN_HOOKS, require_safe_settings
from flows.store import store_engine
from integrations.i18n import _
from integrations.report.kaohe_make import KaoheFiles, make_kaohe_files
from integrations.report.make import parse_day
from integrations.settings import get_settings


@task(name="make-kaohe-report", cache_policy=NONE)
def make_kaohe_report_files(period: Period, now: datetime) -> KaoheFiles:
    """Read the store and write the report's HTML, Excel workbook and charts under ``home/reports``."""
    return make_kaohe_files(store_engine(), period, get_settings().home / "reports", now=now)


@flow(name="report_kaohe", log_prints=True, **ADMIN_HOOKS)
def report_kaohe(period: str = "month", date: str | None = None) -> dict[str, Any]:
    """Make the 考核 report of the ``period`` (month or week) containing ``date`` (YYYY-MM-DD; default: the
    last complete one in Beijing time)."""
    require_safe_settings()
    if period not in ("week", "month"):
        raise ValueError(_("未知的周期 {period!r}：请用 week 或 month").format(period=period))
    kind: PeriodKind = "week" if period == "week" else "month"
    now = datetime.now(UTC)
    span = period_containing(kind, parse_day(date)) if date else last_complete(kind, now)
    files = make_kaohe_report_files(span, now)
    get_run_logger().info(_("{period} 的考核报告：{html}，{xlsx}").format(period=span.slug, html=files.html_path,
                                                                   xlsx=files.xlsx_path))
    return {"period": span.slug, "html": str(files.html_path), "xlsx": str(files.xlsx_path),
            "charts": [str(p) for p in files.charts]}
