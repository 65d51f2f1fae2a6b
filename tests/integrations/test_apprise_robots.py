"""IM robots through apprise, against an HTTP receiver on 127.0.0.1.

apprise's WeCom/DingTalk/Feishu plugins hard-code the vendor hosts; the channel's ``endpoint`` re-points
the plugin *instance* at the loopback receiver, so the request is the real plugin's (vendor path, query
and JSON payload), only the host differs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.notify import PermanentDeliveryError, TransientDeliveryError
from integrations.notify.apprise_robots import AppriseRobotChannel, robot_url
from integrations.notify.base import Notification
from integrations.settings import Settings, get_settings

pytestmark = pytest.mark.integration


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers with ``status`` (200 by default)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.status = 200

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        url = urlsplit(self.path)
        self.server.requests.append(
            {"path": url.path, "query": parse_qs(url.query), "json": json.loads(body.decode("utf-8"))}
        )
        reply = json.dumps({"errcode": 0, "errmsg": "ok", "code": 0}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _note(address: str, channel: str, level: str = "red") -> Notification:
    return Notification(
        idempotency_key=f"w9:open:duty-city:{channel}", warning_id=9, step="open", recipient="duty-city",
        channel=channel, address=address, level=level, subject="群体性聚集风险 — 锦江区",
        body="预警等级：红色（特别严重）\n请 15 分钟内签收。",
    )


def _settings() -> Settings:
    return Settings(http_timeout_s=3)


def test_wecom_robot_posts_chinese_text_with_colour_and_key(receiver: Receiver) -> None:
    channel = AppriseRobotChannel("wecom", endpoint=receiver.endpoint, settings=_settings())
    channel.send(_note("ABCDEF-123456", "wecom"))
    (req,) = receiver.requests
    assert req["path"] == "/cgi-bin/webhook/send" and req["query"]["key"] == ["ABCDEF-123456"]
    text = req["json"]["text"]["content"]
    assert req["json"]["msgtype"] == "text"
    assert "红色（特别严重）" in text and "群体性聚集风险" in text
    assert "消息编号：w9:open:duty-city:wecom" in text


def test_dingtalk_signed_robot(receiver: Receiver) -> None:
    channel = AppriseRobotChannel("dingtalk", endpoint=receiver.endpoint, settings=_settings())
    channel.send(_note("https://oapi.dingtalk.com/robot/send?access_token=abc123", "dingtalk", "yellow"))
    channel.send(_note("SEC0123abc@abc123", "dingtalk", "yellow"))
    plain, signed = receiver.requests
    assert plain["path"] == "/robot/send" and plain["query"]["access_token"] == ["abc123"]
    assert "黄色（较重）" in plain["json"]["text"]["content"]
    assert "sign" in signed["query"] and "timestamp" in signed["query"]  # DingTalk's signed-robot mode


def test_feishu_robot(receiver: Receiver) -> None:
    channel = AppriseRobotChannel("feishu", endpoint=receiver.endpoint, settings=_settings())
    channel.send(_note("https://open.feishu.cn/open-apis/bot/v2/hook/tok-42", "feishu", "blue"))
    (req,) = receiver.requests
    assert req["path"] == "/open-apis/bot/v2/hook/tok-42/"
    assert req["json"]["msg_type"] == "text" and "蓝色（一般）" in req["json"]["content"]["text"]


def test_endpoint_comes_from_settings(receiver: Receiver) -> None:
    settings = Settings(http_timeout_s=3, im_robot_endpoints={"wecom": receiver.endpoint})
    AppriseRobotChannel("wecom", settings=settings).send(_note("wecombot://KEY1", "wecom"))
    assert len(receiver.requests) == 1


def test_errors_become_delivery_errors(receiver: Receiver) -> None:
    channel = AppriseRobotChannel("wecom", endpoint=receiver.endpoint, settings=_settings())
    receiver.status = 503
    with pytest.raises(TransientDeliveryError):
        channel.send(_note("KEY1", "wecom"))
    receiver.status = 400
    with pytest.raises(PermanentDeliveryError):
        channel.send(_note("KEY1", "wecom"))
    with pytest.raises(PermanentDeliveryError):
        channel.send(_note("", "wecom"))
    with pytest.raises(PermanentDeliveryError):
        channel.send(_note("bad key with spaces!", "wecom"))
    with pytest.raises(PermanentDeliveryError, match="的地址不是 wecombot 机器人"):
        channel.send(_note("mailto://someone@example.cn", "wecom"))
    assert len(receiver.requests) == 2


def test_receiver_down_is_retryable() -> None:
    channel = AppriseRobotChannel("feishu", endpoint="http://127.0.0.1:9", settings=_settings())
    with pytest.raises(TransientDeliveryError):
        channel.send(_note("tok", "feishu"))


def test_robot_url_forms() -> None:
    assert robot_url("KEY", "wecombot") == "wecombot://KEY"
    assert robot_url("https://open.larksuite.com/open-apis/bot/v2/hook/x1", "lark") == "lark://x1"
    assert robot_url("wecombot://K", "feishu") == "wecombot://K"
    with pytest.raises(ValueError):
        AppriseRobotChannel("telegram")


def test_a_delivery_error_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.i18n import explain
    from integrations.settings import get_settings

    channel = AppriseRobotChannel("wecom", endpoint="http://127.0.0.1:9", settings=_settings())
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(_note("mailto://someone@example.cn", "wecom"))
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert explain(caught.value) == "wecom: address of duty-city is not a wecombot robot"


def test_the_robot_text_is_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.notify.apprise_robots import text_of

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    text = text_of(_note("ABCDEF-123456", "wecom").model_copy(update={"subject": "crowd", "body": "people=60"}))
    assert text == "[red (I, extremely severe) warning] crowd\n\npeople=60\n\nMessage ID: w9:open:duty-city:wecom"
