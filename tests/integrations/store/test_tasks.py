"""Tasks in the store on both backends: creation with the routing (idempotent), acting within jurisdiction,
refusals audited with nothing changed, the outcomes' effects, the care visit of a done 走访, overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from integrations.route import route_warning
from integrations.sla import sla_sweep
from integrations.store.actions import acknowledge, resolve
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, RecordRow, WarningRow
from integrations.store.task_models import TaskRow
from integrations.store.tasks import TaskActionError, create_tasks
from integrations.tasks import accept, done, record_visit
from tests.escalation_helpers import REGIONS
from tests.task_helpers import (
    GRID1,
    GRID2,
    PERSON,
    POLICY,
    T0,
    actions_of,
    add_due_record,
    context,
    directory,
    open_with_tasks,
    tasks_of,
)


def test_a_warning_creates_its_tasks_once_whatever_replays(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine)
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        # A replay of the routing, a second creation, and a raise that asks for the same task add nothing.
        route_warning(session=s, warning=w, change="opened", policy=POLICY, directory=directory(),
                      regions=REGIONS, now=T0)
        assert create_tasks(s, w, POLICY, T0) == []
        w.level = "orange"
        route_warning(session=s, warning=w, change="raised", policy=POLICY, directory=directory(),
                      regions=REGIONS, now=T0 + timedelta(minutes=5))
    (task,) = tasks_of(engine, wid)
    assert (task.kind, task.region, task.tier, task.status) == ("verify", GRID1, "grid", "open")
    assert task.due_at == T0 + timedelta(hours=4)
    assert actions_of(engine, wid).count(("system:tasks", "task-created")) == 1


def test_accept_and_done_by_the_grid_worker(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine)
    (task,) = tasks_of(engine, wid)
    assert task.id is not None
    with session_scope(engine) as s:
        accept(session=s, task_id=task.id, responder="g1", ctx=context(), now=T0 + timedelta(minutes=10))
        report = done(session=s, task_id=task.id, responder="g1", outcome="属实", note="现场核实，约 60 人",
                      ctx=context(), now=T0 + timedelta(hours=1))
        assert report.effect.action == "note"
    (task,) = tasks_of(engine, wid)
    assert (task.status, task.outcome, task.accepted_by, task.done_by) == ("done", "confirmed", "g1", "g1")
    assert [a for a in actions_of(engine, wid) if a[0] == "g1"] == [
        ("g1", "task-accepted"), ("g1", "task-done"), ("g1", "comment")]


@pytest.mark.parametrize(("who", "outcome", "twice", "why"), [
    ("g2", "属实", False, "jurisdiction"),       # the neighbouring grid's worker
    ("nobody", "属实", False, "unknown-responder"),
    ("g1", "perhaps", False, "outcome"),
    ("g1", "不属实", True, "done"),
])
def test_refusals_are_audited_and_change_nothing(engine: sa.Engine, who: str, outcome: str, twice: bool,
                                                 why: str) -> None:
    wid = open_with_tasks(engine)
    (task,) = tasks_of(engine, wid)
    assert task.id is not None
    if twice:
        with session_scope(engine) as s:
            done(session=s, task_id=task.id, responder="g1", outcome="属实", note="", ctx=context(), now=T0)
    before = tasks_of(engine, wid)[0].model_dump()
    audit_before = len(actions_of(engine, wid))
    with pytest.raises(TaskActionError, match=f"任务 #{task.id}"), session_scope(engine) as s:
        done(session=s, task_id=task.id, responder=who, outcome=outcome, note="再次办结", ctx=context(),
             now=T0 + timedelta(hours=2))
    assert tasks_of(engine, wid)[0].model_dump() == before
    after = actions_of(engine, wid)
    assert after[audit_before:] == [(who, "task-refused")]
    with Session(engine) as s:
        refusal = s.exec(select(AuditRow).where(AuditRow.action == "task-refused")).one()
    assert (refusal.detail["why"], refusal.detail["task"]) == (why, task.id)


def test_unfounded_proposes_resolving_to_the_holder_and_resolves_nothing(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine)
    (task,) = tasks_of(engine, wid)
    assert task.id is not None
    with session_scope(engine) as s:
        report = done(session=s, task_id=task.id, responder="g1", outcome="unfounded", note="现场无聚集",
                      ctx=context(), now=T0 + timedelta(hours=1))
    assert report.effect.action == "propose-resolve" and report.notifications >= 1
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        proposals = s.exec(select(OutboxRow).where(OutboxRow.step == "task-propose")).all()
    assert w is not None and w.status == "open"  # humans decide
    assert {p.recipient for p in proposals} == {"s1"}  # the street holds a yellow warning
    assert "建议" in proposals[0].subject
    assert ("system:tasks", "task-proposal") in actions_of(engine, wid)


def test_escalate_moves_the_warning_one_tier_up(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine)
    (task,) = tasks_of(engine, wid)
    assert task.id is not None
    with session_scope(engine) as s:
        done(session=s, task_id=task.id, responder="g1", outcome="需上报", note="群众情绪激动",
             ctx=context(), now=T0 + timedelta(hours=1))
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
    assert w is not None and (w.tier, w.route_region, w.escalation_step) == ("district", "510104000000", 1)


def test_a_done_visit_stores_one_care_visit_record(engine: sa.Engine) -> None:
    ref = add_due_record(engine)
    wid = open_with_tasks(engine, rule="care-visit-missed", records=[ref])
    (task,) = tasks_of(engine, wid)
    assert (task.kind, task.person) == ("visit", PERSON) and task.id is not None
    with session_scope(engine) as s:
        report = done(session=s, task_id=task.id, responder="g1", outcome="已化解", note="已上门走访",
                      ctx=context(), now=T0 + timedelta(hours=3))
    assert report.visit_recorded
    with session_scope(engine) as s:  # a replay stores the same record, nothing more
        row, w = s.get(TaskRow, task.id), s.get(WarningRow, wid)
        assert row is not None and w is not None
        record_visit(s, row, w, context(), T0 + timedelta(hours=4))
    with Session(engine) as s:
        (visit,) = s.exec(select(RecordRow).where(RecordRow.source == "grid-tasks")).all()
    assert (visit.source_id, visit.kind, visit.region) == (f"task-{task.id}", "care_visit", GRID1)
    assert visit.attributes["person"] == PERSON and visit.attributes["program"] == "独居老人"


def test_an_overdue_task_escalates_its_warning_once(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine)
    with session_scope(engine) as s:
        acknowledge(session=s, warning_id=wid, responder="s1", directory=directory(), now=T0 + timedelta(minutes=5))
    late = T0 + timedelta(hours=4, minutes=1)

    def links(warning_id: int, responder: str, now: datetime) -> dict[str, str]:
        return {"ack": f"https://fh.test/a/{warning_id}-{responder}"}

    sweeps = []
    for _ in range(2):
        with session_scope(engine) as s:
            sweeps.append(sla_sweep(session=s, policy=POLICY, directory=directory(), regions=REGIONS, now=late,
                                    links=links))
    assert [(a.warning_id, a.action, a.step) for a in sweeps[0]] == [(wid, "task-overdue", "escalated")]
    with Session(engine) as s:  # the escalation a late task causes carries each recipient's links too
        sent = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid,
                                              OutboxRow.created_at == late)).all()  # type: ignore[arg-type]
    assert sent and all(r.payload["links"] == {"ack": f"https://fh.test/a/{wid}-{r.recipient}"} for r in sent)
    assert sweeps[1] == []  # the second sweep: nothing more
    (task,) = tasks_of(engine, wid)
    assert task.status == "overdue"
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
    assert w is not None and (w.tier, w.escalation_step) == ("district", 1)
    assert actions_of(engine, wid).count(("system:tasks", "task-overdue")) == 1
    # An overdue task may still be taken and finished (late).
    assert task.id is not None
    with session_scope(engine) as s:
        accept(session=s, task_id=task.id, responder="g1", ctx=context(), now=late)
        done(session=s, task_id=task.id, responder="g1", outcome="属实", note="", ctx=context(), now=late)
    assert tasks_of(engine, wid)[0].status == "done"


def test_the_records_behind_a_warning_select_tasks_by_category(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.add(RecordRow(source="mediation", source_id="m1", kind="dispute", at=T0, region=GRID1,
                        content_hash="x", attributes={"type": "land", "status": "open"}))
    wid = open_with_tasks(engine, rule="some-local-rule", records=["mediation/m1", "mediation/missing"])
    assert {(t.kind, t.region) for t in tasks_of(engine, wid)} == {("verify", GRID1), ("mediate", "510104001001")}


def test_resolving_a_warning_withdraws_its_unfinished_tasks_and_keeps_the_done_ones(engine: sa.Engine) -> None:
    """Nobody is sent to look at a closed warning, and no grid is judged late on it: its open task is
    withdrawn (audited), never swept overdue afterwards, and refuses to be taken; a done task stays done."""
    finished, waiting = open_with_tasks(engine), open_with_tasks(engine, region=GRID2)
    ((first,), (second,)) = tasks_of(engine, finished), tasks_of(engine, waiting)
    assert first.id is not None and second.id is not None
    with session_scope(engine) as s:
        done(session=s, task_id=first.id, responder="g1", outcome="属实", note="现场核实", ctx=context(),
             now=T0 + timedelta(hours=1))
        for wid in (finished, waiting):
            resolve(session=s, warning_id=wid, responder="s1", directory=directory(), reason="已化解",
                    now=T0 + timedelta(hours=2))
    assert [t.status for t in tasks_of(engine, finished) + tasks_of(engine, waiting)] == ["done", "withdrawn"]
    assert actions_of(engine, waiting).count(("system:tasks", "task-withdrawn")) == 1
    assert ("system:tasks", "task-withdrawn") not in actions_of(engine, finished)
    with session_scope(engine) as s:
        assert sla_sweep(session=s, policy=POLICY, directory=directory(), regions=REGIONS,
                         now=T0 + timedelta(days=30)) == []
    assert [t.status for t in tasks_of(engine, waiting)] == ["withdrawn"]
    with session_scope(engine) as s, pytest.raises(TaskActionError, match="任务已撤销"):
        accept(session=s, task_id=second.id, responder="g2", ctx=context(), now=T0 + timedelta(hours=3))
