"""Plain views of what the situation report reads: warnings and audit entries, and the report's day.

The computation never touches the store: the store (``integrations/store/report.py``) builds these views
from rows, and tests build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain.beijing import BEIJING
from domain.warnings import Level


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime refused: the situation report takes timezone-aware datetimes only")
    return value


@dataclass(frozen=True)
class Day:
    """One local day ``[start, end)`` in :data:`BEIJING`."""

    date: date

    @property
    def start(self) -> datetime:
        """Midnight that opens the day (aware)."""
        return datetime.combine(self.date, time(0), tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        """Midnight that closes the day (exclusive, aware)."""
        return datetime.combine(self.date + timedelta(days=1), time(0), tzinfo=BEIJING)

    def contains(self, at: datetime | None) -> bool:
        """True if ``at`` (aware) lies within the day."""
        return at is not None and self.start <= at < self.end

    def minus(self, days: int) -> Day:
        """The day ``days`` before this one."""
        return Day(self.date - timedelta(days=days))


def local_date(at: datetime) -> date:
    """The Beijing-time calendar date of an aware instant."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused")
    return at.astimezone(BEIJING).date()


@dataclass(frozen=True)
class WarningView:
    """What the report needs of one warning. ``level`` is its current (highest reached) level."""

    id: int
    rule: str
    title: str
    level: Level
    status: str
    region: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    ack_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    escalation_step: int = 0

    def __post_init__(self) -> None:
        for value in (self.opened_at, self.acknowledged_at, self.resolved_at, self.ack_due_at,
                      self.resolve_due_at):
            _aware(value)


@dataclass(frozen=True)
class AuditView:
    """One audit entry: which warning, when, what (``opened``, ``escalated``, ``acknowledged`` …)."""

    warning_id: int
    at: datetime
    action: str
    actor: str = ""

    def __post_init__(self) -> None:
        _aware(self.at)
