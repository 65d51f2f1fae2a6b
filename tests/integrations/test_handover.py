"""Handing a warning over, recorded in the store on both backends: new holder, fresh acknowledgement,
notifications with one-click links through the normal routing, audited; refusals audited, nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from integrations.handover import hand_over, handover_choices
from integrations.route import Routing
from integrations.store import actions
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, open_routed, small_directory

LATER = MONDAY_10_BJ + timedelta(minutes=30)
ROUTING = Routing(policy=EscalationPolicy(), directory=small_directory(), regions=REGIONS,
                  links=lambda wid, who, now: {"ack": f"http://x/a/{wid}-{who}", "resolve": f"http://x/r/{wid}"})


def _hand(engine: sa.Engine, wid: int, responder: str, to: str, note: str = "请街道核实") -> WarningRow:
    with session_scope(engine) as s:
        return hand_over(session=s, warning_id=wid, responder=responder, to=to, note=note, routing=ROUTING,
                         now=LATER)


def test_the_district_hands_an_acknowledged_warning_to_the_street(engine: sa.Engine) -> None:
    wid = open_routed(engine, "orange")  # held by 锦江区
    with session_scope(engine) as s:
        actions.acknowledge(session=s, warning_id=wid, responder="jj-duty", directory=ROUTING.directory, now=LATER)
        row = s.get(WarningRow, wid)
        assert row is not None
        assert handover_choices(s, row, small_directory().responder("jj-duty"), ROUTING.directory) == (  # type: ignore[arg-type]
            "510104001000", "510104001001")
    before = row.resolve_due_at
    _hand(engine, wid, "jj-duty", "510104001000")
    with Session(engine) as s:
        row = s.get(WarningRow, wid)
        sent = list(s.exec(select(OutboxRow).where(OutboxRow.step == "handover-1")))
        audit = list(s.exec(select(AuditRow).where(AuditRow.warning_id == wid, AuditRow.action == "handed-over")))
    assert row is not None and (row.tier, row.route_region, row.status) == ("street", "510104001000", "open")
    assert row.ack_due_at == LATER + EscalationPolicy().for_level("orange").acknowledge_within
    assert row.resolve_due_at == before and row.acknowledged_at is None
    assert {o.recipient for o in sent} >= {"s1"} and all(o.payload["links"] for o in sent)
    assert "http://x/a/" in next(o.body for o in sent if o.recipient == "s1")
    (handed,) = audit
    assert handed.actor == "jj-duty" and handed.reason == "请街道核实" and handed.detail["ack_reset"] is True
    assert handed.detail["to"] == {"tier": "street", "node": "510104001000"}


@pytest.mark.parametrize(("who", "to"), [("s1", "510104001001"), ("jj-duty", "510104002000"),
                                         ("jj-duty", "510100000000"), ("nobody", "510104001000")])
def test_refusals_change_nothing_and_are_audited(engine: sa.Engine, who: str, to: str) -> None:
    wid = open_routed(engine, "orange")
    with pytest.raises(actions.JurisdictionError):
        _hand(engine, wid, who, to)
    with Session(engine) as s:
        row = s.get(WarningRow, wid)
        refused = list(s.exec(select(AuditRow).where(AuditRow.warning_id == wid, AuditRow.action == "refused")))
    assert row is not None and (row.tier, row.route_region) == ("district", "510104000000")
    assert len(refused) == 1 and refused[0].detail["attempted"] == "handover"


def test_a_note_is_required(engine: sa.Engine) -> None:
    wid = open_routed(engine, "orange")
    with pytest.raises(actions.ActionError, match="须给接手方写明说明"):
        _hand(engine, wid, "jj-duty", "510104001000", note="  ")
