"""The workspace in English (FENGHUO_LANG=en): the same pages, the interface's words from the catalogue,
the data (names, places, titles) as recorded."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from integrations.actions_api import create_app
from integrations.settings import get_settings
from tests.integrations.workspace.conftest import NOW, SETTINGS, directory, seed
from tests.integrations.workspace.test_workspace import login

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()


def _client(engine: sa.Engine) -> TestClient:
    return TestClient(create_app(engine, SETTINGS, directory=directory(), clock=lambda: NOW))


@pytest.mark.usefixtures("english")
def test_login_inbox_and_warning_pages_speak_english(sqlite_engine: sa.Engine) -> None:
    ids = seed(sqlite_engine)
    client = _client(sqlite_engine)
    form = client.get("/login").text
    assert '<html lang="en">' in form and "Log in" in form and "Password" in form
    assert not CJK.findall(form), CJK.findall(form)  # no Chinese left on a page with no data on it
    assert login(client, "street-a") == 303
    inbox = client.get("/inbox").text
    for text in ("Warnings inbox", "Needs me", "Red", "Unresolved", "1 h 20 min left", "(Beijing time)",
                 "open (to acknowledge)", "Log out"):
        assert text in inbox, text
    page = client.get(f"/w/{ids['a-red']}").text
    for text in ("Red warning", "Why this warning", "Acknowledge by", "History", "assigned to",
                 "(WeCom)", "warning raised", "(Beijing time)", 'id="ack">Acknowledge<', 'id="resolve">Resolve<'):
        assert text in page, text
    tasks = client.get("/tasks").text
    assert "Grid tasks" in tasks and "Unresolved" in tasks and "网格任务" not in tasks
    # What is left in Chinese is data: titles, names, places; never the interface's own words.
    for chinese in ("预警待办", "签收", "北京时间", "处置经过", "红色"):
        assert chinese not in inbox + page, chinese


def test_chinese_stays_the_default(sqlite_engine: sa.Engine) -> None:
    seed(sqlite_engine)
    client = _client(sqlite_engine)
    form = client.get("/login").text
    assert '<html lang="zh-CN">' in form and "<h1>登录</h1>" in form and "Log in" not in form
    login(client, "street-a")
    inbox = client.get("/inbox").text
    assert "预警待办" in inbox and "红色" in inbox and "（北京时间）" in inbox and "条 · 更新于" in inbox
