"""The demo's 考核 report: the last complete week by the demo's clock, and its top and bottom streets.

``flows/demo.py`` calls :func:`kaohe_week` once after the pipeline has run and prints the table it returns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from rich.table import Table

from domain.kaohe.period import last_complete
from domain.kaohe.score import Ranked
from integrations.i18n import N_, _
from integrations.report.kaohe_make import KaoheFiles, make_kaohe_files
from integrations.report.kaohe_text import pct, period_label
from integrations.settings import get_settings

_COLUMNS = (N_("名次"), N_("街道"), N_("综合得分"), N_("收到预警"), N_("签收及时"), N_("办结及时"), N_("被升级"),
            N_("任务按时"), N_("走访按时"), N_("信访纠纷按期"))


def _row(r: Ranked) -> list[str]:
    f = r.figures
    return [str(r.rank), f.name, f"{r.score:.1f}" if r.score is not None else "—", str(f.received),
            pct(f.ack.rate), pct(f.resolve.rate), str(f.escalated), pct(f.tasks.rate), pct(f.visits.rate),
            pct(f.cases.rate)]


def kaohe_table(files: KaoheFiles, *, rows: int = 5) -> Table:
    """The first and last ``rows`` scored streets of a made report, with their main figures."""
    report = files.report
    scored = [r for r in report.streets if r.score is not None]
    shown = scored if len(scored) <= 2 * rows else [*scored[:rows], *scored[-rows:]]
    table = Table(title=_("考核周报 {period}：街道前 {rows} 名与后 {rows} 名").format(
        period=period_label(report.period), rows=rows), caption=f"{files.html_path}\n{files.xlsx_path}")
    for i, name in enumerate(_COLUMNS):
        table.add_column(_(name), justify="left" if i == 1 else "right")
    for i, r in enumerate(shown):
        if i == rows and len(shown) == 2 * rows and len(scored) > 2 * rows:
            table.add_row("…", "", "", "", "", "", "", "", "", "")
        table.add_row(*_row(r))
    if not shown:
        table.add_row("—", _("本周无可考核事项"), "", "", "", "", "", "", "", "")
    return table


def kaohe_week(now: datetime, *, engine: sa.Engine | None = None, out_dir: Path | None = None,
               rows: int = 5) -> Table:
    """Write the 考核 report of the last week complete by ``now`` (the demo's clock) under
    ``home/reports`` and return the table of its top and bottom streets for the summary."""
    if engine is None:
        from flows.store import store_engine

        engine = store_engine()
    files = make_kaohe_files(engine, last_complete("week", now), out_dir or get_settings().home / "reports",
                             now=now)
    return kaohe_table(files, rows=rows)
