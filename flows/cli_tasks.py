"""``fenghuo tasks list|show|accept|done``: the grid's tasks (核实/走访/调处) that warnings create.

A grid worker (or anyone whose jurisdiction covers the task's node) accepts a task and finishes it with an
outcome — 属实 / 不属实 / 已化解 / 需上报 (confirmed / unfounded / defused / escalate) — and a note; the
outcome acts on the warning (``integrations.tasks``). These commands read and write the store directly;
they never start Prefect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.beijing import BEIJING
from domain.tasks import STATUSES
from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain, translate
from integrations.labels import label

if TYPE_CHECKING:
    from integrations.store.task_models import TaskRow

app = typer.Typer(help=_("网格任务：核实、走访、调处（由预警生成）。"), no_args_is_help=True)

FILTERS = (*STATUSES, "pending")
"""What `tasks list --status` takes: a task status, or pending (every unfinished one)."""


def _bj(at: datetime | None) -> str:
    return _("{time}（北京时间）").format(time=f"{at.astimezone(BEIJING):%Y-%m-%d %H:%M}") if at else "—"


def task_dict(row: TaskRow) -> dict[str, Any]:
    """A task as ``--json`` prints it (the note masked: it is free text)."""
    from domain.privacy import mask

    return {"id": row.id, "warning_id": row.warning_id, "kind": row.kind, "region": row.region, "tier": row.tier,
            "unit": row.unit, "status": row.status, "outcome": row.outcome, "note": mask(row.note),
            "person": row.person, "created_at": row.created_at, "due_at": row.due_at,
            "accepted_at": row.accepted_at, "accepted_by": row.accepted_by, "done_at": row.done_at,
            "done_by": row.done_by}


@app.command("list", help=_("列出任务，期限最近的在前。"))
def list_cmd(
    status: Annotated[str | None, typer.Option(
        help=_("任务状态：open、accepted、done、overdue，或 pending（未办结）"))] = None,
    region: Annotated[str | None, typer.Option(help=_("只列出该区域及其下级的任务（区域编码）"))] = None,
    limit: Annotated[int, typer.Option(help=_("最多列出条数"))] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON lines（供脚本使用）"))] = False,
) -> None:
    """Tasks, soonest due first."""
    from rich import box
    from rich.table import Table
    from sqlmodel import Session

    from domain.regions import RegionCodeError, RegionDirectory, validate_code
    from integrations.settings import get_settings
    from integrations.store.tasks import list_tasks

    if status and status not in FILTERS:
        fail(_("未知的状态 {status!r}：请用 {known}").format(status=status, known=_("、").join(FILTERS)))
    if region:
        try:
            validate_code(region)
        except RegionCodeError as exc:
            fail(explain(exc))
    with Session(open_engine()) as session:
        rows = list_tasks(session=session, status=status, within=region, limit=max(1, limit))
    if as_json:
        for r in rows:
            print_json(task_dict(r))
        return
    if not rows:
        console.print(_("没有符合条件的任务（任务由预警生成，可先运行 `fenghuo demo`）。"), highlight=False)
        return
    names = RegionDirectory.load(get_settings().regions)
    table = Table(title=_("{n} 项任务").format(n=len(rows)), box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (_("编号"), _("类型"), _("状态"), _("预警")):
        table.add_column(col, no_wrap=True, min_width=4)
    table.add_column(_("地点"), max_width=16, overflow="ellipsis", no_wrap=True)
    for col in (_("期限（北京时间）"), _("结果")):
        table.add_column(col, no_wrap=True)
    for r in rows:
        late = r.status in ("open", "accepted") and r.due_at < datetime.now(UTC)
        table.add_row(str(r.id), label("task_kind", r.kind),
                      label("task_status", r.status) + (" " + _("超期") if late else ""), f"#{r.warning_id}",
                      names.name(r.region) + (f" {r.unit}" if r.unit else ""),
                      r.due_at.astimezone(BEIJING).strftime("%m-%d %H:%M"),
                      label("task_outcome", r.outcome) if r.outcome else "")
    console.print(table)


@app.command("show", help=_("查看一项任务：所属预警、网格、期限、接单与办结情况、结果与说明。"))
def show_cmd(
    task_id: Annotated[int, typer.Argument(help=_("任务编号"))],
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON（供脚本使用）"))] = False,
) -> None:
    """One task: its warning, node, due time, who accepted and finished it, the outcome and note."""
    from sqlmodel import Session

    from domain.privacy import mask
    from domain.regions import RegionDirectory
    from integrations.settings import get_settings
    from integrations.store.tasks import get_task
    from integrations.store.warnings import get_warning

    with Session(open_engine()) as session:
        row = get_task(session=session, task_id=task_id)
        if row is None:
            fail(_("没有任务 {id}；`fenghuo tasks list` 列出任务编号").format(id=task_id))
        warning = get_warning(session=session, warning_id=row.warning_id)
    if as_json:
        print_json(task_dict(row) | {"warning": {"id": row.warning_id, "rule": warning.rule if warning else None,
                                                 "level": warning.level if warning else None,
                                                 "status": warning.status if warning else None}})
        return
    names = RegionDirectory.load(get_settings().regions)
    console.print("[bold]" + _("任务 #{id} {kind}").format(id=row.id, kind=label("task_kind", row.kind))
                  + "[/]  " + label("task_status", row.status), highlight=False)
    if warning is not None:
        console.print("  " + _("预警       #{id} {title}（{level}，{status}）").format(
            id=warning.id, title=mask(warning.title or warning.rule), level=label("level", warning.level),
            status=label("status", warning.status)), highlight=False)
    where = _("，").join(x for x in (row.region, label("tier", row.tier), row.unit or "") if x)
    console.print("  " + _("责任网格   {path}（{where}）").format(path=names.path(row.region), where=where),
                  highlight=False)
    console.print("  " + _("期限       {due}").format(due=_bj(row.due_at)), highlight=False)
    if row.person:
        console.print("  " + _("走访对象   {person}（化名）").format(person=row.person), highlight=False)
    console.print("  " + _("接单       {who} {at}").format(
        who=row.accepted_by or "—", at=_bj(row.accepted_at) if row.accepted_at else ""), highlight=False)
    if row.status == "done":
        console.print("  " + _("办结       {who} {at}  结果：{outcome}").format(
            who=row.done_by, at=_bj(row.done_at), outcome=label("task_outcome", row.outcome or "")),
            highlight=False)
        console.print("  " + _("说明       {note}").format(note=mask(row.note) or "—"), highlight=False)


def _context() -> Any:
    from integrations.settings import get_settings
    from integrations.tasks import TaskContext

    return TaskContext.from_settings(get_settings())


@app.command("accept", help=_("接单：接受本人辖区内网格的任务。"))
def accept_cmd(
    task_id: Annotated[int, typer.Argument(help=_("任务编号"))],
    responder: Annotated[str, typer.Option("--as", help=_("您在责任人名录中的 id"))],
) -> None:
    """Accept a task whose node lies in your jurisdiction (接单)."""
    from domain.responders import ResponderDirectory
    from integrations.settings import get_settings
    from integrations.store.db import session_scope
    from integrations.store.tasks import TaskActionError, accept_task

    # Accepting needs only the directory (who may); the outcome's effects need the whole context.
    engine, directory = open_engine(), ResponderDirectory.load(get_settings().responders)
    try:
        with session_scope(engine) as session:
            accept_task(session=session, task_id=task_id, responder=responder, directory=directory,
                        now=datetime.now(UTC))
    except TaskActionError as exc:
        fail(explain(exc))
    console.print(_("任务 #{id} 已由 {who} 接单，已记录在案。").format(id=task_id, who=responder), highlight=False)


@app.command("done", help=_("办结任务，填写结果与说明；结果会作用于所属预警。"))
def done_cmd(
    task_id: Annotated[int, typer.Argument(help=_("任务编号"))],
    outcome: Annotated[str, typer.Option(
        help=_("办结结果：属实|不属实|已化解|需上报（或 confirmed|unfounded|defused|escalate）"))],
    responder: Annotated[str, typer.Option("--as", help=_("您在责任人名录中的 id"))],
    note: Annotated[str, typer.Option(help=_("核实或处置情况"))] = "",
) -> None:
    """Finish a task with its outcome and a note (办结); the outcome acts on the warning."""
    from integrations.store.db import session_scope
    from integrations.store.tasks import TaskActionError
    from integrations.tasks import done

    engine, ctx = open_engine(), _context()
    try:
        with session_scope(engine) as session:
            report = done(session=session, task_id=task_id, responder=responder, outcome=outcome, note=note,
                          ctx=ctx, now=datetime.now(UTC))
            effect, sent, visit = report.effect, report.notifications, report.visit_recorded
    except TaskActionError as exc:
        fail(explain(exc))
    console.print(_("任务 #{id} 已办结：{effect}").format(id=task_id, effect=translate(effect.text))
                  + (_("（已通知 {n} 条）").format(n=sent) if sent else "") + (_("；走访记录已入库") if visit else ""),
                  highlight=False)
