"""E-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from integrations.notify import PermanentDeliveryError, TransientDeliveryError
from integrations.notify.base import Notification
from integrations.notify.email import IDEMPOTENCY_HEADER, EmailChannel, message_id
from integrations.settings import Settings

pytestmark = pytest.mark.integration


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """aiosmtpd handler that keeps every message; RCPT to ``busy@`` gets 451, to ``nobody@`` 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _note(address: str = "wang@jinjiang.example.gov.cn", key: str = "w7:open:wang:email") -> Notification:
    return Notification(
        idempotency_key=key, warning_id=7, step="open", recipient="wang", channel="email",
        address=address, level="orange", subject="【橙色预警】同一人员多次信访 — 锦江区",
        body="预警等级：橙色（严重）\n摘要：30 天内 4 次来访\n请及时签收。",
    )


def test_delivers_chinese_utf8_with_idempotency_headers(smtp_server: tuple[Recorder, int]) -> None:
    recorder, port = smtp_server
    channel = EmailChannel(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="fenghuo@cd.example.cn"))
    channel.send(_note())
    channel.send(_note())  # a resend after a crash: same key, same Message-ID
    assert len(recorder.messages) == 2
    (rcpts, raw), (_, raw2) = recorder.messages
    assert rcpts == ["wang@jinjiang.example.gov.cn"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "【橙色预警】同一人员多次信访 — 锦江区"
    assert msg[IDEMPOTENCY_HEADER] == "w7:open:wang:email"
    assert msg["Message-ID"] == message_id("w7:open:wang:email", "cd.example.cn")
    assert message_from_bytes(raw2)["Message-ID"] == msg["Message-ID"]
    assert msg.get_content_charset() == "utf-8"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes) and "橙色（严重）" in payload.decode("utf-8")
    assert channel.name == "email"


def test_4xx_is_retryable_5xx_and_bad_address_are_not(smtp_server: tuple[Recorder, int]) -> None:
    _, port = smtp_server
    channel = EmailChannel(Settings(smtp_host="127.0.0.1", smtp_port=port))
    with pytest.raises(TransientDeliveryError):
        channel.send(_note("busy@example.cn"))
    with pytest.raises(PermanentDeliveryError):
        channel.send(_note("nobody@example.cn"))
    with pytest.raises(PermanentDeliveryError):
        channel.send(_note("not-an-address"))


def test_server_down_is_retryable() -> None:
    channel = EmailChannel(Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_s=2))
    with pytest.raises(TransientDeliveryError):
        channel.send(_note())


def test_login_with_secret_password() -> None:
    recorder = Recorder()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"fenghuo", b"s3cret")
        # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        good = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_user="fenghuo",
                        smtp_password=SecretStr("s3cret"))
        EmailChannel(good).send(_note())
        assert len(recorder.messages) == 1
        bad = good.model_copy(update={"smtp_password": SecretStr("wrong")})
        with pytest.raises(PermanentDeliveryError):
            EmailChannel(bad).send(_note())
    finally:
        controller.stop()
