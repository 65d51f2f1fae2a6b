"""What responders do with a warning (acknowledge, resolve, comment), and what the SLA watch reads and
records (the sweeps themselves, which route, are ``integrations.sla``).

A responder acts only inside their own jurisdiction: the warning's region must lie in the subtree of the
responder's node (the duty leadership's node is the whole city). A refused attempt raises
:class:`JurisdictionError` and is audited in a transaction of its own, so the refusal is on record even
though the caller's transaction rolls back. Every change is audited with who, when and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy, SlaView
from domain.messages import N_, Message
from domain.regions import is_within
from domain.responders import Responder, ResponderDirectory
from domain.warnings import Status
from integrations.store.audit import append_audit
from integrations.store.models import AuditRow, WarningRow
from integrations.store.resolution import close_warning
from integrations.store.routing import pinned_policy

RESOLVE_OVERDUE = "resolve-overdue"
"""Audit action recorded once when a warning passes its resolve-within deadline unresolved."""
SLA_ACTOR = "system:sla"
_RESOLVED = N_("预警 {id} 已办结")
_ACTION_NAME = {"acknowledge": N_("执行签收"), "resolve": N_("执行办结"), "comment": N_("执行批注")}


class ActionError(Exception):
    """The action does not apply: unknown warning, a state that does not allow it, or (subclass) a
    responder acting outside their jurisdiction."""


class JurisdictionError(ActionError):
    """The responder is unknown or the warning's region lies outside their jurisdiction."""


def actor_of(responder: str, operator: str | None) -> str:
    """How the audit names who acted: the responder, or ``operator <OS user> as <responder>`` when an
    operator acted for them from the command line."""
    return (responder if operator is None else f"operator {operator} as {responder}")[:100]


def _refuse(session: Session, warning: WarningRow, responder: str, action: str, reason: str, why: str,
            now: datetime, operator: str | None = None) -> JurisdictionError:
    """Record the refused attempt in its own transaction (it must survive the caller's rollback)."""
    with Session(session.get_bind()) as own:
        own.add(AuditRow(warning_id=warning.id, at=now, actor=actor_of(responder, operator), action="refused",
                         reason=reason, detail={"attempted": action, "why": why, "region": warning.region}))
        own.commit()
    return JurisdictionError(Message(N_("{responder} 无权对预警 {id}{action}：{why}"), responder=responder,
                                     id=warning.id, action=Message(_ACTION_NAME.get(action, action)), why=why))


def _authorised(
    session: Session, warning_id: int, responder: str, directory: ResponderDirectory, action: str,
    reason: str, now: datetime, operator: str | None = None,
) -> tuple[WarningRow, Responder]:
    """The warning and the responder, if the responder may act on it; else refuse (audited)."""
    warning = session.get(WarningRow, warning_id)
    if warning is None:
        raise ActionError(Message(N_("没有编号为 {id} 的预警；`fenghuo warnings list` 可列出编号"), id=warning_id))
    person = directory.responder(responder)
    if person is None:
        raise _refuse(session, warning, responder, action, reason, Message(N_("未知的处置人员")), now, operator)
    root = directory.city if directory.is_leadership(person.id) else person.node
    if not is_within(warning.region, root):
        why = Message(N_("地区 {region} 不在辖区 {root} 之内"), region=warning.region, root=root)
        raise _refuse(session, warning, responder, action, reason, why, now, operator)
    return warning, person


def acknowledge(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory,
    reason: str = "", now: datetime, operator: str | None = None,
) -> WarningRow:
    """Mark the warning acknowledged by ``responder`` (stops escalation and reminders).

    Acknowledging an acknowledged warning changes nothing; a resolved one raises :class:`ActionError`.
    ``operator``: the OS user acting for the responder from the command line (named in the audit).
    """
    warning, person = _authorised(session, warning_id, responder, directory, "acknowledge", reason, now, operator)
    if warning.status == Status.resolved.value:
        raise ActionError(Message(_RESOLVED, id=warning_id))
    if warning.status == Status.acknowledged.value:
        return warning
    warning.status, warning.acknowledged_at = Status.acknowledged.value, now
    session.add(warning)
    append_audit(session=session, warning_id=warning.id, actor=actor_of(person.id, operator), action="acknowledged",
                 reason=reason, at=now, detail={"node": person.node, "tier": warning.tier,
                                                "escalation_step": warning.escalation_step})
    return warning


