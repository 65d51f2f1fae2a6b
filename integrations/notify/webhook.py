"""Webhook channel: POSTs the notification as JSON, signed with HMAC-SHA256.

Headers:
- ``X-Fenghuo-Idempotency-Key``: the same on every resend of one notification (drop duplicates by it);
- ``X-Fenghuo-Timestamp``: Unix seconds when this attempt was signed (reject stale ones to stop replays);
- ``X-Fenghuo-Signature``: hex HMAC-SHA256 under the shared secret over ``f"{timestamp}.{body}"``.

httpx errors never leave this module: they become :class:`DeliveryError` (retryable or not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from domain.messages import N_, Message
from integrations.notify.base import Notification, PermanentDeliveryError, TransientDeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def sign(secret: SecretStr | str, timestamp: str, body: str) -> str:
    """The signature of ``body`` sent at ``timestamp``: hex HMAC-SHA256 over ``f"{timestamp}.{body}"``."""
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return hmac.new(key.encode("utf-8"), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def verify(secret: SecretStr | str, timestamp: str, body: str, signature: str) -> bool:
    """True if ``signature`` is right for ``body`` and ``timestamp`` (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def body_of(message: Notification) -> str:
    """The JSON body sent for ``message`` (stable key order, UTF-8 text kept readable)."""
    data = message.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class WebhookChannel:
    """Delivers to the HTTP(S) URL in each notification's address."""

    def __init__(
        self,
        secret: SecretStr,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        name: str = "webhook",
    ) -> None:
        self._secret = secret
        self._client = httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=False)
        self._clock = clock
        self._name = name

    @property
    def name(self) -> str:
        """Channel name (``webhook``)."""
        return self._name

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def send(self, message: Notification) -> None:
        """POST ``message``; 2xx is delivered, 408/425/429/5xx and network errors are retryable."""
        if not message.address.startswith(("http://", "https://")):
            raise PermanentDeliveryError(Message(N_("webhook 地址不是 http(s) 网址：{address}"),
                                                 address=repr(message.address)))
        body = body_of(message)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Fenghuo-Idempotency-Key": message.idempotency_key,
            "X-Fenghuo-Timestamp": timestamp,
            "X-Fenghuo-Signature": sign(self._secret, timestamp, body),
        }
        try:
            response = self._client.post(message.address, content=body.encode("utf-8"), headers=headers)
        except httpx.InvalidURL as exc:
            raise PermanentDeliveryError(Message(N_("无效的 webhook 网址 {address}：{reason}"),
                                                 address=repr(message.address), reason=str(exc))) from exc
        except httpx.HTTPError as exc:
            # Timeouts, refused connections, protocol errors: the receiver may be back later.
            raise TransientDeliveryError(Message(
                N_("webhook {address} 无法送达，稍后重试（{error}）"), address=message.address,
                error=f"{type(exc).__name__}: {exc}")) from exc
        if response.is_success:
            return
        detail = Message(N_("webhook {address} 答复 {status}"), address=message.address, status=response.status_code)
        if response.status_code in RETRYABLE_STATUS:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)
