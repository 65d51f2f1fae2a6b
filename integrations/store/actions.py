"""What responders do with a warning (acknowledge, resolve, comment) and the SLA watch.

A responder acts only inside their own jurisdiction: the warning's region must lie in the subtree of the
responder's node (the duty leadership's node is the whole city). A refused attempt raises
:class:`JurisdictionError` and is audited in a transaction of its own, so the refusal is on record even
though the caller's transaction rolls back. Every change is audited with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from domain.escalation import LEADERSHIP, EscalationPolicy, SlaView, Step, due_escalations
from domain.regions import RegionDirectory, Tier, is_within
from domain.responders import Responder, ResponderDirectory
from domain.warnings import Status
from integrations.store.audit import append_audit
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.routing import pinned_policy, route_warning

RESOLVE_OVERDUE = "resolve-overdue"
"""Audit action recorded once when a warning passes its resolve-within deadline unresolved."""
SLA_ACTOR = "system:sla"


class ActionError(Exception):
    """The action does not apply: unknown warning, a state that does not allow it, or (subclass) a
    responder acting outside their jurisdiction."""


class JurisdictionError(ActionError):
    """The responder is unknown or the warning's region lies outside their jurisdiction."""


def _directory(directory: ResponderDirectory | None) -> ResponderDirectory:
    """The given directory, or the configured one (``settings.responders``)."""
    if directory is not None:
        return directory
    from integrations.settings import get_settings

    return ResponderDirectory.load(get_settings().responders)


def _refuse(session: Session, warning: WarningRow, responder: str, action: str, reason: str, why: str,
            now: datetime) -> JurisdictionError:
    """Record the refused attempt in its own transaction (it must survive the caller's rollback)."""
    with Session(session.get_bind()) as own:
        own.add(AuditRow(warning_id=warning.id, at=now, actor=responder[:100], action="refused",
                         reason=reason, detail={"attempted": action, "why": why, "region": warning.region}))
        own.commit()
    return JurisdictionError(f"{responder} may not {action} warning {warning.id}: {why}")


def _authorised(
    session: Session, warning_id: int, responder: str, given: ResponderDirectory | None, action: str,
    reason: str, now: datetime,
) -> tuple[WarningRow, Responder]:
    """The warning and the responder, if the responder may act on it; else refuse (audited)."""
    directory = _directory(given)
    warning = session.get(WarningRow, warning_id)
    if warning is None:
        raise ActionError(f"no warning {warning_id}")
    person = directory.responder(responder)
    if person is None:
        raise _refuse(session, warning, responder, action, reason, "unknown responder", now)
    root = directory.city if directory.is_leadership(person.id) else person.node
    if not is_within(warning.region, root):
        why = f"region {warning.region} is outside jurisdiction {root}"
        raise _refuse(session, warning, responder, action, reason, why, now)
    return warning, person


def acknowledge(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory | None = None,
    reason: str = "", now: datetime,
) -> WarningRow:
    """Mark the warning acknowledged by ``responder`` (stops escalation and reminders).

    Acknowledging an acknowledged warning changes nothing; a resolved one raises :class:`ActionError`.
    """
    warning, person = _authorised(session, warning_id, responder, directory, "acknowledge", reason, now)
    if warning.status == Status.resolved.value:
        raise ActionError(f"warning {warning_id} is already resolved")
    if warning.status == Status.acknowledged.value:
        return warning
    warning.status, warning.acknowledged_at = Status.acknowledged.value, now
    session.add(warning)
    append_audit(session=session, warning_id=warning.id, actor=person.id, action="acknowledged",
                 reason=reason, at=now, detail={"node": person.node, "tier": warning.tier,
                                                "escalation_step": warning.escalation_step})
    return warning


def resolve(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory | None = None,
    reason: str, now: datetime,
) -> WarningRow:
    """Resolve the warning (the next firing of its fingerprint opens a new one). A reason is required."""
    if not reason.strip():
        raise ActionError("resolving a warning needs a reason")
    warning, person = _authorised(session, warning_id, responder, directory, "resolve", reason, now)
    if warning.status == Status.resolved.value:
        raise ActionError(f"warning {warning_id} is already resolved")
    previous = warning.status
    warning.status, warning.resolved_at, warning.open_key = Status.resolved.value, now, None
    warning.acknowledged_at = warning.acknowledged_at or now
    session.add(warning)
    late = warning.resolve_due_at is not None and now > warning.resolve_due_at
    append_audit(session=session, warning_id=warning.id, actor=person.id, action="resolved", reason=reason,
                 at=now, detail={"from": previous, "node": person.node, "late": late})
    return warning