def resolve(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory,
    reason: str, now: datetime, operator: str | None = None,
) -> WarningRow:
    """Resolve the warning as ``responder`` (the next firing of its fingerprint opens a new one) through
    :func:`integrations.store.resolution.close_warning`. A reason is required; a resolved warning raises
    :class:`ActionError`. Telling those notified is ``integrations.resolution.resolve_as``."""
    if not reason.strip():
        raise ActionError(Message(N_("办结预警须写明原因")))
    warning, person = _authorised(session, warning_id, responder, directory, "resolve", reason, now, operator)
    if warning.status == Status.resolved.value:
        raise ActionError(Message(_RESOLVED, id=warning_id))
    late = warning.resolve_due_at is not None and now > warning.resolve_due_at
    close_warning(session, warning, actor=actor_of(person.id, operator), reason=reason, now=now, acknowledge=True,
                  detail={"node": person.node, "late": late})
    return warning


def comment(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory,
    reason: str, now: datetime, operator: str | None = None,
) -> AuditRow:
    """Add a responder's note (``reason`` is the comment text) to the warning's record (any status)."""
    if not reason.strip():
        raise ActionError(Message(N_("批注不能为空")))
    warning, person = _authorised(session, warning_id, responder, directory, "comment", reason, now, operator)
    return append_audit(session=session, warning_id=warning.id, actor=actor_of(person.id, operator), action="comment",
                        reason=reason, at=now, detail={"node": person.node})


def sla_due(*, session: Session, now: datetime, limit: int = 500) -> list[WarningRow]:
    """Open warnings with a route whose acknowledgement deadline passed by ``now``, most overdue first."""
    query = (
        select(WarningRow)
        .where(WarningRow.status == Status.open.value, col(WarningRow.ack_due_at) <= now,
               col(WarningRow.tier) != "")
        .order_by(col(WarningRow.ack_due_at), col(WarningRow.id))
        .limit(limit)
    )
    return list(session.exec(query))


def sla_view(row: WarningRow, fallback: EscalationPolicy) -> SlaView:
    """What the SLA watch (``domain.escalation.due_escalations``) needs of a warning, with its pinned policy."""
    assert row.id is not None
    return SlaView(id=row.id, status=row.status, level=row.level, tier=row.tier, route_region=row.route_region,
                   escalation_step=row.escalation_step, ack_due_at=row.ack_due_at,
                   policy=pinned_policy(row, fallback))


def resolve_overdue_due(*, session: Session, now: datetime, limit: int = 500) -> list[WarningRow]:
    """Unresolved warnings with a route whose ``resolve_due_at`` passed by ``now`` and that were never
    reported overdue (no ``resolve-overdue`` audit row); acknowledged ones count: acknowledging is not
    resolving."""
    reported = select(AuditRow.warning_id).where(AuditRow.action == RESOLVE_OVERDUE,
                                                 col(AuditRow.warning_id).is_not(None))
    query = (
        select(WarningRow)
        .where(WarningRow.status != Status.resolved.value, col(WarningRow.resolve_due_at) <= now,
               col(WarningRow.tier) != "", col(WarningRow.id).not_in(reported))
        .order_by(col(WarningRow.resolve_due_at), col(WarningRow.id))
        .limit(limit)
    )
    return list(session.exec(query))


def record_resolve_overdue(*, session: Session, row: WarningRow, now: datetime, notifications: int) -> None:
    """Audit, once, that ``row`` passed its resolve-within deadline unresolved (``resolve-overdue``)."""
    assert row.id is not None and row.resolve_due_at is not None
    late = now - row.resolve_due_at
    append_audit(session=session, warning_id=row.id, actor=SLA_ACTOR, action=RESOLVE_OVERDUE,
                 reason=f"not resolved by {row.resolve_due_at.isoformat()}", at=now,
                 detail={"resolve_due_at": row.resolve_due_at.isoformat(), "overdue_s": int(late.total_seconds()),
                         "status": row.status, "tier": row.tier, "node": row.route_region,
                         "notifications": notifications})
