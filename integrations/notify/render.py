"""Messages to responders, in Chinese: a subject line and a plain-text body.

Every personal identifier (ID-card and phone numbers and the like) is masked with
:func:`domain.privacy.mask` before a message leaves this module; region codes stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from domain.privacy import mask
from domain.regions import RegionDirectory, Tier, ancestors
from domain.warnings import Level
from integrations.settings import Settings, get_settings
from integrations.store.models import WarningRow

CHINA = timezone(timedelta(hours=8), "CST")
"""Responders read Beijing time."""

_STEP_NOTE = {"escalate": "逾期未确认，已逐级上报", "remind": "催办：仍未确认", "raise": "预警等级提升",
              "overdue": "已超过处置时限，仍未办结", "repeat": "持续发生",
              "stale": "可办结：已较长时间无新情况", "handover": "上级移交本级处置"}


@dataclass(frozen=True)
class Rendered:
    """A rendered message."""

    subject: str
    body: str


def beijing(at: datetime | None) -> str:
    """``2026-01-05 09:00``, Beijing time; ``—`` for none."""
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else "—"


def colour(level: str) -> str:
    """The colour word of a level: ``橙色``."""
    return Level(level).chinese.split("（")[0]


def place(region: str, regions: RegionDirectory) -> str:
    """The region's names below the city, e.g. ``锦江区 春熙路街道``; the city's own name for the city."""
    chain = [regions.name(code) for tier, code in ancestors(region).items() if tier != Tier.city.value]
    return " ".join(dict.fromkeys(chain)) or regions.name(region)


def node_label(tier: str, code: str, regions: RegionDirectory, leadership: str = "市领导值班") -> str:
    """Who is responsible now, e.g. ``区县 锦江区``."""
    if tier == "leadership":
        return leadership
    try:
        label = Tier(tier).label
    except ValueError:
        label = tier
    return f"{label} {regions.name(code)}"


def render(
    warning: WarningRow,
    *,
    step: str,
    recipient: str,
    regions: RegionDirectory,
    leadership: str = "市领导值班",
    links: Mapping[str, str] | None = None,
) -> Rendered:
    """Subject and body of the notification for ``warning`` at routing ``step`` (``open``,
    ``raise-orange``, ``escalate-1``, ``remind-2``…) sent to ``recipient`` (a responder id), with
    one-click ``links`` (``{"ack": url, "resolve": url}``) when given."""
    title = warning.title or warning.rule
    kind = step.split("-")[0]
    note = _STEP_NOTE.get(kind, "")
    if kind == "remind":
        note += f"（第 {step.split('-')[-1]} 次）"
    subject = f"【{colour(warning.level)}预警】{title} — {place(warning.region, regions)}"
    if note:
        subject += f"（{note}）"
    lines = [
        f"预警等级：{Level(warning.level).chinese}",
        f"预警规则：{title}（{warning.rule}）",
        f"摘要：{warning.summary or '—'}",
        f"发生地区：{regions.path(warning.region)}（{warning.region}）",
        f"当前责任：{node_label(warning.tier, warning.route_region, regions, leadership)}",
        f"首次发生：{beijing(warning.first_at)}",
        f"最近发生：{beijing(warning.last_at)}（累计 {warning.occurrences} 次）",
        f"研判说明：{warning.explanation or '—'}",
        f"确认时限：{beijing(warning.ack_due_at)}（北京时间）前确认接收",
        f"处置时限：{beijing(warning.resolve_due_at)}",
        f"确认命令：fenghuo warnings ack {warning.id} --as {recipient}",
        *(f"{label}：{links[key]}" for key, label in (("ack", "一键确认"), ("resolve", "一键办结"))
          if links and key in links),
        f"预警编号：{warning.id}　通知环节：{step}",
        "本系统只作预警提示，处置由责任人依法依规决定。",
    ]
    if note:
        lines.insert(0, f"〔{note}〕")
    return Rendered(subject=mask(subject), body=mask("\n".join(lines)))


def action_links(
    warning_id: int, responder: str, now: datetime, settings: Settings | None = None
) -> dict[str, str]:
    """Signed one-click links (``integrations.links``) for ``responder`` to acknowledge or resolve the
    warning, valid for ``settings.link_ttl_s`` from ``now``; pass as ``integrations.route.Routing(links=...)``."""
    from integrations.links import make_link  # only deployments that send links need the module

    s = settings or get_settings()
    expires = now + timedelta(seconds=s.link_ttl_s)
    return {action: make_link(s.public_base_url, warning_id, action, responder, expires, secret=s.link_secret)
            for action in ("ack", "resolve")}
