"""``fenghuo deliver --once``: one round of the escalation watch (SLA watch, end of silences, delivery)
without Prefect, then exit: 0 when the round ran (failed sends are retried by a later round and listed by
``fenghuo notifications list --failed``), 1 with one line saying what to check when it could not run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain


def deliver_cmd(
    once: Annotated[bool, typer.Option("--once", help=_("运行一轮后退出（目前唯一的方式）"))] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("以一个 JSON 对象输出各项计数"))] = False,
) -> None:
    """SLA watch (escalate, remind, overdue), release the notifications of ended silences, and send what
    is due — once, without Prefect."""
    import sqlalchemy as sa
    from pydantic import ValidationError

    from flows.context import RoutingContext, reminders_for
    from integrations.delivery import run_round
    from integrations.notify.registry import build_channels
    from integrations.notify.templates import TemplateFileError
    from integrations.settings import InsecureSettingsError, get_settings

    if not once:
        fail(_("请加 --once 执行一轮投递；持续的定时投递由 `fenghuo serve` 负责"))
    try:
        settings = get_settings()
        settings.require_safe_for("development")
        context = RoutingContext.load(settings)
        channels = build_channels(settings)
    except InsecureSettingsError as exc:
        fail(_("配置不安全，未投递：{reason}").format(reason=explain(exc)))
    except TemplateFileError as exc:
        fail(_("消息模板有误，未投递：\n{errors}").format(errors=explain(exc)))
    except (OSError, ValidationError, ValueError) as exc:
        fail(_("无法读取升级策略、处置人员名录或区域目录：{reason}。请检查 FENGHUO_ESCALATION、FENGHUO_RESPONDERS、"
               "FENGHUO_REGIONS 指向的文件（`fenghuo rules check` 不检查它们）").format(reason=explain(exc)))
    engine = open_engine()
    try:
        report = run_round(engine, channels, policy=context.policy, directory=context.directory,
                           regions=context.regions, now=datetime.now(UTC),
                           reminders=reminders_for(settings, context), templates=context.templates,
                           links=context.link_maker())
    except sa.exc.SQLAlchemyError as exc:
        fail(_("投递中断（数据库错误：{error}）；已提交的部分有效，重新运行 `fenghuo deliver --once` "
               "会从中断处继续，同一通知不会重复发送给接收方（相同幂等键）").format(error=type(exc).__name__))
    if as_json:
        print_json(report.as_dict())
        return
    d = report.delivered
    console.print(_("本轮：超时升级/提醒 {escalated} 项；静默或抑制结束放行 {released} 条，"
                    "预警已办结无需发送 {not_needed} 条，仍暂缓（静默或抑制） {held} 条，"
                    "静默即将结束提醒 {reminded} 条；"
                    "发送成功 {sent} 条，失败待重试 {failed} 条，放弃 {dead} 条。").format(
        escalated=report.escalated, released=report.released, not_needed=report.not_needed,
        held=report.still_silenced, reminded=report.reminded, sent=d["sent"], failed=d["failed"], dead=d["dead"]),
        highlight=False)
    if d["failed"] or d["dead"]:
        console.print(_("失败的通知见 `fenghuo notifications list --failed`；放弃的可用 "
                        "`fenghuo notifications retry` 重新排队。"), highlight=False)
