"""The ``task`` table: tasks to the grid (核实/走访/调处) that warnings create (``domain.tasks``).

One row per (warning, kind, assignee node), enforced by the database, so a re-run or a crash replay of the
routing that creates them never doubles a task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from integrations.store.columns import AwareDateTime, utcnow


def _dt(**kw: Any) -> Any:
    return Field(sa_type=AwareDateTime, **kw)


class TaskRow(SQLModel, table=True):
    """A task for the grid: what to do about which warning, at which node, by when, and how it ended."""

    __tablename__ = "task"
    __table_args__ = (sa.UniqueConstraint("warning_id", "kind", "region", name="uq_task_warning_kind_region"),)

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int = Field(foreign_key="warning.id", index=True)
    kind: str = Field(max_length=20, description="verify 核实 | visit 走访 | mediate 调处")
    region: str = Field(max_length=15, index=True, description="The assignee node's code.")
    tier: str = Field(max_length=20, description="The assignee node's tier.")
    unit: str | None = Field(default=None, max_length=100, description="Duty unit kind, or None.")
    status: str = Field(default="open", max_length=20, index=True, description="open|accepted|done|overdue")
    outcome: str | None = Field(default=None, max_length=20, description="confirmed|unfounded|defused|escalate")
    note: str = ""
    person: str | None = Field(default=None, max_length=64, description="Pseudonym of the person visited.")
    created_at: datetime = _dt(default_factory=utcnow)
    due_at: datetime = _dt(index=True)
    accepted_at: datetime | None = _dt(default=None, nullable=True)
    accepted_by: str | None = Field(default=None, max_length=100)
    done_at: datetime | None = _dt(default=None, nullable=True)
    done_by: str | None = Field(default=None, max_length=100)
