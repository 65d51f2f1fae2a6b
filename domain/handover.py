"""Handing a warning over to a node below (移交给下级), decided purely.

The holder of a warning (a responder of the node it is routed to; the duty leadership when the leadership
holds it) may hand it to a node strictly below their own that contains the warning's region and has
responders of its own: the warning's holder becomes that node, which must acknowledge it afresh. Nobody
else may: a node above the holder escalates or waits, it does not reach past the holder.

:func:`handover_targets` lists the nodes the page offers; :func:`handover_refusal` says why one handover
is not allowed (``None``: allowed); :func:`handover_route` is the routing decision that records it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.escalation import LEADERSHIP, EscalationPolicy
from domain.messages import N_, Message
from domain.regions import TIERS, Tier, ancestor, is_within, tier_of
from domain.responders import Responder, ResponderDirectory
from domain.routing import RouteDecision, WarningFacts, recipients
from domain.warnings import Status

HANDOVER = "handover"
"""The routing step prefix (``handover-1``, ``handover-2``…) and the change's name."""


def holder_node(facts: WarningFacts, directory: ResponderDirectory) -> str:
    """The node that holds the warning now (the city's code when the duty leadership holds it)."""
    return directory.city if facts.tier == LEADERSHIP else facts.route_region


def is_holder(person: Responder, facts: WarningFacts, directory: ResponderDirectory) -> bool:
    """True if ``person`` answers for the warning now: a responder of its node, or the leadership when the
    leadership holds it."""
    if not facts.tier:
        return False
    if facts.tier == LEADERSHIP:
        return directory.is_leadership(person.id)
    return not directory.is_leadership(person.id) and person.node == facts.route_region


def handover_targets(person: Responder, facts: WarningFacts, directory: ResponderDirectory) -> tuple[str, ...]:
    """The nodes ``person`` may hand the warning to, coarsest first: between the holder's node
    (exclusive) and the warning's region (inclusive), each with general responders of its own; empty if
    ``person`` does not hold it or it is resolved."""
    if facts.status == Status.resolved.value or not is_holder(person, facts, directory):
        return ()
    top = holder_node(facts, directory)
    chain = [ancestor(facts.region, tier) for tier in TIERS if tier.rank > tier_of(top).rank]
    return tuple(code for code in dict.fromkeys(c for c in chain if c)
                 if code != top and any(r.unit is None for r in directory.at_node(code)))


def handover_refusal(person: Responder | None, facts: WarningFacts, target: str,
                     directory: ResponderDirectory) -> Message | None:
    """Why ``person`` may not hand the warning to ``target`` (a Message, Chinese, for the refusal and its
    audit), or ``None`` if they may."""
    if person is None:
        return UNKNOWN_RESPONDER
    if facts.status == Status.resolved.value:
        return Message(N_("预警已办结"))
    if not is_holder(person, facts, directory):
        return Message(N_("{responder} 不是预警的当前负责人（当前由 {tier} {node} 负责）"), responder=person.id,
                       tier=Message(Tier(facts.tier).label) if facts.tier in set(Tier) else facts.tier or "-",
                       node=facts.route_region)
    if not is_within(facts.region, target):
        return Message(N_("节点 {target} 不包含预警所在地区 {region}"), target=target, region=facts.region)
    if target not in handover_targets(person, facts, directory):
        return Message(N_("节点 {target} 不在 {node} 之下，或没有处置人员"), target=target,
                       node=holder_node(facts, directory))
    return None


UNKNOWN_RESPONDER = Message(N_("未知的处置人员"))
"""Why a hand-over by someone not in the responders' directory is refused."""


def handover_route(facts: WarningFacts, target: str, *, policy: EscalationPolicy, directory: ResponderDirectory,
                   now: datetime) -> RouteDecision:
    """The routing decision of handing the warning to ``target`` (already allowed): the target's tier and
    node hold it, escalation starts again from there with a fresh acknowledgement deadline (the level's
    ``acknowledge_within``), the resolve deadline stands; the target's responders are told."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    pinned = EscalationPolicy.from_snapshot(facts.pinned) if facts.pinned else policy
    step = f"{HANDOVER}-{1 + sum(1 for s in facts.routed_steps if s.startswith(HANDOVER + '-'))}"
    tier: Tier = tier_of(target)
    decision = RouteDecision(
        change=HANDOVER, step=step, already_routed=False, tier=tier.value, route_region=target,
        escalation_step=0, ack_due_at=now + pinned.for_level(facts.level).acknowledge_within,
        resolve_due_at=facts.resolve_due_at, previous=(facts.tier, facts.route_region),
        reset_acknowledgement=False, pin=None, policy=pinned, targets=((tier.value, target),))
    return replace(decision, recipients=recipients(facts, decision.targets, pinned, directory, now))
