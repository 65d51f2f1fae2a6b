"""How the workspace shows things to a responder: Chinese names of levels, statuses and events, Beijing
time with the zone marked, deadlines as "剩余 1 小时 20 分", and a warning's timeline from its audit rows and
notifications. Pure functions over rows: no request, no session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.beijing import BEIJING
from domain.privacy import mask
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.i18n import _
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.task_models import TaskRow
from integrations.wording import worded
from integrations.workspace.names import CHANNEL_CN, EVENT_CN, LEVEL_CN, ROUTED_CN, TIER_CN


def beijing(at: datetime | None) -> str:
    """``2026-12-04 10:05（北京时间）``, or a dash."""
    return "—" if at is None else _("{time}（北京时间）").format(time=f"{at.astimezone(BEIJING):%Y-%m-%d %H:%M}")


def remaining(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """The time left to ``due`` as responders read it, and whether it has passed."""
    if due is None:
        return "", False
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = (([_("{n} 天").format(n=days)] if days else []) + ([_("{n} 小时").format(n=hours)] if hours or days else [])
             + [_("{n} 分").format(n=mins)])
    return (_("已超时 {left}") if late else _("剩余 {left}")).format(left=" ".join(parts)), late


@dataclass(frozen=True)
class Deadline:
    """The deadline a warning's status sets now: to acknowledge (open) or to resolve (acknowledged)."""

    label: str
    due: str
    left: str
    late: bool


def deadline_of(row: WarningRow, now: datetime) -> Deadline | None:
    """The current deadline of ``row``, or ``None`` when it has none (resolved, or no SLA)."""
    if row.status == "open" and row.ack_due_at is not None:
        label, due = _("签收期限"), row.ack_due_at
    elif row.status != "resolved" and row.resolve_due_at is not None:
        label, due = _("办结期限"), row.resolve_due_at
    else:
        return None
    left, late = remaining(due, now)
    return Deadline(label, beijing(due), left, late)


def place(code: str, names: RegionDirectory) -> str:
    """The place as names from the district down (the city is implied)."""
    path = names.path(code).split(" / ")
    return " ".join(path[1:] if len(path) > 1 else path)


def holder(row: WarningRow, names: RegionDirectory) -> str:
    """Who holds the warning now: the responsible tier and node, by name."""
    if not row.tier:
        return _("尚未分派")
    if row.tier == "leadership":
        return _(TIER_CN["leadership"])
    return _("{name}（{detail}）").format(name=place(row.route_region, names) if row.route_region else "",
                                      detail=_(TIER_CN.get(row.tier, row.tier)))


@dataclass(frozen=True)
class Event:
    """One line of a warning's timeline."""

    at: str
    what: str
    who: str
    note: str


def _who(actor: str, people: ResponderDirectory) -> str:
    if actor.startswith("system:"):
        return _("系统")
    operator, sep, responder = actor.removeprefix("operator ").partition(" as ")
    if actor.startswith("operator ") and sep:
        person = people.responder(responder)
        return _("{name}（操作员 {operator} 在命令行代办）").format(name=person.name if person else responder,
                                                          operator=operator)
    person = people.responder(actor)
    return person.name if person else actor


def timeline(audit: list[AuditRow], sent: list[OutboxRow], people: ResponderDirectory,
             names: RegionDirectory) -> list[Event]:
    """The warning's story, oldest first: audit rows, each routing step with whom it notified by which
    channel. Notes are masked (they may quote a phone number)."""
    by_step: dict[str, list[str]] = {}
    for row in sent:
        person = people.responder(row.recipient)
        who = person.name if person else row.recipient
        by_step.setdefault(row.step, []).append(_("{name}（{detail}）").format(
            name=who, detail=_(CHANNEL_CN.get(row.channel, row.channel))))
    out: list[Event] = []
    for a in audit:
        if a.action == "routed":
            change = str(a.detail.get("change", ""))
            to = a.detail.get("to") or {}
            node = str(to.get("node") or "")
            tier = _(TIER_CN.get(str(to.get("tier", "")), ""))
            where = _("{name}（{detail}）").format(name=place(node, names), detail=tier) if node else tier
            told = "、".join(by_step.get(a.reason, [])) or _("无")
            out.append(Event(beijing(a.at), _("{change}至 {where}").format(
                change=_(ROUTED_CN.get(change, change)), where=where), _("系统"), _("通知：{told}").format(told=told)))
            continue
        what = _(EVENT_CN.get(a.action, a.action))
        if a.action == "raised":
            before, after = (_(LEVEL_CN.get(str(a.detail.get(k)), "")) for k in ("from", "to"))
            what = _("等级上调：{before} → {after}").format(before=before, after=after)
        out.append(Event(beijing(a.at), what, _who(a.actor, people), mask(worded(a.reason))))
    return out


@dataclass(frozen=True)
class TaskLine:
    """One task of a warning as its page lists it."""

    id: int
    kind: str
    status: str
    place: str
    due: str
    late: bool
    outcome: str


def tasks_of(rows: list[TaskRow], names: RegionDirectory, now: datetime) -> list[TaskLine]:
    """The warning's tasks (核实/走访/调处) for its page, in Chinese."""
    from domain.tasks import KIND_CN, OUTCOME_CN
    from domain.tasks import STATUS_CN as TASK_STATUS_CN

    return [TaskLine(r.id or 0, _(KIND_CN.get(r.kind, r.kind)), _(TASK_STATUS_CN.get(r.status, r.status)),
                     place(r.region, names), beijing(r.due_at),
                     r.status == "overdue" or (r.status != "done" and r.due_at < now),
                     _(OUTCOME_CN.get(r.outcome or "", ""))) for r in rows]


def silence_note(sent: list[OutboxRow]) -> str:
    """"通知静默中：<reason>" while a silence holds the warning's notifications, else ``""`` (masked)."""
    reasons = [str(r.payload.get("silence_reason", "")) for r in sent if r.status == "silenced"]
    return _("通知静默中：{reason}（静默结束时仍未办结将补发）").format(reason=mask(reasons[0])) if reasons else ""


def rule_titles(rulebook: Path) -> dict[str, str]:
    """Rule id → its title, read when the workspace starts (a rule whose file fails to load keeps
    showing its id; the evaluator reports such a file on its own)."""
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in rulebook.rglob("*.y*ml")))
    return dict(_titles(rulebook, stamp))


@functools.lru_cache(maxsize=8)
def _titles(rulebook: Path, stamp: tuple[tuple[str, int], ...]) -> tuple[tuple[str, str], ...]:
    # Loading the rulebook costs a third of a second; apps made again over unchanged files share it.
    from rules.language.loader import load_rulebook

    return tuple((r.id, r.title) for r in load_rulebook([rulebook], rulebook).rules if r.title)


def rule_label(rule: str, titles: dict[str, str]) -> str:
    """``集体访苗头（collective-petition）``: the title a responder knows it by, the id for the duty office."""
    title = titles.get(rule)
    return _("{title}（{rule}）").format(title=title, rule=rule) if title else rule
