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
    dev: Annotated[bool, typer.Option("--dev", help="development: allow the development secrets")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="also start the simulator the demo pulls (implies --dev)")]
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
        fail(str(exc))
    except KeyboardInterrupt:  # stopped while still starting; what had started is stopped
        raise typer.Exit(130) from None
