"""``fenghuo warnings …``: list, show, and act on warnings (acknowledge, resolve, comment, hand over).

These commands read and write the store directly; they never start Prefect.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from domain.beijing import BEIJING
from domain.regions import RegionDirectory
from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain
from integrations.wording import audit_action, audit_reason, worded

app = typer.Typer(help=_("列出、查看和处置预警。"), no_args_is_help=True)

LEVEL_STYLE = {"red": "bold red", "orange": "bold dark_orange", "yellow": "bold yellow", "blue": "bold blue"}


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
    return {k: mask(worded(getattr(row, k))) if k in ("title", "summary") else getattr(row, k) for k in (
        "id", "rule", "title", "level", "status", "region", "tier", "route_region", "first_at", "last_at",
        "occurrences", "summary", "fingerprint", "rulebook_version", "escalation_step")}


@app.command("list", help=_("预警列表：红色在前，同一等级内最新的在前。"))
def list_cmd(
    status: Annotated[str | None, typer.Option(help=_("open、acknowledged、resolved 或 unresolved"))] = None,
    level: Annotated[str | None, typer.Option(help=_("blue、yellow、orange 或 red"))] = None,
    region: Annotated[str | None, typer.Option(help=_("只列此区划及其下级的预警"))] = None,
    limit: Annotated[int, typer.Option(help=_("最多列出条数"))] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=_("每行一条 JSON，供脚本使用"))] = False,
) -> None:
    """Warnings, red first, newest first within a level."""
    from sqlmodel import Session

    from domain.privacy import mask
    from domain.regions import RegionCodeError, RegionDirectory, validate_code
    from integrations.labels import label
    from integrations.settings import get_settings
    from integrations.store.warnings import list_warnings

    if level and level not in LEVEL_STYLE:
        fail(_("未知等级 {level!r}；请用 blue、yellow、orange 或 red").format(level=level))
    if region:
        try:
            validate_code(region)
        except RegionCodeError as exc:
            fail(explain(exc))
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
        console.print(_("没有符合条件的预警。可运行 `uv run fenghuo demo` 生成演示数据。"))
        return
    names = RegionDirectory.load(get_settings().regions)
    table = Table(title=_("{n} 条预警").format(n=len(rows)), box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (_("编号"), _("等级"), _("状态")):
        table.add_column(col, no_wrap=True)
    table.add_column(_("规则"), max_width=20, overflow="ellipsis", no_wrap=True)
    table.add_column(_("地点"), max_width=14, overflow="ellipsis", no_wrap=True)
    for col in (_("次数"), _("最近发生（北京时间）")):
        table.add_column(col, no_wrap=True)
    wide = console.width >= 110  # a narrow terminal drops the summary rather than squeeze the ids away
    if wide:
        table.add_column(_("摘要"), max_width=console.width - 90, overflow="ellipsis", no_wrap=True)
    for r in rows:
        table.add_row(str(r.id), f"[{LEVEL_STYLE.get(r.level, '')}]{label('level_name', r.level)}[/]",
                      label("status", r.status) + (_(" 静默") if r.id in silenced else ""), r.rule,
                      short_place(r.region, names),
                      str(r.occurrences), r.last_at.astimezone(BEIJING).strftime("%m-%d %H:%M"),
                      *([mask(worded(r.summary))] if wide else []))
    console.print(table)


@app.command("show", help=_("一条预警的全过程：预警依据、派发、通知、升级、签收。"))
def show_cmd(
    warning_id: Annotated[int, typer.Argument(help=_("预警编号"))],
    as_json: Annotated[bool, typer.Option("--json", help=_("以 JSON 输出，供脚本使用"))] = False,
) -> None:
    """The whole story of one warning: explanation, routing, notifications, escalations, acks."""
    from sqlmodel import Session, col, select

    from domain.privacy import mask
    from domain.regions import RegionDirectory
    from flows.cli_tasks import task_dict
    from integrations.labels import label, step_label
    from integrations.settings import get_settings
    from integrations.store.models import OutboxRow
    from integrations.store.silences import silenced_reasons
    from integrations.store.tasks import list_tasks
    from integrations.store.warnings import audit_trail, get_warning

    engine = open_engine()
    with Session(engine) as session:
        row = get_warning(session=session, warning_id=warning_id)
        if row is None:
            fail(_("没有编号为 {id} 的预警；`fenghuo warnings list` 可列出编号").format(id=warning_id))
        trail = audit_trail(session=session, warning_id=warning_id)
        silenced = silenced_reasons(session, [warning_id]).get(warning_id)
        sent = list(session.exec(select(OutboxRow).where(OutboxRow.warning_id == warning_id)
                                 .order_by(col(OutboxRow.id))))
        tasks = list_tasks(session=session, warning_id=warning_id)
    if as_json:
        data = _row_dict(row) | {"explanation": mask(worded(row.explanation)), "records": row.records,
                                 "audit": [{"at": a.at, "actor": a.actor, "action": a.action,
                                            "reason": mask(audit_reason(a.action, a.reason))} for a in trail],
                                 "notifications": [{"key": o.idempotency_key, "status": o.status,
                                                    "recipient": o.recipient, "channel": o.channel}
                                                   for o in sent],
                                 "silenced": silenced, "tasks": [task_dict(t) for t in tasks]}
        print_json(data)
        return
    names = RegionDirectory.load(get_settings().regions)
    style = LEVEL_STYLE.get(row.level, "")
    heading = _("{level}预警").format(level=label("level_name", row.level))
    console.print(f"[{style}]#{row.id} {heading}[/]  "
                  f"{mask(worded(row.title or row.rule))}  ({label('status', row.status)})")
    console.print("  " + _("规则       {rule}   规则库 {version}").format(
        rule=row.rule, version=row.rulebook_version[:12]))
    console.print("  " + _("地点       {path}（{code}）").format(path=names.path(row.region), code=row.region))
    console.print("  " + _("当前负责   {tier} {node}   升级步数 {step}").format(
        tier=label("tier", row.tier) if row.tier else "-",
        node=names.path(row.route_region) if row.route_region else "-", step=row.escalation_step))
    console.print("  " + _("发生时间   {first} → {last}（北京时间），共 {n} 次").format(
        first=f"{row.first_at.astimezone(BEIJING):%Y-%m-%d %H:%M}",
        last=f"{row.last_at.astimezone(BEIJING):%Y-%m-%d %H:%M}",
        n=row.occurrences))
    if row.ack_due_at:
        console.print("  " + _("签收期限   {due}（北京时间）").format(
            due=f"{row.ack_due_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"))
    if silenced is not None:
        console.print("  [bold]" + _("静默中") + "[/]     "
                      + _("通知暂不发送（静默原因：{reason}）；静默结束时仍未办结则补发一次").format(
                          reason=mask(silenced)),
                      highlight=False)
    console.print("  " + _("摘要       {summary}").format(summary=mask(worded(row.summary))))
    console.print("[bold]" + _("预警依据") + "[/]")
    console.print("  " + mask(worded(row.explanation)).replace("\n", "\n  "), highlight=False)
    console.print("[bold]" + _("相关记录")
                  + f"[/] {', '.join(row.records[:20])}{' …' if len(row.records) > 20 else ''}")
    console.print("[bold]" + _("处置经过（北京时间）") + "[/]")
    for a in trail:
        console.print(f"  {a.at.astimezone(BEIJING):%Y-%m-%d %H:%M}  {a.actor:<24} {audit_action(a.action):<12} "
                      f"{mask(audit_reason(a.action, a.reason))}", highlight=False)
    if tasks:
        from domain.tasks import KIND_CN, OUTCOME_CN, STATUS_CN

        console.print("[bold]" + _("网格任务") + "[/]")
        for t in tasks:
            console.print(f"  #{t.id:<5} {_(KIND_CN.get(t.kind, t.kind))} {t.kind:<8} "
                          f"{_(STATUS_CN.get(t.status, t.status)):<4} {names.name(t.region)} "
                          + _("期限 {due}").format(due=f"{t.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M}") + " "
                          f"{_(OUTCOME_CN.get(t.outcome or '', ''))}", highlight=False)
    console.print("[bold]" + _("通知") + "[/]")
    for o in sent:
        console.print(f"  {o.status:<8} {o.channel:<8} {o.recipient:<28} {step_label(o.step):<14} attempts={o.attempts}"
                      f"{'  ' + worded(o.last_error)[:60] if o.last_error else ''}")


def _act(action: str, warning_id: int, responder: str, reason: str) -> None:
    from domain.responders import ResponderDirectory
    from flows.context import RoutingContext
    from integrations.resolution import resolve_as
    from integrations.settings import get_settings
    from integrations.store import actions
    from integrations.store.db import session_scope

    funcs: dict[str, Callable[..., object]] = {"ack": actions.acknowledge, "resolve": resolve_as,
                                               "comment": actions.comment}
    func = funcs[action]
    directory = ResponderDirectory.load(get_settings().responders)
    # A resolve tells whoever was told of the warning (integrations.resolution), with the routing context.
    told = {"routing": RoutingContext.load(get_settings()).routing()} if action == "resolve" else {}
    person = directory.responder(responder)
    if person is None:
        fail(_("--as {responder!r} 不是处置人员名录（responders.yaml）中的 id；请核对，例如 jj-duty-office").format(
            responder=responder))
    operator = getpass.getuser()  # the shell's user acts for the responder: the audit names both
    engine = open_engine()
    try:
        with session_scope(engine) as session:
            func(session=session, warning_id=warning_id, responder=responder, directory=directory,
                 reason=reason, now=datetime.now(UTC), operator=operator, **told)
    except actions.ActionError as exc:
        fail(explain(exc))
    console.print(_("{action}：预警 {id}，处置人 {name}（{responder}），操作员 {operator} 代办 — 已记入审计日志。")
                  .format(action=action, id=warning_id, name=person.name, responder=responder, operator=operator),
                  highlight=False)


@app.command("ack", help=_("签收本辖区的一条预警：停止其升级。"))
def ack_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as", help=_("您在处置人员名录中的 id"))],
    reason: Annotated[str, typer.Option(help=_("写入审计日志的说明"))] = "",
) -> None:
    """Acknowledge a warning in your jurisdiction: stops its escalation."""
    _act("ack", warning_id, responder, reason)


@app.command("resolve", help=_("办结一条预警：其规则下次触发时将新开一条预警。"))
def resolve_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as")],
    reason: Annotated[str, typer.Option(help=_("办结说明"))] = "",
) -> None:
    """Resolve a warning: the next firing of its rule opens a new one."""
    _act("resolve", warning_id, responder, reason)


@app.command("comment", help=_("为一条预警添加备注。"))
def comment_cmd(
    warning_id: Annotated[int, typer.Argument()],
    responder: Annotated[str, typer.Option("--as")],
    text: Annotated[str, typer.Option("--text", help=_("批注内容"))],
) -> None:
    """Add a comment to a warning's story."""
    _act("comment", warning_id, responder, text)


