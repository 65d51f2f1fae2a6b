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

from flows.console import console, fail, open_engine, print_json

app = typer.Typer(help="List and retry notifications (the outbox).", no_args_is_help=True)

STATUS_STYLE = {"sent": "green", "pending": "yellow", "dead": "bold red", "silenced": "magenta",
                "not_needed": "dim"}
LEVEL_CN = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}


def _row_dict(row: Any) -> dict[str, Any]:
    """One outbox row for scripts (masked address and error; the digest it went in, if any)."""
    from domain.privacy import mask
    from integrations.store.digests import digest_of
    from integrations.store.outbox import state_of

    return {
        "id": row.id, "idempotency_key": row.idempotency_key, "warning_id": row.warning_id, "step": row.step,
        "recipient": row.recipient, "channel": row.channel, "address": mask(row.address), "level": row.level,
        "status": row.status, "attempts": row.attempts, "next_attempt_at": row.next_attempt_at,
        "last_error": mask(row.last_error), "created_at": row.created_at, "sent_at": row.sent_at,
        "digest_key": digest_of(row), "subject": row.subject, "state": state_of(row),
        "silence": row.payload.get("silence"), "silence_reason": row.payload.get("silence_reason"),
    }


def _when(row: Any) -> str:
    """When it went out, or when it is tried next."""
    at = row.sent_at if row.status == "sent" else (row.next_attempt_at if row.status == "pending" else None)
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else "—"


@app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(
        "--status", help="queued, sent, failed, dead, silenced, held or not_needed")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="only dead ones and ones being retried "
                                                          "(shorthand for --status failed)")] = False,
    warning: Annotated[int | None, typer.Option("--warning", help="only this warning's notifications")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts")] = False,
) -> None:
    """Notifications, newest first: status, attempts, the next try or when it was sent, the last error."""
    from sqlmodel import Session

    from domain.privacy import mask
    from integrations.store.digests import digest_of
    from integrations.store.outbox import STATES, list_notifications, state_of

    if limit < 1:
        fail("--limit must be at least 1")
    if status is not None and status not in STATES:
        fail(f"unknown status {status!r}; use one of {', '.join(STATES)}")
    failed = failed or status == "failed"
    with Session(open_engine()) as session:
        rows = list_notifications(session=session, failed=failed, warning_id=warning, limit=limit, state=status)
    if as_json:
        for r in rows:
            print_json(_row_dict(r))
        return
    if not rows:
        console.print("No failed notifications." if failed else "No notifications match.")
        return
    table = Table(title=f"{len(rows)} {'failed ' if failed else status + ' ' if status else ''}notifications")
    for name in ("id", "status", "level", "warning", "step", "recipient", "channel", "tries", "sent / next",
                 "last error"):
        table.add_column(name, overflow="fold")
    for r in rows:
        step = f"{r.step} (digest)" if digest_of(r) else r.step
        table.add_row(str(r.id), f"[{STATUS_STYLE.get(r.status, '')}]{state_of(r)}[/]",
                      f"{LEVEL_CN.get(r.level, '')} {r.level}".strip(), str(r.warning_id or "—"), step,
                      r.recipient, r.channel, str(r.attempts), _when(r), mask(r.last_error)[:80])
    console.print(table)
    if failed:
        console.print("Dead ones go back in the queue with `fenghuo notifications retry ID…` (or all of them "
                      "with no ids); the resend carries the same idempotency key.", highlight=False)


@app.command("retry")
def retry_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help="outbox ids to retry; none: every dead one")] = None,
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
            fail(f"no notification {', '.join(map(str, missing))}; `fenghuo notifications list` shows the ids")
        alive = [f"{i} ({found[i]})" for i in ids if found[i] != "dead"]
        if alive:
            fail(f"only dead notifications can be retried, not {', '.join(alive)}")
    with session_scope(engine) as session:
        count = retry_dead(session=session, ids=ids or None, now=datetime.now(UTC))
    if count == 0:
        console.print("No dead notifications to retry.")
        return
    console.print(f"{count} notification(s) back in the queue; the next delivery sweep sends them.")


@app.command("preview")
def preview_cmd(
    warning_id: Annotated[int, typer.Argument(help="the warning to lay out")],
    channel: Annotated[str, typer.Option("--channel", help="channel whose layout to use (file, wecom…)")] = "file",
    step: Annotated[str, typer.Option("--step", help="open, raise, escalate, remind, overdue, repeat, stale, "
                                                     "digest or resolve")] = "open",
    recipient: Annotated[str, typer.Option("--as", help="recipient id shown in the message")] = "preview",
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en; default FENGHUO_LANG")] = None,
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
        fail(f"未知的通知环节 {escape(step)}；可用：{'、'.join(STEPS)}")
    if channel not in CHANNELS:
        fail(f"未知的渠道 {escape(channel)}；可用：{'、'.join(CHANNELS)}")
    settings = get_settings()
    if lang is not None and lang not in LANGS:
        fail(f"未知的语言 {escape(lang)}；可用：{'、'.join(LANGS)}")
    try:
        templates = load_templates(settings.templates_dir, lang or settings.lang)
    except TemplateFileError as exc:
        fail(f"消息模板有误，请按下列 文件:行号 修改后重试：\n{escape(str(exc))}")
    with Session(open_engine()) as session:
        warning = session.get(WarningRow, warning_id)
    if warning is None:
        fail(f"没有编号为 {warning_id} 的预警；`fenghuo warnings list` 可查看编号")
    try:
        regions = RegionDirectory.load(settings.regions)
    except (OSError, ValueError) as exc:
        fail(f"无法读取区域目录：{escape(str(exc))}。请检查 FENGHUO_REGIONS 指向的文件")
    text = preview(warning, step=step, channel=channel, recipient=recipient, regions=regions, templates=templates)
    console.print(f"[dim]模板预览 · 渠道 {escape(channel)} · 环节 {escape(step)} · 语言 {templates.lang}[/]")
    console.print(text.subject, highlight=False, markup=False)
    console.print(text.body, highlight=False, markup=False)
