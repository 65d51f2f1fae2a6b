"""What a task's outcome does to its warning, the care visit a done 走访 records, and the overdue sweep.

The store keeps tasks and checks who may act (:mod:`integrations.store.tasks`); here the outcome acts on
the warning through the same audited actions the workspace uses (:mod:`integrations.store.actions`) and
the same routing as the SLA watch (:func:`integrations.route.route_warning`), all in the caller's
transaction:

- 属实 (confirmed): a comment on the warning's timeline; the holder carries on.
- 不属实 (unfounded) and 已化解 (defused): a comment proposing to resolve, and a message to the holder's
  responders on duty. Nothing is resolved automatically: humans decide.
- 需上报 (escalate): a comment, and the warning is escalated one tier up (routing change ``escalated``,
  as for a missed acknowledgement). A warning's level is the evaluator's to set (its next firing would set
  it back), so the field raises the tier that holds it, not the level.

A done 走访 of a registered person stores a ``care_visit`` record through the ingest's mapping (validated,
pseudonymised), source ``grid-tasks``, id ``task-<id>``: a replay upserts the same record, nothing more.
An open or accepted task past its due time turns overdue and its warning escalates as an unacknowledged
one does (:func:`domain.escalation.due_escalations`: a tier up, or a reminder once the policy's steps are
spent), at most once per warning per sweep.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from domain.escalation import EscalationPolicy, due_escalations
from domain.kinds import RecordKinds
from domain.messages import N_, Message
from domain.privacy import mask
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory, recipients_for
from domain.tasks import KIND_CN, OUTCOME_CN, OutcomeEffect, outcome_effect
from integrations.i18n import _, translate
from integrations.ingest.fastmap import CompiledMapping
from integrations.notify.templates import MessageTemplates
from integrations.records_io import record_shape
from integrations.route import LinkMaker, route_warning
from integrations.settings import Settings
from integrations.sources.mapping import SourceConfig
from integrations.store import actions
from integrations.store.audit import append_audit
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_insert import insert_missing
from integrations.store.outbox_status import PENDING
from integrations.store.records import quarantine, upsert_prepared
from integrations.store.routing import pinned_policy
from integrations.store.task_models import TaskRow
from integrations.store.tasks import accept_task, due_record, finish_task, mark_overdue, overdue_due

VISIT_SOURCE = "grid-tasks"
"""Source of the ``care_visit`` records that done 走访 tasks produce."""
PROPOSE_STEP = "task-propose"
"""Outbox step of the message proposing to resolve a warning after a task found it unfounded or defused."""


@dataclass(frozen=True)
class TaskContext:
    """What acting on tasks needs besides the store: the policy (fallback), directories, templates, and
    the kinds and pseudonym key for the care-visit records."""

    policy: EscalationPolicy
    directory: ResponderDirectory
    regions: RegionDirectory
    kinds: RecordKinds | None = None
    key: str | bytes = b""
    templates: MessageTemplates | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TaskContext:
        """The files the settings name: escalation policy, responders, regions, kinds, templates, key."""
        return cls.for_workspace(settings, ResponderDirectory.load(settings.responders),
                                 RegionDirectory.load(settings.regions))

    @classmethod
    def for_workspace(cls, settings: Settings, directory: ResponderDirectory, regions: RegionDirectory) -> TaskContext:
        """The context with the directories a caller already holds (the web workspace's)."""
        from integrations.ingest.run import load_kinds
        from integrations.notify.templates import templates_for
        from integrations.policy import load_policy

        return cls(policy=load_policy(settings), directory=directory, regions=regions,
                   kinds=load_kinds(settings.rulebook), key=settings.pseudonym_key.get_secret_value(),
                   templates=templates_for(settings))


@dataclass(frozen=True)
class DoneReport:
    """What finishing a task did: the task, the effect on its warning, messages written, a visit stored."""

    task: TaskRow
    effect: OutcomeEffect
    notifications: int = 0
    visit_recorded: bool = False


def accept(*, session: Session, task_id: int, responder: str, ctx: TaskContext, now: datetime) -> TaskRow:
    """``responder`` takes the task (see :func:`integrations.store.tasks.accept_task`)."""
    return accept_task(session=session, task_id=task_id, responder=responder, directory=ctx.directory, now=now)


def done(*, session: Session, task_id: int, responder: str, outcome: str, note: str, ctx: TaskContext,
         now: datetime) -> DoneReport:
    """Finish the task and act on its warning as the outcome says (see the module); refusals raise
    :class:`integrations.store.tasks.TaskActionError` (audited, nothing changed)."""
    row = finish_task(session=session, task_id=task_id, responder=responder, directory=ctx.directory,
                      outcome=outcome, note=note.strip()[:2000], now=now)
    effect = outcome_effect(row.kind, row.outcome or "")
    warning = session.get(WarningRow, row.warning_id)
    assert warning is not None and row.id is not None
    # Kept in the audit as a Message (Chinese, worded where it is shown); told to people in the deployment's
    # language (translated as the proposal is written).
    comment = (Message(N_("任务 #{id} {effect} 说明：{note}"), id=row.id, effect=effect.text, note=row.note)
               if row.note else Message(N_("任务 #{id} {effect}"), id=row.id, effect=effect.text))
    actions.comment(session=session, warning_id=warning.id or 0, responder=responder, directory=ctx.directory,
                    reason=comment, now=now)
    text = translate(comment)
    sent = 0
    if warning.status != "resolved" and effect.action == "propose-resolve":
        sent = _propose(session, row, warning, text, ctx, now)
    elif warning.status != "resolved" and effect.action == "escalate":
        sent = len(route_warning(session=session, warning=warning, change="escalated", policy=ctx.policy,
                                 directory=ctx.directory, regions=ctx.regions, now=now, templates=ctx.templates))
    visit = row.kind == "visit" and row.person is not None and record_visit(session, row, warning, ctx, now)
    return DoneReport(row, effect, sent, visit)


def _propose(session: Session, row: TaskRow, warning: WarningRow, text: str, ctx: TaskContext,
             now: datetime) -> int:
    """Tell the warning's holder (its node's responders on duty) that a task proposes resolving it."""
    assert row.id is not None and warning.id is not None
    tier = warning.tier or "city"
    people = recipients_for(warning.route_region or warning.region, tier, ctx.directory, now)
    found = _(OUTCOME_CN.get(row.outcome or "", ""))
    subject = _("【建议办结】预警 #{id}：{kind}结果 {outcome}").format(
        id=warning.id, kind=_(KIND_CN.get(row.kind, row.kind)), outcome=found)
    body = mask(text) + "\n" + _("预警：{title}（#{id}）。请核查后在工作台或用 `fenghuo warnings resolve {id}` 办结；"
                                  "系统不会自动办结。").format(title=mask(warning.title or warning.rule), id=warning.id)
    rows = [OutboxRow(idempotency_key=f"task:{row.id}:propose:{p.id}:{c.type}", warning_id=warning.id,
                      step=PROPOSE_STEP, recipient=p.id, channel=c.type, address=c.address, level="",
                      subject=subject, body=body, payload={"task": row.id, "step": PROPOSE_STEP},
                      status=PENDING, next_attempt_at=now, created_at=now)
            for p in people for c in p.channels]
    insert_missing(session, rows)
    append_audit(session=session, warning_id=warning.id, actor="system:tasks", action="task-proposal",
                 reason=Message(N_("建议办结（任务 #{id}：{outcome}）"), id=row.id,
                                outcome=Message(OUTCOME_CN.get(row.outcome or "", ""))), at=now,
                 detail={"task": row.id, "outcome": row.outcome, "recipients": [p.id for p in people]})
    return len(rows)


def visit_source(kinds: RecordKinds) -> SourceConfig:
    """The ``grid-tasks`` source of care-visit records, in the record shape (``records import``'s)."""
    config = SourceConfig(name=VISIT_SOURCE, kind="care_visit", path="", fields={}, personal_raw=("person",))
    return record_shape(config, kinds)


def record_visit(session: Session, row: TaskRow, warning: WarningRow, ctx: TaskContext, now: datetime) -> bool:
    """Store the ``care_visit`` of a done 走访 (id ``task-<id>``, at its done time) through the ingest's
    mapping, in the caller's transaction; a refused item is quarantined. True if a record was stored."""
    if ctx.kinds is None or row.person is None or row.done_at is None:
        return False
    due = due_record(session, warning)
    item = {"id": f"task-{row.id}", "at": row.done_at.isoformat(),
            "region": due.region if due is not None else warning.region, "person": row.person,
            "program": str(due.attributes.get("program", "")) if due is not None else "",
            "outcome": OUTCOME_CN.get(row.outcome or "", "")}
    mapping = CompiledMapping(visit_source(ctx.kinds), ctx.kinds, ctx.key,
                              utc_text=session.get_bind().dialect.name == "sqlite")
    records, refused = mapping.map_page([item], now)
    upsert_prepared(session=session, records=records)
    for rej in refused:
        quarantine(session=session, source=VISIT_SOURCE, page="task", raw=rej.raw, reason=rej.reason,
                   source_id=rej.source_id)
    return bool(records)


@dataclass(frozen=True)
class OverdueAction:
    """One overdue task, and what the sweep did to its warning (``escalated``, ``reminder`` or nothing)."""

    task_id: int
    warning_id: int
    change: str
    notifications: int
    tier: str = ""
    """The warning's tier and node after the sweep."""
    node: str = ""


def overdue_sweep(*, session: Session, policy: EscalationPolicy, directory: ResponderDirectory,
                  regions: RegionDirectory, now: datetime, skip: Collection[int] = (), limit: int = 500,
                  templates: MessageTemplates | None = None, links: LinkMaker | None = None) -> list[OverdueAction]:
    """Turn the tasks past due overdue (audited) and escalate each one's warning like an unacknowledged
    one, once per warning per sweep; ``skip``: warnings the SLA watch already acted on at this ``now``.
    ``links`` gives each recipient their one-click links, as every other escalation message has them.
    In the caller's transaction; a task is swept once (it is overdue afterwards)."""
    acted = set(skip)
    out: list[OverdueAction] = []
    for task in overdue_due(session=session, now=now, limit=limit):
        mark_overdue(session=session, row=task, now=now)
        assert task.id is not None
        warning = session.get(WarningRow, task.warning_id)
        if warning is None or warning.status == "resolved" or not warning.tier or task.warning_id in acted:
            out.append(OverdueAction(task.id, task.warning_id, "", 0))
            continue
        acted.add(task.warning_id)
        view = replace(actions.sla_view(warning, policy), status="open", ack_due_at=now)
        due = due_escalations(now, [view])
        change = "escalated" if due and due[0].action == "escalate" else "reminder"
        sent = route_warning(session=session, warning=warning, change=change, policy=pinned_policy(warning, policy),
                             directory=directory, regions=regions, now=now, templates=templates,
                             links=links)
        out.append(OverdueAction(task.id, task.warning_id, change, len(sent), warning.tier, warning.route_region))
    return out
