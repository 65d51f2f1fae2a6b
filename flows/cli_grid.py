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
from integrations.i18n import explain

app = typer.Typer(help="网格工作: field reports (事件上报) by grid workers.", no_args_is_help=True)


def _when(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} 不是时间；请写成 2026-04-01T10:00:00+08:00")
    if at.tzinfo is None:
        fail(f"--at {text!r} 缺少时区；请写成 2026-04-01T10:00:00+08:00（北京时间）")
    return at


@app.command("report")
def report_cmd(
    kind: Annotated[str, typer.Option("--kind", help="dispute 矛盾纠纷 | petition_risk 信访苗头 | safety_hazard "
                                      "安全隐患 | gathering 群体聚集 | care_need 关爱需求 | other 其他")],
    grid: Annotated[str, typer.Option("--grid", help="the 15-digit grid code where it is")],
    people: Annotated[int, typer.Option("--people", help="how many people are involved")],
    text: Annotated[str, typer.Option("--text", help="what was seen (ID and phone numbers are masked)")],
    user: Annotated[str, typer.Option("--as", help="your workspace account (fenghuo users list)")],
    at: Annotated[str | None, typer.Option("--at", help="when it was seen, ISO 8601 with zone (default: now)")] = None,
    report_id: Annotated[str | None, typer.Option(
        "--id", help="your own id for the report (a resend with it stores nothing new)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON")] = False,
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
        fail(f"账号 {user!r} 不存在或已停用；请用 fenghuo users list 查看，或请管理员开通")
    person = ResponderDirectory.load(settings.responders).responder(account.responder_id)
    if person is None:
        fail(f"账号 {user!r} 对应的责任人 {account.responder_id} 不在责任人名录中；请联系系统管理员")
    directory = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    report = FieldReport(matter=kind, grid=grid.strip(), people=people, text=text, at=_when(at, now))
    try:
        outcome = submit_report(engine, report, reporter=user, actor=person.id, node=person.node,
                                kinds=load_kinds(settings.rulebook), key=settings.pseudonym_key.get_secret_value(),
                                now=now, via="cli", token=report_id, known_regions=directory or None)
    except ReportRefused as exc:
        fail(explain(exc))
    if as_json:
        print_json({"id": outcome.id, "status": outcome.status, "reason": outcome.reason})
    elif outcome.status == "stored":
        console.print(f"已上报（stored）{MATTERS.get(kind, kind)}，编号 {outcome.id}", highlight=False)
    elif outcome.status == "duplicate":
        console.print(f"此事件已上报过，未重复入库（duplicate），编号 {outcome.id}", highlight=False)
    else:
        console.print(f"上报内容有误，已隔离（quarantined）：{outcome.reason}；请修改后重新上报。"
                      "隔离记录见 `fenghuo quarantine list --source grid-reports`", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
