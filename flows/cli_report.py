"""``fenghuo report``: make the daily situation report (日报) on demand, or with ``--period week|month``
the 考核 report of a week or month (:mod:`flows.cli_kaohe`).

Calls :func:`integrations.report.make.make_report` directly: it never imports or starts Prefect, and it
queues nothing (the scheduled ``report_situation`` flow delivers to the city tier).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from flows.console import console, err_console, fail, open_engine, print_json, report_errors
from integrations.i18n import _, explain


def report_cmd(
    date: Annotated[str | None, typer.Option(
        "--date", help=_(
                "报告日期，北京时间 YYYY-MM-DD。默认：今天（与 --period 同用时：该周期内的任一天；默认"
                "上一个完整的周或月）。"))] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help=_("存放 Markdown、HTML 与图表的目录。默认：FENGHUO_HOME/reports。"))] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help=_("以 JSON 输出各项数字与文件路径。"))] = False,
    period: Annotated[str, typer.Option(
        "--period", help=_(
                "day：日报；week 或 month：包含 --date 的 ISO 周或自然月的考核报告（HTML、Excel、图表"
                "）。"))] = "day",
) -> None:
    """Make the situation report of a day (Markdown, HTML, SVG charts), or the 考核 report of a period."""
    if period not in ("day", "week", "month"):
        fail(_("未知的周期 {period}：请用 day、week 或 month").format(period=repr(period)))
    if period != "day":
        from flows.cli_kaohe import kaohe_cmd

        kaohe_cmd(period, date, out, as_json)
        return

    from domain.beijing import BEIJING
    from integrations.report.make import make_report, parse_day
    from integrations.settings import get_settings

    now = datetime.now(BEIJING)
    try:
        day = parse_day(date, now=now)
    except ValueError as exc:
        fail(explain(exc))
    if day > now.date():
        fail(_("{day} 尚未到来（今天是北京时间 {today}）").format(day=f"{day:%Y-%m-%d}", today=f"{now:%Y-%m-%d}"))
    folder = out or get_settings().home / "reports"
    engine = open_engine()
    # The status goes to stderr, so `--json` output on stdout stays clean for scripts.
    with err_console.status(_("正在生成 {day} 的日报…").format(day=f"{day:%Y-%m-%d}")) as status, report_errors(folder):
        files = make_report(engine, day, folder, now=now,
                            progress=lambda step: status.update(f"{day:%Y-%m-%d}: {step}…"))
    report = files.report
    if as_json:
        from domain.situation.jsonable import report_to_dict

        print_json({"day": day.isoformat(), "markdown": str(files.markdown_path),
                    "html": str(files.html_path), "charts": [str(p) for p in files.charts],
                    "report": report_to_dict(report) if report else None})
        return
    if report is not None:
        from integrations.report.text import headline

        console.print("[bold]" + _(
                "烽火 日报 {day}").format(day=f"{day:%Y-%m-%d}") + f"[/]  {headline(report)}", highlight=False,
                      soft_wrap=True)
    console.print(f"Markdown  {files.markdown_path}", highlight=False, soft_wrap=True)
    console.print(f"HTML      {files.html_path}", highlight=False, soft_wrap=True)
    for chart in files.charts:
        console.print(_("图表      {path}").format(path=chart), highlight=False, soft_wrap=True)
