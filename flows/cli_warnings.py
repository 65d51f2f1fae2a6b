"""``fenghuo warnings …``: list, show, and act on warnings (acknowledge, resolve, comment, hand over).

These commands read and write the store directly; they never start Prefect.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from domain.regions import RegionDirectory
from flows.console import console, fail, open_engine, print_json

app = typer.Typer(help="List, show and act on warnings.", no_args_is_help=True)

LEVEL_STYLE = {"red": "bold red", "orange": "bold dark_orange", "yellow": "bold yellow", "blue": "bold blue"}
LEVEL_CN = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
STATUS_SHORT = {"open": "open", "acknowledged": "acked", "resolved": "resolved"}
CST = timezone(timedelta(hours=8))


def short_place(code: str, names: RegionDirectory) -> str:
    """``金牛区 文荷岗社区``: the district and the finest named node, enough to tell warnings apart."""
    from domain.regions import Tier, ancestor

    district = ancestor(code, Tier.district)
    finest = names.name(code)
    if district and district != code and district in names.names:
        return f"{names.name(district)} {finest}"
    return finest


def _row_dict(row: Any) -> dict[str, Any]:
    from domain.privacy import mask

    # Title and summary are free text (an identifier typed into a record can reach them): masked as on screen.
    return {k: mask(getattr(row, k)) if k in ("title", "summary") else getattr(row, k) for k in (
        "id", "rule", "title", "level", "status", "region", "tier", "route_region", "first_at", "last_at",
        "occurrences", "summary", "fingerprint", "rulebook_version", "escalation_step")}


@app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, resolved or unresolved")] = None,
    level: Annotated[str | None, typer.Option(help="blue, yellow, orange or red")] = None,
    region: Annotated[str | None, typer.Option(help="only warnings in this region's subtree")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts")] = False,
) -> None:
    """Warnings, red first, newest first within a level."""
    from sqlmodel import Session

    from domain.privacy import mask
    from domain.regions import RegionCodeError, RegionDirectory, validate_code
    from integrations.settings import get_settings
    from integrations.store.warnings import list_warnings

    if level and level not in LEVEL_STYLE:
        fail(f"unknown level {level!r}; use blue, yellow, orange or red")
    if region:
        try:
            validate_code(region)
        except RegionCodeError as exc:
            fail(str(exc))
    from integrations.store.silences import silenced_reasons

    engine = open_engine()
    with Session(engine) as session:
        rows = list_warnings(session=session, status=status, level=level, within=region, limit=limit)
        silenced = silenced_reasons(session, [r.id for r in rows if r.id is not None])
    if as_json:
        for r in rows:
            print_json(_row_dict(r) | {"silenced": silenced.get(r.id or 0)})
        return
    if not rows:
        console.print("No warnings match. Run `uv run fenghuo demo` to make some.")
        return
    names = RegionDirectory.load(get_settings().regions)
    table = Table(title=f"{len(rows)} warnings", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("id", "level", "status"):
        table.add_column(col, no_wrap=True)
    table.add_column("rule", max_width=20, overflow="ellipsis", no_wrap=True)
    table.add_column("where", max_width=14, overflow="ellipsis", no_wrap=True)
    for col in ("occ.", "last seen"):
        table.add_column(col, no_wrap=True)
    wide = console.width >= 110  # a narrow terminal drops the summary rather than squeeze the ids away
    if wide:
        table.add_column("summary", max_width=console.width - 90, overflow="ellipsis", no_wrap=True)
    for r in rows:
        table.add_row(str(r.id), f"[{LEVEL_STYLE.get(r.level, '')}]{LEVEL_CN.get(r.level, '')} {r.level}[/]",
                      STATUS_SHORT.get(r.status, r.status) + (" 静默" if r.id in silenced else ""), r.rule,
                      short_place(r.region, names),
                      str(r.occurrences), r.last_at.astimezone(CST).strftime("%m-%d %H:%M"),
                      *([mask(r.summary)] if wide else []))
    console.print(table)


@app.command("show")
def show_cmd(
    warning_id: Annotated[int, typer.Argument(help="the warning's id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The whole story of one warning: explanation, routing, notifications, escalations, acks."""
    from sqlmodel import Session, col, select

    from domain.privacy import mask
    from domain.regions import RegionDirectory
    from flows.cli_tasks import task_dict
    from integrations.settings import get_settings
    from integrations.store.models import OutboxRow
    from integrations.store.silences import silenced_reasons
    from integrations.store.tasks import list_tasks
    from integrations.store.warnings import audit_trail, get_warning

    engine = open_engine()
    with Session(engine) as session:
        row = get_warning(session=session, warning_id=warning_id)
        if row is None:
            fail(f"no warning {warning_id}; `fenghuo warnings list` shows the ids")
        trail = audit_trail(session=session, warning_id=warning_id)
        silenced = silenced_reasons(session, [warning_id]).get(warning_id)
        sent = list(session.exec(select(OutboxRow).where(OutboxRow.warning_id == warning_id)
                                 .order_by(col(OutboxRow.id))))
        tasks = list_tasks(session=session, warning_id=warning_id)
    if as_json:
        data = _row_dict(row) | {"explanation": mask(row.explanation), "records": row.records,
                                 "audit": [{"at": a.at, "actor": a.actor, "action": a.action,
                                            "reason": mask(a.reason)} for a in trail],
                                 "notifications": [{"key": o.idempotency_key, "status": o.status,
                                                    "recipient": o.recipient, "channel": o.channel}
                                                   for o in sent],
                                 "silenced": silenced, "tasks": [task_dict(t) for t in tasks]}
        print_json(data)
        return
    names = RegionDirectory.load(get_settings().regions)
    style = LEVEL_STYLE.get(row.level, "")
    console.print(f"[{style}]#{row.id} {LEVEL_CN.get(row.level, '')}色预警 {row.level}[/]  "
                  f"{mask(row.title or row.rule)}  ({row.status})")
    console.print(f"  rule       {row.rule}   rulebook {row.rulebook_version[:12]}")
    console.print(f"  region     {names.path(row.region)} ({row.region})")
    console.print(f"  routed to  {row.tier} {names.path(row.route_region) if row.route_region else '-'}"
                  f"   escalation step {row.escalation_step}")
    console.print(f"  seen       {row.first_at.astimezone(CST):%Y-%m-%d %H:%M} → "
                  f"{row.last_at.astimezone(CST):%Y-%m-%d %H:%M} (Beijing), {row.occurrences} occurrence(s)")
    if row.ack_due_at:
        console.print(f"  ack due    {row.ack_due_at.astimezone(CST):%Y-%m-%d %H:%M}")
    if silenced is not None:
        console.print(f"  [bold]静默中[/]     通知暂不发送（静默原因：{mask(silenced)}）；静默结束时仍未办结则补发一次",
                      highlight=False)
    console.print(f"  summary    {mask(row.summary)}")
    console.print("[bold]Why[/]")
    console.print("  " + mask(row.explanation).replace("\n", "\n  "), highlight=False)
    console.print(f"[bold]Records[/] {', '.join(row.records[:20])}{' …' if len(row.records) > 20 else ''}")
    console.print("[bold]Story[/]")
    for a in trail:
        console.print(f"  {a.at.astimezone(CST):%Y-%m-%d %H:%M}  {a.actor:<24} {a.action:<12} {mask(a.reason)}")
    if tasks:
        from domain.tasks import KIND_CN, OUTCOME_CN, STATUS_CN

        console.print("[bold]Tasks 网格任务[/]")
        for t in tasks:
            console.print(f"  #{t.id:<5} {KIND_CN.get(t.kind, t.kind)} {t.kind:<8} "
                          f"{STATUS_CN.get(t.status, t.status):<4} {names.name(t.region)} "
                          f"due {t.due_at.astimezone(CST):%Y-%m-%d %H:%M} "
                          f"{OUTCOME_CN.get(t.outcome or '', '')}", highlight=False)
    console.print("[bold]Notifications[/]")
    for o in sent:
        console.print(f"  {o.status:<8} {o.channel:<8} {o.recipient:<28} {o.step:<14} attempts={o.attempts}"
                      f"{'  ' + o.last_error[:60] if o.last_error else ''}")


