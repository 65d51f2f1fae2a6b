"""``fenghuo serve``: every deployment on its schedule, on one machine (the embedded default).

Production unless ``--dev`` (or ``--demo``): weak secrets refuse to start before anything else does.
Every port it needs is checked first, so a taken port stops it with a message and a non-zero exit
instead of running on without a part. Then it starts a local Prefect server on 127.0.0.1 (schedules never
fire on the temporary server), the responders' web endpoint, with ``--demo`` the simulator of the
departmental systems, and serves the deployments of :mod:`flows.deployments` with a Prefect runner.

Stopping behaves like a service: the first Ctrl-C or SIGTERM stops the serving (a bounded wait), then
the resident evaluator (with its delivery thread, :mod:`flows.live_delivery`), the web endpoint and the
server, within :data:`STOP_WITHIN_S` (a watchdog armed by the signal keeps that promise even when a step
hangs); a second one forces (the server is killed, the process exits at once). The runner runs in a
thread of its own so that the main thread keeps the signals: Prefect's runner would otherwise take
SIGTERM for itself. The resident evaluator starts stopping at the first signal too.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from flows.deployments import SOURCES, deployment_specs, to_deployments
from integrations.i18n import _
from integrations.prefect_server import PrefectServerError, require_free_port, start_prefect_server

STOP_WITHIN_S = 10.0
"""A first Ctrl-C or SIGTERM ends the process within this; the serving gets most of it."""
_PLANNED_S = STOP_WITHIN_S - 1.5
"""The orderly stop plans within this: its steps can each overrun a little (a kill after a terminate, the
interpreter's exit), and a busy machine delivers the signal late."""
_OVERDUE_S = STOP_WITHIN_S - 0.6
"""Past this after the first signal, whatever still runs is killed and the process leaves: the promise to
a service manager is kept even when a step hangs."""
SERVING_GRACE_S = 6.0
"""At most this for the runner to stop; less when the rest of the stop needs the time."""
_AFTER_SERVING_S = 3.0
"""Kept back from the serving for the web endpoint, the server and the interpreter's exit."""


class _Stopper:
    """The signal side of ``serve``: the first signal asks to stop, the second forces."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.requested = threading.Event()
        self.runner: Any = None
        self.force_hooks: list[Callable[[], None]] = []
        self.deadline: float | None = None

    def left(self, keep: float, at_most: float) -> float:
        """Seconds a stopping step may wait: ``at_most``, less when the deadline set by the first signal
        minus ``keep`` (for the steps after it) is nearer; never under a fifth of a second."""
        if self.deadline is None:
            return at_most
        return max(0.2, min(at_most, self.deadline - time.monotonic() - keep))

    def leave(self) -> None:
        """Everything we started is stopped: leave now. A normal interpreter exit waits for threads Prefect
        leaves behind and tears down its modules, seconds on a busy machine, and no watchdog thread can run
        during that teardown; a flow-run process still finishing its own stop would outlive us."""
        for pid in _children():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            self.force()
        self.deadline = time.monotonic() + _PLANNED_S
        self.requested.set()
        overdue = threading.Timer(_OVERDUE_S, self._overdue)
        overdue.daemon = True
        overdue.start()
        self.say(_("收到 {signal}：正在停止（先停调度，再停服务器）；再按一次 Ctrl-C 强制退出").format(
            signal=signal.Signals(signum).name))
        runner = self.runner
        if runner is not None and getattr(runner, "_loop", None) is not None and runner.started:
            runner.execute_in_background(runner.astop)
        elif runner is None:
            raise KeyboardInterrupt  # still starting: unwind through the finally blocks that stop things

    def _overdue(self) -> None:
        """The orderly stop took too long: kill what we started and leave (exit 0: the stop was asked for)."""
        self.say(_("停止超过 {seconds} 秒，强制结束余下部分").format(seconds=f"{_OVERDUE_S:.0f}"))
        self._kill_all()
        sys.stdout.flush()
        os._exit(0)

    def _kill_all(self) -> None:
        for hook in self.force_hooks:
            with contextlib.suppress(Exception):  # forcing: nothing must keep us from exiting
                hook()
        for pid in _children():  # flow-run processes the runner started; they would outlive us
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def force(self) -> None:
        """Kill what we started and leave now (second signal, or stopping took too long)."""
        self.say(_("强制退出"))
        self._kill_all()
        sys.stdout.flush()
        os._exit(130)


def _children() -> list[int]:
    """This process's child processes (Linux ``/proc``; none elsewhere)."""
    pids: list[int] = []
    for task in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            pids += [int(pid) for pid in task.read_text().split()]
    return pids


def check_ports(settings: Any, port: int, *, demo: bool) -> None:
    """Refuse to start when a port serve needs is taken (:class:`PrefectServerError`, in Chinese)."""
    require_free_port(port, _("Prefect 服务器"), "--port")
    require_free_port(urlsplit(settings.public_base_url).port or 80, _("责任人一键链接与 CAP 订阅服务"),
                      "FENGHUO_PUBLIC_BASE_URL")
    if demo:
        require_free_port(urlsplit(settings.simulator_url).port or 80, _("部门系统模拟器"), "FENGHUO_SIMULATOR_URL")


def serve_all(
    home: Path,
    *,
    port: int = 4200,
    sources: tuple[str, ...] | None = None,
    ingest_every_s: int = 300,
    watch_every_s: int = 60,
    dev: bool = False,
    demo: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Check, start the server (and the rest), serve all deployments until a signal, stop everything."""
    from integrations.settings import export_env, get_settings

    export_env(get_settings().require_safe_for("development" if dev or demo else "production"))
    settings = get_settings()  # as the flow runs will see it
    check_ports(settings, port, demo=demo)
    specs = deployment_specs(sources or SOURCES, ingest_every_s, watch_every_s)
    stopper = _Stopper(say)
    stopper.install()
    say(_("正在启动本地 Prefect 服务器 127.0.0.1:{port}（数据在 {home}）…").format(port=port, home=home))
    server = start_prefect_server(home, port=port)
    stopper.force_hooks.append(server.process.kill)
    web = sim = resident = None
    try:
        say(_("Prefect 界面：{url}  — 每次运行都在这里显示").format(url=server.url))
        web = _start_web(settings)
        say(_("责任人工作台、一键链接与 CAP 订阅：{url}").format(url=web.url))
        resident = _start_resident(stopper, say)
        if demo:
            sim = _start_simulator(settings.simulator_url)
            say(_("模拟的部门系统：{url}（演示月份的数据，供流水线拉取）").format(url=sim.url))
        _serve(specs, server.api_url, stopper, say)
        say(_("调度已停止"))
    finally:
        # The evaluator began stopping at the first signal, beside the scheduler: this only waits for it.
        if resident is not None:
            if resident.stop(timeout=stopper.left(keep=2.5, at_most=3.0)):
                say(_("常驻评估已停止"))
            else:
                say(_("常驻评估未在时限内停下（检查点写入中），不再等待；下次启动从上一检查点重放"))
        for part in (sim, web):
            if part is not None:
                part.stop(timeout=stopper.left(keep=2.0, at_most=2.0))
        server.stop(timeout=stopper.left(keep=1.0, at_most=3.0))
        say(_("Prefect 服务器已停止"))
    stopper.leave()


def _start_web(settings: Any) -> Any:
    from flows.store import store_engine
    from integrations.web import start_web

    web = start_web(store_engine(), settings)
    if not getattr(web.server, "started", False):
        web.stop(timeout=1.0)
        raise PrefectServerError(_("责任人一键链接与 CAP 订阅服务未能在 {url} 启动：请查看上面的报错，"
                                   "或用 FENGHUO_PUBLIC_BASE_URL 换一个端口。").format(url=web.url))
    return web


def _start_resident(stopper: _Stopper, say: Callable[[str], None]) -> Any:
    """The resident evaluator and its delivery thread (:mod:`flows.live_delivery`), in a thread of serve: the
    scheduled pipelines' evaluation gives way to it (the lease), their ingest wakes it."""
    import socket

    from flows.live_delivery import ResidentThread
    from flows.store import store_engine

    resident = ResidentThread(store_engine(), say=say, who=f"pid {os.getpid()} on {socket.gethostname()} (serve)",
                              stopping=stopper.requested.is_set)
    resident.start()
    return resident


def _start_simulator(url: str) -> Any:
    from integrations.simulator.server import start_simulator

    parts = urlsplit(url)
    return start_simulator(host=parts.hostname or "127.0.0.1", port=parts.port or 80)


def _serve(specs: list[Any], api_url: str, stopper: _Stopper, say: Callable[[str], None]) -> None:
    """Serve ``specs`` against ``api_url`` in a thread until ``stopper`` is asked; bounded wait after."""
    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        runner = Runner(pause_on_shutdown=True)
        for deployment in to_deployments(specs):
            runner.add_deployment(deployment)
        for spec in specs:
            say(_("  调度 {name} {when} 北京时间  {parameters}").format(
                name=f"{spec.name:<22}", when=f"{spec.when:<18}", parameters=spec.parameters or ""))
        say(_("按 Ctrl-C 停止（先停调度，再停服务器）"))
        context = contextvars.copy_context()  # the thread sees the API URL set above
        thread = threading.Thread(target=context.run, args=(asyncio.run, runner.start()),
                                  name="fenghuo-serve", daemon=True)
        stopper.runner = runner
        thread.start()
        while thread.is_alive() and not stopper.requested.is_set():
            thread.join(0.2)
        grace = stopper.left(keep=_AFTER_SERVING_S, at_most=SERVING_GRACE_S)
        thread.join(grace)
        if thread.is_alive():
            say(_("调度在 {seconds} 秒内未停下，不再等待").format(seconds=f"{grace:.0f}"))
