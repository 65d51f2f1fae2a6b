"""Routing a warning: who answers for it now, and the outbox rows that tell them.

:func:`route_warning` runs inside the caller's transaction — the same one that opened, raised or escalated
the warning — so the warning change, its notifications and its audit row commit together or not at all.
Each notification's idempotency key is ``f"{warning.id}:{step}:{recipient}:{channel}"`` and unique in the
table; a step already routed (its audit row exists) is never routed again, so a re-run writes nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, func, select

from domain.escalation import (
    LEADERSHIP,
    EscalationPolicy,
    Step,
    deadlines,
    next_step,
    responsible_node,
    step_node,
)
from domain.regions import RegionDirectory, Tier, ancestor
from domain.responders import Responder, ResponderDirectory, recipients_for
from domain.warnings import Status
from integrations.notify.render import render
from integrations.store.audit import append_audit, audit_entries
from integrations.store.models import OutboxRow, WarningRow

ChangeKind = Literal["opened", "raised", "escalated", "reminder", "overdue"]
LinkMaker = Callable[[int, str, datetime], Mapping[str, str]]
"""(warning id, responder id, now) → ``{"ack": url, "resolve": url}``."""
ROUTED = "routed"
"""Audit action of a routing step; its ``reason`` is the step (``open``, ``escalate-1``…)."""
SYSTEM = "system:router"
ACK_RESET = "ack-reset"
"""Audit action when a raise takes back an acknowledgement (the new tier must acknowledge again)."""
_KEY = "idempotency_key"


def pinned_policy(warning: WarningRow, fallback: EscalationPolicy) -> EscalationPolicy:
    """The policy pinned on ``warning`` at open, or ``fallback`` for a warning that has none."""
    return EscalationPolicy.from_snapshot(warning.policy) if warning.policy else fallback


def _rank(step: Step | str) -> int:
    return -1 if step == LEADERSHIP else Tier(step).rank


def _as_step(tier: str) -> Step:
    return LEADERSHIP if tier == LEADERSHIP else Tier(tier)


def _targets(
    warning: WarningRow, change: str, policy: EscalationPolicy, now: datetime
) -> list[tuple[Step, str]]:
    """Update the warning's route and deadlines for ``change``; return the nodes to tell."""
    level = warning.level
    lp = policy.for_level(level)
    if change == "opened":
        tier, code = responsible_node(warning.region, level, policy)
        due = deadlines(now, level, policy)
        warning.tier, warning.route_region, warning.escalation_step = tier.value, code, 0
        warning.ack_due_at, warning.resolve_due_at = due.ack_due_at, due.resolve_due_at
        return [(tier, code)]
    if change == "raised":
        tier, code = responsible_node(warning.region, level, policy)
        due = deadlines(now, level, policy)
        # A higher level only tightens the deadlines it finds.
        if warning.resolve_due_at is None or due.resolve_due_at < warning.resolve_due_at:
            warning.resolve_due_at = due.resolve_due_at
        if warning.tier and _rank(warning.tier) < tier.rank:
            # Already escalated above the new level's tier: stay there, never route a warning downward.
            if warning.ack_due_at is None or due.ack_due_at < warning.ack_due_at:
                warning.ack_due_at = due.ack_due_at
            return [(_as_step(warning.tier), warning.route_region)]
        warning.tier, warning.route_region, warning.escalation_step = tier.value, code, 0
        warning.ack_due_at = due.ack_due_at
        return [(tier, code)]
    current = _as_step(warning.tier)
    if change == "overdue":
        return [(current, warning.route_region)]
    if change == "escalated":
        up = next_step(current)
        upper = step_node(warning.route_region, up)
        before = (current, warning.route_region)
        warning.tier, warning.route_region = up.value if isinstance(up, Tier) else up, upper
        warning.escalation_step += 1
        warning.ack_due_at = now + lp.acknowledge_within
        # The tier that missed the deadline is told as well as the one above it.
        return [before, (up, upper)]
    original = responsible_node(warning.region, level, policy)
    warning.ack_due_at = now + lp.remind_every
    return [(current, warning.route_region), original]


