"""Routing a warning (pure): who answers for it now, who is told, by which channel, with which deadlines.

:func:`decide_route` takes what the store knows of a warning (:class:`WarningFacts`), the change that
happened (``opened``, ``raised``, ``escalated``, ``reminder``, ``overdue``), the escalation policy, the
responders directory and ``now``, and returns a :class:`RouteDecision`: the routing step's name, the
warning's new route and deadlines, the nodes to tell and the deliveries (recipient × channel). The store
records the decision (``integrations.store.routing``); nothing here reads or writes anything.

Steps are numbered over the warning's whole life (``open``, ``raise-orange``, ``escalate-1``,
``remind-2``, ``overdue``), from the steps already routed, so a step is never routed twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from domain.escalation import LEADERSHIP, EscalationPolicy, Step, deadlines, next_step, responsible_node, step_node
from domain.regions import Tier, ancestor
from domain.responders import Responder, ResponderDirectory, recipients_for
from domain.warnings import Level, Status

DIGEST_LEVELS = frozenset({Level.blue.value, Level.yellow.value})
"""Levels whose notifications may wait to go as one digest; orange and red are never held back."""

ChangeKind = Literal["opened", "raised", "escalated", "reminder", "overdue", "repeat", "stale"]
CHANGES: tuple[str, ...] = ("opened", "raised", "escalated", "reminder", "overdue", "repeat", "stale")


@dataclass(frozen=True)
class WarningFacts:
    """What routing needs to know of a warning (built by the store from its row)."""

    id: int
    rule: str
    level: str
    region: str
    status: str
    tier: str = ""
    route_region: str = ""
    escalation_step: int = 0
    ack_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    pinned: dict[str, Any] | None = None
    """The policy snapshot pinned on the warning at open (None: not pinned yet)."""
    routed_steps: tuple[str, ...] = ()
    """Steps already routed for this warning (``open``, ``escalate-1``…), oldest first."""


@dataclass(frozen=True)
class Delivery:
    """One notification to send: a recipient over one of their channels."""

    recipient: str
    channel: str
    address: str


@dataclass(frozen=True)
class RouteDecision:
    """The outcome of routing one change; ``already_routed``: the step was routed before, change nothing."""

    change: str
    step: str
    already_routed: bool
    tier: str
    route_region: str
    escalation_step: int
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    previous: tuple[str, str]
    """(tier, node) the warning was routed to before this step."""
    reset_acknowledgement: bool
    """A raise of an acknowledged warning takes the acknowledgement back (the new tier must acknowledge)."""
    pin: dict[str, Any] | None
    """A policy snapshot to pin on the warning now (at open, when none is pinned yet)."""
    policy: EscalationPolicy
    """The policy the decision used: the one pinned on the warning, else the fallback."""
    targets: tuple[tuple[str, str], ...] = ()
    """(tier or ``leadership``, node code) of every node told."""
    recipients: tuple[Responder, ...] = ()

    @property
    def deliveries(self) -> list[Delivery]:
        """One delivery per recipient and channel, in recipient order."""
        return [Delivery(p.id, c.type, c.address) for p in self.recipients for c in p.channels]


def _rank(step: Step | str) -> int:
    return -1 if step == LEADERSHIP else Tier(step).rank


def _as_step(tier: str) -> Step:
    return LEADERSHIP if tier == LEADERSHIP else Tier(tier)


def _value(step: Step | str) -> str:
    return step.value if isinstance(step, Tier) else str(step)


def step_name(change: str, level: str, routed_steps: Sequence[str]) -> str:
    """The name of the step a change is routed as; escalations and reminders are numbered over the
    warning's whole life (not per level), so a raise never reuses a step name and its keys."""
    escalations = 1 + sum(1 for r in routed_steps if r.startswith("escalate-"))
    reminders = 1 + sum(1 for r in routed_steps if r.startswith("remind-"))
    repeats = 1 + sum(1 for r in routed_steps if r.startswith("repeat-"))
    stales = 1 + sum(1 for r in routed_steps if r.startswith("stale-"))
    names = {"opened": "open", "raised": f"raise-{level}", "overdue": "overdue",
             "reminder": f"remind-{reminders}", "escalated": f"escalate-{escalations}",
             "repeat": f"repeat-{repeats}", "stale": f"stale-{stales}"}
    return names[change]


def repeat_due(notified_at: datetime, last_at: datetime, every: timedelta | None) -> bool:
    """True if firings folded into an open warning should notify again: the rule sets ``notify_every``
    and at least that much event time passed between the firing last notified and the latest one."""
    return every is not None and last_at - notified_at >= every


def stale_due(last_at: datetime, event_now: datetime, resolve_after: timedelta | None) -> bool:
    """True if an open warning has gone quiet: its rule sets ``resolve_after`` and at least that much
    event time passed since its last firing (``event_now``: the latest event time evaluated)."""
    return resolve_after is not None and event_now - last_at >= resolve_after


def _opened(d: RouteDecision, f: WarningFacts, p: EscalationPolicy, now: datetime) -> RouteDecision:
    tier, code = responsible_node(f.region, f.level, p)
    due = deadlines(now, f.level, p)
    return replace(d, tier=tier.value, route_region=code, escalation_step=0, ack_due_at=due.ack_due_at,
                   resolve_due_at=due.resolve_due_at, targets=((tier.value, code),))


