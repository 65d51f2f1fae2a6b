"""The channel contract: a :class:`Notification` goes in; it is delivered, or a :class:`DeliveryError`
comes out.

See the package docstring (``integrations.notify``) for the exception tree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Notification(BaseModel):
    """One message to one recipient over one channel, as the outbox holds it.

    ``idempotency_key`` is the same on every (re)send of this message: receivers drop duplicates by it.
    """

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    warning_id: int | None = None
    step: str = ""
    recipient: str
    channel: str
    address: str = ""
    level: str = ""
    subject: str
    body: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class DeliveryError(Exception):
    """A channel could not deliver. ``retryable`` says whether trying again later may succeed."""

    retryable: bool = True

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class TransientDeliveryError(DeliveryError):
    """Worth retrying: timeouts, refused connections, 5xx, 429."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: a bad address, 4xx other than 408/429, a misconfigured channel."""

    retryable = False


@runtime_checkable
class Channel(Protocol):
    """A way to deliver notifications (file, console, webhook…)."""

    @property
    def name(self) -> str:
        """The channel name used in the responders directory and in outbox rows (``file``, ``webhook``…)."""
        ...

    def send(self, message: Notification) -> None:
        """Deliver ``message`` or raise :class:`DeliveryError`; never another exception type."""
        ...
