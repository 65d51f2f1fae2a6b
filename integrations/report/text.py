"""Words and numbers shared by the Markdown and HTML renderings of the situation report."""

from __future__ import annotations

from datetime import datetime

from domain.beijing import BEIJING
from domain.privacy import mask
from domain.situation.compute import Counts, OpenWarning, SituationReport
from domain.situation.sla import DeadlineStats
from domain.warnings import LEVELS, Level
from integrations.i18n import N_, _
from integrations.wording import worded

TITLE = N_("烽火 社会稳定风险预警日报")
COUNT_COLUMNS = (("opened", N_("新增")), ("acknowledged", N_("签收")), ("escalated", N_("升级")),
                 ("resolved", N_("办结")))
ACK_STATE = {"acknowledged": N_("已签收"), "overdue": N_("超时未签收"), "waiting": N_("待签收")}
ACK_RATE, RESOLVE_RATE = N_("签收及时率"), N_("办结及时率")
"""The compliance sentences' names (msgids: :func:`sla_sentence` translates them)."""
LEVELS_DESC: tuple[Level, ...] = tuple(reversed(LEVELS))
"""Red first: the order responders read levels in."""


def title(report: SituationReport) -> str:
    """The report's heading, e.g. ``烽火 社会稳定风险预警日报 — 2026-01-20``."""
    return f"{_(TITLE)} — {report.day:%Y-%m-%d}"


def local(at: datetime | None) -> str:
    """An instant in Beijing time, ``YYYY-MM-DD HH:MM``; ``—`` for none."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at else "—"


def as_of_text(report: SituationReport) -> str:
    """When the figures stand: ``24:00`` of the day, or the time the report was made during it."""
    if report.as_of < report.generated_at:
        return f"{report.day:%Y-%m-%d} 24:00"
    return local(report.as_of)


def subtitle(report: SituationReport) -> str:
    """The line under the title: the day, the cut-off and when the report was made, each in Beijing time."""
    return _("统计日：{day}（北京时间）· 数据截至 {as_of}（北京时间）· 生成于 {made}（北京时间）").format(
        day=f"{report.day:%Y-%m-%d}", as_of=as_of_text(report), made=local(report.generated_at))


def pct(stats: DeadlineStats) -> str:
    """Compliance as a percentage, ``—`` when nothing was judged."""
    return "—" if stats.rate is None else f"{stats.rate * 100:.1f}%"


def sla_sentence(name: str, stats: DeadlineStats) -> str:
    """One line of compliance, e.g. ``签收及时率 85.7%（按时 6，超时 1，未到期 2）``."""
    return _("{name} {pct}（按时 {met}，超时 {breached}，未到期 {pending}）").format(
        name=_(name), pct=pct(stats), met=stats.met, breached=stats.breached, pending=stats.pending)


def count_cells(counts: Counts) -> list[str]:
    """The four lifecycle counts as table cells."""
    return [str(getattr(counts, attr)) for attr, _name in COUNT_COLUMNS]


def severe_cells(w: OpenWarning) -> list[str]:
    """One open red/orange warning as table cells (without the level badge)."""
    ack = _(ACK_STATE.get(w.ack_state, w.ack_state))
    if w.ack_state == "acknowledged":
        ack += f" {local(w.acknowledged_at)}"
    elif w.ack_due_at:
        ack += _("（时限 {due}）").format(due=local(w.ack_due_at))
    return [f"#{w.id}", mask(worded(w.title)), w.region_path, local(w.opened_at), str(w.escalation_step), ack]


def with_level(cells: list[str], level: str) -> list[str]:
    """``cells`` of :func:`severe_cells` with the level in the second column."""
    return [cells[0], level, *cells[1:]]


SEVERE_HEADERS = (N_("编号"), N_("等级"), N_("预警"), N_("地区"), N_("发出时间（北京时间）"), N_("升级次数"),
                  N_("签收状态（时间为北京时间）"))
"""The times in the cells carry no zone: the headers of their columns say it."""


def headline(report: SituationReport) -> str:
    """One sentence a leader reads first."""
    t = report.totals
    red_orange = len(report.open_severe)
    return _("当日新增预警 {opened} 起，签收 {acked} 起，升级 {escalated} 起，办结 {resolved} 起；"
             "在办红色、橙色预警 {severe} 起；{sla}。").format(
        opened=t.opened, acked=t.acknowledged, escalated=t.escalated, resolved=t.resolved, severe=red_orange,
        sla=sla_sentence(ACK_RATE, report.sla.ack))
