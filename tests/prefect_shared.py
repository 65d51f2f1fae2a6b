"""One Prefect API server for all the test processes (pytest-xdist workers) of a run.

Each worker that runs a flow would otherwise start a test harness of its own: a server process that imports
Prefect's server and migrates a fresh database, some ten seconds of CPU and, on a loaded two-core machine,
half a minute to a minute of waiting. The first worker to need one starts it here (under a file lock in the
run's shared temporary folder); the others find it there and use it. It is what Prefect's harness runs (the
server app as an ephemeral server: no UI, the services a temporary server runs, a SQLite database of its
own), in a session of its own so that it outlives the worker that started it; it watches the run's
controller process (the workers' parent) and leaves within a second of it, however the run ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

_SERVER = """
import os, sys, threading, time

controller, port = int(sys.argv[1]), int(sys.argv[2])


def watch() -> None:
    while True:
        try:
            os.kill(controller, 0)
        except ProcessLookupError:
            os._exit(0)
        time.sleep(0.5)


threading.Thread(target=watch, daemon=True).start()
import uvicorn
from prefect.server.api.server import create_app

uvicorn.run(create_app(final=True, ephemeral=True), host="127.0.0.1", port=port, log_level="error")
"""

_LAUNCH = """
import subprocess, sys

with open(sys.argv[1], "ab") as log:
    server = subprocess.Popen([sys.executable, "-c", sys.argv[2], *sys.argv[3:]], stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
print(server.pid)
"""
"""Starts the server and leaves at once: the server is nobody's child in the test process (a running child
there would be a ResourceWarning when its Popen is collected, an error under ``filterwarnings = error``)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_api_url(root: Path, controller: int, timeout: float = 180.0) -> str:
    """The API URL of the run's shared server in ``root`` (a folder every worker of the run sees), started
    now if no live one answers there; it stops by itself once ``controller`` (a pid) is gone."""
    state = root / "prefect-api.json"
    with _locked(root / "prefect-api.lock"):
        if state.exists():
            url = json.loads(state.read_text(encoding="utf-8"))["url"]
            if _healthy(url):
                return str(url)
        port = _free_port()
        url = f"http://127.0.0.1:{port}/api"
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root / 'prefect-api.db'}"}
        env.pop("PREFECT_API_URL", None)
        log = root / "prefect-api.log"
        launched = subprocess.run([sys.executable, "-c", _LAUNCH, str(log), _SERVER, str(controller), str(port)],
                                  env=env, capture_output=True, text=True, check=True, timeout=60)
        pid = int(launched.stdout)
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if not _alive(pid) or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                said = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the shared Prefect server did not start: {said}")
            time.sleep(0.2)
        state.write_text(json.dumps({"url": url, "pid": pid}), encoding="utf-8")
        return url
