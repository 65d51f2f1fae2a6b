"""The situation report as Markdown: tables a responder can read in any viewer, charts as image links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.privacy import mask
from domain.situation.compute import SituationReport
from domain.situation.sla import DeadlineStats
from domain.warnings import LEVELS
from integrations.i18n import _
from integrations.report import text
from integrations.wording import worded


def _cell(value: str) -> str:
    # A pipe or a newline in a rule title would break the table.
    return value.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _sla_row(name: str, s: DeadlineStats) -> list[str]:
    return [name, str(s.met), str(s.breached), str(s.pending), text.pct(s)]


def render_markdown(report: SituationReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report in Markdown. ``charts`` maps ``trend`` and ``districts`` to image paths (relative to
    the Markdown file); charts without a path are left out."""
    charts = charts or {}
    out = [f"# {text.title(report)}", "", text.subtitle(report), "", f"> {text.headline(report)}", ""]

    out += ["## " + _("一、在办红色、橙色预警（{n} 起）").format(n=len(report.open_severe)), ""]
    if report.open_severe:
        out += _table([_(h) for h in text.SEVERE_HEADERS], [text.with_level(text.severe_cells(w), _(w.level.chinese))
                                            for w in report.open_severe])
    else:
        out.append(_("无在办红色、橙色预警。"))
    out.append("")

    out += ["## " + _("二、当日概况（按预警等级）"), ""]
    headers = [_("等级"), *(_(name) for _attr, name in text.COUNT_COLUMNS), _("在办")]
    rows = [[_(lvl.chinese), *text.count_cells(report.by_level[lvl]), str(report.open_by_level[lvl])]
            for lvl in text.LEVELS_DESC]
    rows.append([_("合计"), *text.count_cells(report.totals), str(sum(report.open_by_level.values()))])
    out += [*_table(headers, rows), ""]

    out += ["## " + _("三、各区县情况"), ""]
    if report.by_district:
        rows = [[_("{name}（{code}）").format(name=d.name, code=d.code[:6]) if d.name != d.code else d.code,
                 *text.count_cells(d.counts)]
                for d in report.by_district]
        out += _table([_("区县"), *(_(name) for _attr, name in text.COUNT_COLUMNS)], rows)
    else:
        out.append(_("当日各区县无预警变化。"))
    if "districts" in charts:
        out += ["", "![" + _("各区县预警处置") + f"]({charts['districts']})"]
    out.append("")

    sla = report.sla
    out += ["## " + _("四、时限执行情况"), "", f"- {text.sla_sentence(text.ACK_RATE, sla.ack)}",
            f"- {text.sla_sentence(text.RESOLVE_RATE, sla.resolve)}"]
    if sla.resolve.breached_ids:
        out.append("- " + _("未按时办结预警：") + _("、").join(f"#{i}" for i in sla.resolve.breached_ids))
    if sla.ack.breached_ids:
        out.append("- " + _("未按时签收预警：") + _("、").join(f"#{i}" for i in sla.ack.breached_ids))
    out.append("")
    rows = [_sla_row(_(lvl.chinese), sla.ack_by_level[lvl]) for lvl in text.LEVELS_DESC]
    out += [*_table([_("等级（签收）"), _("按时"), _("超时"), _("未到期"), _("及时率")], rows), ""]

    out += ["## " + _("五、高发规则"), ""]
    for heading, ranked in ((_("当日"), report.top_rules_day), (_("近7日"), report.top_rules_week)):
        out += [f"**{heading}**", ""]
        if ranked:
            out += _table([_("排名"), _("规则"), _("名称"), _("预警数")],
                          [[str(i), r.rule, mask(worded(r.title)), str(r.count)] for i, r in enumerate(ranked, 1)])
        else:
            out.append(_("无。"))
        out.append("")

    out += ["## " + _("六、近30日趋势"), ""]
    totals = {lvl: sum(d.opened[lvl] for d in report.trend) for lvl in LEVELS}
    levels = _("，").join(f"{_(lvl.chinese)} {totals[lvl]}" for lvl in text.LEVELS_DESC)
    out.append(_("近30日新增：{levels}，合计 {n}。").format(levels=levels, n=sum(totals.values())))
    if "trend" in charts:
        out += ["", "![" + _("近30日新增预警") + f"]({charts['trend']})"]
    out += ["", "---", _("本报告由烽火平台自动生成，仅供负有处置职责的人员内部使用。"), ""]
    return "\n".join(out)
