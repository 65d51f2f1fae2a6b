"""Handing a warning over to a node below (移交给下级): the one function the workspace and the CLI call.

Decide (pure, :mod:`domain.handover`), render the new holder's notifications with their one-click links
(:mod:`integrations.route`), record (:mod:`integrations.store.handover`) — all in the caller's
transaction, so the new holder, the outbox rows and the audit rows commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from domain.handover import UNKNOWN_RESPONDER, handover_refusal, handover_route, handover_targets
from domain.messages import N_, Message
from domain.responders import Responder, ResponderDirectory
from integrations.route import Routing, step_texts
from integrations.store.actions import ActionError
from integrations.store.handover import record_handover, refuse_handover
from integrations.store.models import WarningRow
from integrations.store.routing import routing_facts


def handover_choices(session: Session, warning: WarningRow, person: Responder,
                     directory: ResponderDirectory) -> tuple[str, ...]:
    """The nodes ``person`` may hand ``warning`` to (coarsest first); empty if they may not hand it over."""
    return handover_targets(person, routing_facts(session, warning), directory)


def hand_over(
    *, session: Session, warning_id: int, responder: str, to: str, note: str, routing: Routing, now: datetime,
    operator: str | None = None,
) -> WarningRow:
    """``responder`` (the holder) hands the warning to node ``to`` below them, with a required ``note``.

    The node's responders are notified through the normal routing (step ``handover-N``, with links when
    ``routing.links`` makes them); the change is audited ``handed-over`` naming ``operator`` when one acts
    from the command line. Raises :class:`ActionError` (no such warning, empty note) or its subclass
    :class:`integrations.store.actions.JurisdictionError` (not allowed; audited ``refused``)."""
    if not note.strip():
        raise ActionError(Message(N_("移交须给接手方写明说明")))
    warning = session.get(WarningRow, warning_id)
    if warning is None:
        raise ActionError(Message(N_("没有编号为 {id} 的预警；`fenghuo warnings list` 可列出编号"), id=warning_id))
    facts = routing_facts(session, warning)
    person = routing.directory.responder(responder)
    why = handover_refusal(person, facts, to, routing.directory)
    if why is not None or person is None:
        raise refuse_handover(session, warning, responder=responder, target=to, note=note,
                              why=why or UNKNOWN_RESPONDER, now=now, operator=operator)
    decision = handover_route(facts, to, policy=routing.policy, directory=routing.directory, now=now)
    record_handover(session, warning, decision, lambda w: step_texts(w, decision, routing, now),
                    responder=person.id, note=note.strip(), now=now, operator=operator)
    return warning
