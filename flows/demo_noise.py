"""The demo's noise-control summary (降噪): how many notifications were held and why — a silence, an open
cluster (by cluster warning), a rule's repeat limit (``notify_every``) — what became of them, and how
many warnings went stale (``resolve_after``). Read from the store after the demo's rounds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, col, select

from integrations.i18n import _
from integrations.store.models import AuditRow, OutboxRow, WarningRow


@dataclass(frozen=True)
class NoiseCounts:
    """What the noise controls did in a store."""

    silenced: int = 0
    """Notifications a silence held (whatever became of them since)."""
    inhibited: Mapping[int, int] = field(default_factory=dict)
    """Notifications held by each cluster warning (by its id)."""
    clusters: Mapping[int, str] = field(default_factory=dict)
    """The rule of each inhibiting warning."""
    repeat_limited: int = 0
    """Firings folded into an open warning of a ``notify_every`` rule that notified nobody (too soon)."""
    stale: int = 0
    """Warnings that went stale (quiet past their rule's ``resolve_after``)."""
    outcome: Mapping[str, int] = field(default_factory=dict)
    """What the held notifications are now: sent, not_needed, pending, or still silenced / held."""


def noise_counts(session: Session, every: Mapping[str, timedelta]) -> NoiseCounts:
    """Count the holds recorded on outbox rows, the stale audit entries, and the folded firings of the
    rules with a ``notify_every`` (``every``, by rule id) that did not notify."""
    held = [r for r in session.exec(select(OutboxRow).where(col(OutboxRow.payload).is_not(None)))
            if r.payload.get("silence") or r.payload.get("inhibitor")]
    silenced = sum(1 for r in held if r.payload.get("silence"))
    inhibited = Counter(int(r.payload["inhibitor"]) for r in held
                        if not r.payload.get("silence") and r.payload.get("inhibitor"))
    clusters = {w.id: w.rule for w in session.exec(select(WarningRow).where(col(WarningRow.id).in_(list(inhibited))))
                if w.id is not None}
    stale = len(set(session.exec(select(AuditRow.warning_id).where(AuditRow.action == "stale"))))
    limited = 0
    if every:
        notified: Counter[int] = Counter()
        steps = select(OutboxRow.warning_id, OutboxRow.step).distinct()
        for wid, step in session.exec(steps):
            if wid is not None and (step.startswith("raise-") or step.startswith("repeat-")):
                notified[wid] += 1
        for w in session.exec(select(WarningRow).where(col(WarningRow.rule).in_(list(every)))):
            limited += max(0, w.occurrences - 1 - notified[w.id or 0])
    return NoiseCounts(silenced=silenced, inhibited=dict(inhibited), clusters=clusters, repeat_limited=limited,
                       stale=stale, outcome=dict(Counter(r.status for r in held)))


def noise_line(c: NoiseCounts) -> str:
    """One summary line through the catalogue (the reasons first, then what became of the held
    notifications: sent after the hold, 不再需要（已办结） because the warning was resolved, still held)."""
    total = c.silenced + sum(c.inhibited.values())
    by_cluster = "、".join(_("#{id}（{rule}）{n} 条").format(id=wid, rule=c.clusters.get(wid, "?"), n=n)
                           for wid, n in sorted(c.inhibited.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
    more = _(" 等 {n} 个聚集预警").format(n=len(c.inhibited)) if len(c.inhibited) > 5 else ""
    o = c.outcome
    return _("降噪 noise control：暂缓通知 {total} 条 — 静默 {silenced} 条；被聚集预警压制 {inhibited} 条"
             "（{clusters}{more}）；重复通知间隔未到（notify_every）未再通知的触发 {limited} 次。"
             "其后补发 {sent} 条，不再需要（已办结）{not_needed} 条，仍暂缓 {held} 条，待发送 {pending} 条。"
             "久无新情况转为可办结（stale）的预警 {stale} 条。").format(
        total=total, silenced=c.silenced, inhibited=sum(c.inhibited.values()), clusters=by_cluster or _("无"),
        more=more, limited=c.repeat_limited, sent=o.get("sent", 0), not_needed=o.get("not_needed", 0),
        held=o.get("silenced", 0) + o.get("held", 0), pending=o.get("pending", 0), stale=c.stale)
