"""Charts of the situation report, drawn with matplotlib (Agg, no pyplot, no display) as SVG files.

Labels come from the message catalogue (Chinese by default, FENGHUO_LANG=en English), never from the
fonts at hand. With a CJK font installed the text is drawn as paths (the SVG is self-contained); without
one it stays SVG text that the browser draws with its own fonts, so Chinese is never swapped for English.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from domain.situation.compute import SituationReport
from domain.warnings import LEVELS, Level
from integrations.i18n import _

LEVEL_COLOURS = {
    Level.blue: "#1f6feb", Level.yellow: "#d4a72c", Level.orange: "#f0883e", Level.red: "#da3633",
}
"""The colours responders know the levels by."""
COUNT_COLOURS = ("#57606a", "#2da44e", "#bf3989", "#8250df")
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "AR PL UMing CN",
    "Droid Sans Fallback",
)
MAX_DISTRICTS = 15


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font family that has Chinese glyphs, or ``None``."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _rc(font: str | None) -> Any:
    # A fixed hash salt and no date make the SVG identical from run to run for the same figures.
    rc: dict[str, Any] = {"svg.hashsalt": "fenghuo", "svg.fonttype": "path" if font else "none",
                          "axes.unicode_minus": False}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    return rc


def _save(fig: object, path: Path) -> Path:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Without a CJK font the text stays SVG text for the browser's fonts (svg.fonttype none): the missing
        # glyphs only make matplotlib's own width estimate rougher, nothing is drawn as empty boxes.
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
        fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return path


def trend_chart(report: SituationReport, path: Path, *, font: str | None) -> Path:
    """Stacked bars of warnings opened per day and level over the trend's 30 days."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(9, 3.4))
        ax = fig.add_subplot()
        xs = list(range(len(report.trend)))
        bottom = [0] * len(xs)
        for level in LEVELS:
            heights = [day.opened.get(level, 0) for day in report.trend]
            ax.bar(xs, heights, bottom=bottom, color=LEVEL_COLOURS[level], label=_(level.chinese),
                   width=0.8)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ticks = [i for i in xs if (len(xs) - 1 - i) % 5 == 0]
        ax.set_xticks(ticks, [report.trend[i].date.strftime("%m-%d") for i in ticks])
        ax.set_ylabel(_("新增预警数"))
        ax.set_title(_("近30日新增预警（按等级）"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
        ax.set_ylim(0, max([*bottom, 1]) * 1.25)
        return _save(fig, path)


def district_chart(report: SituationReport, path: Path, *, font: str | None) -> Path:
    """Horizontal grouped bars per district: opened, acknowledged, escalated, resolved on the day."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = report.by_district[:MAX_DISTRICTS]
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(9, 1.2 + 0.45 * max(len(rows), 2)))
        ax = fig.add_subplot()
        ax.set_title(_("{day} 各区县预警处置").format(day=f"{report.day:%Y-%m-%d}"))
        if not rows:
            ax.text(0.5, 0.5, _("当日无预警"), ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
            return _save(fig, path)
        series = (
            ("opened", _("新增")),
            ("acknowledged", _("签收")),
            ("escalated", _("升级")),
            ("resolved", _("办结")),
        )
        height = 0.8 / len(series)
        ys = list(range(len(rows)))
        for k, ((attr, name), colour) in enumerate(zip(series, COUNT_COLOURS, strict=True)):
            values = [getattr(r.counts, attr) for r in rows]
            ax.barh([y + (k - 1.5) * height for y in ys], values, height=height, color=colour, label=name)
        ax.set_yticks(ys, [r.name for r in rows])  # names are data: shown as recorded
        ax.invert_yaxis()  # busiest district on top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        return _save(fig, path)
