"""The demo's noise controls (降噪): its section (:func:`noise_section`: a silence, a cluster holding its
streets, a warning gone stale, played through the real paths after the rounds, so the demo shows each
whatever the month's data) and its summary: how many notifications were held and why — a silence, an open
cluster (by cluster warning), a rule's repeat limit (``notify_every``) — what became of them, and how many
warnings went stale (``resolve_after``). Read from the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlmodel import Session, col, select

from integrations.delivery import run_round
from integrations.i18n import _
from integrations.notify.base import Channel
from integrations.resolution import resolve_as
from integrations.route import Routing, route_changes
from integrations.staleness import Staleness, stale_sweep
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.silences import add_silence
from rules.language.model import Rule


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
    by_cluster = "、".join(_("#{id}（{rule}）{n} 条").format(id=wid, rule=rule_title(c.clusters.get(wid, "?")), n=n)
                           for wid, n in sorted(c.inhibited.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
    more = _(" 等 {n} 个聚集预警").format(n=len(c.inhibited)) if len(c.inhibited) > 5 else ""
    o = c.outcome
    return _("降噪：暂缓通知 {total} 条 — 静默 {silenced} 条；被聚集预警压制 {inhibited} 条"
             "（{clusters}{more}）；重复通知间隔未到（notify_every）未再通知的触发 {limited} 次。"
             "其后补发 {sent} 条，不再需要（已办结）{not_needed} 条，仍暂缓 {held} 条，待发送 {pending} 条。"
             "久无新情况转为可办结的预警 {stale} 条。").format(
        total=total, silenced=c.silenced, inhibited=sum(c.inhibited.values()), clusters=by_cluster or _("无"),
        more=more, limited=c.repeat_limited, sent=o.get("sent", 0), not_needed=o.get("not_needed", 0),
        held=o.get("silenced", 0) + o.get("held", 0), pending=o.get("pending", 0), stale=c.stale)


def rule_title(rule: str) -> str:
    """A rule's title from the rulebook in force (its id when the title is unknown)."""
    from integrations.settings import get_settings
    from integrations.workspace.present import rule_titles

    return rule_titles(get_settings().rulebook).get(rule, rule)


SILENCE_REASON = "拆迁听证会期间的集体访已知（演示：市维稳工作值班室设置）"
"""The reason of the demo's silences (its rounds' and its noise section's)."""
_SILENCED, _CLUSTER, _STREET = "510104001003", "510104002000", "510104002001"
"""A community the section's silence covers; a street whose cluster holds its communities; one of those."""


def _open(session: Session, routing: Routing, titles: Mapping[str, str], rule: str, level: str, region: str,
          at: datetime, *, quiet_since: datetime | None = None) -> WarningRow:
    """Open and route a warning of the section (fingerprint ``demo-noise:…``); one firing at ``quiet_since``."""
    first = quiet_since or at
    fp = f"demo-noise:{rule}:{region}"
    row = WarningRow(fingerprint=fp, open_key=fp, rule=rule, title=titles.get(rule, rule), level=level,
                     region=region, first_at=first, last_at=first, opened_at=first,
                     summary=f"降噪演示：{titles.get(rule, rule)}")
    session.add(row)
    session.flush()
    route_changes(session, [(row, "opened")], routing, at)
    return row


def noise_section(engine: sa.Engine, routing: Routing, channels: Mapping[str, Channel], *, at: datetime,
                  rules: Sequence[Rule], author: str = "cd-duty-office") -> NoiseCounts:
    """The demo's noise controls, played at ``at`` in the store: the city duty office silences collective
    petitions for half an hour (one opens meanwhile: held, then sent when the silence ends); a street cluster
    holds the warnings of its communities (one is resolved meanwhile: not needed; the other goes out when the
    cluster is resolved); a hotline spike quiet for four days turns stale and its holder is told 可办结.
    Every step is the real one (routing, silences, inhibition, ``resolve_as``, the staleness sweep, the
    delivery round). Returns the store's noise counts."""
    titles = {r.id: r.title for r in rules}
    every = {r.id: r.notify_every for r in rules if r.notify_every}
    stale_rules = {r.id: Staleness(r.resolve_after, r.auto_resolve) for r in rules if r.resolve_after}
    deliver = partial(run_round, engine, channels, policy=routing.policy, directory=routing.directory,
                      regions=routing.regions, templates=routing.templates)
    with session_scope(engine) as s:
        add_silence(s, directory=routing.directory, author=author, rule="collective-petition", region=None,
                    level="orange", category=None, until=at + timedelta(minutes=30), reason=SILENCE_REASON,
                    now=at, max_length=timedelta(hours=1))
        _open(s, routing, titles, "collective-petition", "yellow", _SILENCED, at + timedelta(minutes=1))
        cluster = _open(s, routing, titles, "street-cluster", "orange", _CLUSTER, at + timedelta(minutes=2))
        _open(s, routing, titles, "hotline-many-callers", "yellow", _STREET, at + timedelta(minutes=3))
        gone = _open(s, routing, titles, "wage-arrears-sum", "yellow", _STREET, at + timedelta(minutes=4))
        _open(s, routing, titles, "hotline-complaint-spike", "yellow", "510104001002", at + timedelta(minutes=5),
              quiet_since=at - timedelta(days=4))
        stale_sweep(s, stale_rules, routing=routing, event_now=at, now=at + timedelta(minutes=6))
    deliver(now=at + timedelta(minutes=10))  # the orange cluster goes out; the held ones wait
    with session_scope(engine) as s:
        resolve_as(session=s, warning_id=gone.id or 0, responder=author, directory=routing.directory,
                   reason="已化解（降噪演示）", now=at + timedelta(minutes=20), routing=routing)
    deliver(now=at + timedelta(minutes=31))  # the silence is over: the petition goes out
    with session_scope(engine) as s:
        resolve_as(session=s, warning_id=cluster.id or 0, responder=author, directory=routing.directory,
                   reason="聚集已消散（降噪演示）", now=at + timedelta(minutes=40), routing=routing)
    deliver(now=at + timedelta(minutes=41))  # the cluster is resolved: the street warning goes out
    with Session(engine) as s:
        return noise_counts(s, every)
