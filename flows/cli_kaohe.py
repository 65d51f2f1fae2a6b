"""``fenghuo report --period week|month``: make the 考核 report of a week or a month on demand.

Called by :func:`flows.cli_report.report_cmd` when ``--period`` is week or month; calls
:func:`integrations.report.kaohe_make.make_kaohe_files` directly (no Prefect).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flows.console import console, err_console, fail, open_engine, print_json, report_errors
from integrations.i18n import _, explain


def kaohe_cmd(period: str, date: str | None, out: Path | None, as_json: bool) -> None:
    """The 考核 report of the week or month containing ``date`` (default: the last complete one)."""

    from domain.beijing import BEIJING
    from domain.kaohe.period import PeriodKind, last_complete, period_containing
    from integrations.report.kaohe_make import load_kaohe_config, make_kaohe_files
    from integrations.report.kaohe_text import period_label, report_dict
    from integrations.report.make import parse_day
    from integrations.settings import get_settings

    kind: PeriodKind = "week" if period == "week" else "month"
    now = datetime.now(BEIJING)
    try:
        span = period_containing(kind, parse_day(date)) if date else last_complete(kind, now)
        config = load_kaohe_config()
    except ValueError as exc:
        fail(_("{reason}；请修正后重试").format(reason=explain(exc)))
    if span.first > now.date():
        fail(_("{period} 尚未开始（今天是北京时间 {today}）").format(period=period_label(span),
                                                                 today=f"{now:%Y-%m-%d}"))
    folder = out or get_settings().home / "reports"
    engine = open_engine()
    with err_console.status(_(
            "正在生成 {period} 的考核报告…").format(period=span.slug)) as status, report_errors(folder):
        files = make_kaohe_files(engine, span, folder, now=now, config=config,
                                 progress=lambda step: status.update(f"{span.slug}: {step}…"))
    if as_json:
        print_json({"period": span.slug, "html": str(files.html_path), "xlsx": str(files.xlsx_path),
                    "charts": [str(p) for p in files.charts], "report": report_dict(files.report)})
        return
    unit = _("周") if span.kind == "week" else _("月")
    console.print("[bold]" + _("烽火 考核{kind}报 {period}").format(kind=unit, period=period_label(span)) + "[/]",
                  highlight=False, soft_wrap=True)
    for tier_name, ranked in ((_("区县"), files.report.districts), (_("街道"), files.report.streets)):
        scored = [r for r in ranked if r.score is not None]
        if scored:
            console.print(_("{tier}  第一 {first} {first_score}  末位 {last} {last_score}").format(
                tier=tier_name, first=scored[0].figures.name, first_score=f"{scored[0].score:.1f}",
                last=scored[-1].figures.name, last_score=f"{scored[-1].score:.1f}"), highlight=False)
    console.print(f"HTML      {files.html_path}", highlight=False, soft_wrap=True)
    console.print(f"Excel     {files.xlsx_path}", highlight=False, soft_wrap=True)
    for chart in files.charts:
        console.print(_("图表      {path}").format(path=chart), highlight=False, soft_wrap=True)
