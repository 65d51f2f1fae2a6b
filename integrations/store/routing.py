"""Recording a routing decision: the warning's new route, its outbox rows and the audit rows.

The decision itself is pure (:func:`domain.routing.decide_route`); here it is written, inside the caller's
transaction — the same one that opened, raised or escalated the warning — so the warning change, its
notifications and its audit row commit together or not at all. Each notification's idempotency key is
``f"{warning.id}:{step}:{recipient}:{channel}"`` and unique in the table; a step already routed (its audit
row exists) is never recorded again, so a re-run writes nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.routing import RouteDecision, WarningFacts
from domain.warnings import Status
from integrations.store.audit import append_audit, audit_entries, flush_audit
from integrations.store.inhibition import hold_if_inhibited, note_source
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.outbox_insert import flush_outbox, insert_missing, outbox_deferred
from integrations.store.outbox_status import PENDING
from integrations.store.silences import hold_if_silenced

ROUTED = "routed"
"""Audit action of a routing step; its ``reason`` is the step (``open``, ``escalate-1``…)."""
SYSTEM = "system:router"
ACK_RESET = "ack-reset"
"""Audit action when a raise takes back an acknowledgement (the new tier must acknowledge again)."""
_KEY = "idempotency_key"


@dataclass(frozen=True)
class Message:
    """The text one recipient gets for a routing step, and the one-click links in it."""

    subject: str
    body: str
    links: Mapping[str, str] = field(default_factory=dict)


def pinned_policy(warning: WarningRow, fallback: EscalationPolicy) -> EscalationPolicy:
    """The policy pinned on ``warning`` at open, or ``fallback`` for a warning that has none."""
    return EscalationPolicy.from_snapshot(warning.policy) if warning.policy else fallback


_ROUTED_STEPS = "routed-steps"
"""Session cache: warning id → its routed steps, for the warnings :func:`routed_steps` read at once."""


@contextmanager
def routed_steps(session: Session, warnings: Iterable[WarningRow]) -> Iterator[None]:
    """While inside, :func:`routing_facts` knows the routed steps of ``warnings`` from one query for all of
    them (a batch routes many warnings: one round trip, not one per warning); steps recorded meanwhile
    join them. The cache ends with the block, so later routing in the session reads the table again."""
    flush_audit(session)  # steps kept unwritten (integrations.store.audit.deferred_audit) are read too
    ids = sorted({w.id for w in warnings if w.id is not None})
    known: dict[int, list[str]] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        query = select(AuditRow.warning_id, AuditRow.reason).where(
            col(AuditRow.warning_id).in_(ids[i:i + 500]), AuditRow.action == ROUTED).order_by(col(AuditRow.id))
        for warning_id, reason in session.exec(query):
            if warning_id is not None:
                known[warning_id].append(reason)
    session.info[_ROUTED_STEPS] = known
    try:
        yield
    finally:
        session.info.pop(_ROUTED_STEPS, None)


def routing_facts(session: Session, warning: WarningRow) -> WarningFacts:
    """What routing needs of ``warning`` (given an id here if it has none yet), with its routed steps."""
    if warning.id is None:
        session.add(warning)
        session.flush()
    assert warning.id is not None
    known = session.info.get(_ROUTED_STEPS)
    if known is not None and warning.id in known:
        done = tuple(known[warning.id])
    else:
        done = tuple(a.reason for a in audit_entries(session=session, warning_id=warning.id, action=ROUTED))
    return WarningFacts(
        id=warning.id, rule=warning.rule, level=warning.level, region=warning.region, status=warning.status,
        tier=warning.tier, route_region=warning.route_region, escalation_step=warning.escalation_step,
        ack_due_at=warning.ack_due_at, resolve_due_at=warning.resolve_due_at, pinned=warning.policy or None,
        routed_steps=done)


def apply_route(session: Session, warning: WarningRow, decision: RouteDecision, now: datetime) -> None:
    """Write the decision's route and deadlines on the warning (and the acknowledgement taken back, audited)."""
    if decision.pin is not None:
        warning.policy = decision.pin
    if decision.already_routed:
        return
    warning.tier, warning.route_region = decision.tier, decision.route_region
    warning.escalation_step = decision.escalation_step
    warning.ack_due_at, warning.resolve_due_at = decision.ack_due_at, decision.resolve_due_at
    if decision.reset_acknowledgement:
        _reset_acknowledgement(session, warning, now)
    session.add(warning)


