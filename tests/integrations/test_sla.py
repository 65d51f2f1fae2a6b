"""Resolve-within breaches are reported once; a raise takes back an acknowledgement at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.warnings import Firing, Level, fold
from integrations.route import Routing, apply_and_route, route_warning
from integrations.sla import SlaAction, resolve_overdue_sweep, sla_sweep
from integrations.store.actions import RESOLVE_OVERDUE, acknowledge, resolve
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, open_routed, small_directory

T0 = MONDAY_10_BJ
POLICY = EscalationPolicy()




def _sweep(engine: sa.Engine, now: datetime) -> list[SlaAction]:
    with session_scope(engine) as s:
        return sla_sweep(session=s, policy=POLICY, directory=small_directory(), regions=REGIONS, now=now)


def _ack(engine: sa.Engine, wid: int, who: str, now: datetime) -> None:
    with session_scope(engine) as s:
        acknowledge(session=s, warning_id=wid, responder=who, directory=small_directory(), now=now)


def _actions(engine: sa.Engine, wid: int) -> list[str]:
    with Session(engine) as s:
        rows = s.exec(select(AuditRow).where(AuditRow.warning_id == wid).order_by(AuditRow.id))  # type: ignore[arg-type]
        return [a.action for a in rows]


def test_a_resolve_breach_is_audited_and_notified_once(engine: sa.Engine) -> None:
    wid = open_routed(engine, "yellow")  # street s1; resolve within 7 days
    _ack(engine, wid, "s1", T0 + timedelta(minutes=10))  # acknowledged is not resolved
    assert _sweep(engine, T0 + timedelta(days=7) - timedelta(seconds=1)) == []
    late = T0 + timedelta(days=7, minutes=1)
    [overdue] = _sweep(engine, late)
    assert (overdue.action, overdue.step, overdue.to_tier, overdue.to_code) == (
        "overdue", "overdue", "street", "510104001000")
    assert overdue.notifications == 1
    # Later sweeps never report it again.
    assert _sweep(engine, late) == []
    assert _sweep(engine, late + timedelta(days=3)) == []
    with Session(engine) as s:
        [row] = s.exec(select(OutboxRow).where(OutboxRow.step == "overdue")).all()
        assert (row.recipient, row.idempotency_key) == ("s1", f"{wid}:overdue:s1:file")
        assert "已超过处置时限" in row.subject and "黄色" in row.subject
        [entry] = s.exec(select(AuditRow).where(AuditRow.action == RESOLVE_OVERDUE)).all()
        assert (entry.warning_id, entry.actor, entry.detail["overdue_s"]) == (wid, "system:sla", 60)
        assert entry.detail["status"] == "acknowledged"
    assert _actions(engine, wid) == ["routed", "acknowledged", "routed", RESOLVE_OVERDUE]


def test_resolved_warnings_are_never_reported_overdue(engine: sa.Engine) -> None:
    wid = open_routed(engine, "red")  # resolve within 24h
    with session_scope(engine) as s:
        resolve(session=s, warning_id=wid, responder="city-duty", directory=small_directory(),
                reason="已处置", now=T0 + timedelta(hours=1))
    with session_scope(engine) as s:
        assert resolve_overdue_sweep(session=s, policy=POLICY, directory=small_directory(), regions=REGIONS,
                                     now=T0 + timedelta(days=2)) == []


def test_an_unacknowledged_overdue_warning_is_escalated_and_reported_in_one_sweep(engine: sa.Engine) -> None:
    wid = open_routed(engine, "red")  # city; acknowledge within 15 min, resolve within 24h
    actions = _sweep(engine, T0 + timedelta(hours=25))
    assert [(a.action, a.step) for a in actions] == [("escalate", "escalate-1"), ("overdue", "overdue")]
    with Session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == "overdue"))
        # The node responsible *now* is told: the duty leadership the warning was just escalated to.
        assert {r.recipient for r in rows} == {"leader"}


def _firing(level: Level, minutes: int) -> Firing:
    return Firing(rule="collective-petition", level=level, at=T0 + timedelta(minutes=minutes),
                  group={"community": "510104001001"}, region="510104001001", records=("r1",),
                  explanation="people=60 ≥ 50", summary="60 人集体访", title="集体访")


def test_a_raise_of_an_acknowledged_warning_needs_a_new_acknowledgement(engine: sa.Engine) -> None:
    state, change = fold(None, _firing(Level.yellow, 0))
    with session_scope(engine) as s:
        apply_and_route(s, [(state, change)], Routing(POLICY, small_directory(), REGIONS), T0)
        wid = s.exec(select(WarningRow.id)).one()
    assert wid is not None
    _ack(engine, wid, "s1", T0 + timedelta(minutes=5))
    t1 = T0 + timedelta(hours=3)  # well past the yellow deadline, which was met
    raised, change2 = fold(state, _firing(Level.orange, 180))
    with session_scope(engine) as s:
        apply_and_route(s, [(raised, change2)], Routing(POLICY, small_directory(), REGIONS), t1)
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        assert (w.status, w.acknowledged_at, w.level) == ("open", None, "orange")
        assert (w.tier, w.route_region, w.ack_due_at) == ("district", "510104000000", t1 + timedelta(minutes=30))
        [reset] = s.exec(select(AuditRow).where(AuditRow.action == "ack-reset")).all()
        assert reset.reason == "raised to orange"
        assert reset.detail["acknowledged_at"] == (T0 + timedelta(minutes=5)).isoformat()
        told = s.exec(select(OutboxRow).where(OutboxRow.step == "raise-orange")).all()
        assert {r.recipient for r in told} == {"jj-duty"}
    assert _actions(engine, wid) == ["opened", "routed", "acknowledged", "raised", "ack-reset", "routed"]
    # Nothing is escalated before the new deadline; after it the district's silence is escalated.
    assert _sweep(engine, t1 + timedelta(minutes=29)) == []
    [esc] = _sweep(engine, t1 + timedelta(minutes=31))
    assert (esc.action, esc.to_tier) == ("escalate", "city")
    _ack(engine, wid, "jj-duty", t1 + timedelta(minutes=40))
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None and w.status == "acknowledged"


def test_a_raise_while_escalated_above_resets_the_ack_with_a_fresh_deadline(engine: sa.Engine) -> None:
    wid = open_routed(engine, "blue")  # community c1, acknowledge within 24h
    t1 = T0 + timedelta(hours=24, minutes=1)
    _sweep(engine, t1)  # → street
    _ack(engine, wid, "s1", t1 + timedelta(minutes=1))
    t2 = t1 + timedelta(hours=5)
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        w.level = "yellow"  # street: where it already is; its old deadline (t1 + 24h) is no guide
        route_warning(session=s, warning=w, change="raised", policy=POLICY, directory=small_directory(),
                      regions=REGIONS, now=t2)
        assert (w.status, w.tier, w.ack_due_at) == ("open", "street", t2 + timedelta(hours=2))


def test_escalations_and_overdue_reports_carry_each_recipients_links(engine: sa.Engine) -> None:
    def links(warning_id: int, responder: str, now: datetime) -> dict[str, str]:
        return {"ack": f"https://fh.test/a/{warning_id}-{responder}"}

    wid = open_routed(engine, "red")
    with session_scope(engine) as s:
        sla_sweep(session=s, policy=POLICY, directory=small_directory(), regions=REGIONS,
                  now=T0 + timedelta(hours=25), links=links)
    with Session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid,
                                              OutboxRow.step.in_(["escalate-1", "overdue"]))).all()  # type: ignore[attr-defined]
    assert {r.step for r in rows} == {"escalate-1", "overdue"}
    for r in rows:
        url = f"https://fh.test/a/{wid}-{r.recipient}"
        assert r.payload["links"] == {"ack": url} and url in r.body