def _reset_acknowledgement(session: Session, warning: WarningRow, policy: EscalationPolicy, now: datetime) -> None:
    """Take back the acknowledgement of a raised warning: open again, due by the new level's deadline."""
    acknowledged_at = warning.acknowledged_at
    warning.status, warning.acknowledged_at = Status.open.value, None
    # Always a fresh deadline: the old one may lie in the past (it was met), and keeping it would make
    # the next SLA sweep escalate a warning its new tier has not even seen yet.
    warning.ack_due_at = deadlines(now, warning.level, policy).ack_due_at
    assert warning.id is not None
    append_audit(
        session=session, warning_id=warning.id, actor=SYSTEM, action=ACK_RESET,
        reason=f"raised to {warning.level}", at=now,
        detail={"acknowledged_at": acknowledged_at.isoformat() if acknowledged_at else None,
                "tier": warning.tier, "node": warning.route_region,
                "ack_due_at": warning.ack_due_at.isoformat()},
    )


def _recipients(
    warning: WarningRow,
    targets: list[tuple[Step, str]],
    policy: EscalationPolicy,
    directory: ResponderDirectory,
    now: datetime,
    categories: Iterable[str],
) -> list[Responder]:
    """Responders of every target node (falling back upward), plus override units; deduplicated."""
    out: dict[str, Responder] = {}
    extras = policy.extras_for(warning.rule, categories)
    for step, code in targets:
        for r in recipients_for(code, step, directory, now):
            out.setdefault(r.id, r)
        for extra in extras:
            if extra.tier == "same":
                unit_tier: Step = Tier.city if step == LEADERSHIP else step
                unit_code = code
            else:
                unit_tier, unit_code = extra.tier, ancestor(warning.region, extra.tier) or warning.region
            for r in recipients_for(unit_code, unit_tier, directory, now, unit=extra.unit):
                out.setdefault(r.id, r)
    return list(out.values())


def _insert_missing(session: Session, rows: list[OutboxRow]) -> None:
    """Insert the rows whose idempotency key is not in the table yet (race-safe where the dialect allows)."""
    if not rows:
        return
    keys = [r.idempotency_key for r in rows]
    query = select(OutboxRow.idempotency_key).where(col(OutboxRow.idempotency_key).in_(keys))
    existing = set(session.exec(query))
    values = [r.model_dump(exclude={"id"}) for r in rows if r.idempotency_key not in existing]
    if not values:
        return
    dialect = session.get_bind().dialect.name
    table = SQLModel.metadata.tables["outbox"]
    stmt: Any
    # ON CONFLICT DO NOTHING: a concurrent router that inserted the same key first wins, quietly.
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=[_KEY])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=[_KEY])
    else:
        stmt = sa.insert(table).values(values)
    session.execute(stmt)


