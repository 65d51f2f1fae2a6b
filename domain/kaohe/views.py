"""Plain inputs of the 考核 report; the store (``integrations/store/kaohe.py``) builds them, tests by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


def _aware(*values: datetime | None) -> None:
    if any(v is not None and v.tzinfo is None for v in values):
        raise ValueError("naive datetime refused: the 考核 report takes timezone-aware datetimes only")


@dataclass(frozen=True)
class WarningFacts:
    """A warning as 考核 judges it. ``ack_due_at`` is the deadline pinned when it opened (not the one
    moved forward by escalations); ``resolve_due_at`` never moves later, so the warning's own is used."""

    id: int
    region: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    ack_due_at: datetime | None = None
    resolve_due_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.opened_at, self.acknowledged_at, self.resolved_at, self.ack_due_at, self.resolve_due_at)


@dataclass(frozen=True)
class Escalation:
    """A warning escalated at ``at`` away from the node ``from_node`` (not acknowledged there in time)."""

    warning_id: int
    at: datetime
    from_node: str

    def __post_init__(self) -> None:
        _aware(self.at)


@dataclass(frozen=True)
class TaskFacts:
    """A grid task: its assignee node, deadline and when it was done (``None`` if not done)."""

    id: int
    region: str
    due_at: datetime | None
    done_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.due_at, self.done_at)


@dataclass(frozen=True)
class VisitDue:
    """A care visit falling due (record ``care_visit_due``) for a pseudonymised person."""

    person: str
    region: str
    at: datetime

    def __post_init__(self) -> None:
        _aware(self.at)


@dataclass(frozen=True)
class Visit:
    """A care visit made (record ``care_visit``)."""

    person: str
    at: datetime

    def __post_init__(self) -> None:
        _aware(self.at)


CaseKind = Literal["petition", "dispute"]


@dataclass(frozen=True)
class CaseFacts:
    """A petition (信访) or dispute (矛盾纠纷): first seen at its first version's ``at``, concluded at the
    ``at`` of its first version whose status is a concluded one (``None`` while not concluded)."""

    kind: CaseKind
    key: str
    region: str
    first_at: datetime
    concluded_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.first_at, self.concluded_at)
