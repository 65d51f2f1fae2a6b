"""Shared helpers of the task tests: the small directory with grid workers, the shipped policy, warnings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.responders import ResponderDirectory
from integrations.ingest.run import load_kinds
from integrations.route import route_warning
from integrations.settings import PACKAGE_ROOT
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, RecordRow
from integrations.store.task_models import TaskRow
from integrations.tasks import TaskContext
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning

T0 = MONDAY_10_BJ
POLICY = EscalationPolicy.load(Path(PACKAGE_ROOT) / "integrations" / "data" / "escalation.yaml")
GRID1, GRID2 = "510104001001001", "510104001001002"
PERSON = "p_00112233445566778899"


def directory() -> ResponderDirectory:
    """The small directory plus a grid worker on each of two grids of community 510104001001."""
    data: dict[str, Any] = small_directory().model_dump(by_alias=True)
    for rid, grid in (("g1", GRID1), ("g2", GRID2)):
        data["nodes"][grid] = {"name": "", "responders": [
            {"id": rid, "name": f"网格员{rid}", "channels": [{"type": "file", "address": rid}]}]}
    return ResponderDirectory.model_validate(data)


def context() -> TaskContext:
    """The task context of these tests (shipped policy and kinds, the small city)."""
    return TaskContext(policy=POLICY, directory=directory(), regions=REGIONS,
                       kinds=load_kinds(Path(PACKAGE_ROOT) / "rules" / "catalog"), key="test-key")


def open_with_tasks(engine: sa.Engine, level: str = "yellow", region: str = GRID1, *,
                    rule: str = "collective-petition", records: list[str] | None = None) -> int:
    """Write a warning and route it as opened at T0 with the shipped policy (which creates its tasks)."""
    w = warning(level, region=region, rule=rule, records=records or [])
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=POLICY, directory=directory(),
                      regions=REGIONS, now=T0)
    assert w.id is not None
    return w.id


def add_due_record(engine: sa.Engine, region: str = GRID1) -> str:
    """A stored care_visit_due record of :data:`PERSON`; its ref."""
    with session_scope(engine) as s:
        s.add(RecordRow(source="civil-affairs-due", source_id="d1", kind="care_visit_due",
                        at=T0 - timedelta(days=4), region=region, content_hash="x",
                        attributes={"person": PERSON, "program": "独居老人"}))
    return "civil-affairs-due/d1"


def tasks_of(engine: sa.Engine, warning_id: int) -> list[TaskRow]:
    """The warning's tasks, by id."""
    with Session(engine) as s:
        return list(s.exec(select(TaskRow).where(TaskRow.warning_id == warning_id).order_by(col(TaskRow.id))))


def actions_of(engine: sa.Engine, warning_id: int | None = None) -> list[tuple[str, str]]:
    """(actor, action) of the audit rows (of one warning), oldest first."""
    with Session(engine) as s:
        query = select(AuditRow).order_by(col(AuditRow.id))
        if warning_id is not None:
            query = query.where(AuditRow.warning_id == warning_id)
        return [(a.actor, a.action) for a in s.exec(query)]
