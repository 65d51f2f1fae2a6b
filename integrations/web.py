"""The responders' web endpoint: one-click action links and the CAP feed, served by uvicorn in a thread.

``fenghuo serve`` runs it beside the scheduled flows, on the port of ``settings.public_base_url``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from integrations.settings import Settings


@dataclass
class WebServer:
    """A running uvicorn server in a daemon thread."""

    server: object
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout=timeout)


def start_web(engine: sa.Engine, settings: Settings, *, host: str = "127.0.0.1") -> WebServer:
    """Serve the actions API (and the CAP feed when its token is set) on ``public_base_url``'s port."""
    import time

    import uvicorn

    from integrations.actions_api import create_app

    port = urlsplit(settings.public_base_url).port or 80
    config = uvicorn.Config(create_app(engine, settings), host=host, port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fenghuo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return WebServer(server, thread, f"http://{host}:{port}")
