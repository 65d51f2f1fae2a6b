"""``fenghuo serve``: every deployment on its schedule, on one machine (the embedded default).

Starts a local Prefect server on 127.0.0.1 (schedules never fire on the temporary server), serves the
deployments of :mod:`flows.deployments` against it with ``prefect.serve``, and on Ctrl-C stops the
serving first and the server last, so no run is left talking to a server that is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from flows.deployments import SOURCES, deployment_specs, to_deployments
from integrations.prefect_server import start_prefect_server


def serve_all(
    home: Path,
    *,
    port: int = 4200,
    sources: tuple[str, ...] | None = None,
    ingest_every_s: int = 300,
    watch_every_s: int = 60,
    say: Callable[[str], None] = print,
) -> None:
    """Start the server, serve all deployments until interrupted, then stop both (serving first)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    specs = deployment_specs(sources or SOURCES, ingest_every_s, watch_every_s)
    from flows.store import store_engine
    from integrations.settings import get_settings
    from integrations.web import start_web

    say(f"starting a local Prefect server on 127.0.0.1:{port} (its data in {home}) …")
    server = start_prefect_server(home, port=port)
    web = None
    try:
        say(f"Prefect UI: {server.url}  — every run shows there")
        web = start_web(store_engine(), get_settings())
        say(f"responders' links and CAP feed: {web.url}")
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            import prefect

            deployments = to_deployments(specs)
            for spec in specs:
                say(f"  serving {spec.name:<22} {spec.when:<18} Asia/Shanghai  {spec.parameters or ''}")
            say("press Ctrl-C to stop (serving stops first, then the server)")
            # prefect.serve returns on Ctrl-C once its runner has shut down (or raises it through).
            with contextlib.suppress(KeyboardInterrupt):
                prefect.serve(*deployments, print_starting_message=False)
            say("serving stopped")
    finally:
        if web is not None:
            web.stop()
        server.stop()
        say("Prefect server stopped")
