"""Recording a warning's hand-over to a node below (移交给下级), in the caller's transaction.

Whether the handover is allowed and where it routes is the domain's (:mod:`domain.handover`); the
service that renders the notifications is :func:`integrations.handover.hand_over`. Here: the warning's new
holder and deadlines, its acknowledgement taken back (the new holder acknowledges afresh), the outbox rows
for the new holder's responders and the ``handed-over`` audit row — or, for a refused attempt, a
``refused`` audit row in a transaction of its own, which survives the caller's rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlmodel import Session

from domain.handover import HANDOVER
from domain.messages import N_, Message
from domain.routing import RouteDecision
from domain.warnings import Status
from integrations.store.actions import JurisdictionError, actor_of
from integrations.store.audit import append_audit
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.routing import Message as RouteMessage
from integrations.store.routing import apply_route, record_route

HANDED_OVER = "handed-over"
"""Audit action of a hand-over; its reason is the holder's note."""


def record_handover(
    session: Session, warning: WarningRow, decision: RouteDecision,
    texts: Callable[[WarningRow], Mapping[str, RouteMessage]], *,
    responder: str, note: str, now: datetime, operator: str | None = None,
) -> list[OutboxRow]:
    """Write the hand-over ``decision`` (from :func:`domain.handover.handover_route`) on ``warning``:
    route, deadlines, outbox rows (each recipient's text from ``texts``, called once the new route is on
    the warning) and audit rows; return the outbox rows written."""
    assert warning.id is not None and decision.change == HANDOVER
    was_acknowledged = warning.status == Status.acknowledged.value
    apply_route(session, warning, decision, now)
    if was_acknowledged:
        # The new holder has not seen it yet: their acknowledgement is what stops the escalation now.
        warning.status, warning.acknowledged_at = Status.open.value, None
        session.add(warning)
    rows = record_route(session, warning, decision, texts(warning), now)
    append_audit(session=session, warning_id=warning.id, actor=actor_of(responder, operator), action=HANDED_OVER,
                 reason=note, at=now,
                 detail={"from": {"tier": decision.previous[0], "node": decision.previous[1]},
                         "to": {"tier": decision.tier, "node": decision.route_region}, "step": decision.step,
                         "ack_reset": was_acknowledged, "recipients": [p.id for p in decision.recipients]})
    return rows


def refuse_handover(session: Session, warning: WarningRow, *, responder: str, target: str, note: str, why: str,
                    now: datetime, operator: str | None = None) -> JurisdictionError:
    """Audit a refused hand-over in its own transaction and return the error to raise."""
    with Session(session.get_bind()) as own:
        own.add(AuditRow(warning_id=warning.id, at=now, actor=actor_of(responder, operator), action="refused",
                         reason=note[:500], detail={"attempted": "handover", "to": target, "why": why,
                                                    "region": warning.region}))
        own.commit()
    return JurisdictionError(Message(N_("{responder} 无权把预警 {id} 移交给 {target}：{why}"), responder=responder,
                                     id=warning.id, target=target, why=why))
