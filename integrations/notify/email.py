"""E-mail channel: one plain-text UTF-8 message per notification over SMTP (stdlib ``smtplib``).

The notification's ``address`` is the recipient's e-mail address. Every message carries:

- ``X-Fenghuo-Idempotency-Key``: the same on every resend of one notification;
- ``Message-ID``: derived from that key (a hash of it), so a resend is the *same* message to mail
  systems too, and a mailbox or list that de-duplicates by Message-ID drops it.

Server settings (host, port, login, STARTTLS or implicit TLS, From) come from
:class:`integrations.settings.Settings` (``FENGHUO_SMTP_*``). ``smtplib`` and socket errors never leave
this module: they become :class:`DeliveryError` — 4xx replies, timeouts and dropped connections are
retryable; 5xx replies, refused recipients, failed logins and bad addresses are not.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import UTC, datetime
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from domain.messages import N_, Message
from integrations.i18n import _
from integrations.notify.base import (
    DeliveryError,
    Notification,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from integrations.settings import Settings, get_settings

IDEMPOTENCY_HEADER = "X-Fenghuo-Idempotency-Key"
"""Header that carries the notification's idempotency key."""


def message_id(idempotency_key: str, domain: str) -> str:
    """The Message-ID of a notification: stable per idempotency key (a hash, so it is header-safe)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<fenghuo.{digest}@{domain}>"


def _address(value: str) -> str:
    """The bare address of ``value`` (``张三 <a@b.cn>`` or ``a@b.cn``), or raise if it is not one."""
    _, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in addr):
        raise PermanentDeliveryError(Message(N_("不是电子邮件地址：{value}"), value=repr(value)))
    return addr


def build_email(message: Notification, *, sender: str, now: datetime | None = None) -> MIMEText:
    """The MIME message for ``message`` (UTF-8 subject and body, idempotency headers)."""
    to = _address(message.address)
    from_addr = _address(sender)
    # The compat32 API with explicit Header objects: the newer EmailMessage folding drops the space
    # between two RFC 2047 encoded words, which mangles long Chinese subjects ("信访 — 锦江区").
    mail = MIMEText(message.body, "plain", "utf-8")
    mail["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]  # compat32 takes Header
    mail["From"] = formataddr((str(Header(_("烽火预警"), "utf-8")), from_addr))
    mail["To"] = to
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = message_id(message.idempotency_key, from_addr.rpartition("@")[2])
    mail[IDEMPOTENCY_HEADER] = message.idempotency_key
    if message.warning_id is not None:
        mail["X-Fenghuo-Warning"] = str(message.warning_id)
    if message.level:
        mail["X-Fenghuo-Level"] = message.level
    return mail


def _translate(exc: Exception, where: str) -> DeliveryError:
    """The :class:`DeliveryError` for an SMTP or network failure (why it is retryable or not)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        retry = bool(codes) and all(400 <= c < 500 for c in codes)  # e.g. 450 mailbox busy, 452 full
        cls: type[DeliveryError] = TransientDeliveryError if retry else PermanentDeliveryError
        return cls(Message(N_("{where}：收件人被拒绝 {recipients}"), where=where, recipients=exc.recipients))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(Message(N_("{where}：登录被拒绝（{code}）"), where=where, code=exc.smtp_code))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(Message(N_("{where}：服务器不支持 {what}"), where=where, what=str(exc)))
    if isinstance(exc, smtplib.SMTPResponseException):
        cls = TransientDeliveryError if 400 <= exc.smtp_code < 500 else PermanentDeliveryError
        return cls(Message(N_("{where}：邮件服务器答复 {code} {reply}"), where=where, code=exc.smtp_code,
                           reply=repr(exc.smtp_error)))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentDeliveryError(Message(N_("{where}：TLS 证书被拒绝：{reason}"), where=where, reason=str(exc)))
    # SMTPServerDisconnected, SMTPConnectError, timeouts, refused connections: the server may be back.
    return TransientDeliveryError(Message(N_("{where}：连接邮件服务器失败，稍后重试（{error}）"), where=where,
                                          error=f"{type(exc).__name__}: {exc}"))


class EmailChannel:
    """Sends notifications as e-mail through the configured SMTP server (one connection per send)."""

    def __init__(self, settings: Settings | None = None, *, name: str = "email") -> None:
        self._settings = settings or get_settings()
        self._name = name

    @property
    def name(self) -> str:
        """Channel name (``email``)."""
        return self._name

    def _tls(self) -> ssl.SSLContext:
        # Certificates are always verified; an internal CA is trusted through smtp_ca_file, never by
        # switching verification off.
        ca = self._settings.smtp_ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.smtp_ssl:
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=self._tls())
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        if s.smtp_starttls:
            try:
                smtp.starttls(context=self._tls())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, message: Notification) -> None:
        """Deliver ``message`` to its address or raise :class:`DeliveryError`."""
        s = self._settings
        mail = build_email(message, sender=s.smtp_from)
        where = f"smtp {s.smtp_host}:{s.smtp_port}"
        try:
            with self._connect() as smtp:
                if s.smtp_user:
                    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                    smtp.login(s.smtp_user, password)
                refused = smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise _translate(exc, where) from exc
        if refused:  # only possible with several recipients; kept for completeness
            raise PermanentDeliveryError(Message(N_("{where}：收件人被拒绝 {recipients}"), where=where,
                                                 recipients=refused))
