"""Notification channels: how a warning reaches a responder.

A channel has a ``name`` (as written in the responders directory and in outbox rows) and
``send(message: Notification) -> None``. Delivery is at least once: the outbox sweep
(``integrations.notify.pipeline.deliver_pending``) retries with backoff, and every resend carries the same
idempotency key, so receivers drop duplicates.

Exceptions a channel may raise (and no other)::

    DeliveryError                 base; .retryable says whether to try again
    ├── TransientDeliveryError    retryable: timeout, connection refused, 5xx, 408/425/429, disk error
    └── PermanentDeliveryError    not retryable: bad address, other 4xx, misconfigured channel

Channels: :class:`FileChannel` (JSON lines per recipient; the demo's), :class:`ConsoleChannel`,
:class:`FakeChannel` (tests), :class:`WebhookChannel` (HMAC-signed JSON over httpx).
Messages are rendered in Chinese by :mod:`integrations.notify.render`, personal identifiers masked;
blue and yellow ones for one responder can go as one digest (:mod:`integrations.notify.digest`).
:mod:`integrations.notify.receiver` is a reference webhook receiver (verify the signature, drop
duplicates by idempotency key) used by the fault tests and the benchmark.
"""

from integrations.notify.base import (
    Channel,
    DeliveryError,
    Notification,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from integrations.notify.local import ConsoleChannel, FakeChannel, FileChannel
from integrations.notify.webhook import WebhookChannel

__all__ = [
    "Channel",
    "ConsoleChannel",
    "DeliveryError",
    "FakeChannel",
    "FileChannel",
    "Notification",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "WebhookChannel",
]
