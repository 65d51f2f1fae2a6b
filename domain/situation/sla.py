"""Deadline compliance: acknowledged within ``ack_due_at``, resolved within ``resolve_due_at``.

A warning is judged on a day when its deadline fell in that day or when it was acted on that day. It
*met* the deadline if it was acted on no later than the deadline; it *breached* it if the deadline passed
without the action (or the action came late); it is *pending* when the deadline is still ahead and the
action not taken yet, so a report made during the day does not count tonight's deadlines as breaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.situation.views import Day, WarningView
from domain.warnings import LEVELS, Level


@dataclass(frozen=True)
class DeadlineStats:
    """How many warnings met, breached, or are still within one kind of deadline."""

    met: int = 0
    breached: int = 0
    pending: int = 0
    breached_ids: tuple[int, ...] = field(default=(), compare=False)

    @property
    def judged(self) -> int:
        """Warnings whose outcome is known (met or breached): the denominator of :attr:`rate`."""
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        """Share of judged warnings that met the deadline, or ``None`` when none was judged."""
        return self.met / self.judged if self.judged else None


Getter = Callable[[WarningView], datetime | None]


def _outcome(due: datetime, done: datetime | None, cutoff: datetime) -> str:
    if done is not None and done < cutoff:
        return "met" if done <= due else "breached"
    return "breached" if due < cutoff else "pending"


def deadline_stats(
    warnings: Iterable[WarningView], *, day: Day, cutoff: datetime, due: Getter, done: Getter
) -> DeadlineStats:
    """Compliance on ``day`` with the deadline ``due(w)`` for the action done at ``done(w)``.

    Warnings without that deadline are not judged (their policy set none). ``cutoff`` is when the report
    looks (exclusive): the end of the day, or just after now if the day is not over.
    """
    met = breached = pending = 0
    ids: list[int] = []
    for w in warnings:
        deadline, acted = due(w), done(w)
        if deadline is None or not (day.contains(deadline) or day.contains(acted)):
            continue
        outcome = _outcome(deadline, acted, cutoff)
        if outcome == "met":
            met += 1
        elif outcome == "breached":
            breached += 1
            ids.append(w.id)
        else:
            pending += 1
    return DeadlineStats(met, breached, pending, tuple(sorted(ids)))


def ack_due(w: WarningView) -> datetime | None:
    """The acknowledgement deadline."""
    return w.ack_due_at


def ack_done(w: WarningView) -> datetime | None:
    """When it was acknowledged."""
    return w.acknowledged_at


def resolve_due(w: WarningView) -> datetime | None:
    """The resolution deadline."""
    return w.resolve_due_at


def resolve_done(w: WarningView) -> datetime | None:
    """When it was resolved."""
    return w.resolved_at


@dataclass(frozen=True)
class SlaSummary:
    """Acknowledgement compliance (overall and per level) and resolution compliance of one day."""

    ack: DeadlineStats
    ack_by_level: dict[Level, DeadlineStats]
    resolve: DeadlineStats


def sla_summary(warnings: Iterable[WarningView], *, day: Day, cutoff: datetime) -> SlaSummary:
    """Both deadlines' compliance on ``day``."""
    items = list(warnings)
    by_level = {
        level: deadline_stats([w for w in items if w.level is level], day=day, cutoff=cutoff,
                              due=ack_due, done=ack_done)
        for level in LEVELS
    }
    return SlaSummary(
        ack=deadline_stats(items, day=day, cutoff=cutoff, due=ack_due, done=ack_done),
        ack_by_level=by_level,
        resolve=deadline_stats(items, day=day, cutoff=cutoff, due=resolve_due, done=resolve_done),
    )
