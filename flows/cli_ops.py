"""Operations commands: ``demo``, ``run``, ``serve``. These orchestrate flows and import Prefect lazily."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    app.command("demo")(demo_cmd)
    app.command("serve")(serve_cmd)


def demo_cmd(
    days: Annotated[int, typer.Option(help="simulated days")] = 30,
    seed: Annotated[int, typer.Option(help="simulator seed (same seed, same month)")] = 20260105,
    rounds: Annotated[int, typer.Option(help="pipeline runs over the month")] = 6,
) -> None:
    """Simulated departmental systems → a month of warnings, routed and notified; then a summary."""
    from flows.demo import run_demo

    run_demo(days=days, seed=seed, rounds=rounds)


def serve_cmd(
    port: Annotated[int, typer.Option(help="port of the local Prefect server (127.0.0.1)")] = 4200,
    ingest_every: Annotated[int, typer.Option(help="seconds between ingests of each source")] = 300,
    watch_every: Annotated[int, typer.Option(help="seconds between SLA watches")] = 60,
) -> None:
    """Run every deployment on its schedule on this machine (starts a local Prefect server)."""
    from flows.console import console, fail
    from flows.serve import serve_all
    from integrations.prefect_server import PrefectServerError
    from integrations.settings import get_settings

    try:
        serve_all(get_settings().home / "prefect", port=port, ingest_every_s=ingest_every,
                  watch_every_s=watch_every,
                  say=lambda s: console.print(s, highlight=False))
    except PrefectServerError as exc:
        fail(str(exc))
