"""The workspace's task pages over HTTP (TestClient): the responder's own tasks, the phone form to accept
and finish a task with CSRF, refusals shown in Chinese and audited, the tasks on the warning's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from integrations.actions_api import create_app
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.task_models import TaskRow
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tasks(store: sa.Engine) -> dict[str, int]:
    """A 核实 task in street A's community (warning a-red) and one in street B's (warning b-orange)."""
    ids = seed(store)
    out: dict[str, int] = {}
    with session_scope(store) as s:
        for name, warning in (("a", "a-red"), ("b", "b-orange")):
            w = s.get(WarningRow, ids[warning])
            assert w is not None
            row = TaskRow(warning_id=w.id or 0, kind="verify", region=w.region, tier="community",
                          created_at=NOW - timedelta(hours=1), due_at=NOW + timedelta(hours=3))
            s.add(row)
            s.flush()
            out[name], out[f"w-{name}"] = row.id or 0, w.id or 0
    return out


def _client(store: sa.Engine, user: str) -> TestClient:
    client = TestClient(create_app(store, SETTINGS, directory=directory(), clock=lambda: NOW))
    form = client.get("/login")
    resp = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": _csrf(form.text)},
                       follow_redirects=False)
    assert resp.status_code == 303
    return client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def test_own_tasks_only_and_the_phone_form_accepts_and_finishes(store: sa.Engine, tasks: dict[str, int]) -> None:
    client = _client(store, "street-a")
    listed = client.get("/tasks")
    assert [int(i) for i in re.findall(r'data-task="(\d+)"', listed.text)] == [tasks["a"]]
    assert "核实" in listed.text and "剩余 3 小时 0 分" in listed.text
    assert client.get(f"/t/{tasks['b']}").status_code == 404
    page = client.get(f"/t/{tasks['a']}")
    assert page.status_code == 200 and 'name="viewport"' in page.text and "不属实" in page.text
    csrf = _csrf(page.text)
    assert client.post(f"/t/{tasks['a']}/accept", data={"csrf": "forged"}).status_code == 403
    ok = client.post(f"/t/{tasks['a']}/accept", data={"csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    finished = client.post(f"/t/{tasks['a']}/done", data={"csrf": csrf, "outcome": "unfounded",
                                                          "note": "现场无聚集"})
    assert finished.status_code == 200 and "任务已办结" in finished.text and "不属实" in finished.text
    with Session(store) as s:
        row = s.get(TaskRow, tasks["a"])
        warning = s.get(WarningRow, tasks["w-a"])
        proposals = s.exec(select(OutboxRow).where(OutboxRow.step == "task-propose")).all()
    assert row is not None and (row.status, row.outcome, row.done_by) == ("done", "unfounded", "jgq-officer")
    assert warning is not None and warning.status == "open" and proposals
    # The warning's page lists the task and its story shows it.
    shown = client.get(f"/w/{tasks['w-a']}")
    assert f'data-task="{tasks["a"]}"' in shown.text and "任务办结" in shown.text


def test_refusals_are_shown_in_chinese_and_audited(store: sa.Engine, tasks: dict[str, int]) -> None:
    client = _client(store, "street-a")
    csrf = _csrf(client.get(f"/t/{tasks['a']}").text)
    outside = client.post(f"/t/{tasks['b']}/done", data={"csrf": csrf, "outcome": "属实"})
    assert outside.status_code == 403 and "管辖范围" in outside.text
    unknown = client.post(f"/t/{tasks['a']}/done", data={"csrf": csrf, "outcome": "maybe"})
    assert unknown.status_code == 409 and "未知的办结结果" in unknown.text
    assert client.post(f"/t/{tasks['a']}/done", data={"csrf": csrf, "outcome": "属实"}).status_code == 200
    twice = client.post(f"/t/{tasks['a']}/done", data={"csrf": csrf, "outcome": "需上报"})
    assert twice.status_code == 409 and "不能重复办结" in twice.text
    with Session(store) as s:
        refusals = s.exec(select(AuditRow).where(AuditRow.action == "task-refused").order_by(col(AuditRow.id)))
        assert [(a.actor, a.detail["why"]) for a in refusals] == [
            ("jgq-officer", "jurisdiction"), ("jgq-officer", "outcome"), ("jgq-officer", "done")]
        b = s.get(TaskRow, tasks["b"])
    assert b is not None and b.status == "open"
