"""``fenghuo grid report``: a grid worker's field report (事件上报) from the command line (never starts Prefect).

The report enters as a ``grid_report`` record of the source ``grid-reports`` through the same path as a
department's records (:mod:`integrations.grid_reports`): validated, pseudonymised, quarantined with its
reason if bad, idempotent by its id. ``--as`` names a workspace account (``fenghuo users add``); the grid
must lie within its responder's jurisdiction, else the report is refused and the refusal audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain
from integrations.wording import worded

app = typer.Typer(help=_("网格工作：网格员事件上报。"), no_args_is_help=True)


def _when(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(_("--at {text!r} 不是时间；请写成 2026-04-01T10:00:00+08:00").format(text=text))
    if at.tzinfo is None:
        fail(_("--at {text!r} 缺少时区；请写成 2026-04-01T10:00:00+08:00（北京时间）").format(text=text))
    return at


@app.command("report", help=_("上报本人网格内发现的事件：它像部门数据一样成为规则研判的记录。"))
def report_cmd(
    kind: Annotated[str, typer.Option("--kind", help=_("事件类型：dispute 矛盾纠纷 | petition_risk 信访苗头 | "
                                                      "safety_hazard 安全隐患 | gathering 群体聚集 | "
                                                      "care_need 关爱需求 | other 其他"))],
    grid: Annotated[str, typer.Option("--grid", help=_("事件所在的 15 位网格编码"))],
    people: Annotated[int, typer.Option("--people", help=_("涉及人数"))],
    text: Annotated[str, typer.Option("--text", help=_("所见情况（身份证号、手机号会自动打码）"))],
    user: Annotated[str, typer.Option("--as", help=_("您的工作台账号（fenghuo users list）"))],
    at: Annotated[str | None, typer.Option("--at", help=_("发现时间，ISO 8601 并带时区（默认：现在）"))] = None,
    report_id: Annotated[str | None, typer.Option(
        "--id", help=_("您为本次上报自定的编号（用同一编号重发不会重复入库）"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("以 JSON 输出结果"))] = False,
) -> None:
    """Report a matter seen in your grid: it becomes a record the rules see, like a department's."""
    from sqlmodel import Session

    from domain.regions import RegionDirectory
    from domain.responders import ResponderDirectory
    from integrations.grid_reports import MATTERS, FieldReport, ReportRefused, submit_report
    from integrations.ingest.run import load_kinds
    from integrations.settings import get_settings
    from integrations.store.users import get_account

    settings = get_settings()
    now = datetime.now(UTC)
    engine = open_engine()
    with Session(engine) as s:
        account = get_account(session=s, username=user)
    if account is None or account.disabled:
        fail(_("账号 {user!r} 不存在或已停用；请用 fenghuo users list 查看，或请管理员开通").format(user=user))
    person = ResponderDirectory.load(settings.responders).responder(account.responder_id)
    if person is None:
        fail(_("账号 {user!r} 对应的责任人 {responder} 不在责任人名录中；请联系系统管理员").format(
            user=user, responder=account.responder_id))
    directory = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    report = FieldReport(matter=kind, grid=grid.strip(), people=people, text=text, at=_when(at, now))
    try:
        outcome = submit_report(engine, report, reporter=user, actor=person.id, node=person.node,
                                kinds=load_kinds(settings.rulebook), key=settings.pseudonym_key.get_secret_value(),
                                now=now, via="cli", token=report_id, known_regions=directory or None)
    except ReportRefused as exc:
        fail(explain(exc))
    if as_json:
        print_json({"id": outcome.id, "status": outcome.status, "reason": worded(outcome.reason)})
    elif outcome.status == "stored":
        matter = _(MATTERS[kind]) if kind in MATTERS else kind
        console.print(_("已上报{matter}，编号 {id}").format(matter=matter, id=outcome.id), highlight=False)
    elif outcome.status == "duplicate":
        console.print(_("此事件已上报过，未重复入库，编号 {id}").format(id=outcome.id), highlight=False)
    else:
        console.print(_("上报内容有误，已隔离：{reason}；请修改后重新上报。隔离记录见 "
                        "`fenghuo quarantine list --source grid-reports`").format(reason=worded(outcome.reason)),
                      highlight=False, soft_wrap=True)
        raise typer.Exit(1)
