"""Staleness after evaluation: warnings whose rule's ``resolve_after`` passed in event time with no new
firing turn ``stale`` and their holder is told "可办结" (routing step ``stale-N``, the last firing in the
message); a rule with ``auto_resolve: true`` resolves them instead, through the one resolve path
(``integrations.store.resolution.close_warning``), and whoever was told of them is told it is closed
(``integrations.resolution.tell_resolved``). In the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from domain.routing import stale_due
from integrations.resolution import tell_resolved
from integrations.route import Routing, route_with
from integrations.store.staleness import auto_resolve, mark_stale, stale_candidates


@dataclass(frozen=True)
class Staleness:
    """A rule's ``resolve_after`` and ``auto_resolve``."""

    resolve_after: timedelta
    auto_resolve: bool = False


def stale_sweep(session: Session, rules: Mapping[str, Staleness], *, routing: Routing | None, event_now: datetime,
                now: datetime) -> dict[str, int]:
    """Mark stale (and tell the holder, when ``routing`` is given) or auto-resolve the open warnings of
    ``rules`` quiet since ``event_now`` minus their ``resolve_after``; counts ``stale`` and ``resolved``."""
    counts = {"stale": 0, "resolved": 0}
    cutoffs = {rule: event_now - s.resolve_after for rule, s in rules.items()}
    for row in stale_candidates(session, cutoffs):
        rule = rules[row.rule]
        if not stale_due(row.last_at, event_now, rule.resolve_after):
            continue
        if rule.auto_resolve:
            auto_resolve(session, row, resolve_after=rule.resolve_after, now=now)
            if routing is not None:
                tell_resolved(session, row, routing=routing, now=now)  # whoever was told hears it is closed
            counts["resolved"] += 1
            continue
        mark_stale(session, row, resolve_after=rule.resolve_after, event_now=event_now, now=now)
        if routing is not None and row.tier:
            route_with(session, row, "stale", routing, now)
        counts["stale"] += 1
    return counts
