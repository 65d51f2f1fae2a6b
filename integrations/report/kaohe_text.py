"""Words and columns shared by the HTML and Excel renderings of the 考核 report, in the language in force.

:data:`COLUMNS` is the one list of what a tier's sheet shows: its header (a Chinese msgid, shown through
:attr:`Column.heading`), how to get the value from a ranked node, and its format (``int``, ``pct``,
``score``, ``text``), so the HTML table and the workbook can never disagree. :func:`definitions` explains
every figure; both renderings print it. Region names are data and are shown as recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from domain.beijing import BEIJING
from domain.kaohe.compute import Tally
from domain.kaohe.period import Period
from domain.kaohe.report import KaoheReport, kaohe_to_dict
from domain.kaohe.score import COMPONENTS, Ranked
from domain.regions import Tier
from integrations.i18n import N_, _

TITLE = N_("烽火 基层社会治理考核报告")
Format = Literal["int", "pct", "score", "text"]
TIERS: tuple[Tier, ...] = (Tier.district, Tier.street)
"""The tiers ranked, in the order the report shows them."""


@dataclass(frozen=True)
class TierWords:
    """What the report calls one ranked tier (msgids)."""

    sheet: str
    heading: str
    none: str
    lead: str
    chart: str


TIER_WORDS = {
    Tier.district: TierWords(N_("区县"), N_("一、区县排名（{n} 个）"), N_("无区县。"),
                             N_("区县第一：{best}（{best_score} 分），末位：{worst}（{worst_score} 分）"),
                             N_("{period} 区县综合得分")),
    Tier.street: TierWords(N_("街道"), N_("二、街道乡镇排名（{n} 个）"), N_("无街道乡镇。"),
                           N_("街道乡镇第一：{best}（{best_score} 分），末位：{worst}（{worst_score} 分）"),
                           N_("{period} 街道乡镇综合得分")),
}


@dataclass(frozen=True)
class Column:
    """One column of a tier's table."""

    header: str
    """The Chinese msgid; :attr:`heading` is what is shown."""
    get: Callable[[Ranked], object]
    format: Format

    @property
    def heading(self) -> str:
        """The header in the language in force."""
        return _(self.header)


def _tally_columns(headers: tuple[str, str, str], get: Callable[[Ranked], Tally]) -> list[Column]:
    met, judged, rate = headers
    return [Column(met, lambda r: get(r).met, "int"), Column(judged, lambda r: get(r).judged, "int"),
            Column(rate, lambda r: get(r).rate, "pct")]


COLUMNS: tuple[Column, ...] = (
    Column(N_("排名"), lambda r: r.rank, "int"),
    Column(N_("名称"), lambda r: r.figures.name, "text"),
    Column(N_("区划代码"), lambda r: r.figures.code, "text"),
    Column(N_("综合得分"), lambda r: r.score, "score"),
    Column(N_("收到预警"), lambda r: r.figures.received, "int"),
    *_tally_columns((N_("签收及时数"), N_("签收及时应考核"), N_("签收及时率")), lambda r: r.figures.ack),
    *_tally_columns((N_("办结及时数"), N_("办结及时应考核"), N_("办结及时率")), lambda r: r.figures.resolve),
    Column(N_("被升级预警"), lambda r: r.figures.escalated, "int"),
    *_tally_columns((N_("任务按时完成数"), N_("任务按时完成应考核"), N_("任务按时完成率")), lambda r: r.figures.tasks),
    *_tally_columns((N_("走访按时完成数"), N_("走访按时完成应考核"), N_("走访按时完成率")), lambda r: r.figures.visits),
    *_tally_columns((N_("信访按期办结数"), N_("信访按期办结应考核"), N_("信访按期办结率")),
                    lambda r: r.figures.petitions),
    *_tally_columns((N_("纠纷按期化解数"), N_("纠纷按期化解应考核"), N_("纠纷按期化解率")),
                    lambda r: r.figures.disputes),
)
"""Every column of a tier's sheet, in order."""

COMPONENT_NAMES = {"ack": N_("签收及时率"), "resolve": N_("办结及时率"), "escalation": N_("未升级率"),
                   "tasks": N_("任务按时完成率"), "visits": N_("走访按时完成率"), "cases": N_("信访纠纷按期办结率")}
assert set(COMPONENT_NAMES) == set(COMPONENTS)


