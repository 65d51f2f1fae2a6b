"""Responder actions within jurisdiction, every change audited; the SLA sweep escalates and reminds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.responders import ResponderDirectory
from integrations.route import route_warning
from integrations.settings import get_settings
from integrations.sla import sla_sweep
from integrations.store.actions import ActionError, JurisdictionError, acknowledge, comment, resolve
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, open_routed, small_directory

T0 = MONDAY_10_BJ
POLICY = EscalationPolicy()




def _audit(engine: sa.Engine, wid: int) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(AuditRow).where(AuditRow.warning_id == wid).order_by(AuditRow.id))  # type: ignore[arg-type]
        return [(a.actor, a.action) for a in rows]


def _sweep(engine: sa.Engine, now):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return sla_sweep(session=s, policy=POLICY, directory=small_directory(), regions=REGIONS, now=now)


def test_acknowledge_within_jurisdiction_is_audited(engine: sa.Engine) -> None:
    wid = open_routed(engine)
    with session_scope(engine) as s:
        w = acknowledge(session=s, warning_id=wid, responder="s1", directory=small_directory(),
                        reason="已派员到场", now=T0 + timedelta(minutes=5))
        assert (w.status, w.acknowledged_at) == ("acknowledged", T0 + timedelta(minutes=5))
    assert _audit(engine, wid)[-1] == ("s1", "acknowledged")


def test_the_city_and_the_leadership_may_act_everywhere_in_the_city(engine: sa.Engine) -> None:
    wid = open_routed(engine)
    with session_scope(engine) as s:
        comment(session=s, warning_id=wid, responder="city-duty", directory=small_directory(),
                reason="请街道跟进", now=T0)
        comment(session=s, warning_id=wid, responder="leader", directory=small_directory(), reason="阅",
                now=T0)


@pytest.mark.parametrize("who", ["c1", "nobody-known"])  # c1: community 001, warning in community 002
def test_acting_outside_the_jurisdiction_is_refused_and_audited(engine: sa.Engine, who: str) -> None:
    wid = open_routed(engine, region="510104001002")
    with pytest.raises(JurisdictionError), session_scope(engine) as s:
        acknowledge(session=s, warning_id=wid, responder=who, directory=small_directory(), now=T0)
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None and w.status == "open"
        refused = s.exec(select(AuditRow).where(AuditRow.action == "refused")).one()
        assert (refused.actor, refused.warning_id, refused.detail["attempted"]) == (who, wid, "acknowledge")


def test_resolve_needs_a_reason_frees_the_fingerprint_and_is_final(engine: sa.Engine) -> None:
    wid = open_routed(engine)
    with session_scope(engine) as s, pytest.raises(ActionError):
        resolve(session=s, warning_id=wid, responder="s1", directory=small_directory(), reason=" ", now=T0)
    with session_scope(engine) as s:
        w = resolve(session=s, warning_id=wid, responder="jj-duty", directory=small_directory(),
                    reason="已化解", now=T0 + timedelta(hours=1))
        assert (w.status, w.open_key) == ("resolved", None)
    with session_scope(engine) as s, pytest.raises(ActionError):
        acknowledge(session=s, warning_id=wid, responder="s1", directory=small_directory(), now=T0)
    assert ("jj-duty", "resolved") in _audit(engine, wid)


def test_sla_escalates_once_then_reminds_until_acknowledged(engine: sa.Engine) -> None:
    wid = open_routed(engine, "yellow")  # street s1, acknowledge within 2h, remind every 1h
    assert _sweep(engine, T0 + timedelta(hours=1)) == []
    t1 = T0 + timedelta(hours=2, minutes=1)
    [esc] = _sweep(engine, t1)
    assert (esc.action, esc.step, esc.to_code) == ("escalate", "escalate-1", "510104000000")
    assert _sweep(engine, t1) == []  # same instant again: nothing more
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        assert (w.tier, w.route_region, w.escalation_step) == ("district", "510104000000", 1)
        assert w.ack_due_at == t1 + timedelta(hours=2)
        rows = s.exec(select(OutboxRow).where(OutboxRow.step == "escalate-1")).all()
        # Both the street that missed the deadline and the district above it are told.
        assert {r.recipient for r in rows} == {"s1", "jj-duty"}
    t2 = t1 + timedelta(hours=2)
    [r1] = _sweep(engine, t2)
    [r2] = _sweep(engine, t2 + timedelta(hours=1))
    assert [(r1.action, r1.step), (r2.action, r2.step)] == [("remind", "remind-1"), ("remind", "remind-2")]
    with session_scope(engine) as s:
        acknowledge(session=s, warning_id=wid, responder="jj-duty", directory=small_directory(), now=t2)
    assert _sweep(engine, t2 + timedelta(days=1)) == []
    actions = [a for _, a in _audit(engine, wid)]
    assert actions == ["routed", "routed", "routed", "routed", "acknowledged"]


def test_red_escalates_to_the_duty_leadership(engine: sa.Engine) -> None:
    wid = open_routed(engine, "red")
    [esc] = _sweep(engine, T0 + timedelta(minutes=16))
    assert (esc.to_tier, esc.to_code) == ("leadership", "510100000000")
    with Session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == "escalate-1"))
        assert {r.recipient for r in rows} == {"city-duty", "leader"}


def test_a_refusal_is_an_action_error_with_the_configured_directory(engine: sa.Engine) -> None:
    # The shipped responders.yaml: jj-duty-office answers for district 510104, not for 510105.
    shipped = ResponderDirectory.load(get_settings().responders)
    wid = open_routed(engine, region="510105001001")
    with pytest.raises(ActionError), session_scope(engine) as s:
        acknowledge(session=s, warning_id=wid, responder="jj-duty-office", directory=shipped, now=T0)
    with session_scope(engine) as s:
        w = acknowledge(session=s, warning_id=wid, responder="qy-duty-office", directory=shipped, now=T0)
        assert w.status == "acknowledged"


def test_a_raise_after_an_escalation_climbs_again_with_fresh_step_names(engine: sa.Engine) -> None:
    wid = open_routed(engine, "yellow")
    t1 = T0 + timedelta(hours=2, minutes=1)
    assert [a.step for a in _sweep(engine, t1)] == ["escalate-1"]  # street → district
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        w.level = "red"
        route_warning(session=s, warning=w, change="raised", policy=POLICY, directory=small_directory(),
                      regions=REGIONS, now=t1)
        assert (w.tier, w.escalation_step, w.ack_due_at) == ("city", 0, t1 + timedelta(minutes=15))
    [esc] = _sweep(engine, t1 + timedelta(minutes=16))
    assert (esc.step, esc.to_tier) == ("escalate-2", "leadership")
    [rem] = _sweep(engine, t1 + timedelta(minutes=32))
    assert rem.step == "remind-1"


def test_a_raise_below_the_escalated_tier_keeps_the_route_and_tightens_deadlines(engine: sa.Engine) -> None:
    wid = open_routed(engine, "blue")  # community c1, ack within 24h
    t1 = T0 + timedelta(hours=24, minutes=1)
    _sweep(engine, t1)  # → street, ack due t1 + 24h
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        w.level = "yellow"  # street: where it already is
        rows = route_warning(session=s, warning=w, change="raised", policy=POLICY,
                             directory=small_directory(), regions=REGIONS, now=t1)
        assert (w.tier, w.route_region, w.escalation_step) == ("street", "510104001000", 0)
        assert w.ack_due_at == t1 + timedelta(hours=2)
    assert {r.recipient for r in rows} == {"s1"}
