"""The ``fenghuo`` command.

Commands that need no orchestration (rules, backtest, warnings, notifications, quarantine, assess) call
plain functions and never import Prefect: they answer in well under a second. ``demo``, ``run`` and
``serve`` orchestrate flows and import Prefect lazily, when they start.
"""

from __future__ import annotations

import typer

from flows import (
    cli_deliver,
    cli_evaluate,
    cli_notifications,
    cli_ops,
    cli_quarantine,
    cli_records,
    cli_register,
    cli_report,
    cli_rules,
    cli_silence,
    cli_sources,
    cli_tasks,
    cli_warnings,
)
from flows.cli_grid import app as grid_app
from flows.cli_library_text import localise
from flows.cli_users import app as users_app
from integrations.i18n import _

localise()  # Click's and Typer's own words ("Usage:", "Options"…) in the language in force

app = typer.Typer(
    name="fenghuo",
    help=_("烽火 — 社会稳定风险预警：规则、预警、逐级上报、社会稳定风险评估。"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _settings_first() -> None:
    # Bad settings (an unknown FENGHUO_LANG…) are refused in one line before any command, not as a traceback.
    from flows.console import fail
    from integrations.i18n import translate
    from integrations.settings import settings_problem

    problem = settings_problem()
    if problem:
        fail(translate(problem))
    localise()  # again, now that the settings are known good (a test may have changed the language)


app.add_typer(cli_rules.app, name="rules")
app.add_typer(cli_warnings.app, name="warnings")
app.command("backtest", help=_(
        "研判记录但不写入存储、不发通知；列出会产生的预警（给出 --compare OLD 时：列出 OLD 与 --rules"
        " 之间有差异的预警）。"))(cli_rules.backtest_cmd)
app.command("evaluate", help=_("按各数据源水位线的放行进度，用规则研判已存储的记录。"))(cli_evaluate.evaluate_cmd)
cli_ops.register(app)
app.command("report", help=_(
    "生成一天的情况日报（Markdown、HTML、SVG 图表），或一个周期的考核报告。"))(cli_report.report_cmd)
app.add_typer(cli_notifications.app, name="notifications")
app.add_typer(cli_silence.app, name="silence")
app.command("deliver", help=_(
        "时限巡查（升级、提醒、逾期），放行已结束静默期所压下的通知，并发送到期的通知——运行一轮，不启"
        "动 Prefect。"))(cli_deliver.deliver_cmd)
app.add_typer(cli_quarantine.app, name="quarantine")
app.add_typer(cli_sources.app, name="sources")
app.add_typer(cli_records.app, name="records")
app.add_typer(users_app, name="users")
app.add_typer(cli_register.app, name="register")
app.add_typer(grid_app, name="grid")
app.add_typer(cli_tasks.app, name="tasks")


def _mount_optional() -> None:
    """Mount sub-apps that live in their own modules (assessment, quarantine, notifications)."""
    try:
        from flows.assess_cli import app as assess_app
    except ImportError:  # pragma: no cover - the assessment module ships with the product
        return
    app.add_typer(assess_app, name="assess", help=_("社会稳定风险评估：重大决策出台前评估其风险。"))


_mount_optional()

if __name__ == "__main__":  # pragma: no cover
    app()
