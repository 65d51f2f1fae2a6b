"""The channels a delivery sweep uses, built from settings: name (as in responders.yaml) → channel."""

from __future__ import annotations

from integrations.notify.base import Channel
from integrations.notify.local import ConsoleChannel, FileChannel
from integrations.notify.webhook import WebhookChannel
from integrations.settings import Settings, get_settings


def build_channels(settings: Settings | None = None, *, console: bool = False) -> dict[str, Channel]:
    """Every channel Fenghuo can deliver over: ``file``, ``webhook``, ``email`` and the IM robots
    (``wecom``, ``dingtalk``, ``feishu``, ``lark``); ``console`` only when asked (it would flood a log).

    A row whose channel is missing here stays pending; one whose channel is misconfigured fails and is
    retried, then dead-lettered, where ``fenghuo`` lists it.
    """
    s = settings or get_settings()
    channels: dict[str, Channel] = {
        "file": FileChannel(s.resolved_outbox_dir),
        "webhook": WebhookChannel(s.webhook_secret, timeout_s=s.http_timeout_s),
    }
    if console:
        channels["console"] = ConsoleChannel()
    try:
        from integrations.notify.email import EmailChannel

        channels["email"] = EmailChannel(s)
    except ImportError:  # pragma: no cover - optional module not present in a trimmed deployment
        pass
    try:
        # apprise is a heavy import; only flows that deliver pay for it.
        from integrations.notify.apprise_robots import SCHEMES, AppriseRobotChannel

        for name in SCHEMES:
            channels[name] = AppriseRobotChannel(name, settings=s)
    except ImportError:  # pragma: no cover
        pass
    return channels
