"""``make_report``: read the store, compute the 日报 of a day, draw its charts, write Markdown and HTML.

A plain function: the CLI calls it directly (no Prefect) and the ``report_situation`` flow wraps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from domain.beijing import BEIJING
from domain.messages import N_, Message
from domain.regions import RegionDirectory
from domain.situation.compute import SituationReport, compute_report
from domain.situation.views import local_date
from integrations.i18n import _
from integrations.report.charts import cjk_font, district_chart, trend_chart
from integrations.report.html import render_html
from integrations.report.markdown import render_markdown
from integrations.store.report import load_report_inputs

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReportFiles:
    """The files of one report: Markdown, HTML, and the chart images next to them."""

    markdown_path: Path
    html_path: Path
    charts: list[Path] = field(default_factory=list)
    report: SituationReport | None = None
    """The figures behind the files (for ``--json`` and for delivery)."""


def parse_day(value: date | str | None, *, now: datetime | None = None) -> date:
    """A report day from ``YYYY-MM-DD`` (or a date); today in Beijing time when ``None``."""
    if isinstance(value, date):
        return value
    if value is None or value.strip().lower() in ("", "today"):
        return local_date(now or datetime.now(BEIJING))
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(Message(N_("无效的日期 {value}：请用 YYYY-MM-DD，例如 2026-01-20"),
                                 value=repr(value))) from None


def _noop(_: str) -> None:
    return None


def make_report(
    engine: sa.Engine,
    day: date | str | None,
    out_dir: Path,
    *,
    now: datetime | None = None,
    regions: RegionDirectory | None = None,
    progress: Progress | None = None,
) -> ReportFiles:
    """Write the situation report of ``day`` (Asia/Shanghai; default today) into ``out_dir``.

    Files: ``fenghuo-report-<day>.md`` and ``.html``, and the charts ``…-trend.svg`` and
    ``…-districts.svg`` next to them (the HTML also carries the charts inline, so it stands alone).
    ``regions`` names districts; by default the directory at ``settings.regions`` when it exists.
    """
    step = progress or _noop
    at = now or datetime.now(BEIJING)
    if at.tzinfo is None:
        raise ValueError("naive datetime refused")
    the_day = parse_day(day, now=at)
    if regions is None:
        from integrations.settings import get_settings

        regions = RegionDirectory.load(get_settings().regions)
    step(_("读取预警和审计记录"))
    with Session(engine) as session:
        inputs = load_report_inputs(session=session, day=the_day)
    step(_("根据 {n} 条预警计算 {day} 的日报").format(n=len(inputs.warnings), day=f"{the_day:%Y-%m-%d}"))
    report = compute_report(day=the_day, warnings=inputs.warnings, audits=inputs.audits, now=at,
                            regions=regions)

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"fenghuo-report-{the_day:%Y-%m-%d}"
    step(_("绘制图表"))
    font = cjk_font()
    trend = trend_chart(report, out_dir / f"{stem}-trend.svg", font=font)
    districts = district_chart(report, out_dir / f"{stem}-districts.svg", font=font)
    step(_("写入 Markdown 和 HTML"))
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(render_markdown(report, charts={"trend": trend.name, "districts": districts.name}),
                       encoding="utf-8")
    html_path = out_dir / f"{stem}.html"
    svgs = {"trend": trend.read_text(encoding="utf-8"), "districts": districts.read_text(encoding="utf-8")}
    html_path.write_text(render_html(report, charts=svgs), encoding="utf-8")
    return ReportFiles(markdown_path=md_path, html_path=html_path, charts=[trend, districts], report=report)
