"""The workspace's 事件上报 form over HTTP (TestClient): CSRF, one-time token (a double submit stores one
report), the jurisdiction refused and audited, a bad report quarantined with its reason, phone-sized."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from integrations.actions_api import create_app
from integrations.grid_reports import SOURCE
from integrations.store.db import open_store
from integrations.store.models import AuditRow, QuarantineRow, RecordRow
from tests.integrations.workspace.conftest import NOW, SETTINGS, directory, seed
from tests.integrations.workspace.test_workspace import login


@pytest.fixture
def client(migrated_url: str) -> Iterator[tuple[TestClient, sa.Engine]]:
    engine = open_store(migrated_url)
    seed(engine)
    client = TestClient(create_app(engine, SETTINGS, directory=directory(), clock=lambda: NOW))
    assert login(client, "street-a") == 303
    yield client, engine
    engine.dispose()


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def _reports(engine: sa.Engine) -> list[RecordRow]:
    with Session(engine) as s:
        return list(s.exec(select(RecordRow).where(RecordRow.source == SOURCE)))


def test_a_report_from_the_form_is_stored_once_and_audited(client: tuple[TestClient, sa.Engine]) -> None:
    http, engine = client
    assert http.get("/inbox").text.count('href="/report"') == 1  # reachable from every page's header
    form = http.get("/report")
    assert form.status_code == 200
    assert 'name="viewport" content="width=device-width' in form.text  # laid out for a 390 px phone
    assert "春兴湾社区第1网格" in form.text and "桥松坪社区" not in form.text  # only the officer's own grids
    data = {"csrf": _hidden(form.text, "csrf"), "token": _hidden(form.text, "token"), "matter": "gathering",
            "grid": "510104001001002", "people": "25", "text": "小区门口聚集讨薪，联系人 13812345678"}
    first = http.post("/report", data=data)
    assert first.status_code == 200 and "已上报群体聚集事件" in first.text
    again = http.post("/report", data=data)  # a double tap
    assert again.status_code == 200 and "已上报过" in again.text
    [row] = _reports(engine)
    assert row.kind == "grid_report" and row.region == "510104001001002"
    assert row.attributes["people"] == 25 and row.attributes["reporter"].startswith("p_")
    assert "13812345678" not in row.attributes["description"]
    with Session(engine) as s:
        audits = [(a.actor, a.action, a.reason) for a in s.exec(
            select(AuditRow).where(col(AuditRow.action).like("grid_report%")).order_by(col(AuditRow.id)))]
    assert audits == [("jgq-officer", "grid_report", "stored"), ("jgq-officer", "grid_report", "duplicate")]
    # A fresh form is a fresh token: the same words reported again later is another report.
    fresh = http.get("/report")
    assert http.post("/report", data={**data, "token": _hidden(fresh.text, "token")}).status_code == 200
    assert len(_reports(engine)) == 2


def test_csrf_jurisdiction_and_bad_reports_are_refused(client: tuple[TestClient, sa.Engine]) -> None:
    http, engine = client
    form = http.get("/report")
    good = {"csrf": _hidden(form.text, "csrf"), "token": _hidden(form.text, "token"), "matter": "dispute",
            "grid": "510104001001001", "people": "2", "text": "邻里漏水纠纷"}
    assert http.post("/report", data={**good, "csrf": "forged"}).status_code == 403
    outside = http.post("/report", data={**good, "grid": "510104002001001"})  # the neighbouring street's grid
    assert outside.status_code == 403 and "不在您的管辖范围" in outside.text
    not_grid = http.post("/report", data={**good, "grid": "510104001001"})
    assert not_grid.status_code == 403 and "不是网格编码" in not_grid.text
    assert http.post("/report", data={**good, "people": "many"}).status_code == 400
    bad = http.post("/report", data={**good, "matter": "riot"})
    assert bad.status_code == 400 and "已隔离" in bad.text and "riot" in bad.text
    assert _reports(engine) == []
    with Session(engine) as s:
        refused = [a.reason for a in s.exec(select(AuditRow).where(AuditRow.action == "grid_report_refused")
                                            .order_by(col(AuditRow.id)))]
        [kept] = s.exec(select(QuarantineRow).where(QuarantineRow.source == SOURCE)).all()
    assert refused == ["outside_jurisdiction", "bad_grid"]
    assert "street-a" not in kept.raw  # the reporter is pseudonymised even in quarantine
    # Fixed and sent again with the same form: stored.
    assert http.post("/report", data=good).status_code == 200
    assert len(_reports(engine)) == 1


def test_the_form_needs_a_login(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/web.db")
    try:
        http = TestClient(create_app(engine, SETTINGS, directory=directory(), clock=lambda: NOW))
        assert http.get("/report", follow_redirects=False).headers["location"].startswith("/login")
        assert http.post("/report", data={"matter": "other"}, follow_redirects=False).status_code == 303
    finally:
        engine.dispose()