def period_label(period: Period) -> str:
    """The period as officials read it: ``2026年第49周（11月30日至12月06日）`` or ``2026年11月``; in English
    ``week 49 of 2026 (11-30 to 12-06)`` or ``11/2026``."""
    if period.kind == "week":
        year, week, _day = period.first.isocalendar()
        return _("{year}年第{week}周（{first_month}月{first_day}日至{last_month}月{last_day}日）").format(
            year=year, week=week, first_month=f"{period.first:%m}", first_day=f"{period.first:%d}",
            last_month=f"{period.last:%m}", last_day=f"{period.last:%d}")
    return _("{year}年{month}月").format(year=period.first.year, month=period.first.month)


def title(report: KaoheReport) -> str:
    """The heading: ``烽火 基层社会治理考核报告（周报）— 2026年第3周（…）``."""
    kind = _("周报") if report.period.kind == "week" else _("月报")
    return _("{title}（{kind}）— {period}").format(title=_(TITLE), kind=kind, period=period_label(report.period))


def report_dict(report: KaoheReport) -> dict[str, Any]:
    """The report as JSON-ready data: the fields of :func:`~domain.kaohe.report.kaohe_to_dict` (stable, for
    machines), with the period's ``label`` in the language in force (for people)."""
    data = kaohe_to_dict(report)
    data["period"]["label"] = period_label(report.period)
    return data


def definitions(report: KaoheReport) -> list[tuple[str, str]]:
    """Every figure and how it is computed, with the deadlines and weights of this report."""
    d = report.deadlines
    petition_days, dispute_days = d.petition.days, d.dispute.days
    visit_hours = int(d.visit.total_seconds() // 3600)
    concluded = _("办结（resolved、concluded 或 closed）")
    weights = _("，").join(f"{_(COMPONENT_NAMES[c])} {report.weights[c]:g}" for c in COMPONENTS)
    return [
        (_("考核期"), _("{period}，北京时间，自首日 0 时至末日 24 时。").format(period=period_label(report.period))),
        (_("属地原则"),
         _("预警、走访到期、信访和纠纷按其发生地所在的区县、街道计；任务按承办节点所在的区县、街道计。")),
        (_("应考核"), _("时限落在考核期内，或在考核期内办理的事项；按时 + 超时 = 应考核，未到期的不计。")),
        (_("收到预警"), _("考核期内新开的预警数（按预警所在地）。")),
        (_("签收及时率"), _("签收及时数 ÷ 应考核数。时限为预警开启时确定的签收时限（升级后顺延的时限不算）。")),
        (_("办结及时率"), _("办结及时数 ÷ 应考核数。时限为预警的办结时限。")),
        (_("被升级预警"),
         _("考核期内因逾期未签收，从本辖区（本级或下属社区、网格）逐级上报的预警数，每起预警计一次。")),
        (_("未升级率"), _("1 − 被升级预警 ÷ 收到预警，最低为 0；未收到预警而有被升级的，计 0。")),
        (_("任务按时完成率"), _("核实、走访、调处任务在截止时间前完成数 ÷ 应考核数（无任务表时为无数据）。")),
        (_("走访按时完成率"), _("考核期内到期的关爱走访中，到期后 {hours} 小时内对同一人完成走访的比例。").format(
            hours=visit_hours)),
        (_("信访按期办结率"), _("信访自首次登记（首个版本）起 {days} 日内状态变为{concluded}的比例。").format(
            days=petition_days, concluded=concluded)),
        (_("纠纷按期化解率"), _("矛盾纠纷自首次登记（首个版本）起 {days} 日内状态变为{concluded}的比例。").format(
            days=dispute_days, concluded=concluded)),
        (_("综合得分"), _("各项比率的加权平均 × 100；某项无应考核事项时不计入，其余权重按比例放大；"
                      "均无数据的不评分，排在最后。权重：{weights}。").format(weights=weights)),
        (_("排名"), _("按综合得分从高到低；得分相同的按区划代码排序。")),
    ]


def pct(rate: object) -> str:
    """``87.5%``; ``—`` without data."""
    return f"{rate:.1%}" if isinstance(rate, float) else "—"


def cell_text(column: Column, r: Ranked) -> str:
    """A cell as text for HTML."""
    value = column.get(r)
    if column.format == "pct":
        return pct(value)
    if column.format == "score":
        return f"{value:.1f}" if isinstance(value, float) else "—"
    return str(value)


def subtitle(report: KaoheReport) -> str:
    """The line under the title: the period and when the report was made, both in Beijing time."""
    made = report.generated_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return _("考核期：{period}（北京时间）· 生成于 {made}（北京时间）").format(
        period=period_label(report.period), made=made)
