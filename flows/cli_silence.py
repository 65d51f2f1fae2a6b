"""``fenghuo silence add|list|show|expire``: announce a known cause so its warnings notify nobody for a while.

A silenced warning still opens, rises, is stored and audited; its notifications wait in the outbox as
``silenced`` and go out once when the silence ends (``expire``, or ``--until`` passing) if the warning is
still open. These commands read and write the store directly; they never start Prefect.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.beijing import BEIJING
from flows.console import beijing, console, err_console, fail, open_engine, print_json
from integrations.i18n import _, explain

if TYPE_CHECKING:
    from integrations.store.silences import SilenceRow

app = typer.Typer(help=_("静默：已知原因引起的预警，通知暂缓到设定时间。"), no_args_is_help=True)

_SPAN = re.compile(r"^\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
LEVELS = ("blue", "yellow", "orange", "red")


def parse_until(text: str, now: datetime) -> datetime:
    """``--until``: a span from now (``2h``, ``90m``, ``1d12h``) or a date and time (ISO 8601; without a
    zone it is Beijing time). Raises ``ValueError`` with a Chinese message."""
    text = text.strip()
    span = _SPAN.match(text)
    if span and any(span.groups()):
        days, hours, minutes = (int(g or 0) for g in span.groups())
        return now + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_("看不懂的时间 {text!r}：请写 2026-12-05T18:00（北京时间）或 2h、90m、1d 这样的时长").format(
            text=text)) from None
    return at.replace(tzinfo=BEIJING) if at.tzinfo is None else at


def _bj(at: datetime | None) -> str:
    return beijing(at)


def _state(row: SilenceRow, now: datetime) -> str:
    """expired (by hand), ended (until passed), active (holding now), or scheduled (in force, between
    occurrences of its schedule)."""
    from integrations.store.silences import to_domain

    if row.expired_at is not None:
        return "expired"
    if row.until <= now:
        return "ended"
    return "active" if to_domain(row).is_active(now) else "scheduled"


def _row_dict(row: SilenceRow, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "rule": row.rule, "region": row.region, "level": row.level, "category": row.category,
            "starts_at": row.starts_at, "until": row.until, "reason": row.reason, "author": row.author,
            "created_at": row.created_at, "expired_at": row.expired_at, "expired_by": row.expired_by,
            "schedule": row.schedule, "state": _state(row, now)}


def _check_rule(rule: str) -> None:
    """Warn (not refuse: the rule may be about to be deployed) about a rule id the configured rulebook
    does not have, which would silence nothing."""
    from integrations.settings import get_settings
    from rules.language.loader import load_rulebook

    try:
        ids = {r.id for r in load_rulebook(rulebook=get_settings().rulebook).rules}
    except Exception:  # a broken rulebook is `fenghuo rules check`'s to report, not a reason to refuse
        return
    if ids and rule not in ids:
        note = _("规则 {rule} 不在当前规则库中，这条静默不会静默任何预警，除非该规则日后加入；请核对 --rule。")
        err_console.print("[yellow]" + _("注意：") + "[/]" + note.format(rule=rule), highlight=False)


@app.command("add", help=_("在设定时间之前静默一条规则的预警（限某地区及其下级、某等级及以下）。"))
def add_cmd(
    rule: Annotated[str, typer.Option("--rule", help=_("要静默其预警的规则"))],
    until: Annotated[str, typer.Option("--until", help=_("结束时间：2026-12-05T18:00（北京时间）或 2h / 90m / 1d"))],
    reason: Annotated[str, typer.Option("--reason", help=_("原因（显示在被静默的预警上）"))],
    author: Annotated[str, typer.Option("--as", help=_("设置人的处置人员 id（其管辖范围须覆盖该区域）"))],
    region: Annotated[str | None, typer.Option("--region", help=_("区划代码：含其全部下级"))] = None,
    level: Annotated[str | None, typer.Option("--level", help=_("此级别及以下（不给则全部级别）"))] = None,
    category: Annotated[str | None, typer.Option("--category", help=_("记录类别或类型"))] = None,
    schedule: Annotated[str | None, typer.Option(
        "--schedule", help=_("周期：schedules 文件中的名称，或如 \"周一 09:00-11:00\"（北京时间）；"
                                   "只在周期内静默，直到 --until"))] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Silence a rule's warnings (in a region's subtree, at a level and below) until a set time."""
    from domain.regions import RegionCodeError, validate_code
    from domain.responders import ResponderDirectory
    from domain.schedules import ScheduleError, load_named_schedules, resolve_schedule
    from integrations.settings import get_settings
    from integrations.store.db import session_scope
    from integrations.store.silences import SilenceRefused, add_silence

    now = datetime.now(UTC)
    if level is not None and level not in LEVELS:
        fail(_("未知级别 {level}：--level 取 {known}").format(level=level, known=", ".join(LEVELS)))
    if region is not None:
        try:
            validate_code(region)
        except RegionCodeError:
            fail(_("区域代码 {region} 不正确：须为 12 或 15 位行政区划代码").format(region=region))
    if not reason.strip():
        fail(_("--reason 不能为空：写明静默的原因（会显示在被静默的预警上）"))
    try:
        end = parse_until(until, now)
    except ValueError as exc:
        fail(explain(exc))
    _check_rule(rule)
    settings = get_settings()
    spec = None
    if schedule is not None:
        try:
            spec = resolve_schedule(schedule, load_named_schedules(settings.schedules)).text()
        except ScheduleError as exc:
            fail(explain(exc))
    longest = (timedelta(days=settings.silence_max_recurring_days) if spec
               else timedelta(hours=settings.silence_max_hours))
    directory = ResponderDirectory.load(settings.responders)
    try:
        with session_scope(open_engine()) as session:
            row = add_silence(session, directory=directory, author=author, rule=rule, region=region, level=level,
                              category=category, until=end, reason=reason.strip(), now=now,
                              max_length=longest, schedule=spec)
    except SilenceRefused as exc:
        fail(_("拒绝设置静默：{reason}（已记入审计）").format(reason=explain(exc)))
    if as_json:
        print_json(_row_dict(row, now))
        return
    extra = (_("，类别 {category}").format(category=category) if category else "") + (
        _("，仅在 {schedule} 期间").format(schedule=spec) if spec else "")
    console.print(_("静默 #{id} 已设置：规则 {rule}，区域 {region}，级别 {level}{extra}，至 {until}。").format(
        id=row.id, rule=rule, region=region or _("全市"), level=level or _("全部"), extra=extra,
        until=_bj(row.until)), highlight=False)


