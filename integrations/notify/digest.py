"""Digests: several blue and yellow notifications for one responder and channel sent as one message.

A digest's idempotency key is derived from its members' keys (``digest:`` + SHA-256 of the sorted keys),
so every (re)send of the same group carries the same key and a receiver drops a resend by it. Which
rows form a digest is decided and stored before anything is sent (``integrations.store.digests``); this module
only renders a digest (in Chinese, each member with its level's colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from domain.privacy import mask
from domain.routing import DIGEST_LEVELS, digest_key
from domain.warnings import Level
from integrations.notify.base import Notification
from integrations.notify.render import Rendered, colour

__all__ = ["DIGEST_LEVELS", "DIGEST_STEP", "digest_key", "digest_notification", "render_digest"]

DIGEST_STEP = "digest"
"""The ``step`` of a digest notification."""

# The lines of a member's rendered body (``integrations.notify.render.render``) a digest repeats: what a
# responder needs to act on each warning without opening the single messages.
_KEPT = ("摘要：", "当前责任：", "确认时限：", "确认命令：", "一键确认：", "一键办结：")
_FOOTER = "本系统只作预警提示，处置由责任人依法依规决定。"


def _level_rank(level: str) -> int:
    try:
        return Level(level).rank
    except ValueError:
        return -1


def render_digest(members: Sequence[Notification], window: timedelta | None = None) -> Rendered:
    """Subject and body of a digest: a count per level colour, then each member's subject and the lines
    to act on it (summary, who answers, deadline, the ack command and one-click links)."""
    counts: dict[str, int] = {}
    for m in members:
        counts[m.level] = counts.get(m.level, 0) + 1
    by_level = "、".join(f"{colour(lv)} {n} 条" for lv, n in sorted(counts.items(), key=lambda kv: -_level_rank(kv[0]))
                        if lv in DIGEST_LEVELS)
    subject = f"【预警汇总】{len(members)} 条预警（{by_level}）"
    minutes = f"{int(window.total_seconds() // 60)} 分钟内" if window else "短时间内"
    lines = [f"以下 {len(members)} 条一般（蓝色）、较重（黄色）预警于{minutes}先后发出，合并发送，请逐条确认：", ""]
    for i, m in enumerate(members, 1):
        lines.append(f"{i}. {m.subject}")
        kept = [line for line in m.body.splitlines() if line.startswith(_KEPT)]
        lines.extend(f"   {line}" for line in kept)
        lines.append(f"   预警编号：{m.warning_id}　通知环节：{m.step}　通知编号：{m.idempotency_key}")
    lines += ["", _FOOTER]
    return Rendered(subject=mask(subject), body=mask("\n".join(lines)))


def digest_notification(members: Sequence[Notification], key: str, window: timedelta | None = None) -> Notification:
    """The one message sent for ``members`` (same recipient and channel) under the digest ``key``.

    Built only from the members, so a resend after a crash is the same message with the same key.
    """
    if not members:
        raise ValueError("a digest needs members")
    first = members[0]
    text = render_digest(members, window)
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