def _act(action: str, warning_id: int, responder: str, reason: str) -> None:
    from domain.responders import ResponderDirectory
    from integrations.settings import get_settings
    from integrations.store import actions
    from integrations.store.db import session_scope

    func = {"ack": actions.acknowledge, "resolve": actions.resolve, "comment": actions.comment}[action]
    directory = ResponderDirectory.load(get_settings().responders)
    person = directory.responder(responder)
    if person is None:
        fail(f"--as {responder!r} 不是处置人员名录（responders.yaml）中的 id；请核对，例如 jj-duty-office")
    operator = getpass.getuser()  # the shell's user acts for the responder: the audit names both
    engine = open_engine()
    try:
        with session_scope(engine) as session:
            func(session=session, warning_id=warning_id, responder=responder, directory=directory,
                 reason=reason, now=datetime.now(UTC), operator=operator)
    except actions.ActionError as exc:
        fail(str(exc))
    console.print(f"{action}: warning {warning_id} by {person.name}（{responder}），操作员 {operator} 代办 — "
                  "recorded in its audit log.", highlight=False)


@app.command("ack")
def ack_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as", help="your responder id from the directory")],
    reason: Annotated[str, typer.Option(help="a note for the audit log")] = "",
) -> None:
    """Acknowledge a warning in your jurisdiction: stops its escalation."""
    _act("ack", warning_id, responder, reason)


