"""Telling the administrators that scheduled flow runs fail: once per failure streak, through our channels.

A deployment that fails every five minutes must not send a message every five minutes: the first failure
of a streak is told, later ones are not, and a success ends the streak (the next failure is told again).
Runs are separate processes, so the streaks live in a small JSON file under ``home`` guarded by an
exclusive file lock (two runs finishing together must not both think they are first).

The message goes to the responders of the administrators' node (``settings.admin_node``; default the
city node of the responders directory), specialist units left out, over the channels they list. It is
sent directly rather than through the warnings' outbox: it is about Fenghuo itself, not a warning.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from integrations.i18n import _, explain
from integrations.settings import Settings

log = logging.getLogger(__name__)


def streak_step(failing: set[str], key: str, ok: bool) -> bool:
    """Record one outcome of ``key`` in ``failing`` (the keys in a failure streak); True: tell the admins.

    Only the first failure after a success (or ever) is told; a success ends the streak.
    """
    if ok:
        failing.discard(key)
        return False
    if key in failing:
        return False
    failing.add(key)
    return True


class FailureStreaks:
    """The failure streaks of scheduled runs, kept in ``path`` across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _locked(self) -> Iterator[set[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.with_suffix(".lock")).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            try:
                failing = set(json.loads(self.path.read_text(encoding="utf-8")))
            except (FileNotFoundError, ValueError):
                failing = set()  # no file yet, or a torn one: start afresh rather than stay silent
            yield failing
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(sorted(failing), ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)

    def observe(self, key: str, ok: bool) -> bool:
        """Record an outcome; True when it is the first failure of a streak (tell the administrators)."""
        with self._locked() as failing:
            return streak_step(failing, key, ok)


def streaks_for(settings: Settings) -> FailureStreaks:
    """The streak file of this installation (``home/ops/failure-streaks.json``)."""
    return FailureStreaks(settings.home / "ops" / "failure-streaks.json")


def notify_admins(settings: Settings, key: str, subject: str, body: str) -> int:
    """Send ``subject``/``body`` to every responder of the admin node over their channels; returns the
    number of messages sent. Delivery errors are logged, never raised: a hook must not fail the run."""
    from domain.responders import ResponderDirectory
    from integrations.notify.base import DeliveryError, Notification
    from integrations.notify.registry import build_channels

    directory = ResponderDirectory.load(settings.responders)
    node = settings.admin_node or directory.city
    # Specialist units (信访局…) are told about warnings they own, not about Fenghuo's own failures.
    admins = tuple(r for r in directory.at_node(node) if r.unit is None)
    if not admins:
        log.error(_("运维告警无人接收：管理员节点 {node} 在应急责任人名录中没有人员（设置 FENGHUO_ADMIN_NODE）"
                    ).format(node=node))
        return 0
    channels = build_channels(settings)
    now = datetime.now(UTC)
    sent = 0
    for admin in admins:
        for address in admin.channels:
            channel = channels.get(address.type)
            if channel is None:
                log.error(_("运维告警：渠道 {channel} 未配置，{who} 收不到").format(channel=address.type, who=admin.id))
                continue
            message = Notification(
                idempotency_key=f"ops:{key}:{now.isoformat()}:{admin.id}:{address.type}", step="ops-alert",
                recipient=admin.id, channel=address.type, address=address.address, subject=subject, body=body,
                created_at=now)
            try:
                channel.send(message)
                sent += 1
            except DeliveryError as exc:
                log.error(_("运维告警发给 {who}（{channel}）失败：{error}").format(
                    who=admin.id, channel=address.type, error=explain(exc)))
    return sent
