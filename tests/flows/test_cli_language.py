"""The command line in either language: Chinese by default, English with FENGHUO_LANG=en, an unknown
language refused in one line before any command runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.console import console, open_engine
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import WarningRow

runner = CliRunner()
AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _seed() -> int:
    row = WarningRow(fingerprint="fp-1", open_key="fp-1", rule="collective-petition", title="集体访",
                     level="orange", region="510104001001", tier="district", route_region="510104000000",
                     first_at=AT, last_at=AT, summary="60 人集体访", explanation="people=60 ≥ 50 (orange)",
                     records=["xinfang/1"], rulebook_version="abc")
    with session_scope(open_engine()) as s:
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)  # every column shown, none cut to an ellipsis


def test_warnings_list_and_show_in_chinese_by_default() -> None:
    wid = _seed()
    listed = runner.invoke(app, ["warnings", "list"])
    assert listed.exit_code == 0, listed.output
    assert "1 条预警" in listed.stdout and "橙色" in listed.stdout and "开放（待签收）" in listed.stdout
    shown = runner.invoke(app, ["warnings", "show", str(wid)])
    assert "橙色预警" in shown.stdout and "（北京时间）" in shown.stdout and "预警依据" in shown.stdout


def test_warnings_list_and_show_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    wid = _seed()
    _english(monkeypatch)
    listed = runner.invoke(app, ["warnings", "list"])
    assert listed.exit_code == 0, listed.output
    for text in ("1 warnings", "Orange", "open (to acknowledge)", "Level", "Status", "last seen (Beijing time)"):
        assert text in listed.stdout, text
    assert "橙色" not in listed.stdout and "条预警" not in listed.stdout
    shown = runner.invoke(app, ["warnings", "show", str(wid)])
    assert "Orange warning" in shown.stdout and "(Beijing time)" in shown.stdout and "Why this warning" in shown.stdout
    missing = runner.invoke(app, ["warnings", "show", "999"])
    assert missing.exit_code == 1 and "no warning 999" in missing.output
    empty_level = runner.invoke(app, ["warnings", "list", "--level", "purple"])
    assert empty_level.exit_code == 1 and "unknown level 'purple'" in empty_level.output


def test_an_unknown_language_is_refused_before_any_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "fr")
    get_settings.cache_clear()
    result = runner.invoke(app, ["warnings", "list"])
    assert result.exit_code == 1
    assert "FENGHUO_LANG" in result.output and "zh" in result.output and "Traceback" not in result.output


def test_users_list_speaks_english(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "还没有用户" in runner.invoke(app, ["users", "list"]).stdout
    _english(monkeypatch)
    assert "No users yet" in runner.invoke(app, ["users", "list"]).stdout


def test_notifications_list_speaks_english(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "没有符合条件的通知" in runner.invoke(app, ["notifications", "list"]).stdout
    _english(monkeypatch)
    assert "No notifications match." in runner.invoke(app, ["notifications", "list"]).stdout
    refused = runner.invoke(app, ["notifications", "list", "--status", "lost"])
    assert refused.exit_code == 1 and "unknown status 'lost'" in refused.output


def test_deliver_and_a_resolved_warning_speak_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    wid = _seed()
    args = ["warnings", "resolve", str(wid), "--as", "jj-duty-office", "--reason", "settled"]
    assert runner.invoke(app, args).exit_code == 0
    chinese = runner.invoke(app, args)
    assert chinese.exit_code == 1 and f"预警 {wid} 已办结" in chinese.output
    assert "本轮：" in runner.invoke(app, ["deliver", "--once"]).stdout
    _english(monkeypatch)
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and f"warning {wid} is already resolved" in again.output, again.output
    delivered = runner.invoke(app, ["deliver", "--once"])
    assert delivered.exit_code == 0 and "This round:" in delivered.stdout and "sent" in delivered.stdout
    assert "本轮" not in delivered.stdout and "条" not in delivered.stdout


def test_evaluate_once_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    chinese = runner.invoke(app, ["evaluate", "--once"])
    assert chinese.exit_code == 0 and "已评估 0 条记录" in chinese.stdout, chinese.output
    _english(monkeypatch)
    english = runner.invoke(app, ["evaluate", "--once"])
    assert english.exit_code == 0 and "evaluated 0 records: 0 opened" in english.stdout, english.output
    assert "评估" not in english.stdout
    neither = runner.invoke(app, ["evaluate"])
    assert neither.exit_code == 1 and "give one of --once" in neither.output


def test_notifications_preview_refusals_speak_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    wid = _seed()
    chinese = runner.invoke(app, ["notifications", "preview", str(wid), "--channel", "pigeon"])
    assert chinese.exit_code == 1 and "未知的渠道 pigeon" in chinese.output, chinese.output
    _english(monkeypatch)
    english = runner.invoke(app, ["notifications", "preview", str(wid), "--channel", "pigeon"])
    assert english.exit_code == 1 and "unknown channel pigeon; available: " in english.output, english.output
