"""``make_kaohe_files``: read the store, compute the 考核 report of a week or month, write HTML and Excel.

A plain function: ``fenghuo report --period`` calls it directly (no Prefect) and the ``report_kaohe``
flow wraps it. The weights of the composite score and the deadlines are data
(``integrations/data/kaohe.yaml``), read with :func:`load_kaohe_config`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlmodel import Session

from domain.kaohe.compute import Deadlines
from domain.kaohe.period import Period
from domain.kaohe.report import KaoheReport, make_kaohe_report
from domain.kaohe.score import DEFAULT_WEIGHTS, validate_weights
from domain.messages import N_, Message, message_of
from domain.regions import RegionDirectory
from integrations.i18n import _
from integrations.report import kaohe_text as text
from integrations.report.charts import cjk_font
from integrations.report.kaohe_charts import score_chart
from integrations.report.kaohe_excel import write_workbook
from integrations.report.kaohe_html import render_kaohe_html
from integrations.store.kaohe import load_kaohe_inputs

CONFIG = Path(__file__).resolve().parents[1] / "data" / "kaohe.yaml"
"""The packaged weights and deadlines."""
Progress = Callable[[str], None]


@dataclass(frozen=True)
class KaoheConfig:
    """The score's weights and the deadlines judged against."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    deadlines: Deadlines = field(default_factory=Deadlines)


def load_kaohe_config(path: Path = CONFIG) -> KaoheConfig:
    """Read ``weights`` and ``deadlines`` (``petition_days``, ``dispute_days``, ``visit_hours``); a missing
    file or key keeps the default. Raises ``ValueError`` naming the file on a bad value."""
    if not path.exists():
        return KaoheConfig()
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        weights = validate_weights(data.get("weights") or DEFAULT_WEIGHTS)
        limits = data.get("deadlines") or {}
        default = Deadlines()
        deadlines = Deadlines(
            petition=timedelta(days=float(limits.get("petition_days", default.petition.days))),
            dispute=timedelta(days=float(limits.get("dispute_days", default.dispute.days))),
            visit=timedelta(hours=float(limits.get("visit_hours", default.visit.total_seconds() / 3600))),
        )
    except (ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ValueError(Message(N_("{path}：{reason}"), path=str(path), reason=message_of(exc) or str(exc))) from None
    if min(deadlines.petition, deadlines.dispute, deadlines.visit) <= timedelta(0):
        raise ValueError(Message(N_("{path}：{reason}"), path=str(path), reason=Message(N_("时限须为正数"))))
    return KaoheConfig(weights=weights, deadlines=deadlines)


@dataclass(frozen=True)
class KaoheFiles:
    """The files of one 考核 report and the figures behind them."""

    html_path: Path
    xlsx_path: Path
    charts: list[Path]
    report: KaoheReport


def _noop(_: str) -> None:
    return None


def make_kaohe_files(
    engine: sa.Engine, period: Period, out_dir: Path, *, now: datetime, regions: RegionDirectory | None = None,
    config: KaoheConfig | None = None, progress: Progress | None = None,
) -> KaoheFiles:
    """Write ``fenghuo-kaohe-<period>.html`` and ``.xlsx`` and the charts ``…-district.svg``,
    ``…-street.svg`` into ``out_dir`` (the HTML carries the charts inline, so it stands alone)."""
    step = progress or _noop
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    cfg = config or load_kaohe_config()
    if regions is None:
        from integrations.settings import get_settings

        regions = RegionDirectory.load(get_settings().regions)
    step(_("读取预警、任务、走访和案件"))
    with Session(engine) as session:
        inputs = load_kaohe_inputs(session=session, period=period, deadlines=cfg.deadlines)
    step(_("根据 {n} 条预警计算 {period}").format(n=len(inputs.warnings), period=text.period_label(period)))
    report = make_kaohe_report(inputs, period=period, now=now, regions=regions, weights=cfg.weights,
                               deadlines=cfg.deadlines)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"fenghuo-kaohe-{period.slug}"
    step(_("绘制图表"))
    font = cjk_font()
    charts = {
        tier.value: score_chart(report.tier(tier), out_dir / f"{stem}-{tier.value}.svg", font=font,
                                title=_(text.TIER_WORDS[tier].chart).format(period=text.period_label(period)))
        for tier in text.TIERS
    }
    step(_("写入 HTML 和 Excel"))
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(render_kaohe_html(report, charts={k: p.read_text(encoding="utf-8")
                                                           for k, p in charts.items()}), encoding="utf-8")
    xlsx_path = write_workbook(report, out_dir / f"{stem}.xlsx")
    return KaoheFiles(html_path=html_path, xlsx_path=xlsx_path, charts=list(charts.values()), report=report)