def _reset_acknowledgement(session: Session, warning: WarningRow, now: datetime) -> None:
    acknowledged_at = warning.acknowledged_at
    warning.status, warning.acknowledged_at = Status.open.value, None
    assert warning.id is not None and warning.ack_due_at is not None
    append_audit(
        session=session, warning_id=warning.id, actor=SYSTEM, action=ACK_RESET,
        reason=f"raised to {warning.level}", at=now,
        detail={"acknowledged_at": acknowledged_at.isoformat() if acknowledged_at else None,
                "tier": warning.tier, "node": warning.route_region,
                "ack_due_at": warning.ack_due_at.isoformat()},
    )


def text_key(recipient: str, channel: str) -> str:
    """Key of a recipient's text for one channel in a step's texts (when a channel has its own layout);
    the plain recipient id is the text for every other channel."""
    return f"{recipient}\t{channel}"


def _outbox_row(warning: WarningRow, step: str, recipient: str, channel: str, address: str,
                text: Message, now: datetime) -> OutboxRow:
    assert warning.id is not None
    return OutboxRow(
        idempotency_key=f"{warning.id}:{step}:{recipient}:{channel}",
        warning_id=warning.id, step=step, recipient=recipient, channel=channel,
        address=address, level=warning.level, subject=text.subject, body=text.body,
        payload={"warning_id": warning.id, "fingerprint": warning.fingerprint, "rule": warning.rule,
                 "level": warning.level, "region": warning.region, "tier": warning.tier,
                 "route_region": warning.route_region, "step": step,
                 "ack_due_at": warning.ack_due_at.isoformat() if warning.ack_due_at else None,
                 "links": dict(text.links)},
        status=PENDING, next_attempt_at=now, created_at=now,
    )


def record_route(
    session: Session, warning: WarningRow, decision: RouteDecision, texts: Mapping[str, Message], now: datetime,
    categories: Collection[str] = (),
) -> list[OutboxRow]:
    """Write the outbox rows (one per delivery, its text from ``texts`` by recipient) and the ``routed``
    audit row of a decision applied with :func:`apply_route`; return the step's rows. A step already
    routed writes nothing and returns its existing rows. Rows an active silence covers (``categories``:
    the record kinds or types behind the warning) are written ``silenced`` instead of pending; rows an
    open source warning inhibits (``decision.policy.inhibitions``) are written ``held``. Inside
    :func:`integrations.store.outbox_insert.deferred_outbox` (a batch's routing) the rows are inserted at
    the block's end and the step's rows returned are those written here, not read back (the same rows
    unless a concurrent router wrote the step first), so a step costs no round trip of its own."""
    assert warning.id is not None
    if decision.already_routed:
        return rows_of_step(session, warning.id, decision.step)
    rows = [_outbox_row(warning, decision.step, d.recipient, d.channel, d.address,
                        texts.get(text_key(d.recipient, d.channel)) or texts[d.recipient], now)
            for d in decision.deliveries]
    deferred = outbox_deferred(session)
    if not deferred:
        session.flush()  # in a batch, the warnings' route UPDATEs go together at the next flush
    note_source(session, warning)  # a cluster opened in this transaction holds the later ones in it
    if hold_if_silenced(session, warning, rows, categories=categories, now=now) is None:
        hold_if_inhibited(session, warning, rows, inhibitions=decision.policy.inhibitions)
    insert_missing(session, rows)
    known = session.info.get(_ROUTED_STEPS)
    if known is not None and warning.id in known:
        known[warning.id].append(decision.step)
    append_audit(
        session=session, warning_id=warning.id, actor=SYSTEM, action=ROUTED, reason=decision.step, at=now,
        detail={"change": decision.change,
                "from": {"tier": decision.previous[0], "node": decision.previous[1]},
                "to": {"tier": warning.tier, "node": warning.route_region},
                "targets": [[t, c] for t, c in decision.targets],
                "recipients": [p.id for p in decision.recipients], "policy": decision.policy.snapshot()["id"],
                "ack_due_at": warning.ack_due_at.isoformat() if warning.ack_due_at else None},
    )
    return rows if deferred else rows_of_step(session, warning.id, decision.step)


def rows_of_step(session: Session, warning_id: int, step: str) -> list[OutboxRow]:
    """The outbox rows of one routing step of a warning, in insertion order."""
    flush_outbox(session)  # rows kept unwritten (a batch's routing) are read too
    query = select(OutboxRow).where(OutboxRow.warning_id == warning_id, OutboxRow.step == step)
    return list(session.exec(query.order_by(col(OutboxRow.id))))
