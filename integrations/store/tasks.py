"""Tasks in the store: created when a warning opens or rises, accepted and done by the grid, swept overdue.

Creation runs in the routing's transaction (``integrations.route.route_warning``) from the policy pinned on
the warning; the insert skips a (warning, kind, node) that exists, so a re-run or a crash replay never
doubles a task. Acting on a task is the same for the CLI, the workspace and the demo: the responder must
cover the task's node (their node's subtree; the duty leadership the whole city), as for warnings
(:mod:`integrations.store.actions`); the state machine is :mod:`domain.tasks`. Every change is an audit
row on the task's warning (so it is on the warning's timeline); a refusal is audited in a transaction of
its own and changes nothing. What an outcome does to the warning is :mod:`integrations.tasks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from domain import tasks as domain
from domain.escalation import EscalationPolicy, responsible_node
from domain.messages import N_, Message, message_of
from domain.regions import is_within, tier_of
from domain.responders import Responder, ResponderDirectory
from integrations.store.audit import append_audit
from integrations.store.models import AuditRow, RecordRow, WarningRow
from integrations.store.task_models import TaskRow

SYSTEM = "system:tasks"
_REFS = 50
"""Records of a warning read for its categories and the person to visit (the first ones suffice)."""


class TaskActionError(Exception):
    """An action on a task that is refused; the message (Chinese) says why and what to do instead."""


_BATCH = "task-records"
"""Session info key: the warnings of :func:`records_read_once` and, once read, their records by ref."""


@contextmanager
def records_read_once(session: Session, warnings: Iterable[WarningRow]) -> Iterator[None]:
    """While inside, the records behind ``warnings`` (what :func:`create_tasks` reads of each) are read for
    all of them at the first need, one query per source, instead of one per warning of a batch."""
    session.info[_BATCH] = ({id(w): w for w in warnings}, None)
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)


def _read(session: Session, refs: Iterable[str]) -> dict[str, RecordRow]:
    """The stored records of ``refs`` (``source/id``) by ref, one query per source (in chunks of 500)."""
    by_source: dict[str, list[str]] = {}
    for ref in dict.fromkeys(refs):
        source, _, source_id = ref.partition("/")
        by_source.setdefault(source, []).append(source_id)
    out: dict[str, RecordRow] = {}
    for source, ids in by_source.items():
        for i in range(0, len(ids), 500):
            query = select(RecordRow).where(RecordRow.source == source, col(RecordRow.source_id).in_(ids[i:i + 500]))
            out.update((f"{r.source}/{r.source_id}", r) for r in session.exec(query))
    return out


def _records(session: Session, warning: WarningRow) -> list[RecordRow]:
    """The stored records behind ``warning`` (its first refs ``source/id``), one query per source (or read
    already for the batch, :func:`records_read_once`)."""
    refs = warning.records[:_REFS]
    batch = session.info.get(_BATCH)
    if batch is not None and batch[0].get(id(warning)) is warning:
        if batch[1] is None:
            refs_of_all = (r for w in batch[0].values() for r in w.records[:_REFS])
            batch = session.info[_BATCH] = (batch[0], _read(session, refs_of_all))
        found = batch[1]
    else:
        found = _read(session, refs)
    out = [found[ref] for ref in dict.fromkeys(refs) if ref in found]
    order = {ref: i for i, ref in enumerate(warning.records[:_REFS])}
    return sorted(out, key=lambda r: order.get(f"{r.source}/{r.source_id}", 0))


def _first_due(records: Iterable[RecordRow]) -> RecordRow | None:
    return next((r for r in records if r.kind == "care_visit_due" and isinstance(r.attributes.get("person"), str)),
                None)


def due_record(session: Session, warning: WarningRow) -> RecordRow | None:
    """The first ``care_visit_due`` record behind ``warning`` with a person (whom a 走访 visits)."""
    return _first_due(_records(session, warning))


def warning_context(session: Session, warning: WarningRow) -> tuple[list[str], str | None]:
    """The categories behind ``warning`` (its records' kinds, types and categories) and the person of its
    first ``care_visit_due`` record (a pseudonym), for matching task rules and planning a 走访."""
    cats: dict[str, None] = {}
    records = _records(session, warning)  # read once: the categories and the person come from the same rows
    for row in records:
        cats[row.kind] = None
        for name in ("type", "category"):
            if isinstance(row.attributes.get(name), str):
                cats[row.attributes[name]] = None
    due = _first_due(records)
    return list(cats), due.attributes["person"] if due is not None else None


def create_tasks(session: Session, warning: WarningRow, policy: EscalationPolicy, now: datetime,
                 categories: Iterable[str] = ()) -> list[TaskRow]:
    """Create the tasks ``policy`` (the one pinned on the warning) declares for ``warning`` at its level,
    each audited ``task-created``; those that exist already are skipped. Returns the new ones."""
    if not policy.tasks or warning.id is None:
        return []
    found, person = warning_context(session, warning)
    planned = domain.plan_tasks(policy.tasks, rule=warning.rule, level=warning.level, region=warning.region,
                                categories=[*categories, *found], now=now, person=person,
                                responsible=responsible_node(warning.region, warning.level, policy))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    made: list[TaskRow] = []
    for plan in planned:
        values = {"warning_id": warning.id, "kind": plan.kind, "region": plan.region, "tier": plan.tier,
                  "unit": plan.unit, "status": "open", "note": "", "person": plan.person, "created_at": now,
                  "due_at": plan.due_at}
        # ON CONFLICT DO NOTHING on (warning, kind, node): a concurrent or replayed creation adds nothing.
        stmt = insert(TaskRow).values(**values).on_conflict_do_nothing(
            index_elements=["warning_id", "kind", "region"])
        # RETURNING the ORM row: no second round trip to read the new task.
        row = session.scalars(stmt.returning(TaskRow)).one_or_none()
        if row is None:
            continue
        new_id = row.id
        made.append(row)
        append_audit(session=session, warning_id=warning.id, actor=SYSTEM, action="task-created",
                     reason=Message(N_("{kind} → {region}"), kind=Message(domain.KIND_CN[plan.kind]),
                                    region=plan.region),
                     at=now,
                     detail={"task": new_id, "kind": plan.kind, "region": plan.region, "tier": plan.tier,
                             "unit": plan.unit, "due_at": plan.due_at.isoformat()})
    return made


def get_task(*, session: Session, task_id: int) -> TaskRow | None:
    """One task by id."""
    return session.get(TaskRow, task_id)


def list_tasks(*, session: Session, status: str | None = None, within: str | None = None,
               warning_id: int | None = None, limit: int = 100) -> list[TaskRow]:
    """Tasks, soonest due first; ``within`` keeps those whose node lies in a region's subtree;
    ``status`` ``pending`` means open, accepted or overdue (not done, not withdrawn)."""
    query = select(TaskRow)
    if status == "pending":
        query = query.where(col(TaskRow.status).in_(domain.UNFINISHED))
    elif status:
        query = query.where(TaskRow.status == status)
    if within:
        # Codes are prefix-structured: a subtree is a prefix match on the root's own digits.
        query = query.where(col(TaskRow.region).startswith(within[: tier_of(within).digits]))
    if warning_id is not None:
        query = query.where(TaskRow.warning_id == warning_id)
    return list(session.exec(query.order_by(col(TaskRow.due_at), col(TaskRow.id)).limit(limit)))


def state_of(row: TaskRow) -> domain.TaskState:
    """The state machine's view of a row."""
    return domain.TaskState(status=row.status, due_at=row.due_at, accepted_at=row.accepted_at,
                            accepted_by=row.accepted_by, done_at=row.done_at, done_by=row.done_by,
                            outcome=row.outcome)


def _apply(row: TaskRow, state: domain.TaskState) -> None:
    for name, value in asdict(state).items():
        setattr(row, name, value)


def _refuse(session: Session, row: TaskRow | None, task_id: int, responder: str, action: str, why: str,
            message: str, now: datetime) -> TaskActionError:
    """Audit the refused attempt in its own transaction (it must survive the caller's rollback)."""
    with Session(session.get_bind()) as own:
        own.add(AuditRow(warning_id=row.warning_id if row else None, at=now, actor=responder[:100],
                         action="task-refused", reason=message,
                         detail={"task": task_id, "attempted": action, "why": why,
                                 "region": row.region if row else None}))
        own.commit()
    return TaskActionError(Message(N_("任务 #{id}：{message}"), id=task_id, message=message))


def _authorised(session: Session, task_id: int, responder: str, directory: ResponderDirectory, action: str,
                now: datetime) -> tuple[TaskRow, Responder]:
    """The task and the responder, if the responder covers the task's node; else refuse (audited)."""
    row = session.get(TaskRow, task_id)
    if row is None:
        raise _refuse(session, None, task_id, responder, action, "unknown-task",
                      Message(N_("没有这个任务；`fenghuo tasks list` 列出任务编号。")), now)
    person = directory.responder(responder)
    if person is None:
        raise _refuse(session, row, task_id, responder, action, "unknown-responder",
                      Message(N_("责任人 {who!r} 不在责任人名录中，操作已拒绝并记录。"), who=responder), now)
    root = directory.city if directory.is_leadership(person.id) else person.node
    if not is_within(row.region, root):
        raise _refuse(session, row, task_id, responder, action, "jurisdiction",
                      Message(N_("任务所在网格/社区（{region}）不在 {name} 的管辖范围（{root}）内，操作已拒绝并记录。"),
                              region=row.region, name=person.name, root=root), now)
    return row, person


def _transition(session: Session, row: TaskRow, step: domain.TaskState) -> None:
    _apply(row, step)
    session.add(row)
    session.flush()


def accept_task(*, session: Session, task_id: int, responder: str, directory: ResponderDirectory,
                now: datetime) -> TaskRow:
    """``responder`` takes the task (audited ``task-accepted``); refused (audited) outside their
    jurisdiction, when it is done, or taken by someone else."""
    row, person = _authorised(session, task_id, responder, directory, "accept", now)
    before = state_of(row)
    try:
        after = domain.accept(before, person.id, now)
    except domain.TaskRefused as exc:
        why = message_of(exc) or str(exc)
        raise _refuse(session, row, task_id, person.id, "accept", exc.reason, why, now) from None
    if after != before:
        _transition(session, row, after)
        append_audit(session=session, warning_id=row.warning_id, actor=person.id, action="task-accepted",
                     reason=Message(N_("{kind}任务 #{id} 已接单"), kind=_kind(row), id=row.id), at=now,
                     detail={"task": row.id, "kind": row.kind, "region": row.region, "status": row.status})
    return row


def _kind(row: TaskRow) -> Message:
    """The task's kind by its Chinese name (a Message, so the audit reason is worded when shown)."""
    return Message(domain.KIND_CN.get(row.kind, row.kind))


def _done(row: TaskRow, note: str) -> Message:
    """The ``task-done`` audit reason: kind, number, outcome and the responder's note (if any)."""
    outcome = Message(domain.OUTCOME_CN.get(row.outcome or "", ""))
    if note:
        return Message(N_("{kind}任务 #{id}：{outcome}。{note}"), kind=_kind(row), id=row.id, outcome=outcome,
                       note=note)
    return Message(N_("{kind}任务 #{id}：{outcome}"), kind=_kind(row), id=row.id, outcome=outcome)


def finish_task(*, session: Session, task_id: int, responder: str, directory: ResponderDirectory,
                outcome: str, note: str, now: datetime) -> TaskRow:
    """``responder`` finishes the task with ``outcome`` and ``note`` (audited ``task-done``); refused
    (audited, nothing changed) outside their jurisdiction, when done already, or for an unknown outcome."""
    row, person = _authorised(session, task_id, responder, directory, "done", now)
    try:
        after = domain.complete(state_of(row), person.id, outcome, now)
    except domain.TaskRefused as exc:
        raise _refuse(session, row, task_id, person.id, "done", exc.reason, message_of(exc) or str(exc), now) from None
    late = row.status == "overdue" or now > row.due_at
    _transition(session, row, after)
    row.note = note
    session.add(row)
    append_audit(session=session, warning_id=row.warning_id, actor=person.id, action="task-done",
                 reason=_done(row, note.rstrip("。")),
                 at=now, detail={"task": row.id, "kind": row.kind, "outcome": row.outcome, "late": late})
    return row


def overdue_due(*, session: Session, now: datetime, limit: int = 500) -> list[TaskRow]:
    """Open or accepted tasks whose due time passed by ``now``, most overdue first."""
    query = (select(TaskRow).where(col(TaskRow.status).in_(["open", "accepted"]), col(TaskRow.due_at) < now)
             .order_by(col(TaskRow.due_at), col(TaskRow.id)).limit(limit))
    return list(session.exec(query))


def mark_overdue(*, session: Session, row: TaskRow, now: datetime) -> TaskRow:
    """Turn ``row`` overdue (audited ``task-overdue`` on its warning)."""
    after = domain.mark_overdue(state_of(row), now)
    _apply(row, after)
    session.add(row)
    append_audit(session=session, warning_id=row.warning_id, actor=SYSTEM, action="task-overdue",
                 reason=Message(N_("{kind}任务 #{id} 超期未办结"), kind=_kind(row), id=row.id), at=now,
                 detail={"task": row.id, "kind": row.kind, "region": row.region, "due_at": row.due_at.isoformat()})
    return row


def withdraw_tasks(*, session: Session, warning_id: int, now: datetime) -> list[TaskRow]:
    """The warning was resolved: its unfinished tasks are withdrawn (audited ``task-withdrawn`` each), so
    nobody is sent to look at what is closed and no grid is held to a deadline that no longer matters."""
    rows = list(session.exec(select(TaskRow).where(TaskRow.warning_id == warning_id,
                                                   col(TaskRow.status).in_(domain.UNFINISHED))))
    for row in rows:
        previous = row.status
        _apply(row, domain.withdraw(state_of(row)))
        session.add(row)
        append_audit(session=session, warning_id=warning_id, actor=SYSTEM, action="task-withdrawn",
                     reason=Message(N_("{kind}任务 #{id} 已撤销：预警已办结"), kind=_kind(row), id=row.id), at=now,
                     detail={"task": row.id, "kind": row.kind, "from": previous})
    return rows
