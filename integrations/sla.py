"""The SLA watch: escalate (or remind about) warnings nobody acknowledged in time, and report those not
resolved in time — each routed like any other change (``integrations.route``), in the caller's transaction.

What is due is decided in the domain (``domain.escalation.due_escalations``); the store reads the
candidates and records the overdue reports (``integrations.store.actions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from domain.escalation import LEADERSHIP, EscalationPolicy, Step, due_escalations
from domain.regions import RegionDirectory, Tier
from domain.responders import ResponderDirectory
from integrations.notify.templates import MessageTemplates
from integrations.route import LinkMaker, route_warning
from integrations.store.actions import record_resolve_overdue, resolve_overdue_due, sla_due, sla_view
from integrations.tasks import overdue_sweep


@dataclass(frozen=True)
class SlaAction:
    """One thing the SLA sweep did to a warning."""

    warning_id: int
    action: Literal["escalate", "remind", "overdue", "task-overdue"]
    step: str
    to_tier: Step
    to_code: str
    notifications: int


def sla_sweep(
    *, session: Session, policy: EscalationPolicy, directory: ResponderDirectory, regions: RegionDirectory,
    now: datetime, limit: int = 500, templates: MessageTemplates | None = None, links: LinkMaker | None = None,
) -> list[SlaAction]:
    """Escalate (or remind about) open warnings whose acknowledgement deadline passed by ``now``.

    Uses the policy pinned on each warning (``policy`` only for warnings without one). One action per
    warning per sweep; each writes outbox rows and an audit row, in the caller's transaction. Running the
    sweep again at the same ``now`` does nothing more: every action moves the warning's ``ack_due_at``
    forward. Resolve-within breaches are reported too, once per warning (:func:`resolve_overdue_sweep`),
    after the acknowledgement actions. ``links`` gives each recipient their one-click links, as the first
    notification had them.
    """
    rows = {row.id: row for row in sla_due(session=session, now=now, limit=limit) if row.id is not None}
    done: list[SlaAction] = []
    for due in due_escalations(now, [sla_view(row, policy) for row in rows.values()]):
        change = "escalated" if due.action == "escalate" else "reminder"
        out = route_warning(session=session, warning=rows[due.warning_id], change=change, policy=policy,
                            directory=directory, regions=regions, now=now, templates=templates, links=links)
        step = out[0].step if out else ""
        done.append(SlaAction(due.warning_id, due.action, step, due.to_step, due.to_code, len(out)))
    done.extend(resolve_overdue_sweep(session=session, policy=policy, directory=directory, regions=regions,
                                      now=now, limit=limit, templates=templates, links=links))
    # Tasks past due turn overdue; each one's warning escalates as if nobody had acknowledged it (once per
    # warning, and not again for a warning escalated above in this same sweep).
    for t in overdue_sweep(session=session, policy=policy, directory=directory, regions=regions, now=now,
                           skip={a.warning_id for a in done if a.action != "overdue"}, limit=limit,
                           templates=templates, links=links):
        if t.change:
            to: Step = LEADERSHIP if t.tier == LEADERSHIP else Tier(t.tier)
            done.append(SlaAction(t.warning_id, "task-overdue", t.change, to, t.node, t.notifications))
    return done


def resolve_overdue_sweep(
    *, session: Session, policy: EscalationPolicy, directory: ResponderDirectory, regions: RegionDirectory,
    now: datetime, limit: int = 500, templates: MessageTemplates | None = None, links: LinkMaker | None = None,
) -> list[SlaAction]:
    """Report unresolved warnings whose ``resolve_due_at`` passed by ``now``: once per warning, an audit
    row ``resolve-overdue`` and a notification of step ``overdue`` to the node responsible now.

    Acknowledged warnings count too: acknowledging is not resolving. In the caller's transaction; a
    warning already reported is never reported again.
    """
    done: list[SlaAction] = []
    for row in resolve_overdue_due(session=session, now=now, limit=limit):
        assert row.id is not None
        out = route_warning(session=session, warning=row, change="overdue", policy=policy,
                            directory=directory, regions=regions, now=now, templates=templates, links=links)
        record_resolve_overdue(session=session, row=row, now=now, notifications=len(out))
        to: Step = LEADERSHIP if row.tier == LEADERSHIP else Tier(row.tier)
        done.append(SlaAction(row.id, "overdue", "overdue", to, row.route_region, len(out)))
    return done
