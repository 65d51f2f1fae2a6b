"""The situation report as one self-contained HTML file: inline CSS, charts inlined as SVG.

Nothing is fetched when it is opened (no scripts, fonts or images from elsewhere), so it reads the same
in a browser, as an e-mail attachment, or offline on an internal network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from domain.privacy import mask
from domain.situation.compute import RuleCount, SituationReport
from domain.warnings import LEVELS, Level
from integrations.i18n import _, language
from integrations.report import text
from integrations.report.charts import LEVEL_COLOURS
from integrations.wording import worded

CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",sans-serif;
 margin:2em auto;max-width:980px;color:#1f2328;line-height:1.55;padding:0 1em}
h1{font-size:1.6em;border-bottom:3px solid #da3633;padding-bottom:.3em}
h2{font-size:1.2em;margin-top:1.6em;border-left:4px solid #57606a;padding-left:.5em}
.sub{color:#57606a;font-size:.9em}.lead{background:#f6f8fa;padding:.8em 1em;border-radius:6px}
table{border-collapse:collapse;margin:.6em 0;width:100%;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:0 .45em;font-size:.85em;white-space:nowrap}
.overdue{color:#da3633;font-weight:bold}.chart svg{max-width:100%;height:auto}
footer{margin-top:2em;color:#57606a;font-size:.85em;border-top:1px solid #d0d7de;padding-top:.6em}
"""


def _badge(level: Level) -> str:
    return f'<span class="badge" style="background:{LEVEL_COLOURS[level]}">{escape(_(level.chinese))}</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 99) -> str:
    """A table; ``rows`` hold HTML already escaped; columns from ``numeric_from`` are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def inline_svg(svg: str) -> str:
    """An SVG document reduced to its ``<svg>`` element, to embed in HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _chart(svg: str | None) -> str:
    return f'<div class="chart">{inline_svg(svg)}</div>' if svg else ""


def _severe(report: SituationReport) -> str:
    if not report.open_severe:
        return "<p>" + _("无在办红色、橙色预警。") + "</p>"
    rows = []
    for w in report.open_severe:
        cells = [escape(c) for c in text.severe_cells(w)]
        if w.ack_state == "overdue":
            cells[-1] = f'<span class="overdue">{cells[-1]}</span>'
        rows.append(text.with_level(cells, _badge(w.level)))
    return _table([_(h) for h in text.SEVERE_HEADERS], rows, numeric_from=5)


def render_html(report: SituationReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report as a self-contained HTML page. ``charts`` maps ``trend`` and ``districts`` to SVG text."""
    charts = charts or {}
    count_headers = [_(name) for _attr, name in text.COUNT_COLUMNS]
    level_rows = [[_badge(lvl), *text.count_cells(report.by_level[lvl]), str(report.open_by_level[lvl])]
                  for lvl in text.LEVELS_DESC]
    open_total = str(sum(report.open_by_level.values()))
    level_rows.append(["<b>" + _("合计") + "</b>", *text.count_cells(report.totals), open_total])
    district_rows = [[escape(d.name), escape(d.code[:6]), *text.count_cells(d.counts)]
                     for d in report.by_district]
    sla = report.sla
    sla_rows = [[_badge(lvl), str(s.met), str(s.breached), str(s.pending), text.pct(s)]
                for lvl in text.LEVELS_DESC for s in [sla.ack_by_level[lvl]]]
    breaches = ""
    if sla.resolve.breached_ids:
        breaches += "<li>" + _("未按时办结预警：") + _("、").join(f"#{i}" for i in sla.resolve.breached_ids) + "</li>"
    if sla.ack.breached_ids:
        breaches += "<li>" + _("未按时签收预警：") + _("、").join(f"#{i}" for i in sla.ack.breached_ids) + "</li>"

    def ranked(rules: Sequence[RuleCount]) -> str:
        if not rules:
            return "<p>" + _("无。") + "</p>"
        return _table([_("排名"), _("规则"), _("名称"), _("预警数")],
                      [[str(i), escape(r.rule), escape(mask(worded(r.title))), str(r.count)]
                       for i, r in enumerate(rules, 1)],
                      numeric_from=3)

    totals = {lvl: sum(d.opened[lvl] for d in report.trend) for lvl in LEVELS}
    trend_line = _("，").join(f"{_(lvl.chinese)} {totals[lvl]}" for lvl in text.LEVELS_DESC)
    parts = [
        "<!DOCTYPE html>", f'<html lang="{"en" if language() == "en" else "zh-CN"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(text.title(report))}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(text.title(report))}</h1>", f'<p class="sub">{escape(text.subtitle(report))}</p>',
        f'<p class="lead">{escape(text.headline(report))}</p>',
        "<h2>" + _("一、在办红色、橙色预警（{n} 起）").format(n=len(report.open_severe)) + "</h2>", _severe(report),
        "<h2>" + _("二、当日概况（按预警等级）") + "</h2>",
        _table([_("等级"), *count_headers, _("在办")], level_rows, 1),
        "<h2>" + _("三、各区县情况") + "</h2>",
        _table([_("区县"), _("代码"), *count_headers], district_rows, 2) if district_rows
        else "<p>" + _("当日各区县无预警变化。") + "</p>",
        _chart(charts.get("districts")),
        "<h2>" + _("四、时限执行情况") + "</h2>",
        f"<ul><li>{escape(text.sla_sentence(text.ACK_RATE, sla.ack))}</li>"
        f"<li>{escape(text.sla_sentence(text.RESOLVE_RATE, sla.resolve))}</li>{breaches}</ul>",
        _table([_("等级（签收）"), _("按时"), _("超时"), _("未到期"), _("及时率")], sla_rows, 1),
        "<h2>" + _("五、高发规则") + "</h2>", "<h3>" + _("当日") + "</h3>", ranked(report.top_rules_day),
        "<h3>" + _("近7日") + "</h3>", ranked(report.top_rules_week),
        "<h2>" + _("六、近30日趋势") + "</h2>",
        "<p>" + escape(_("近30日新增：{levels}，合计 {n}。").format(levels=trend_line, n=sum(totals.values())))
        + "</p>",
        _chart(charts.get("trend")),
        "<footer>" + _("本报告由烽火平台自动生成，仅供负有处置职责的人员内部使用。") + "</footer></body></html>", "",
    ]
    return "\n".join(parts)

