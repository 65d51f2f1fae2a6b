"""Delivery beside the resident evaluator: a thread that sends the outbox as soon as a batch commits.

The resident evaluator commits a batch's warnings and their outbox rows together; it then calls
:meth:`DeliveryWorker.wake` (an in-process event, no database round trip), and this thread sends what is
due at once — orange and red go out within the batch's own second instead of waiting for the next
``deliver --once`` or scheduled escalation flow. At least every ``sweep_s`` seconds it also runs a full
round (:func:`integrations.delivery.run_round`: the SLA watch, the end of silences, delivery), so
escalations, reminders and retries after a backoff happen without any batch to wake it.

Sending stays at least once with per-key idempotency (:mod:`integrations.notify.pipeline`): a concurrent
sweep (the scheduled escalation flow, ``deliver --once``) claims row by row, so nothing is sent twice by
two sweeps, and a crash resends at most the unit in flight under its same key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.delivery import Reminders, deliver_all, run_round
from integrations.i18n import _
from integrations.notify.base import Channel
from integrations.notify.templates import MessageTemplates
from integrations.route import LinkMaker

__all__ = ["DeliveryParts", "DeliveryWorker"]

ERROR_PAUSE_S = 1.0
"""After a failed pass (the store unreachable, locked too long), wait this long before the next one."""


@dataclass(frozen=True)
class DeliveryParts:
    """What a delivery round needs: the channels by name, the escalation policy and directories."""

    channels: Mapping[str, Channel]
    policy: EscalationPolicy
    directory: ResponderDirectory
    regions: RegionDirectory
    reminders: Reminders | None = None
    templates: MessageTemplates | None = None
    links: LinkMaker | None = None


class DeliveryWorker:
    """The delivery thread of one process (see the module). ``start`` it once the evaluator holds its lease,
    ``wake`` it after each committed batch, ``stop`` it when the evaluator stops."""

    def __init__(self, engine: sa.Engine, parts: DeliveryParts, *, sweep_s: float = 30.0,
                 say: Callable[[str], None] = lambda _: None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.parts, self.sweep_s, self.say, self.clock = engine, parts, sweep_s, say, clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        """Notifications sent by this worker (digests count once)."""
        self.passes = 0
        """Passes made: each quick delivery after a wake and each full round."""
        self.rounds = 0
        """Full rounds made (SLA watch, silences, delivery): one at start, then every ``sweep_s``."""
        self.errors = 0
        """Passes that failed (logged through ``say``; the next pass tries again)."""

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (a daemon: a process that must exit is never kept by a send in flight)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="fenghuo-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A batch committed: deliver what it queued now (cheap; safe to call from any thread, any often)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop and wait at most ``timeout`` seconds; True when it has stopped."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        next_round = time.monotonic()  # a full round first: whatever was due while nobody delivered
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_round - time.monotonic()))
            # Cleared before the pass: a batch committing during it wakes another pass, never lost.
            self._wake.clear()
            if self._stop.is_set():
                return
            full = time.monotonic() >= next_round
            try:
                self._pass(full)
            except Exception as exc:  # the loop outlives a failing pass: the next retries
                self.errors += 1
                self.say(_("投递一轮失败（{error}）；稍后重试").format(error=f"{type(exc).__name__}: {exc}"))
                self._stop.wait(ERROR_PAUSE_S)
                continue
            if full:
                next_round = time.monotonic() + self.sweep_s

    def _pass(self, full: bool) -> None:
        p, now = self.parts, self.clock()
        if full:
            report = run_round(self.engine, p.channels, policy=p.policy, directory=p.directory, regions=p.regions,
                               now=now, reminders=p.reminders, templates=p.templates, links=p.links)
            delivered = report.delivered
            self.rounds += 1
        else:
            # Blue and yellow wait for their digest window (escalation.yaml); orange and red go at once.
            delivered = deliver_all(self.engine, p.channels, now=now, window=p.policy.digest_window,
                                    templates=p.templates)
        self.passes += 1
        self.sent += delivered["sent"]
