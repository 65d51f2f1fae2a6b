"""A local Prefect server on 127.0.0.1, started and stopped by Fenghuo (``fenghuo serve``, tests).

Schedules never fire on Prefect's temporary (ephemeral) server, so serving deployments needs a real
``prefect server start``. We start it as a child process with its own PREFECT_HOME (its SQLite database
lives there), wait until ``/api/health`` answers, and stop it after whatever served against it.

Errors: :class:`PrefectServerError` says what went wrong and what to do next; httpx errors stay here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from integrations.settings import child_env


class PrefectServerError(RuntimeError):
    """The local Prefect server did not start or answer."""


@dataclass
class PrefectServer:
    """A running local Prefect server."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def api_url(self) -> str:
        """The API URL clients use (PREFECT_API_URL)."""
        return f"{self.url}/api"

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server: terminate, then kill if it does not exit in ``timeout`` seconds."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_prefect_server(
    home: Path, *, port: int = 4200, timeout: float = 90.0, extra_env: dict[str, str] | None = None
) -> PrefectServer:
    """Start ``prefect server start`` on 127.0.0.1:``port`` with PREFECT_HOME=``home``; wait for health."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    url = f"http://127.0.0.1:{port}"
    env = child_env(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_API_URL=f"{url}/api",
        PREFECT_UI_ENABLED="true",
        **(extra_env or {}),
    )
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    server = PrefectServer(process, url, log_path)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PrefectServerError(
                    f"the Prefect server exited with code {process.returncode}; see {log_path} "
                    f"(is port {port} already taken? choose another with --port)")
            try:
                if client.get(f"{url}/api/health").status_code == 200:
                    return server
            except httpx.HTTPError:
                pass  # not up yet
            time.sleep(0.5)
    server.stop()
    raise PrefectServerError(f"the Prefect server did not answer on {url} within {timeout:.0f}s; see {log_path}")
