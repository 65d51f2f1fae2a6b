"""The one resolve path (``integrations.store.resolution.close_warning``), on SQLite and PostgreSQL: what it
settles (status, tasks, held notifications, a queued repeat, undigested blue/yellow), the audit entry last,
idempotence; and every caller that resolves goes through it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from integrations.store import actions
from integrations.store.db import session_scope
from integrations.store.digests import DIGEST_KEY, DIGEST_SIZE
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.resolution import close_warning
from integrations.store.staleness import auto_resolve, resolve_on_behalf
from integrations.store.task_models import TaskRow
from tests.escalation_helpers import small_directory
from tests.task_helpers import T0, open_with_tasks

LATER = T0 + timedelta(hours=1)


def _row(wid: int, step: str, *, status: str = "pending", level: str = "yellow", attempts: int = 0,
         payload: dict[str, object] | None = None, recipient: str = "s1") -> OutboxRow:
    return OutboxRow(idempotency_key=f"{wid}:{step}:{recipient}:file", warning_id=wid, step=step, recipient=recipient,
                     channel="file", address=recipient, level=level, status=status, attempts=attempts,
                     payload=payload or {}, created_at=T0, next_attempt_at=T0)


def _statuses(engine: sa.Engine, wid: int) -> dict[str, str]:
    with Session(engine) as s:
        return {r.step: r.status for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid))}


def _audit(engine: sa.Engine, wid: int) -> list[AuditRow]:
    with Session(engine) as s:
        return list(s.exec(select(AuditRow).where(AuditRow.warning_id == wid).order_by(col(AuditRow.id))))


def test_closing_settles_status_tasks_and_what_was_still_to_be_said(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine, "yellow")
    with session_scope(engine) as s:
        for step in ("open", "raise-orange", "escalate-1", "repeat-1", "repeat-2", "remind-1", "stale-1",
                     "overdue-1", "escalate-2"):
            s.exec(sa.delete(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == step))  # type: ignore[call-overload]
        s.add_all([
            _row(wid, "open", status="sent"),                                    # told: stays
            _row(wid, "raise-orange", status="silenced"),                        # held by a silence
            _row(wid, "escalate-1", status="held"),                              # held by an inhibition
            _row(wid, "repeat-1"),                                               # a queued repeat
            _row(wid, "repeat-2", attempts=1),                                   # a repeat being retried: stays
            _row(wid, "remind-1", level="blue"),                                 # waiting for its digest window
            _row(wid, "stale-1", level="blue", payload={DIGEST_KEY: "d", DIGEST_SIZE: 2}),  # in a digest: stays
            _row(wid, "overdue-1", level="orange"),                              # orange goes at once: stays
            _row(wid, "escalate-2", status="dead", attempts=5),                  # dead: left for a retry
        ])
    with Session(engine) as s:
        open_tasks = s.exec(select(TaskRow).where(TaskRow.warning_id == wid)).all()
    assert open_tasks, "the shipped policy gives a yellow warning tasks"
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        closed = close_warning(s, w, actor="s1", reason="已化解", now=LATER, detail={"node": "510104001000"})
    assert closed.changed and (closed.held, closed.repeats, closed.undigested) == (2, 1, 1)
    assert closed.tasks == len(open_tasks) and closed.not_needed == 4
    got = _statuses(engine, wid)
    assert {k: v for k, v in got.items() if v == "not_needed"} == dict.fromkeys(
        ("raise-orange", "escalate-1", "repeat-1", "remind-1"), "not_needed")
    assert (got["open"], got["repeat-2"], got["stale-1"], got["overdue-1"], got["escalate-2"]) == (
        "sent", "pending", "pending", "pending", "dead")
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None and w.status == "resolved" and w.open_key is None
        assert w.resolved_at is not None and w.resolved_at.replace(tzinfo=LATER.tzinfo) == LATER
        assert all(t.status == "withdrawn" for t in s.exec(select(TaskRow).where(TaskRow.warning_id == wid)))
    audit = _audit(engine, wid)
    assert audit[-1].action == "resolved", "the audit entry is written last"
    assert audit[-1].detail["from"] == "open" and audit[-1].detail["not_needed"] == 4
    assert audit[-1].detail["node"] == "510104001000"


def test_closing_twice_changes_nothing_and_audits_once(engine: sa.Engine) -> None:
    wid = open_with_tasks(engine, "orange")
    for at in (LATER, LATER + timedelta(hours=1)):
        with session_scope(engine) as s:
            w = s.get(WarningRow, wid)
            assert w is not None
            first = close_warning(s, w, actor="s1", reason="办结", now=at)
            assert first.changed is (at == LATER)
    before = _statuses(engine, wid)
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None and w.resolved_at is not None
        assert w.resolved_at.replace(tzinfo=LATER.tzinfo) == LATER
    assert [a.action for a in _audit(engine, wid)].count("resolved") == 1
    assert _statuses(engine, wid) == before


def test_every_resolve_in_the_store_goes_through_the_one_path(engine: sa.Engine) -> None:
    """A responder's resolve, a rule's auto_resolve and a resolve on a source's behalf all settle held
    notifications (which only ``close_warning`` does) and audit once."""
    made = []
    for level in ("yellow", "orange", "red"):
        wid = open_with_tasks(engine, level, rule=f"rule-{level}")
        with session_scope(engine) as s:
            s.add(_row(wid, "repeat-9", status="silenced"))
        made.append(wid)
    by_hand, by_rule, by_source = made
    with session_scope(engine) as s:
        actions.resolve(session=s, warning_id=by_hand, responder="s1", directory=small_directory(),
                        reason="已化解", now=LATER)
        row = s.get(WarningRow, by_rule)
        assert row is not None
        auto_resolve(s, row, resolve_after=timedelta(hours=48), now=LATER)
        row = s.get(WarningRow, by_source)
        assert row is not None
        resolve_on_behalf(s, row, actor="system:source-silent", reason="数据源已恢复", detail={}, now=LATER)
    for wid in made:
        assert _statuses(engine, wid)["repeat-9"] == "not_needed"
        assert [a.action for a in _audit(engine, wid)].count("resolved") == 1
    audit = _audit(engine, by_rule)[-1]
    assert audit.actor == "rule:rule-orange" and audit.detail["auto"] is True
