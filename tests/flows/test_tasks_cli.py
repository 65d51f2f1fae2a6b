"""`fenghuo tasks list|show|accept|done` against the configured store and the shipped responders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import console, open_engine
from integrations.settings import get_settings
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



def _han(text: str) -> set[str]:
    return {c for c in text if "\u4e00" <= c <= "\u9fff"}


def test_tasks_speak_chinese_by_default_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)  # every column shown, none cut to an ellipsis
    _wid, tid = _seed()
    zh_list = runner.invoke(app, ["tasks", "list"]).stdout
    assert "1 项任务" in zh_list and "核实" in zh_list and "verify" not in zh_list, zh_list
    zh_refused = runner.invoke(app, ["tasks", "accept", str(tid), "--as", "qy-duty-office"]).output
    assert zh_refused.startswith("错误：任务 #") and "管辖范围" in zh_refused and "outside" not in zh_refused
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    listed = runner.invoke(app, ["tasks", "list"]).stdout
    assert "1 tasks" in listed and "verify" in listed and "核实" not in listed, listed
    shown = runner.invoke(app, ["tasks", "show", str(tid)]).stdout
    assert "(Beijing time)" in shown and "(yellow, " in shown and "to acknowledge" in shown, shown
    names = _han("集体访 成都市 锦江区 江果桥街道 春兴湾社区第1网格")  # data, not text: it stays as stored
    assert _han(shown) <= names, _han(shown) - names
    refused = runner.invoke(app, ["tasks", "accept", str(tid), "--as", "qy-duty-office"])
    assert refused.exit_code == 1 and refused.output.startswith("error: Task #") and "outside" in refused.output
    assert "管辖" not in refused.output, refused.output
    runner.invoke(app, ["tasks", "accept", str(tid), "--as", "jj-c001001-grid-lead"])
    done = runner.invoke(app, ["tasks", "done", str(tid), "--outcome", "defused", "--as", "jj-c001001-grid-lead"])
    assert done.exit_code == 0 and "verify outcome: defused" in done.stdout and not _han(done.stdout), done.stdout