def comment(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory | None = None,
    reason: str, now: datetime,
) -> AuditRow:
    """Add a responder's note (``reason`` is the comment text) to the warning's record (any status)."""
    if not reason.strip():
        raise ActionError("an empty comment says nothing")
    warning, person = _authorised(session, warning_id, responder, directory, "comment", reason, now)
    return append_audit(session=session, warning_id=warning.id, actor=person.id, action="comment",
                        reason=reason, at=now, detail={"node": person.node})


@dataclass(frozen=True)
class SlaAction:
    """One thing the SLA sweep did to a warning."""

    warning_id: int
    action: Literal["escalate", "remind", "overdue"]
    step: str
    to_tier: Step
    to_code: str
    notifications: int


def sla_sweep(
    *, session: Session, policy: EscalationPolicy, directory: ResponderDirectory, regions: RegionDirectory,
    now: datetime, limit: int = 500,
) -> list[SlaAction]:
    """Escalate (or remind about) open warnings whose acknowledgement deadline passed by ``now``.

    Uses the policy pinned on each warning (``policy`` only for warnings without one). One action per
    warning per sweep; each writes outbox rows and an audit row through :func:`route_warning`, in the
    caller's transaction. Running the sweep again at the same ``now`` does nothing more: every action
    moves the warning's ``ack_due_at`` forward. Resolve-within breaches are reported too, once per
    warning (:func:`resolve_overdue_sweep`), after the acknowledgement actions.
    """
    query = (
        select(WarningRow)
        .where(WarningRow.status == Status.open.value, col(WarningRow.ack_due_at) <= now,
               col(WarningRow.tier) != "")
        .order_by(col(WarningRow.ack_due_at), col(WarningRow.id))
        .limit(limit)
    )
    rows = {row.id: row for row in session.exec(query) if row.id is not None}
    views = [
        SlaView(id=wid, status=row.status, level=row.level, tier=row.tier, route_region=row.route_region,
                escalation_step=row.escalation_step, ack_due_at=row.ack_due_at,
                policy=pinned_policy(row, policy))
        for wid, row in rows.items()
    ]
    done: list[SlaAction] = []
    for due in due_escalations(now, views):
        row = rows[due.warning_id]
        change = "escalated" if due.action == "escalate" else "reminder"
        out: list[OutboxRow] = route_warning(session=session, warning=row, change=change, policy=policy,
                                             directory=directory, regions=regions, now=now)
        step = out[0].step if out else ""
        done.append(SlaAction(due.warning_id, due.action, step, due.to_step, due.to_code, len(out)))
    done.extend(resolve_overdue_sweep(session=session, policy=policy, directory=directory, regions=regions,
                                      now=now, limit=limit))
    return done


def resolve_overdue_sweep(
    *, session: Session, policy: EscalationPolicy, directory: ResponderDirectory, regions: RegionDirectory,
    now: datetime, limit: int = 500,
) -> list[SlaAction]:
    """Report unresolved warnings whose ``resolve_due_at`` passed by ``now``: once per warning, an audit
    row ``resolve-overdue`` and a notification of step ``overdue`` to the node responsible now.

    Acknowledged warnings count too: acknowledging is not resolving. In the caller's transaction; a
    warning already reported (its ``resolve-overdue`` audit row exists) is never reported again.
    """
    reported = select(AuditRow.warning_id).where(AuditRow.action == RESOLVE_OVERDUE,
                                                 col(AuditRow.warning_id).is_not(None))
    query = (
        select(WarningRow)
        .where(WarningRow.status != Status.resolved.value, col(WarningRow.resolve_due_at) <= now,
               col(WarningRow.tier) != "", col(WarningRow.id).not_in(reported))
        .order_by(col(WarningRow.resolve_due_at), col(WarningRow.id))
        .limit(limit)
    )
    done: list[SlaAction] = []
    for row in list(session.exec(query)):
        assert row.id is not None and row.resolve_due_at is not None
        out = route_warning(session=session, warning=row, change="overdue", policy=policy,
                            directory=directory, regions=regions, now=now)
        late = now - row.resolve_due_at
        append_audit(session=session, warning_id=row.id, actor=SLA_ACTOR, action=RESOLVE_OVERDUE,
                     reason=f"not resolved by {row.resolve_due_at.isoformat()}", at=now,
                     detail={"resolve_due_at": row.resolve_due_at.isoformat(), "overdue_s": int(late.total_seconds()),
                             "status": row.status, "tier": row.tier, "node": row.route_region,
                             "notifications": len(out)})
        to: Step = LEADERSHIP if row.tier == LEADERSHIP else Tier(row.tier)
        done.append(SlaAction(row.id, "overdue", "overdue", to, row.route_region, len(out)))
    return done
