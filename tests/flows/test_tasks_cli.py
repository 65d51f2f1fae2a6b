"""`fenghuo tasks list|show|accept|done` against the configured store and the shipped responders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, WarningRow
from integrations.store.task_models import TaskRow

runner = CliRunner()
AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
GRID = "510104001001001"  # a grid of 春兴湾社区, whose grid lead is in the shipped directory


def _seed() -> tuple[int, int]:
    w = WarningRow(fingerprint="fp-1", open_key="fp-1", rule="collective-petition", title="集体访", level="yellow",
                   region=GRID, tier="street", route_region="510104001000", first_at=AT, last_at=AT,
                   summary="60 人集体访", explanation="people=60 ≥ 50", records=[])
    with session_scope(open_engine()) as s:
        s.add(w)
        s.flush()
        assert w.id is not None
        t = TaskRow(warning_id=w.id, kind="verify", region=GRID, tier="grid", created_at=AT,
                    due_at=datetime.now(UTC) + timedelta(hours=4))
        s.add(t)
        s.flush()
        assert t.id is not None
        return w.id, t.id


def test_list_and_show_as_json() -> None:
    wid, tid = _seed()
    listed = runner.invoke(app, ["tasks", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (item,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["id"], item["warning_id"], item["kind"], item["status"]) == (tid, wid, "verify", "open")
    assert runner.invoke(app, ["tasks", "list", "--json", "--status", "done"]).stdout == ""
    assert runner.invoke(app, ["tasks", "list", "--json", "--region", "510105000000"]).stdout == ""
    shown = runner.invoke(app, ["tasks", "show", str(tid), "--json"])
    assert json.loads(shown.stdout)["warning"] == {"id": wid, "rule": "collective-petition", "level": "yellow",
                                                   "status": "open"}
    human = runner.invoke(app, ["tasks", "show", str(tid)])
    assert human.exit_code == 0 and "核实" in human.stdout and "北京时间" in human.stdout
    bad = runner.invoke(app, ["tasks", "list", "--status", "later"])
    assert bad.exit_code == 1 and "未知的状态" in bad.output


def test_accept_and_done_refusals_are_one_line_and_audited() -> None:
    wid, tid = _seed()
    outside = runner.invoke(app, ["tasks", "accept", str(tid), "--as", "qy-duty-office"])  # 青羊区
    assert outside.exit_code == 1 and "管辖范围" in outside.output and "Traceback" not in outside.output
    ok = runner.invoke(app, ["tasks", "accept", str(tid), "--as", "jj-c001001-grid-lead"])
    assert ok.exit_code == 0, ok.output
    unknown = runner.invoke(app, ["tasks", "done", str(tid), "--outcome", "maybe", "--as", "jj-c001001-grid-lead"])
    assert unknown.exit_code == 1 and "未知的办结结果" in unknown.output
    finished = runner.invoke(app, ["tasks", "done", str(tid), "--outcome", "不属实", "--note", "现场无聚集",
                                   "--as", "jj-c001001-grid-lead"])
    assert finished.exit_code == 0, finished.output
    assert "建议" in finished.stdout
    again = runner.invoke(app, ["tasks", "done", str(tid), "--outcome", "属实", "--as", "jj-c001001-grid-lead"])
    assert again.exit_code == 1 and "不能重复办结" in again.output
    with Session(open_engine()) as s:
        task = s.get(TaskRow, tid)
        refused = [a.detail["why"] for a in s.exec(select(AuditRow).where(AuditRow.action == "task-refused"))]
    assert task is not None and (task.status, task.outcome) == ("done", "unfounded")
    assert refused == ["jurisdiction", "outcome", "done"]
    story = json.loads(runner.invoke(app, ["warnings", "show", str(wid), "--json"]).stdout)
    assert [t["id"] for t in story["tasks"]] == [tid]
    assert {"task-accepted", "task-done", "task-proposal"} <= {a["action"] for a in story["audit"]}