@app.command("resolve")
def resolve_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as")],
    reason: Annotated[str, typer.Option(help="how it was resolved")] = "",
) -> None:
    """Resolve a warning: the next firing of its rule opens a new one."""
    _act("resolve", warning_id, responder, reason)


@app.command("comment")
def comment_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as")],
    text: Annotated[str, typer.Option("--text", help="the comment")],
) -> None:
    """Add a comment to a warning's story."""
    _act("comment", warning_id, responder, text)


@app.command("handover")
def handover_cmd(
    warning_id: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Option("--to", help="the node below yours, by name (e.g. 江果桥街道) or code")],
    responder: Annotated[str, typer.Option("--as", help="your responder id: you must hold the warning")],
    note: Annotated[str, typer.Option("--note", help="what the new holder needs to know (required)")],
) -> None:
    """Hand a warning you hold over to a node below yours (移交给下级): its responders are notified."""
    from domain.responders import ResponderDirectory
    from flows.context import RoutingContext
    from integrations.handover import hand_over
    from integrations.settings import get_settings
    from integrations.store import actions
    from integrations.store.db import session_scope

    settings = get_settings()
    context = RoutingContext.load(settings)
    directory: ResponderDirectory = context.directory
    if directory.responder(responder) is None:
        fail(f"--as {responder!r} 不是处置人员名录（responders.yaml）中的 id；请核对，例如 jj-duty-office")
    if not note.strip():
        fail("--note 必填：写明移交原因和需要下级做什么")
    target = _node_named(to, context.regions)
    operator = getpass.getuser()  # the shell's user acts for the responder: the audit names both
    try:
        with session_scope(open_engine()) as session:
            hand_over(session=session, warning_id=warning_id, responder=responder, to=target, note=note,
                      routing=context.routing(), now=datetime.now(UTC), operator=operator)
    except actions.JurisdictionError as exc:
        fail(f"不能移交（已记录在案）：{exc}。只有当前责任节点的人员可以移交，且只能移交给本级以下、"
             "包含预警发生地且有处置人员的节点。")
    except actions.ActionError as exc:
        fail(str(exc))
    console.print(f"handover: warning {warning_id} → {context.regions.name(target)}（{target}）"
                  f"，操作员 {operator} 代 {responder} 办理 — recorded in its audit log.", highlight=False)


def _node_named(text: str, names: RegionDirectory) -> str:
    """The region code ``text`` names: a code as is, else the one node whose name is ``text``."""
    from domain.regions import RegionCodeError, validate_code

    try:
        return validate_code(text)
    except RegionCodeError:
        pass
    found = [code for code, name in names.names.items() if name == text.strip()]
    if len(found) != 1:
        fail(f"--to {text!r}：{'没有这个名称的节点' if not found else '有多个同名节点，请用区划代码'}"
             "（`fenghuo warnings show ID` 显示预警所在地的各级名称和代码）")
    return found[0]
