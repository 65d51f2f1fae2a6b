"""A hand-made day of warnings for the situation report tests (day D = 2026-01-20, Beijing time).

Every expected figure is worked out by hand in the comments, so a test failure says which rule of
counting broke.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.regions import RegionDirectory
from domain.situation.views import AuditView, WarningView
from domain.warnings import Level
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, WarningRow

BJ = ZoneInfo("Asia/Shanghai")
D = date(2026, 1, 20)
NOW = datetime(2026, 1, 21, 8, 0, tzinfo=BJ)  # the 08:00 run the morning after

REGIONS = RegionDirectory.from_mapping({
    "510100000000": "成都市", "510104000000": "锦江区", "510105000000": "青羊区",
    "510104001000": "春熙路街道", "510104001001": "和平社区",
})
JINJIANG, QINGYANG, CITY = "510104000000", "510105000000", "510100000000"


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """Beijing time ``days`` after D at ``hour:minute``."""
    return datetime(2026, 1, 20, hour, minute, tzinfo=BJ) + timedelta(days=days)


def warnings() -> list[WarningView]:
    """Nine warnings around D; see the comments for what each one tests."""
    return [
        # 1 red, 锦江: opened and acknowledged in time on D; still open.
        WarningView(1, "mass-gathering", "人员聚集", Level.red, "acknowledged", "510104001001", at(0, 9),
                    acknowledged_at=at(0, 9, 10), ack_due_at=at(0, 9, 15), resolve_due_at=at(1, 9)),
        # 2 orange, 青羊: opened on D, never acknowledged, escalated at 10:30; open.
        WarningView(2, "petition-surge", "信访激增", Level.orange, "open", "510105002000", at(0, 10),
                    ack_due_at=at(0, 10, 30), resolve_due_at=at(3, 10), escalation_step=1),
        # 3 yellow, 锦江: opened, acknowledged in time and resolved on D.
        WarningView(3, "petition-surge", "信访激增", Level.yellow, "resolved", "510104003001", at(0, 11),
                    acknowledged_at=at(0, 12), resolved_at=at(0, 15), ack_due_at=at(0, 13),
                    resolve_due_at=at(7, 11)),
        # 4 blue, 青羊: opened the day before; acknowledged late on D (due 20:00, acked 21:00).
        WarningView(4, "wage-arrears", "欠薪", Level.blue, "acknowledged", "510105001001", at(-1, 20),
                    acknowledged_at=at(0, 21), ack_due_at=at(0, 20), resolve_due_at=at(14, 20)),
        # 5 orange, 锦江: opened D-3; resolved on D at 14:00, after its 12:00 deadline.
        WarningView(5, "wage-arrears", "欠薪", Level.orange, "resolved", "510104001002", at(-3, 12),
                    acknowledged_at=at(-3, 12, 20), resolved_at=at(0, 14), ack_due_at=at(-3, 12, 30),
                    resolve_due_at=at(0, 12)),
        # 6 red, city level: opened D-2, acknowledged then; still open (its resolve breach was on D-1).
        WarningView(6, "mass-gathering", "人员聚集", Level.red, "acknowledged", CITY, at(-2, 8),
                    acknowledged_at=at(-2, 8, 5), ack_due_at=at(-2, 8, 15), resolve_due_at=at(-1, 8)),
        # 7 blue: opened D-10 and resolved D-9: only in the trend.
        WarningView(7, "dispute-spike", "纠纷多发", Level.blue, "resolved", "510104001001", at(-10, 9),
                    acknowledged_at=at(-10, 10), resolved_at=at(-9, 9), ack_due_at=at(-9, 9),
                    resolve_due_at=at(5, 9)),
        # 8 yellow: opened D-40, resolved D-35: outside every window, the store must not even read it.
        WarningView(8, "dispute-spike", "纠纷多发", Level.yellow, "resolved", "510104001001", at(-40, 9),
                    acknowledged_at=at(-40, 10), resolved_at=at(-35, 9), ack_due_at=at(-40, 11),
                    resolve_due_at=at(-33, 9)),
        # 9 orange, 青羊: opened 23:00 on D, due 23:30, acknowledged only at 01:00 next day; escalated
        # at 00:00 next day, so as the day ended it stood at step 0.
        WarningView(9, "road-blockade", "堵路", Level.orange, "acknowledged", "510105001000", at(0, 23),
                    acknowledged_at=at(1, 1), ack_due_at=at(0, 23, 30), resolve_due_at=at(3, 23),
                    escalation_step=1),
    ]


def audits(views: list[WarningView]) -> list[AuditView]:
    """The audit log the lifecycle above leaves behind."""
    out: list[AuditView] = []
    for w in views:
        out.append(AuditView(w.id, w.opened_at, "opened", "system:evaluator"))
        if w.acknowledged_at:
            out.append(AuditView(w.id, w.acknowledged_at, "acknowledged", "responder"))
        if w.resolved_at:
            out.append(AuditView(w.id, w.resolved_at, "resolved", "responder"))
    out.append(AuditView(2, at(0, 10, 30), "escalated", "system:sla"))
    out.append(AuditView(9, at(1, 0), "escalated", "system:sla"))
    return sorted(out, key=lambda a: a.at)


def store(engine: sa.Engine, views: list[WarningView] | None = None) -> None:
    """Write the scenario (or ``views``) and its audit log into the store."""
    views = warnings() if views is None else views
    with session_scope(engine) as session:
        for w in views:
            session.add(WarningRow(
                id=w.id, fingerprint=f"fp{w.id}", open_key=None if w.status == "resolved" else f"fp{w.id}",
                rule=w.rule, title=w.title, level=w.level.value, status=w.status, region=w.region,
                first_at=w.opened_at, last_at=w.opened_at, opened_at=w.opened_at,
                acknowledged_at=w.acknowledged_at, resolved_at=w.resolved_at, ack_due_at=w.ack_due_at,
                resolve_due_at=w.resolve_due_at, escalation_step=w.escalation_step,
            ))
        session.flush()
        for a in audits(views):
            if a.action == "escalated":  # as the router records it: a routing step that escalates
                session.add(AuditRow(warning_id=a.warning_id, at=a.at, actor="system:router", action="routed",
                                     reason="escalate-1", detail={"change": "escalated"}))
            else:
                session.add(AuditRow(warning_id=a.warning_id, at=a.at, actor=a.actor, action=a.action))
            # Other routing steps are not escalations.
            session.add(AuditRow(warning_id=a.warning_id, at=a.at, actor="system:router", action="routed",
                                 reason="open", detail={"change": "opened"}))
