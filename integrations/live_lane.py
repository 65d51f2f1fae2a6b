"""One release group in live operation (:mod:`integrations.live_grouped`): its journal name, sources, position
and the records it holds until its sources' watermarks release them."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.records import Record
from domain.watermarks import SourceMark, SourceTiming, release_bound
from integrations.store.release import Position
from rules.engine.windows import seconds

__all__ = ["Lane"]


@dataclass
class Lane:
    """One group in live operation: its journal name, sources, position and buffer of held records."""

    lane: str
    group: str
    kinds: frozenset[str]
    sources: frozenset[str] | None
    position: Position
    consumes: tuple[str, ...] = ()
    """The groups whose warnings it takes (a chained group's producers)."""
    held: list[tuple[tuple[float, str, str], int, Record]] = field(default_factory=list)

    def clock(self, marks: Mapping[str, SourceMark], timings: Mapping[str, SourceTiming], now: datetime,
              latest: datetime | None) -> datetime | None:
        """Up to when it may take records now: its sources' bound, never beyond the latest ``at`` stored."""
        if latest is None:
            return None
        bound = release_bound(marks, timings, now, self.sources)
        return latest if bound is None else min(bound, latest)

    def release(self, clock: datetime, limit: int) -> tuple[list[Record], datetime]:
        """The held records up to ``clock`` in event-time order (at most ``limit``, never splitting an
        instant) and the clock reached (the last one's ``at`` when more remain)."""
        top, out = seconds(clock), list[Record]()
        while self.held and self.held[0][0][0] <= top and len(out) < limit:
            out.append(heapq.heappop(self.held)[2])
        if out and len(out) == limit and self.held and self.held[0][0][0] <= top:
            last = out[-1].at
            while self.held and self.held[0][2].at == last:
                out.append(heapq.heappop(self.held)[2])
            return out, last
        return out, clock
