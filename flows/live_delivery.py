"""The resident evaluator with its delivery thread: what ``evaluate --follow`` and ``serve`` run.

:func:`follow_and_deliver` runs :func:`flows.live.follow` and, once it holds the evaluator's lease, a
:class:`integrations.delivery_worker.DeliveryWorker` beside it, woken by each committed batch and making a
full round every ``delivery_sweep_s`` (settings). A standby starts no delivery: only the holder delivers
(a concurrent sweep would be safe, claims are row by row, but would only duplicate the work). With
``live_delivery`` off (settings), the evaluator runs alone and ``deliver --once`` or the scheduled
escalation flow sends the outbox, as before.

:class:`ResidentThread` runs the same in a thread of ``serve``, stopped within ``serve``'s budget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa

from integrations.delivery_worker import DeliveryParts, DeliveryWorker
from integrations.i18n import _
from integrations.settings import Settings, get_settings

__all__ = ["ResidentThread", "delivery_worker", "follow_and_deliver"]

STOP_DELIVERY_S = 2.0
"""How long a stopping evaluator waits for its delivery thread (a send in flight) before leaving it."""


def delivery_worker(engine: sa.Engine, settings: Settings, say: Callable[[str], None]) -> DeliveryWorker:
    """A delivery thread (not started) with the configured channels, policy, directories and templates."""
    from flows.context import RoutingContext, reminders_for
    from integrations.notify.registry import build_channels

    context = RoutingContext.load(settings)
    parts = DeliveryParts(channels=build_channels(settings), policy=context.policy, directory=context.directory,
                          regions=context.regions, reminders=reminders_for(settings, context),
                          templates=context.templates, links=context.link_maker())
    return DeliveryWorker(engine, parts, sweep_s=settings.delivery_sweep_s, say=say)


def follow_and_deliver(engine: sa.Engine, *, say: Callable[[str], None], who: str | None = None,
                       stop: Callable[[], bool] = lambda: False, settings: Settings | None = None,
                       poll_s: float = 0.5) -> DeliveryWorker | None:
    """The resident evaluator and, once it holds the lease, its delivery thread; returns when ``stop()``
    says so (or the lease is lost), the delivery thread stopped too. Returns the worker (its counts), or
    ``None`` when ``live_delivery`` is off."""
    from flows.live import follow

    settings = settings or get_settings()
    worker = delivery_worker(engine, settings, say) if settings.live_delivery else None

    def holding() -> None:
        if worker is not None:
            worker.start()
            say(_("在评估旁投递发件箱：每提交一批即投递，每 {seconds} 秒完整扫一遍").format(
                seconds=f"{settings.delivery_sweep_s:g}"))

    try:
        follow(engine, say=say, who=who, stop=stop, settings=settings, poll_s=poll_s, holding=holding,
               committed=None if worker is None else worker.wake)
    finally:
        if worker is not None and not worker.stop(STOP_DELIVERY_S):
            say(_("投递线程未在 {seconds} 秒内停下（有发送进行中），不再等待").format(seconds=f"{STOP_DELIVERY_S:g}"))
    return worker


class ResidentThread:
    """:func:`follow_and_deliver` in a daemon thread (``serve``): ``stop`` asks it to stop and waits a bound."""

    def __init__(self, engine: sa.Engine, *, say: Callable[[str], None], who: str,
                 settings: Settings | None = None, stopping: Callable[[], bool] = lambda: False) -> None:
        # ``stopping``: the process is stopping (serve's first signal), so the evaluator stops at once,
        # beside the scheduler, rather than after it.
        self._stop = threading.Event()
        self.failure: BaseException | None = None
        """What ended the thread, if anything did (it is also said)."""

        def run() -> None:
            try:
                follow_and_deliver(engine, say=say, who=who, stop=lambda: self._stop.is_set() or stopping(),
                                   settings=settings)
            except Exception as exc:  # said and kept: serve goes on with the scheduled flows
                self.failure = exc
                say(_("常驻评估异常退出：{error}；改由定时流程评估").format(error=f"{type(exc).__name__}: {exc}"))

        self.thread = threading.Thread(target=run, name="fenghuo-evaluator", daemon=True)

    def start(self) -> None:
        """Start the evaluator's thread."""
        self.thread.start()

    def request_stop(self) -> None:
        """Ask it to stop (it finishes the batch in hand, writes a checkpoint, releases the lease)."""
        self._stop.set()

    def stop(self, timeout: float) -> bool:
        """Ask it to stop and wait at most ``timeout`` seconds; True when it has stopped."""
        self.request_stop()
        self.thread.join(timeout)
        return not self.thread.is_alive()
