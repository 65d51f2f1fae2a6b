"""What a message template may name: a warning (or a digest's members) as responders read it.

The layouts themselves are Jinja2 files (``integrations/data/templates``, loaded by
:mod:`integrations.notify.templates`); this module only turns store rows into plain values — Beijing time
with the zone marked, region names, the level's colour — so that no template needs Python to format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.beijing import BEIJING
from domain.regions import RegionDirectory, Tier, ancestors
from domain.routing import DIGEST_LEVELS
from domain.warnings import Level
from integrations.i18n import N_, _
from integrations.notify.base import Notification
from integrations.store.models import WarningRow
from integrations.wording import worded


@dataclass(frozen=True)
class Rendered:
    """A rendered message."""

    subject: str
    body: str


def beijing(at: datetime | None) -> str:
    """``2026-01-05 09:00``, Beijing time; ``—`` for none."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at else "—"


def colour(level: str) -> str:
    """The colour word of a level: ``橙色``."""
    return Level(level).chinese.split("（")[0]


def place(region: str, regions: RegionDirectory) -> str:
    """The region's names below the city, e.g. ``锦江区 春熙路街道``; the city's own name for the city."""
    chain = [regions.name(code) for tier, code in ancestors(region).items() if tier != Tier.city.value]
    return " ".join(dict.fromkeys(chain)) or regions.name(region)


def node_label(tier: str, code: str, regions: RegionDirectory, leadership: str = N_("市领导值班")) -> str:
    """Who is responsible now, e.g. ``区县 锦江区``."""
    if tier == "leadership":
        return _(leadership)  # the default through the catalogue; a configured name passes unchanged
    try:
        label = _(Tier(tier).label)
    except ValueError:
        label = tier
    return f"{label} {regions.name(code)}"


def warning_context(warning: WarningRow, *, step: str, recipient: str, regions: RegionDirectory,
                    leadership: str = N_("市领导值班"), links: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The names a warning's template may use (times as Beijing-time text). ``step`` is the routing step
    (``remind-2``); ``step_kind`` its kind (``remind``) and ``step_no`` its number (``2``, else ``""``)."""
    kind, _, number = step.partition("-")
    return {
        "id": warning.id, "rule": warning.rule, "title": worded(warning.title or warning.rule), "level": warning.level,
        "level_cn": Level(warning.level).chinese, "colour": colour(warning.level), "summary": worded(warning.summary),
        "explanation": worded(warning.explanation), "region": warning.region, "place": place(warning.region, regions),
        "path": regions.path(warning.region), "status": warning.status,
        "holder": node_label(warning.tier, warning.route_region, regions, leadership),
        "first_at": beijing(warning.first_at), "last_at": beijing(warning.last_at),
        "occurrences": warning.occurrences, "ack_due_at": beijing(warning.ack_due_at),
        "resolve_due_at": beijing(warning.resolve_due_at), "resolved_at": beijing(warning.resolved_at),
        "step": step, "step_kind": kind, "step_no": number if number.isdigit() else "",
        "recipient": recipient, "links": dict(links or {}),
    }


def _level_rank(level: str) -> int:
    try:
        return Level(level).rank
    except ValueError:
        return -1


def digest_context(members: Sequence[Notification], window: timedelta | None = None) -> dict[str, Any]:
    """The names the ``digest`` template may use: ``count``, ``minutes`` (the window, or ``None``),
    ``levels`` (``[{"level", "colour", "count"}]`` of the digest levels, gravest first) and ``members``
    (each one's ``subject``, ``lines`` of its rendered body, ``warning_id``, ``step``, ``key``, ``level``)."""
    counts: dict[str, int] = {}
    for m in members:
        counts[m.level] = counts.get(m.level, 0) + 1
    levels = [{"level": lv, "colour": colour(lv), "count": n}
              for lv, n in sorted(counts.items(), key=lambda kv: -_level_rank(kv[0])) if lv in DIGEST_LEVELS]
    return {
        "count": len(members), "minutes": int(window.total_seconds() // 60) if window else None,
        "levels": levels, "step": "digest", "step_kind": "digest", "recipient": members[0].recipient,
        "members": [{"subject": m.subject, "lines": m.body.splitlines(), "warning_id": m.warning_id,
                     "step": m.step, "key": m.idempotency_key, "level": m.level} for m in members],
    }


SAMPLE_WARNING = WarningRow(
    id=1, fingerprint="sample", rule="sample-rule", title="示例预警", level="orange", region="510104001001",
    tier="district", route_region="510104000000", first_at=datetime(2026, 1, 5, 1, tzinfo=UTC),
    last_at=datetime(2026, 1, 5, 2, tzinfo=UTC), summary="示例摘要", explanation="示例说明")
"""The warning every template is trial-rendered against when loaded (unknown names fail there)."""


def sample_context(step: str) -> dict[str, Any]:
    """A full context for ``step``'s template: the sample warning with links, or a digest of two."""
    if step == "digest":
        members = [Notification(idempotency_key=f"{i}:open:sample:file", warning_id=i, step="open",
                                recipient="sample", channel="file", level=lv, subject="【示例】", body="摘要：示例")
                   for i, lv in ((1, "yellow"), (2, "blue"))]
        return digest_context(members, timedelta(minutes=10))
    return warning_context(SAMPLE_WARNING, step=step, recipient="sample", regions=RegionDirectory(),
                           links={"ack": "https://example.invalid/a", "resolve": "https://example.invalid/r"})
