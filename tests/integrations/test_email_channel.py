"""E-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
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


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), as an internal CA would issue, written as PEM."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_then_login_with_an_internal_ca(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    recorder = Recorder()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"fenghuo", b"s3cret")
        return AuthResult(success=ok, handled=False)

    port = free_port()
    # The server insists on STARTTLS before anything else, and on TLS before AUTH (aiosmtpd's default).
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True, authenticator=authenticator)
    controller.start()
    try:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=True, smtp_ca_file=cert,
                            smtp_user="fenghuo", smtp_password=SecretStr("s3cret"), smtp_timeout_s=5)
        EmailChannel(settings).send(_note())
        assert len(recorder.messages) == 1
        # Without the internal CA the certificate is refused: no silent downgrade, and no retrying.
        untrusted = settings.model_copy(update={"smtp_ca_file": None})
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            EmailChannel(untrusted).send(_note())
        # Without STARTTLS this server refuses to talk (530): a misconfiguration, not a passing fault.
        plain = settings.model_copy(update={"smtp_starttls": False})
        with pytest.raises(PermanentDeliveryError):
            EmailChannel(plain).send(_note())
    finally:
        controller.stop()