def _raised(d: RouteDecision, f: WarningFacts, p: EscalationPolicy, now: datetime) -> RouteDecision:
    tier, code = responsible_node(f.region, f.level, p)
    due = deadlines(now, f.level, p)
    # A higher level only tightens the deadlines it finds.
    resolve_due = min(due.resolve_due_at, f.resolve_due_at) if f.resolve_due_at else due.resolve_due_at
    d = replace(d, resolve_due_at=resolve_due)
    if f.tier and _rank(f.tier) < tier.rank:
        # Already escalated above the new level's tier: stay there, never route a warning downward.
        ack_due = min(due.ack_due_at, f.ack_due_at) if f.ack_due_at else due.ack_due_at
        d = replace(d, ack_due_at=ack_due, targets=((f.tier, f.route_region),))
    else:
        d = replace(d, tier=tier.value, route_region=code, escalation_step=0, ack_due_at=due.ack_due_at,
                    targets=((tier.value, code),))
    if f.status == Status.acknowledged.value:
        # Always a fresh deadline: the old one may lie in the past (it was met), and keeping it would make
        # the next SLA sweep escalate a warning its new tier has not even seen yet.
        d = replace(d, reset_acknowledgement=True, ack_due_at=due.ack_due_at)
    return d


def _escalated(d: RouteDecision, f: WarningFacts, p: EscalationPolicy, now: datetime) -> RouteDecision:
    up = next_step(_as_step(f.tier))
    upper = step_node(f.route_region, up)
    # The tier that missed the deadline is told as well as the one above it.
    return replace(d, tier=_value(up), route_region=upper, escalation_step=f.escalation_step + 1,
                   ack_due_at=now + p.for_level(f.level).acknowledge_within,
                   targets=((f.tier, f.route_region), (_value(up), upper)))


def _reminder(d: RouteDecision, f: WarningFacts, p: EscalationPolicy, now: datetime) -> RouteDecision:
    tier, code = responsible_node(f.region, f.level, p)
    return replace(d, ack_due_at=now + p.for_level(f.level).remind_every,
                   targets=((f.tier, f.route_region), (tier.value, code)))


def _overdue(d: RouteDecision, f: WarningFacts, p: EscalationPolicy, now: datetime) -> RouteDecision:
    return replace(d, targets=((f.tier, f.route_region),))


_BY_CHANGE = {"opened": _opened, "raised": _raised, "escalated": _escalated, "reminder": _reminder,
              "overdue": _overdue, "repeat": _overdue, "stale": _overdue}
# A repeat (new firings, notify_every) and a stale notice (resolve_after) go, like an overdue report, to
# the node responsible now, and change no route or deadline.


def recipients(
    facts: WarningFacts, targets: Iterable[tuple[str, str]], policy: EscalationPolicy,
    directory: ResponderDirectory, now: datetime, categories: Iterable[str] = (),
) -> tuple[Responder, ...]:
    """Responders of every target node (falling back upward), plus override units; deduplicated."""
    out: dict[str, Responder] = {}
    extras = policy.extras_for(facts.rule, categories)
    for tier, code in targets:
        step = _as_step(tier)
        for r in recipients_for(code, step, directory, now):
            out.setdefault(r.id, r)
        for extra in extras:
            if extra.tier == "same":
                unit_tier: Step = Tier.city if step == LEADERSHIP else step
                unit_code = code
            else:
                unit_tier, unit_code = extra.tier, ancestor(facts.region, extra.tier) or facts.region
            for r in recipients_for(unit_code, unit_tier, directory, now, unit=extra.unit):
                out.setdefault(r.id, r)
    return tuple(out.values())


def decide_route(
    facts: WarningFacts, change: ChangeKind | str, *, policy: EscalationPolicy, directory: ResponderDirectory,
    now: datetime, categories: Iterable[str] = (),
) -> RouteDecision:
    """Route ``facts`` for ``change``:

    - ``opened``: the level's responsible node, fresh deadlines (and the policy to pin, if none is);
    - ``raised``: the new level's node (never below where the warning already is), tighter deadlines;
      an acknowledged warning must be acknowledged again, by the new level's deadline;
    - ``escalated``: one step up (tier, or the duty leadership above the city); the node that missed the
      deadline and the one above are both told; ``escalation_step`` + 1;
    - ``reminder``: the current node and the originally responsible node are reminded;
    - ``overdue``: the node responsible now is told that the resolve-within deadline passed;
    - ``repeat`` / ``stale``: the node responsible now is told of new firings (``notify_every``) or that
      the warning has gone quiet and may be closed (``resolve_after``).

    A warning never routed starts at ``opened`` whatever the change. SLA decisions use the pinned policy;
    ``policy`` is the fallback. ``categories`` select category overrides besides the rule id.
    """
    if change not in CHANGES:
        raise ValueError(f"unknown routing change {change!r}")
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    if change != "opened" and not facts.tier:
        change = "opened"  # a warning never routed (e.g. raised in the batch that opened it) starts here
    pin = policy.snapshot() if change == "opened" and not facts.pinned else None
    pinned = EscalationPolicy.from_snapshot(facts.pinned) if facts.pinned else policy
    step = step_name(change, facts.level, facts.routed_steps)
    unchanged = RouteDecision(
        change=change, step=step, already_routed=step in facts.routed_steps, tier=facts.tier,
        route_region=facts.route_region, escalation_step=facts.escalation_step, ack_due_at=facts.ack_due_at,
        resolve_due_at=facts.resolve_due_at, previous=(facts.tier, facts.route_region),
        reset_acknowledgement=False, pin=pin, policy=pinned)
    if unchanged.already_routed:
        return unchanged
    decided = _BY_CHANGE[change](unchanged, facts, pinned, now)
    people = recipients(facts, decided.targets, pinned, directory, now, categories)
    return replace(decided, recipients=people)


def digest_key(member_keys: Iterable[str]) -> str:
    """The idempotency key of a digest of notifications with these keys (order does not matter): every
    (re)send of the same group carries the same key, so a receiver drops a resend by it."""
    canon = "\n".join(sorted(member_keys))
    return "digest:" + hashlib.sha256(canon.encode("utf-8")).hexdigest()
