"""Digests: several blue and yellow notifications for one responder and channel sent as one message.

A digest's idempotency key is derived from its members' keys (``digest:`` + SHA-256 of the sorted keys),
so every (re)send of the same group carries the same key and a receiver drops a resend by it. Which
rows form a digest is decided and stored before anything is sent (``integrations.store.digests``); this module
only renders a digest, with the ``digest`` template (``integrations/data/templates/digest.j2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from domain.routing import DIGEST_LEVELS, digest_key
from domain.warnings import Level
from integrations.notify.base import Notification
from integrations.notify.message_context import Rendered, digest_context
from integrations.notify.templates import MessageTemplates, default_templates

__all__ = ["DIGEST_LEVELS", "DIGEST_STEP", "digest_key", "digest_notification", "render_digest"]

DIGEST_STEP = "digest"
"""The ``step`` of a digest notification."""


def _level_rank(level: str) -> int:
    try:
        return Level(level).rank
    except ValueError:
        return -1


def render_digest(members: Sequence[Notification], window: timedelta | None = None, *, channel: str | None = None,
                  templates: MessageTemplates | None = None) -> Rendered:
    """Subject and body of a digest, laid out by the ``digest`` template (for ``channel``): a count per
    level colour, then each member's subject and the lines to act on it (summary, who answers, deadline,
    the ack command and one-click links)."""
    return (templates or default_templates()).render(channel, DIGEST_STEP, digest_context(members, window))


def digest_notification(members: Sequence[Notification], key: str, window: timedelta | None = None, *,
                        templates: MessageTemplates | None = None) -> Notification:
    """The one message sent for ``members`` (same recipient and channel) under the digest ``key``.

    Built only from the members, so a resend after a crash is the same message with the same key.
    """
    if not members:
        raise ValueError("a digest needs members")
    first = members[0]
    text = render_digest(members, window, channel=first.channel, templates=templates)
    items: list[dict[str, Any]] = [
        {"idempotency_key": m.idempotency_key, "warning_id": m.warning_id, "step": m.step, "level": m.level,
         "subject": m.subject, **{k: v for k, v in m.payload.items() if not k.startswith("digest")}}
        for m in members
    ]
    created = [m.created_at for m in members if m.created_at is not None]
    return Notification(
        idempotency_key=key, warning_id=None, step=DIGEST_STEP, recipient=first.recipient,
        channel=first.channel, address=first.address,
        level=max((m.level for m in members), key=_level_rank), subject=text.subject, body=text.body,
        payload={"digest_key": key, "members": items}, created_at=min(created) if created else None,
    )
