"""Words and columns shared by the HTML and Excel renderings of the 考核 report.

:data:`COLUMNS` is the one list of what a tier's sheet shows: its Chinese header, how to get the value
from a ranked node, and its format (``int``, ``pct``, ``score``, ``text``), so the HTML table and the
workbook can never disagree. :data:`DEFINITIONS` explains every figure; both renderings print it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from domain.kaohe.compute import Tally
from domain.kaohe.report import KaoheReport
from domain.kaohe.score import COMPONENTS, Ranked
from domain.situation.views import REPORT_TZ

TITLE = "烽火 基层社会治理考核报告"
Format = Literal["int", "pct", "score", "text"]


@dataclass(frozen=True)
class Column:
    """One column of a tier's table."""

    header: str
    get: Callable[[Ranked], object]
    format: Format


def _tally_columns(label: str, done: str, get: Callable[[Ranked], Tally]) -> list[Column]:
    return [
        Column(f"{label}{done}", lambda r: get(r).met, "int"),
        Column(f"{label}应考核", lambda r: get(r).judged, "int"),
        Column(f"{label}率", lambda r: get(r).rate, "pct"),
    ]


COLUMNS: tuple[Column, ...] = (
    Column("排名", lambda r: r.rank, "int"),
    Column("名称", lambda r: r.figures.name, "text"),
    Column("区划代码", lambda r: r.figures.code, "text"),
    Column("综合得分", lambda r: r.score, "score"),
    Column("收到预警", lambda r: r.figures.received, "int"),
    *_tally_columns("签收及时", "数", lambda r: r.figures.ack),
    *_tally_columns("办结及时", "数", lambda r: r.figures.resolve),
    Column("被升级预警", lambda r: r.figures.escalated, "int"),
    *_tally_columns("任务按时完成", "数", lambda r: r.figures.tasks),
    *_tally_columns("走访按时完成", "数", lambda r: r.figures.visits),
    *_tally_columns("信访按期办结", "数", lambda r: r.figures.petitions),
    *_tally_columns("纠纷按期化解", "数", lambda r: r.figures.disputes),
)
"""Every column of a tier's sheet, in order."""

COMPONENT_NAMES = {"ack": "签收及时率", "resolve": "办结及时率", "escalation": "未升级率", "tasks": "任务按时完成率",
                   "visits": "走访按时完成率", "cases": "信访纠纷按期办结率"}
assert set(COMPONENT_NAMES) == set(COMPONENTS)


def definitions(report: KaoheReport) -> list[tuple[str, str]]:
    """Every figure and how it is computed, with the deadlines and weights of this report."""
    d = report.deadlines
    petition_days, dispute_days = d.petition.days, d.dispute.days
    visit_hours = int(d.visit.total_seconds() // 3600)
    concluded = "办结（resolved、concluded 或 closed）"
    weights = "，".join(f"{COMPONENT_NAMES[c]} {report.weights[c]:g}" for c in COMPONENTS)
    return [
        ("考核期", f"{report.period.label}，北京时间，自首日 0 时至末日 24 时。"),
        ("属地原则", "预警、走访到期、信访和纠纷按其发生地所在的区县、街道计；任务按承办节点所在的区县、街道计。"),
        ("应考核", "时限落在考核期内，或在考核期内办理的事项；按时 + 超时 = 应考核，未到期的不计。"),
        ("收到预警", "考核期内新开的预警数（按预警所在地）。"),
        ("签收及时率", "签收及时数 ÷ 应考核数。时限为预警开启时确定的签收时限（升级后顺延的时限不算）。"),
        ("办结及时率", "办结及时数 ÷ 应考核数。时限为预警的办结时限。"),
        ("被升级预警", "考核期内因逾期未签收，从本辖区（本级或下属社区、网格）逐级上报的预警数，每起预警计一次。"),
        ("未升级率", "1 − 被升级预警 ÷ 收到预警，最低为 0；未收到预警而有被升级的，计 0。"),
        ("任务按时完成率", "核实、走访、调处任务在截止时间前完成数 ÷ 应考核数（无任务表时为无数据）。"),
        ("走访按时完成率", f"考核期内到期的关爱走访中，到期后 {visit_hours} 小时内对同一人完成走访的比例。"),
        ("信访按期办结率", f"信访自首次登记（首个版本）起 {petition_days} 日内状态变为{concluded}的比例。"),
        ("纠纷按期化解率", f"矛盾纠纷自首次登记（首个版本）起 {dispute_days} 日内状态变为{concluded}的比例。"),
        ("综合得分", "各项比率的加权平均 × 100；某项无应考核事项时不计入，其余权重按比例放大；"
                 f"均无数据的不评分，排在最后。权重：{weights}。"),
        ("排名", "按综合得分从高到低；得分相同的按区划代码排序。"),
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
    """The line under the title."""
    made = report.generated_at.astimezone(REPORT_TZ).strftime("%Y-%m-%d %H:%M")
    return f"考核期：{report.period.label}（北京时间）· 生成于 {made}（北京时间）"