def route_warning(
    *,
    session: Session,
    warning: WarningRow,
    change: ChangeKind | str,
    policy: EscalationPolicy,
    directory: ResponderDirectory,
    regions: RegionDirectory,
    now: datetime,
    categories: Iterable[str] = (),
    links: LinkMaker | None = None,
) -> list[OutboxRow]:
    """Route ``warning`` for ``change`` and write its outbox rows and audit row; return the step's rows.

    - ``opened``: pins ``policy`` on the warning (unless already pinned) and routes it to the level's
      responsible node with fresh deadlines;
    - ``raised``: re-routes to the new level's node (never below where it already is), tighter deadlines;
    - ``escalated``: one step up (tier, or the duty leadership above the city); both the node that
      missed the deadline and the one above are told; ``escalation_step`` + 1;
    - ``reminder``: the current node and the originally responsible node are reminded;
    - ``overdue``: the node responsible now is told that the resolve-within deadline passed (no
      deadline changes; :func:`integrations.store.actions.resolve_overdue_sweep` calls it once per warning).

    A raise of an *acknowledged* warning takes the acknowledgement back (status ``open``, audited as
    ``ack-reset``): the acknowledgement was given for a lower level, perhaps by a lower tier, so the tier
    answering for the new level must acknowledge again, against the new level's deadline.

    SLA decisions use the policy pinned on the warning; ``policy`` is only the fallback. ``categories``
    (record kinds or types behind the warning) select category overrides besides the rule id. ``links``
    (e.g. ``integrations.notify.render.action_links``) adds one-click links for each recipient.
    Idempotent per step: a step already routed returns its existing rows and changes nothing.
    """
    if change not in ("opened", "raised", "escalated", "reminder", "overdue"):
        raise ValueError(f"unknown routing change {change!r}")
    if change != "opened" and not warning.tier:
        change = "opened"  # a warning never routed (e.g. raised in the batch that opened it) starts here
    if warning.id is None:
        session.add(warning)
        session.flush()
    assert warning.id is not None
    if change == "opened" and not warning.policy:
        warning.policy = policy.snapshot()
    pinned = pinned_policy(warning, policy)
    # Escalations and reminders are numbered over the warning's whole life (not per level), so a raise,
    # which restarts the climb from the new level's tier, never reuses a step name and its keys.
    done = [a.reason for a in audit_entries(session=session, warning_id=warning.id, action=ROUTED)]
    escalations = 1 + sum(1 for r in done if r.startswith("escalate-"))
    reminders = 1 + sum(1 for r in done if r.startswith("remind-"))
    planned = {"opened": "open", "raised": f"raise-{warning.level}", "overdue": "overdue",
               "reminder": f"remind-{reminders}", "escalated": f"escalate-{escalations}"}[change]
    if audit_entries(session=session, warning_id=warning.id, action=ROUTED, reason=planned):
        return _rows_of_step(session, warning.id, planned)
    previous = (warning.tier, warning.route_region)
    step = planned
    targets = _targets(warning, change, pinned, now)
    if change == "raised" and warning.status == Status.acknowledged.value:
        _reset_acknowledgement(session, warning, pinned, now)
    session.add(warning)
    people = _recipients(warning, targets, pinned, directory, now, categories)
    rows: list[OutboxRow] = []
    for person in people:
        urls = dict(links(warning.id, person.id, now)) if links else {}
        text = render(warning, step=step, recipient=person.id, regions=regions,
                      leadership=pinned.leadership.name, links=urls)
        for channel in person.channels:
            rows.append(OutboxRow(
                idempotency_key=f"{warning.id}:{step}:{person.id}:{channel.type}",
                warning_id=warning.id, step=step, recipient=person.id, channel=channel.type,
                address=channel.address, level=warning.level, subject=text.subject, body=text.body,
                payload={"warning_id": warning.id, "fingerprint": warning.fingerprint, "rule": warning.rule,
                         "level": warning.level, "region": warning.region, "tier": warning.tier,
                         "route_region": warning.route_region, "step": step,
                         "ack_due_at": warning.ack_due_at.isoformat() if warning.ack_due_at else None,
                         "links": urls},
                status="pending", next_attempt_at=now, created_at=now,
            ))
    session.flush()
    _insert_missing(session, rows)
    append_audit(
        session=session, warning_id=warning.id, actor=SYSTEM, action=ROUTED, reason=step, at=now,
        detail={"change": change, "from": {"tier": previous[0], "node": previous[1]},
                "to": {"tier": warning.tier, "node": warning.route_region},
                "targets": [[str(getattr(t, "value", t)), c] for t, c in targets],
                "recipients": [p.id for p in people], "policy": pinned.snapshot()["id"],
                "ack_due_at": warning.ack_due_at.isoformat() if warning.ack_due_at else None},
    )
    return _rows_of_step(session, warning.id, step)


def _rows_of_step(session: Session, warning_id: int, step: str) -> list[OutboxRow]:
    query = select(OutboxRow).where(OutboxRow.warning_id == warning_id, OutboxRow.step == step)
    return list(session.exec(query.order_by(col(OutboxRow.id))))


def count_steps(*, session: Session, warning_id: int) -> int:
    """How many routing steps a warning has been through (for reports)."""
    query = select(func.count()).select_from(OutboxRow).where(OutboxRow.warning_id == warning_id)
    return int(session.exec(query).one())


Router = Callable[[Session, WarningRow, str], list[OutboxRow]]


def make_router(
    *,
    policy: EscalationPolicy,
    directory: ResponderDirectory,
    regions: RegionDirectory,
    now: datetime,
    categories: Callable[[WarningRow], Iterable[str]] | None = None,
    links: LinkMaker | None = None,
) -> Router:
    """A ``(session, warning, change)`` callable for ``integrations.store.warnings.apply_changes(router=…)``."""

    def route(session: Session, warning: WarningRow, change: str) -> list[OutboxRow]:
        cats = categories(warning) if categories else ()
        return route_warning(session=session, warning=warning, change=change, policy=policy,
                             directory=directory, regions=regions, now=now, categories=cats, links=links)

    return route
