"""``fenghuo notifications …``: the outbox seen from the command line — list (``--status`` queued, sent,
failed, dead, silenced, held or not_needed; ``--failed`` for dead and retrying ones), retry dead ones,
and preview a step's message as the templates lay it out.

These commands read and write the store directly; they never start Prefect. Addresses and errors are
masked (they can carry phone numbers or e-mail addresses).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from domain.beijing import BEIJING
from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain
from integrations.wording import worded

app = typer.Typer(help=_("列出并重发通知（发件箱）。"), no_args_is_help=True)

STATUS_STYLE = {"sent": "green", "pending": "yellow", "dead": "bold red", "silenced": "magenta",
                "not_needed": "dim"}


def _row_dict(row: Any) -> dict[str, Any]:
    """One outbox row for scripts (masked address and error; the digest it went in, if any)."""
    from domain.privacy import mask
    from integrations.store.digests import digest_of
    from integrations.store.outbox import state_of

    return {
        "id": row.id, "idempotency_key": row.idempotency_key, "warning_id": row.warning_id, "step": row.step,
        "recipient": row.recipient, "channel": row.channel, "address": mask(row.address), "level": row.level,
        "status": row.status, "attempts": row.attempts, "next_attempt_at": row.next_attempt_at,
        "last_error": mask(worded(row.last_error)), "created_at": row.created_at, "sent_at": row.sent_at,
        "digest_key": digest_of(row), "subject": row.subject, "state": state_of(row),
        "silence": row.payload.get("silence"), "silence_reason": row.payload.get("silence_reason"),
    }


def _when(row: Any) -> str:
    """When it went out, or when it is tried next."""
    at = row.sent_at if row.status == "sent" else (row.next_attempt_at if row.status == "pending" else None)
    # Beijing time whatever the server's zone (the column heading marks it).
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if at else "—"


@app.command("list", help=_("通知列表，最新的在前：状态、尝试次数、下次重试或发送时间、最近一次错误。"))
def list_cmd(
    status: Annotated[str | None, typer.Option(
        "--status", help=_("queued、sent、failed、dead、silenced、held 或 not_needed"))] = None,
    failed: Annotated[bool, typer.Option("--failed", help=_("只列已放弃的和正在重试的（即 --status failed）"))] = False,
    warning: Annotated[int | None, typer.Option("--warning", help=_("只列此预警的通知"))] = None,
    limit: Annotated[int, typer.Option(help=_("最多列出条数，最新的在前"))] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=_("每行一条 JSON，供脚本使用"))] = False,
) -> None:
    """Notifications, newest first: status, attempts, the next try or when it was sent, the last error."""
    from sqlmodel import Session

    from domain.privacy import mask
    from integrations.labels import label, step_label
    from integrations.store.digests import digest_of
    from integrations.store.outbox import STATES, list_notifications, state_of

    if limit < 1:
        fail(_("--limit 至少为 1"))
    if status is not None and status not in STATES:
        fail(_("未知状态 {status!r}；可用：{states}").format(status=status, states=", ".join(STATES)))
    failed = failed or status == "failed"
    with Session(open_engine()) as session:
        rows = list_notifications(session=session, failed=failed, warning_id=warning, limit=limit, state=status)
    if as_json:
        for r in rows:
            print_json(_row_dict(r))
        return
    if not rows:
        console.print(_("没有发送失败的通知。") if failed else _("没有符合条件的通知。"))
        return
    title = (_("{n} 条发送失败的通知") if failed else _("{n} 条 {status} 通知") if status else _("{n} 条通知"))
    table = Table(title=title.format(n=len(rows), status=status))
    for name in (_("编号"), _("状态"), _("等级"), _("预警"), _("步骤"), _("接收人"), _("渠道"), _("尝试次数"),
                 _("发出 / 下次（北京时间）"), _("最近错误")):
        table.add_column(name, overflow="fold")
    for r in rows:
        step = _("{step}（汇总）").format(step=step_label(r.step)) if digest_of(r) else step_label(r.step)
        table.add_row(str(r.id), f"[{STATUS_STYLE.get(r.status, '')}]{state_of(r)}[/]",
                      label("level_name", r.level) if r.level else "", str(r.warning_id or "—"), step,
                      r.recipient, r.channel, str(r.attempts), _when(r), mask(worded(r.last_error))[:80])
    console.print(table)
    if failed:
        console.print(_("已放弃的通知可用 `fenghuo notifications retry ID…` 重新排队（不给编号则全部重发）；"
                        "重发沿用同一幂等键。"), highlight=False)


@app.command("retry", help=_("将投递失败的通知重新放回队列（重新计数、立即到期、幂等键不变）。"))
def retry_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help=_("要重发的通知编号；不给则重发全部已放弃的"))] = None,
) -> None:
    """Put dead notifications back in the queue (fresh attempts, due now, the same idempotency key)."""
    from sqlmodel import Session, col, select

    from integrations.store.db import session_scope
    from integrations.store.models import OutboxRow
    from integrations.store.outbox import retry_dead

    engine = open_engine()
    if ids:
        with Session(engine) as session:
            found = {r.id: r.status for r in session.exec(select(OutboxRow).where(col(OutboxRow.id).in_(ids)))}
        missing = [i for i in ids if i not in found]
        if missing:
            fail(_("没有编号为 {ids} 的通知；`fenghuo notifications list` 可列出编号").format(
                ids=", ".join(map(str, missing))))
        alive = [f"{i} ({found[i]})" for i in ids if found[i] != "dead"]
        if alive:
            fail(_("只能重发已放弃（dead）的通知，以下不能：{ids}").format(ids=", ".join(alive)))
    with session_scope(engine) as session:
        count = retry_dead(session=session, ids=ids or None, now=datetime.now(UTC))
    if count == 0:
        console.print(_("没有需要重发的已放弃通知。"))
        return
    console.print(_("{n} 条通知已重新排队，下一轮投递时发出。").format(n=count))


@app.command("preview", help=_(
    "预览某预警在某通知环节、某渠道发出的消息（按消息模板排版）；不写入、不发送。"))
def preview_cmd(
    warning_id: Annotated[int, typer.Argument(help=_("要预览的预警"))],
    channel: Annotated[str, typer.Option("--channel", help=_("使用哪个渠道的版式（file、wecom…）"))] = "file",
    step: Annotated[str, typer.Option("--step", help=_(
            "通知事由：open、raise、escalate、remind、overdue、repeat、stale、digest 或 resolve"))] = "open",
    recipient: Annotated[str, typer.Option("--as", help=_("消息中显示的接收人 id"))] = "preview",
    lang: Annotated[str | None, typer.Option("--lang", help=_("zh 或 en；默认取 FENGHUO_LANG"))] = None,
) -> None:
    """预览某预警在某通知环节、某渠道发出的消息（按消息模板排版）；不写入、不发送。
    Show the message a step of a warning would send over a channel; nothing is written or sent."""
    from rich.markup import escape
    from sqlmodel import Session

    from domain.regions import RegionDirectory
    from integrations.notify.preview import preview
    from integrations.notify.templates import CHANNELS, LANGS, STEPS, TemplateFileError, load_templates
    from integrations.settings import get_settings
    from integrations.store.models import WarningRow

    if step.split("-")[0] not in STEPS:
        fail(_("未知的通知环节 {step}；可用：{known}").format(step=escape(step), known=_("、").join(STEPS)))
    if channel not in CHANNELS:
        fail(_("未知的渠道 {channel}；可用：{known}").format(channel=escape(channel), known=_("、").join(CHANNELS)))
    settings = get_settings()
    if lang is not None and lang not in LANGS:
        fail(_("未知的语言 {lang}；可用：{known}").format(lang=escape(lang), known=_("、").join(LANGS)))
    try:
        templates = load_templates(settings.templates_dir, lang or settings.lang)
    except TemplateFileError as exc:
        fail(_("消息模板有误，请按下列 文件:行号 修改后重试：\n{errors}").format(errors=escape(explain(exc))))
    with Session(open_engine()) as session:
        warning = session.get(WarningRow, warning_id)
    if warning is None:
        fail(_("没有编号为 {id} 的预警；`fenghuo warnings list` 可列出编号").format(id=warning_id))
    try:
        regions = RegionDirectory.load(settings.regions)
    except (OSError, ValueError) as exc:
        fail(_("无法读取区域目录：{reason}。请检查 FENGHUO_REGIONS 指向的文件").format(reason=escape(explain(exc))))
    text = preview(warning, step=step, channel=channel, recipient=recipient, regions=regions, templates=templates)
    console.print("[dim]" + _("模板预览 · 渠道 {channel} · 环节 {step} · 语言 {lang}").format(
        channel=escape(channel), step=escape(step), lang=templates.lang) + "[/]")
    console.print(text.subject, highlight=False, markup=False)
    console.print(text.body, highlight=False, markup=False)
