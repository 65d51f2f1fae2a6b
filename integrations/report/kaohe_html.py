"""The 考核 report as one self-contained HTML page: the rankings with their figures, charts inline as SVG.

Same look as the daily report (its CSS and table helper); nothing is fetched when the page is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from domain.kaohe.report import KaoheReport
from domain.kaohe.score import Ranked
from domain.regions import Tier
from integrations.i18n import _, language
from integrations.report import kaohe_text as text
from integrations.report.html import CSS, _table, inline_svg

_EXTRA_CSS = "table.wide{font-size:.8em}td.top{background:#dafbe1}td.bottom{background:#ffebe9}"
_NUMERIC_FROM = 3


def _rows(ranked: list[Ranked]) -> list[list[str]]:
    return [[escape(text.cell_text(c, r)) for c in text.COLUMNS] for r in ranked]


def _chart(svg: str | None) -> str:
    return f'<div class="chart">{inline_svg(svg)}</div>' if svg else ""


def _tier(report: KaoheReport, tier: Tier, charts: Mapping[str, str]) -> str:
    ranked, words = report.tier(tier), text.TIER_WORDS[tier]
    if not ranked:
        return f"<h2>{escape(_(words.heading).format(n=0))}</h2><p>{escape(_(words.none))}</p>"
    table = _table([c.heading for c in text.COLUMNS], _rows(ranked), _NUMERIC_FROM)
    return (f"<h2>{escape(_(words.heading).format(n=len(ranked)))}</h2>" + _chart(charts.get(tier.value))
            + table.replace("<table>", '<table class="wide">', 1))


def _lead(report: KaoheReport) -> str:
    parts = []
    for tier in text.TIERS:
        scored = [r for r in report.tier(tier) if r.score is not None]
        if scored:
            best, worst = scored[0], scored[-1]
            parts.append(_(text.TIER_WORDS[tier].lead).format(
                best=best.figures.name, best_score=f"{best.score:.1f}", worst=worst.figures.name,
                worst_score=f"{worst.score:.1f}"))
    return _("；").join(parts) + _("。") if parts else _("本期无可考核事项。")


def render_kaohe_html(report: KaoheReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report as HTML in the language in force. ``charts`` maps ``district`` and ``street`` to SVG text."""
    charts = charts or {}
    heading = text.title(report)
    colon = _("：")
    definitions = "".join(f"<li><b>{escape(k)}</b>{escape(colon)}{escape(v)}</li>" for k, v in text.definitions(report))
    lang = "en" if language() == "en" else "zh-CN"
    parts = [
        "<!DOCTYPE html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title><style>{CSS}{_EXTRA_CSS}</style></head><body>",
        f"<h1>{escape(heading)}</h1>", f'<p class="sub">{escape(text.subtitle(report))}</p>',
        f'<p class="lead">{escape(_lead(report))}</p>',
        *(_tier(report, tier, charts) for tier in text.TIERS),
        "<h2>" + escape(_("三、指标说明")) + f"</h2><ul>{definitions}</ul>",
        "<footer>" + escape(_("本报告由烽火平台自动生成，供考核工作内部使用。")) + "</footer></body></html>", "",
    ]
    return "\n".join(parts)