@app.command("handover", help=_("把你承办的预警移交给下级节点：通知其责任人。"))
def handover_cmd(
    warning_id: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Option("--to", help=_("你的下级节点：名称（如 江果桥街道）或代码"))],
    responder: Annotated[str, typer.Option("--as", help=_("你的责任人 id：须为该预警当前的承办人"))],
    note: Annotated[str, typer.Option("--note", help=_("需要告知新承办人的情况（必填）"))],
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
        fail(_("--as {responder} 不是处置人员名录（responders.yaml）中的 id；请核对，例如 jj-duty-office").format(
            responder=repr(responder)))
    if not note.strip():
        fail(_("--note 必填：写明移交原因和需要下级做什么"))
    target = _node_named(to, context.regions)
    operator = getpass.getuser()  # the shell's user acts for the responder: the audit names both
    try:
        with session_scope(open_engine()) as session:
            hand_over(session=session, warning_id=warning_id, responder=responder, to=target, note=note,
                      routing=context.routing(), now=datetime.now(UTC), operator=operator)
    except actions.JurisdictionError as exc:
        fail(_("不能移交（已记录在案）：{reason}。只有当前责任节点的人员可以移交，且只能移交给本级以下、"
               "包含预警发生地且有处置人员的节点。").format(reason=explain(exc)))
    except actions.ActionError as exc:
        fail(explain(exc))
    console.print(_(
            "已移交：预警 #{id} → {name}（{code}），操作员 {operator} 代 {responder} 办理，已记入审计"
            "。").format(
        id=warning_id, name=context.regions.name(target), code=target, operator=operator, responder=responder),
        highlight=False)


def _node_named(text: str, names: RegionDirectory) -> str:
    """The region code ``text`` names: a code as is, else the one node whose name is ``text``."""
    from domain.regions import RegionCodeError, validate_code

    try:
        return validate_code(text)
    except RegionCodeError:
        pass
    found = [code for code, name in names.names.items() if name == text.strip()]
    if len(found) != 1:
        why = _("没有这个名称的节点") if not found else _("有多个同名节点，请用区划代码")
        fail(_("--to {text}：{why}（`fenghuo warnings show ID` 显示预警所在地的各级名称和代码）").format(
            text=repr(text), why=why))
    return found[0]
