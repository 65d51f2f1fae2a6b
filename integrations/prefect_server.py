"""A local Prefect server on 127.0.0.1, started and stopped by Fenghuo (``fenghuo serve``, tests).

Schedules never fire on Prefect's temporary (ephemeral) server, so serving deployments needs a real
``prefect server start``. We start it as a child process with its own PREFECT_HOME (its SQLite database
lives there), wait until ``/api/health`` answers, and stop it after whatever served against it.

Never orphaned: on Linux the server child asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``), kill -9 of the parent included; :func:`guard_temporary_server` does the same for
the temporary server Prefect starts by itself when no server is configured (the demo, ``fenghuo run``).
The server runs in a session of its own, so a Ctrl-C at the terminal reaches ``serve`` alone, which
stops the serving first and the server last. A port already taken is refused before anything starts.

Errors: :class:`PrefectServerError` says what went wrong and what to do next; httpx errors stay here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.abc
import importlib.machinery
import importlib.util
import os
import signal
import socket
import subprocess  # nosec B404  # starts Prefect's own server: a fixed command, no shell
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType

import httpx

from domain.messages import N_, Message
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

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: terminate, then kill if it does not exit in ``timeout`` seconds."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # SIGKILL ends it at once; a short wait reaps it
            self.process.wait(timeout=min(timeout, 1.0))

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when the process that started it dies
    (Linux ``prctl(PR_SET_PDEATHSIG)``); ``None`` where there is no such call (then stop it yourself)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect: no signal would come
            os.kill(os.getpid(), sig)

    return preexec


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # No SO_REUSEADDR: a port held by another listener must fail here as it would for the server.
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(port: int, what: str, option: str, host: str = "127.0.0.1") -> None:
    """Raise :class:`PrefectServerError` (in Chinese, with what to do) if ``host:port`` is taken."""
    if port_taken(port, host):
        raise PrefectServerError(Message(N_(
            "端口 {host}:{port} 已被占用，无法启动{what}：请先停止占用它的进程（如另一个 fenghuo serve；"
            "可用 ss -ltnp 'sport = :{port}' 查看），或用 {option} 换一个端口。"), host=host, port=port, what=what,
            option=option))


_TEMPORARY_SERVER_MODULE = "prefect.server.api.server"


def guard_temporary_server() -> None:
    """Make the temporary server Prefect starts by itself die with this process, kill -9 included.

    Prefect starts it with ``subprocess.Popen`` from :mod:`prefect.server.api.server` and stops it only
    at a normal exit (atexit); after a kill -9 it would run on, reparented. This gives that module's
    ``Popen`` calls :func:`die_with_parent` — when it is imported, as that import takes seconds and most
    runs never need it. Idempotent; a no-op off Linux.
    """
    if die_with_parent() is None:
        return
    module = sys.modules.get(_TEMPORARY_SERVER_MODULE)
    if module is not None:
        _guard_module(module)
    elif not any(isinstance(f, _GuardOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _GuardOnImport())


def _guard_module(module: ModuleType) -> None:
    if not isinstance(getattr(module, "subprocess", None), _DyingChildren):
        module.subprocess = _DyingChildren()  # type: ignore[attr-defined]


class _GuardOnImport(importlib.abc.MetaPathFinder):
    """Guards :mod:`prefect.server.api.server` right after it is executed, then steps aside."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != _TEMPORARY_SERVER_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader, execute = spec.loader, spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _guard_module(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class _DyingChildren:
    """``subprocess`` as :mod:`prefect.server.api.server` sees it: every ``Popen`` dies with its parent."""

    def __getattr__(self, name: str) -> object:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        """``subprocess.Popen`` with :func:`die_with_parent` (called in the thread that starts it)."""
        kwargs.setdefault("preexec_fn", die_with_parent())
        return subprocess.Popen(*args, **kwargs)  # type: ignore[call-overload, no-any-return]  # nosec B603  # a fixed argv of our interpreter and Prefect; no shell, no user text


def start_prefect_server(
    home: Path, *, port: int = 4200, timeout: float = 180.0, extra_env: dict[str, str] | None = None
) -> PrefectServer:
    """Start ``prefect server start`` on 127.0.0.1:``port`` with PREFECT_HOME=``home``; wait for health.

    The port is checked first (another server answering there would otherwise be taken for ours); the
    server dies with this process and ignores the terminal's Ctrl-C (its own session): stop it with
    :meth:`PrefectServer.stop`.
    """
    require_free_port(port, "Prefect 服务器", "--port")
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
    process = subprocess.Popen(  # nosec B603  # a fixed argv of our interpreter and Prefect; no shell, no user text
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=die_with_parent(),
    )
    server = PrefectServer(process, url, log_path)
    try:
        _wait_healthy(server, port, timeout)
    except BaseException:  # not up, or interrupted while waiting: never leave it behind
        server.stop()
        raise
    return server


def _wait_healthy(server: PrefectServer, port: int, timeout: float) -> None:
    process, url, log_path = server.process, server.url, server.log_path
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PrefectServerError(Message(N_(
                    "Prefect 服务器启动失败（退出码 {code}）：请查看日志 {log}；"
                    "若端口 {port} 被占用，请用 --port 换一个端口。"),
                    code=process.returncode, log=log_path, port=port))
            try:
                if client.get(f"{url}/api/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not up yet
            time.sleep(0.5)
    raise PrefectServerError(Message(N_("Prefect 服务器在 {seconds} 秒内未在 {url} 应答：请查看日志 {log}，"
                                        "机器繁忙时稍后重试。"),
                                     seconds=f"{timeout:.0f}", url=url, log=log_path))