@app.command("list", help=_("静默列表，最新的在前（除非给出 --all，只列未结束的）。"))
def list_cmd(
    include_ended: Annotated[bool, typer.Option("--all", help=_("也列出已结束的静默"))] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("每行一条 JSON，供脚本使用"))] = False,
) -> None:
    """Silences, newest first (only those not yet ended, unless ``--all``)."""
    from rich.table import Table
    from sqlmodel import Session

    from integrations.store.silences import list_silences

    now = datetime.now(UTC)
    with Session(open_engine()) as session:
        rows = list_silences(session, now=now, include_ended=include_ended)
    if as_json:
        for r in rows:
            print_json(_row_dict(r, now))
        return
    if not rows:
        console.print(_("没有静默。") if include_ended else _("没有生效中的静默。"))
        return
    table = Table(title=_("{n} 条静默").format(n=len(rows)))
    for name in ("id", "state", "rule", "region", "level", "category", "schedule", _("until（北京时间）"), "author",
                 "reason"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(str(r.id), _state(r, now), r.rule, r.region or _("全市"), r.level or _("全部"), r.category or "—",
                      r.schedule or "—", f"{r.until.astimezone(BEIJING):%m-%d %H:%M}", r.author, r.reason)
    console.print(table)


@app.command("show", help=_("一项静默及其当前压下的通知。"))
def show_cmd(
    silence_id: Annotated[int, typer.Argument(help=_("静默编号"))],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One silence and the notifications it holds now."""
    from sqlmodel import Session, col, select

    from integrations.store.models import OutboxRow
    from integrations.store.outbox_status import SILENCED
    from integrations.store.silences import SilenceRow

    now = datetime.now(UTC)
    with Session(open_engine()) as session:
        row = session.get(SilenceRow, silence_id)
        if row is None:
            fail(_("没有静默 #{id}：`fenghuo silence list --all` 列出全部").format(id=silence_id))
        held = [o for o in session.exec(select(OutboxRow).where(OutboxRow.status == SILENCED)
                                        .order_by(col(OutboxRow.id))) if o.payload.get("silence") == silence_id]
    if as_json:
        print_json(_row_dict(row, now) | {"held": [{"id": o.id, "idempotency_key": o.idempotency_key,
                                                    "warning_id": o.warning_id} for o in held]})
        return
    console.print(_("静默 #{id}（{state}）  规则 {rule}  区域 {region}  级别 {level}  类别 {category}").format(
        id=row.id, state=_state(row, now), rule=row.rule, region=row.region or _("全市"), level=row.level or _("全部"),
        category=row.category or _("全部")), highlight=False)
    console.print(_("  时间   {start} → {end}").format(start=_bj(row.starts_at), end=_bj(row.until)), highlight=False)
    if row.schedule:
        console.print(_("  周期   {schedule}（北京时间，仅在此期间静默）").format(schedule=row.schedule),
                      highlight=False)
    if row.expired_at:
        console.print(_("  已解除 {at}，由 {who}").format(at=_bj(row.expired_at), who=row.expired_by), highlight=False)
    console.print(_("  设置人 {author}   原因 {reason}").format(author=row.author, reason=row.reason), highlight=False)
    warnings = sorted({o.warning_id for o in held if o.warning_id is not None})
    console.print(_("  暂存通知 {n} 条").format(n=len(held)) + (_("（预警 {ids}）").format(
        ids=", ".join(f"#{w}" for w in warnings)) if held else ""), highlight=False)


@app.command("expire", help=_("立即结束一项静默；其压下的通知若对应预警仍未关闭，随下一轮投递各发送一次。"))
def expire_cmd(
    silence_id: Annotated[int, typer.Argument(help=_("静默编号"))],
    author: Annotated[str | None, typer.Option("--as", help=_("解除人的处置人员 id（默认：系统管理员）"))]
    = None,
) -> None:
    """End a silence now; the notifications it held go out with the next delivery sweep (once each) if their
    warning is still open."""
    from domain.responders import ResponderDirectory
    from integrations.settings import get_settings
    from integrations.store.db import session_scope
    from integrations.store.silences import expire_silence, release_held

    now = datetime.now(UTC)
    if author is not None and ResponderDirectory.load(get_settings().responders).responder(author) is None:
        fail(_("未知的处置人员 {author}：--as 须为处置人员名录中的 id").format(author=author))
    with session_scope(open_engine()) as session:
        row = expire_silence(session, silence_id, actor=author or "cli:admin", now=now)
        if row is None:
            fail(_("没有静默 #{id}：`fenghuo silence list --all` 列出全部").format(id=silence_id))
        counts = release_held(session, now=now)
    console.print(_("静默 #{id} 已解除。放行通知 {released} 条（下一次投递发出），"
                    "预警已办结无需发送 {not_needed} 条。").format(
        id=silence_id, released=counts["released"], not_needed=counts["not_needed"]), highlight=False)
