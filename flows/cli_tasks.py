"""``fenghuo tasks list|show|accept|done``: the grid's tasks (核实/走访/调处) that warnings create.

A grid worker (or anyone whose jurisdiction covers the task's node) accepts a task and finishes it with an
outcome — 属实 / 不属实 / 已化解 / 需上报 (confirmed / unfounded / defused / escalate) — and a note; the
outcome acts on the warning (``integrations.tasks``). These commands read and write the store directly;
they never start Prefect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.tasks import STATUSES
from flows.console import console, fail, open_engine, print_json

if TYPE_CHECKING:
    from integrations.store.task_models import TaskRow

app = typer.Typer(help="Tasks to the grid: 核实 verify, 走访 visit, 调处 mediate.", no_args_is_help=True)

CST = timezone(timedelta(hours=8), "CST")
FILTERS = (*STATUSES, "pending")
"""What `tasks list --status` takes: a task status, or pending (every unfinished one)."""


def _bj(at: datetime | None) -> str:
    return f"{at.astimezone(CST):%Y-%m-%d %H:%M} 北京时间" if at else "—"


def task_dict(row: TaskRow) -> dict[str, Any]:
    """A task as ``--json`` prints it (the note masked: it is free text)."""
    from domain.privacy import mask

    return {"id": row.id, "warning_id": row.warning_id, "kind": row.kind, "region": row.region, "tier": row.tier,
            "unit": row.unit, "status": row.status, "outcome": row.outcome, "note": mask(row.note),
            "person": row.person, "created_at": row.created_at, "due_at": row.due_at,
            "accepted_at": row.accepted_at, "accepted_by": row.accepted_by, "done_at": row.done_at,
            "done_by": row.done_by}


@app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="open, accepted, done, overdue, or pending (not done)")] = None,
    region: Annotated[str | None, typer.Option(help="only tasks whose node lies in this region's subtree")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts")] = False,
) -> None:
    """Tasks, soonest due first."""
    from rich import box
    from rich.table import Table
    from sqlmodel import Session

    from domain.regions import RegionCodeError, RegionDirectory, validate_code
    from domain.tasks import KIND_CN, OUTCOME_CN, STATUS_CN
    from integrations.settings import get_settings
    from integrations.store.tasks import list_tasks

    if status and status not in FILTERS:
        fail(f"未知的状态 {status!r}：请用 {', '.join(FILTERS)}")
    if region:
        try:
            validate_code(region)
        except RegionCodeError as exc:
            fail(str(exc))
    with Session(open_engine()) as session:
        rows = list_tasks(session=session, status=status, within=region, limit=max(1, limit))
    if as_json:
        for r in rows:
            print_json(task_dict(r))
        return
    if not rows:
        console.print("没有符合条件的任务。No tasks match (warnings create them: `uv run fenghuo demo`).")
        return
    names = RegionDirectory.load(get_settings().regions)
    table = Table(title=f"{len(rows)} tasks 任务", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("id", "kind", "status", "warning"):
        table.add_column(col, no_wrap=True, min_width=4)
    table.add_column("where", max_width=16, overflow="ellipsis", no_wrap=True)
    for col in ("due (Beijing)", "outcome"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        late = r.status in ("open", "accepted") and r.due_at < datetime.now(UTC)
        table.add_row(str(r.id), KIND_CN.get(r.kind, r.kind),
                      STATUS_CN.get(r.status, r.status) + (" 超期" if late else ""), f"#{r.warning_id}",
                      names.name(r.region) + (f" {r.unit}" if r.unit else ""),
                      r.due_at.astimezone(CST).strftime("%m-%d %H:%M"), OUTCOME_CN.get(r.outcome or "", ""))
    console.print(table)


@app.command("show")
def show_cmd(
    task_id: Annotated[int, typer.Argument(help="the task's id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One task: its warning, node, due time, who accepted and finished it, the outcome and note."""
    from sqlmodel import Session

    from domain.privacy import mask
    from domain.regions import RegionDirectory
    from domain.tasks import KIND_CN, OUTCOME_CN, STATUS_CN
    from integrations.settings import get_settings
    from integrations.store.tasks import get_task
    from integrations.store.warnings import get_warning

    with Session(open_engine()) as session:
        row = get_task(session=session, task_id=task_id)
        if row is None:
            fail(f"没有任务 {task_id}；`fenghuo tasks list` 列出任务编号")
        warning = get_warning(session=session, warning_id=row.warning_id)
    if as_json:
        print_json(task_dict(row) | {"warning": {"id": row.warning_id, "rule": warning.rule if warning else None,
                                                 "level": warning.level if warning else None,
                                                 "status": warning.status if warning else None}})
        return
    names = RegionDirectory.load(get_settings().regions)
    console.print(f"[bold]任务 #{row.id} {KIND_CN.get(row.kind, row.kind)}[/]（{row.kind}）  "
                  f"{STATUS_CN.get(row.status, row.status)}", highlight=False)
    if warning is not None:
        console.print(f"  预警       #{warning.id} {mask(warning.title or warning.rule)}"
                      f"（{warning.level}，{warning.status}）", highlight=False)
    unit = f"，{row.unit}" if row.unit else ""
    console.print(f"  责任网格   {names.path(row.region)}（{row.region}，{row.tier}{unit}）", highlight=False)
    console.print(f"  期限       {_bj(row.due_at)}", highlight=False)
    if row.person:
        console.print(f"  走访对象   {row.person}（化名）", highlight=False)
    console.print(f"  接单       {row.accepted_by or '—'} {_bj(row.accepted_at) if row.accepted_at else ''}",
                  highlight=False)
    if row.status == "done":
        console.print(f"  办结       {row.done_by} {_bj(row.done_at)}  结果：{OUTCOME_CN.get(row.outcome or '', '')}",
                      highlight=False)
        console.print(f"  说明       {mask(row.note) or '—'}", highlight=False)


def _context() -> Any:
    from integrations.settings import get_settings
    from integrations.tasks import TaskContext

    return TaskContext.from_settings(get_settings())


@app.command("accept")
def accept_cmd(
    task_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as", help="your responder id from the directory")],
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
        fail(str(exc))
    console.print(f"任务 #{task_id} 已由 {responder} 接单，已记录在案。", highlight=False)


@app.command("done")
def done_cmd(
    task_id: Annotated[int, typer.Argument()],
    outcome: Annotated[str, typer.Option(help="属实|不属实|已化解|需上报 (confirmed|unfounded|defused|escalate)")],
    responder: Annotated[str, typer.Option("--as", help="your responder id from the directory")],
    note: Annotated[str, typer.Option(help="what you found or did")] = "",
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
        fail(str(exc))
    console.print(f"任务 #{task_id} 已办结：{effect.text}"
                  + (f"（已通知 {sent} 条）" if sent else "") + ("；走访记录已入库" if visit else ""), highlight=False)
