"""Watching the sources in live operation: a ``source-stale`` warning (:mod:`domain.source_alerts`) opened
and routed for a source gone silent, resolved when it delivers again (the one resolve path, and whoever
was told of it is told it is over) — in the caller's transaction, audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from domain.messages import N_, Message
from domain.source_alerts import RULE, fingerprint, source_alerts
from domain.warnings import Change
from domain.watermarks import SourceTiming
from integrations.resolution import tell_resolved
from integrations.route import Routing, route_changes
from integrations.store.models import WarningRow
from integrations.store.staleness import resolve_on_behalf
from integrations.store.warnings import apply_changes
from integrations.store.watermarks import source_marks


def sweep_sources(session: Session, timings: Mapping[str, SourceTiming], routing: Routing, *, now: datetime,
                  version: str) -> tuple[int, int]:
    """Open (and route) a warning for each configured source gone stale, resolve those of sources that
    returned; ``(opened, resolved)``."""
    rows = session.exec(select(WarningRow).where(WarningRow.rule == RULE, col(WarningRow.open_key).is_not(None))).all()
    by_source = {row.fingerprint.removeprefix(f"{RULE}:"): row for row in rows}
    alerts = source_alerts(source_marks(session=session), timings, set(by_source), now=now,
                           city=routing.directory.city, version=version)
    if alerts.opened:
        # Stored as Messages (Chinese), worded in the language in force wherever they are shown (integrations.wording).
        applied = apply_changes(session=session, changes=[(s, Change.opened) for s in alerts.opened], now=now)
        route_changes(session, applied.to_route, routing, now)
    for source in alerts.recovered:
        resolve_on_behalf(session, by_source[source], actor=f"system:{RULE}",
                          reason=Message(N_("来源 {source} 已恢复交付，自动办结"), source=source),
                          detail={"fingerprint": fingerprint(source)}, now=now)
        tell_resolved(session, by_source[source], routing=routing, now=now)  # whoever was told hears it is over
    return len(alerts.opened), len(alerts.recovered)
