"""IM group robots used by Chinese government offices — WeCom (企业微信), DingTalk (钉钉), Feishu (飞书) and
Lark — through apprise's plugins, not hand-written HTTP clients.

A notification's ``address`` names the robot in any of these forms:

- an apprise URL: ``wecombot://KEY``, ``dingtalk://TOKEN/``, ``dingtalk://SECRET@TOKEN/`` (signed robot),
  ``feishu://TOKEN``, ``lark://TOKEN``;
- the vendor's webhook URL as the robot settings page shows it (``https://qyapi.weixin.qq.com/…?key=``,
  ``https://oapi.dingtalk.com/robot/send?access_token=``, ``https://open.feishu.cn/open-apis/bot/v2/hook/``);
- the bare key or token, the scheme then coming from the channel (``wecom`` → ``wecombot://KEY``).

The apprise plugins hard-code the vendors' public hosts. ``endpoint`` (per channel, from
``settings.im_robot_endpoints``) replaces the scheme and host of the plugin's webhook URL on the plugin
*instance*: for 政务微信, 专有钉钉 and other private deployments, an egress proxy, or a test receiver on
127.0.0.1. The path and query stay the vendor's, so the request is exactly what the vendor would get.

Robots take plain text without custom headers, so the idempotency key travels as the last line of the
text (``消息编号：…``): a person, or a bot reading the group, can spot a resend. A robot answers HTTP 200
with an error code in the body for a bad key; apprise's plugins do not read it, so that case counts as
delivered (a limitation of the plugins, noted here on purpose).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from apprise import Apprise, AppriseAsset, NotifyFormat

from domain.messages import N_, Message
from domain.warnings import Level
from integrations.i18n import _
from integrations.notify.base import Notification, PermanentDeliveryError, TransientDeliveryError
from integrations.settings import Settings, get_settings

SCHEMES: dict[str, str] = {"wecom": "wecombot", "dingtalk": "dingtalk", "feishu": "feishu", "lark": "lark"}
"""Channel name → apprise scheme."""

_NATIVE = (
    # apprise itself recognises WeCom's native URL; DingTalk's and Feishu's are mapped here.
    (re.compile(r"^https://oapi\.dingtalk\.com/robot/send\?access_token=(?P<t>[A-Za-z0-9]+)"), "dingtalk://{t}/"),
    (re.compile(r"^https://open\.feishu\.cn/open-apis/bot/v2/hook/(?P<t>[A-Za-z0-9_-]+)/?$"), "feishu://{t}"),
    (re.compile(r"^https://open\.larksuite\.com/open-apis/bot/v2/hook/(?P<t>[A-Za-z0-9_-]+)/?$"), "lark://{t}"),
)
_URL_ATTRS = ("notify_url", "api_url", "webhook_url")  # where the plugins keep their vendor URL
_HTTP_CODE = re.compile(r"error=(\d{3})")
_RETRYABLE_HTTP = frozenset({408, 425, 429})


def robot_url(address: str, scheme: str) -> str:
    """The apprise URL for ``address`` (apprise URL, vendor webhook URL or bare token) on ``scheme``."""
    address = address.strip()
    for pattern, template in _NATIVE:
        match = pattern.match(address)
        if match:
            return template.format(t=match.group("t"))
    if "://" in address:
        return address
    return f"{scheme}://{address}"


def text_of(message: Notification) -> str:
    """The robot's text: subject (with the level's colour name), body, and the idempotency key."""
    subject = message.subject
    if message.level:
        colour = _(Level(message.level).chinese)
        if colour.split("（")[0].split(" (")[0] not in subject:
            subject = _("【{colour}预警】{subject}").format(colour=colour, subject=subject)
    return _("{subject}\n\n{body}\n\n消息编号：{key}").format(subject=subject, body=message.body,
                                                             key=message.idempotency_key)


def _repoint(plugin: object, endpoint: str) -> None:
    """Point a plugin instance's vendor URL(s) at ``endpoint`` (scheme and host), keeping path and query."""
    target = urlsplit(endpoint)
    for attr in _URL_ATTRS:
        value = getattr(plugin, attr, None)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            # An instance attribute shadows the class one, so other instances keep the vendor host.
            setattr(plugin, attr, urlunsplit((target.scheme, target.netloc, parts.path, parts.query, "")))


class AppriseRobotChannel:
    """Delivers a notification to an IM group robot (one apprise plugin instance per send)."""

    def __init__(
        self, name: str = "wecom", *, endpoint: str | None = None, settings: Settings | None = None
    ) -> None:
        if name not in SCHEMES:
            raise ValueError(Message(N_("未知的群机器人渠道 {name}；可用：{known}"), name=repr(name),
                                     known=", ".join(SCHEMES)))
        s = settings or get_settings()
        self._name = name
        self._endpoint = endpoint if endpoint is not None else s.im_robot_endpoints.get(name)
        self._timeout_s = s.http_timeout_s
        # Memory-only storage: apprise must not write caches into the service account's home.
        self._asset = AppriseAsset(storage_mode="memory")

    @property
    def name(self) -> str:
        """Channel name (``wecom``, ``dingtalk``, ``feishu`` or ``lark``)."""
        return self._name

    def send(self, message: Notification) -> None:
        """Post ``message`` to the robot or raise :class:`DeliveryError`."""
        if not message.address.strip():
            raise PermanentDeliveryError(Message(N_("{channel}：{recipient} 没有机器人地址"), channel=self._name,
                                                 recipient=message.recipient))
        scheme = SCHEMES[self._name]
        url = robot_url(message.address, scheme)
        if not url.startswith(f"{scheme}://"):
            # apprise speaks ~100 services; this channel must reach only its own kind of robot.
            raise PermanentDeliveryError(Message(N_("{channel}：{recipient} 的地址不是 {scheme} 机器人"),
                                                 channel=self._name, recipient=message.recipient, scheme=scheme))
        plugin = Apprise.instantiate(url, asset=self._asset)
        if plugin is None:
            # Never echo the URL: it holds the robot's key.
            raise PermanentDeliveryError(Message(N_("{channel}：{recipient} 的机器人地址无效"), channel=self._name,
                                                 recipient=message.recipient))
        # apprise derives its request timeout from these two (its URL parameters cto/rto).
        plugin.socket_connect_timeout = plugin.socket_read_timeout = self._timeout_s
        if self._endpoint:
            _repoint(plugin, self._endpoint)
        apprise = Apprise(asset=self._asset)
        apprise.add(plugin)
        result = apprise.notify(body=text_of(message), title="", body_format=NotifyFormat.TEXT,
                                log_level=logging.DEBUG)
        if result:
            return
        logs = " ".join(entry.message for entry in result.logs())
        codes = [int(c) for c in _HTTP_CODE.findall(logs)]
        detail = Message(N_("{recipient} 的 {channel} 机器人：投递失败"), channel=self._name,
                         recipient=message.recipient)
        # A 4xx (bad key, bad request) will not heal by retrying; 5xx, 429 and network errors may.
        if codes and all(400 <= c < 500 and c not in _RETRYABLE_HTTP for c in codes):
            raise PermanentDeliveryError(Message(N_("{detail}（{why}）"), detail=detail, why=f"HTTP {codes[-1]}"))
        raise TransientDeliveryError(Message(N_("{detail}（{why}）"), detail=detail,
                                             why=f"HTTP {codes[-1]}" if codes else Message(N_("无应答"))))
