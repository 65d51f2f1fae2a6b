"""Operations commands: ``demo``, ``run``, ``serve``. These orchestrate flows and import Prefect lazily."""

from __future__ import annotations

from typing import Annotated

import typer

from integrations.i18n import _, explain


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    app.command("demo", help=_("模拟各部门系统 → 一个月的预警，逐级派发并通知；最后给出汇总。"))(demo_cmd)
    app.command("serve", help=_(
            "在本机按计划运行全部部署（启动本地 Prefect 服务器）。\n"
            "\n"
            "除非给出 --dev，按生产环境运行：使用开发用或过短的密钥时拒绝启动。第一次 Ctrl-C 或 SIGTE"
            "RM 在 10 秒内停止（先停服务，再停服务器）；第二次强制停止。"))(serve_cmd)


def demo_cmd(
    days: Annotated[int, typer.Option(help=_("模拟天数"))] = 30,
    seed: Annotated[int, typer.Option(help=_("模拟器随机种子（种子相同，模拟的月份相同）"))] = 20260105,
    rounds: Annotated[int, typer.Option(help=_("一个月内运行流水线的次数"))] = 6,
) -> None:
    """Simulated departmental systems → a month of warnings, routed and notified; then a summary."""
    from flows.console import fail
    from flows.demo import run_demo

    try:
        run_demo(days=days, seed=seed, rounds=rounds)
    except RuntimeError as exc:
        if "Prefect API server" not in str(exc):
            raise
        # Prefect's temporary server did not answer within its start-up time (a loaded machine).
        fail(_("演示所用的本地 Prefect 服务器未能在时限内启动（机器负载过高？）；请稍后重试，或设置 "
               "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS 为更长的秒数"))


def serve_cmd(
    port: Annotated[int, typer.Option(help=_("本地 Prefect 服务器的端口（127.0.0.1）"))] = 4200,
    ingest_every: Annotated[int, typer.Option(help=_("每个数据源两次采集之间的秒数"))] = 300,
    watch_every: Annotated[int, typer.Option(help=_("两次时限巡查之间的秒数"))] = 60,
    dev: Annotated[bool, typer.Option("--dev", help=_("开发模式：允许使用开发用密钥"))] = False,
    demo: Annotated[bool, typer.Option("--demo", help=_("同时启动演示所用的模拟器（隐含 --dev）"))]
    = False,
) -> None:
    """Run every deployment on its schedule on this machine (starts a local Prefect server).

    Production unless --dev: refuses to start with development or short secrets. The first Ctrl-C or
    SIGTERM stops it (serving first, then the server) within 10 s; a second one forces.
    """
    from flows.console import console, fail
    from flows.serve import serve_all
    from integrations.prefect_server import PrefectServerError
    from integrations.settings import InsecureSettingsError, get_settings

    try:
        serve_all(get_settings().home / "prefect", port=port, ingest_every_s=ingest_every,
                  watch_every_s=watch_every, dev=dev, demo=demo,
                  say=lambda s: console.print(s, highlight=False))
    except (PrefectServerError, InsecureSettingsError) as exc:
        fail(explain(exc))
    except KeyboardInterrupt:  # stopped while still starting; what had started is stopped
        raise typer.Exit(130) from None
